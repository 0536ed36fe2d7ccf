//! The body of an `uploadType=multipart` insert: `multipart/related` with
//! the object's metadata (JSON) first and its contents second. Google's
//! Rust client may add a third JSON part with the checksums it computed
//! while streaming (`crc32c`, `md5Hash`). Pure.

use super::errors::StorageError;

/// One part: its `Content-Type` and bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The part's `Content-Type`, if it has one.
    pub content_type: Option<String>,
    /// The part's bytes.
    pub body: Vec<u8>,
}

/// The boundary of a `multipart/related; boundary=…` content type.
///
/// # Errors
/// 400 when the content type is not multipart or names no boundary.
pub fn boundary(content_type: &str) -> Result<String, StorageError> {
    let bad = || {
        StorageError::invalid(format!(
            "Invalid multipart request with content type {content_type:?}: expected multipart/related with a boundary."
        ))
    };
    let mut params = content_type.split(';');
    let kind = params
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if !kind.starts_with("multipart/") {
        return Err(bad());
    }
    params
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim().trim_matches('"').to_string())
        .filter(|b| !b.is_empty())
        .ok_or_else(bad)
}

/// The parts of `body` delimited by `boundary`.
///
/// # Errors
/// 400 when the body has no delimiter or a part has no header block.
pub fn parse(body: &[u8], boundary: &str) -> Result<Vec<Part>, StorageError> {
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let starts: Vec<usize> = find_all(body, delimiter);
    if starts.is_empty() {
        return Err(StorageError::invalid(
            "Invalid multipart request: the body has no part.",
        ));
    }
    let mut parts = Vec::new();
    for pair in starts.windows(2) {
        let mut chunk = &body[pair[0] + delimiter.len()..pair[1]];
        chunk = chunk.strip_prefix(b"\r\n").unwrap_or(chunk);
        chunk = chunk.strip_suffix(b"\r\n").unwrap_or(chunk);
        let Some(split) = find_all(chunk, b"\r\n\r\n").first().copied() else {
            // A part with no headers starts with the blank line itself.
            if let Some(content) = chunk.strip_prefix(b"\r\n") {
                parts.push(Part {
                    content_type: None,
                    body: content.to_vec(),
                });
                continue;
            }
            return Err(StorageError::invalid(
                "Invalid multipart request: a part has no header block.",
            ));
        };
        let headers = String::from_utf8_lossy(&chunk[..split]);
        let content_type = headers.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("content-type")
                .then(|| value.trim().to_string())
        });
        parts.push(Part {
            content_type,
            body: chunk[split + 4..].to_vec(),
        });
    }
    Ok(parts)
}

/// Where `needle` starts in `haystack`, left to right, not overlapping.
fn find_all(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    let mut found = Vec::new();
    let mut i = 0;
    while needle.len() <= haystack.len() && i + needle.len() <= haystack.len() {
        if &haystack[i..i + needle.len()] == needle {
            found.push(i);
            i += needle.len();
        } else {
            i += 1;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_then_media_as_the_rust_client_sends_them() {
        let body = b"--abc\r\nContent-Disposition: form-data; name=\"metadata\"\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{\"contentType\":\"application/json\"}\r\n--abc\r\nContent-Disposition: form-data; name=\"media\"\r\n\r\n{\"a\":\r\n1}\r\n--abc--\r\n";
        let parts = parse(body, "abc").expect("parts");
        assert_eq!(parts.len(), 2);
        assert_eq!(
            parts[0].content_type.as_deref(),
            Some("application/json; charset=UTF-8")
        );
        assert_eq!(parts[0].body, b"{\"contentType\":\"application/json\"}");
        assert_eq!(parts[1].content_type, None);
        assert_eq!(parts[1].body, b"{\"a\":\r\n1}");
    }

    #[test]
    fn boundaries_come_from_the_content_type() {
        assert_eq!(
            boundary("multipart/related; boundary=\"x y\"").unwrap(),
            "x y"
        );
        assert_eq!(boundary("multipart/related;boundary=abc").unwrap(), "abc");
        assert_eq!(boundary("application/json").unwrap_err().code, 400);
        assert_eq!(boundary("multipart/related").unwrap_err().code, 400);
        assert_eq!(parse(b"no parts", "abc").unwrap_err().code, 400);
    }

    #[test]
    fn an_empty_part_is_empty() {
        let body = b"--b\r\nContent-Type: text/plain\r\n\r\n\r\n--b--";
        let parts = parse(body, "b").unwrap();
        assert_eq!(parts[0].body, b"");
    }
}
