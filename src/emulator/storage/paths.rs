//! Which JSON API method a request names: the path after the host (still
//! percent-encoded, as object names carry `%2F` for `/`) and the method.
//! Pure.

/// A Cloud Storage JSON API method and its path parameters (decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `POST /storage/v1/b?project=P`.
    InsertBucket,
    /// `GET /storage/v1/b?project=P`.
    ListBuckets,
    /// `GET /storage/v1/b/{bucket}`.
    GetBucket(String),
    /// `DELETE /storage/v1/b/{bucket}`.
    DeleteBucket(String),
    /// `POST /upload/storage/v1/b/{bucket}/o?uploadType=…` (and, as
    /// metadata only, `POST /storage/v1/b/{bucket}/o`).
    InsertObject(String),
    /// `GET /storage/v1/b/{bucket}/o`.
    ListObjects(String),
    /// `GET /storage/v1/b/{bucket}/o/{object}` (metadata, or the contents
    /// with `alt=media`) and `GET /download/storage/v1/b/{bucket}/o/{object}`.
    GetObject(String, String),
    /// `DELETE /storage/v1/b/{bucket}/o/{object}`.
    DeleteObject(String, String),
}

impl Target {
    /// The discovery method id, for the request counts.
    pub fn method_id(&self) -> &'static str {
        match self {
            Target::InsertBucket => "storage.buckets.insert",
            Target::ListBuckets => "storage.buckets.list",
            Target::GetBucket(_) => "storage.buckets.get",
            Target::DeleteBucket(_) => "storage.buckets.delete",
            Target::InsertObject(_) => "storage.objects.insert",
            Target::ListObjects(_) => "storage.objects.list",
            Target::GetObject(..) => "storage.objects.get",
            Target::DeleteObject(..) => "storage.objects.delete",
        }
    }
}

/// The method `method` on `path` names, if any.
pub fn target(method: &str, path: &str) -> Option<Target> {
    if let Some(rest) = path.strip_prefix("/upload/storage/v1/b/") {
        let (bucket, tail) = rest.split_once('/')?;
        return (method == "POST" && tail == "o" && !bucket.is_empty())
            .then(|| Target::InsertObject(decode(bucket)));
    }
    if let Some(rest) = path.strip_prefix("/download/storage/v1/b/") {
        let (bucket, object) = object_path(rest)?;
        return (method == "GET").then_some(Target::GetObject(bucket, object));
    }
    let rest = path.strip_prefix("/storage/v1/b")?;
    if rest.is_empty() || rest == "/" {
        return match method {
            "POST" => Some(Target::InsertBucket),
            "GET" => Some(Target::ListBuckets),
            _ => None,
        };
    }
    let rest = rest.strip_prefix('/')?;
    match rest.split_once('/') {
        None => {
            let bucket = decode(rest);
            match method {
                "GET" => Some(Target::GetBucket(bucket)),
                "DELETE" => Some(Target::DeleteBucket(bucket)),
                _ => None,
            }
        }
        Some((bucket, "o")) if !bucket.is_empty() => match method {
            "GET" => Some(Target::ListObjects(decode(bucket))),
            "POST" => Some(Target::InsertObject(decode(bucket))),
            _ => None,
        },
        Some(_) => {
            let (bucket, object) = object_path(rest)?;
            match method {
                "GET" => Some(Target::GetObject(bucket, object)),
                "DELETE" => Some(Target::DeleteObject(bucket, object)),
                _ => None,
            }
        }
    }
}

/// `{bucket}/o/{object}` decoded; the object name may hold `/`, encoded or not.
fn object_path(rest: &str) -> Option<(String, String)> {
    let (bucket, tail) = rest.split_once('/')?;
    let object = tail.strip_prefix("o/")?;
    (!bucket.is_empty() && !object.is_empty()).then(|| (decode(bucket), decode(object)))
}

/// Percent-decodes a path segment (bytes that do not form UTF-8 are kept
/// as the replacement character).
pub fn decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied(),
            bytes.get(i + 2).copied(),
        ) {
            (b'%', Some(h), Some(l)) if hex(h).is_some() && hex(l).is_some() => {
                let value = hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0);
                out.push(u8::try_from(value).unwrap_or(b'?'));
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes an object name for a link, as Google writes them
/// (everything but unreserved characters).
pub fn encode(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(method: &str, path: &str) -> Option<Target> {
        target(method, path)
    }

    #[test]
    fn the_clients_paths_name_their_methods() {
        assert_eq!(t("POST", "/storage/v1/b"), Some(Target::InsertBucket));
        assert_eq!(t("GET", "/storage/v1/b/"), Some(Target::ListBuckets));
        assert_eq!(
            t("GET", "/storage/v1/b/bk"),
            Some(Target::GetBucket("bk".into()))
        );
        assert_eq!(
            t("POST", "/upload/storage/v1/b/bk/o"),
            Some(Target::InsertObject("bk".into()))
        );
        assert_eq!(
            t("GET", "/storage/v1/b/bk/o/envs%2Fprod.json"),
            Some(Target::GetObject("bk".into(), "envs/prod.json".into()))
        );
        assert_eq!(
            t("GET", "/download/storage/v1/b/bk/o/envs%2Fprod.json"),
            Some(Target::GetObject("bk".into(), "envs/prod.json".into()))
        );
        assert_eq!(
            t("DELETE", "/storage/v1/b/bk/o/a/b%20c"),
            Some(Target::DeleteObject("bk".into(), "a/b c".into()))
        );
        assert_eq!(
            t("GET", "/storage/v1/b/bk/o"),
            Some(Target::ListObjects("bk".into()))
        );
        assert_eq!(t("PUT", "/storage/v1/b/bk/o/x"), None);
        assert_eq!(t("POST", "/upload/storage/v1/b//o"), None);
        assert_eq!(t("GET", "/storage/v1/b/bk/acl"), None);
    }

    #[test]
    fn names_round_trip_through_percent_encoding() {
        for name in ["envs/prod.json", "a b+c%", "ünï/😀", "x.json.lock"] {
            assert_eq!(decode(&encode(name)), name);
        }
        assert_eq!(decode("100%"), "100%");
        assert_eq!(encode("envs/prod.json"), "envs%2Fprod.json");
    }
}
