//! An object's contents (`alt=media`), with the headers Cloud Storage sends
//! and Google's client reads: `x-goog-generation` (required by it),
//! `x-goog-metageneration`, `x-goog-stored-content-length`,
//! `x-goog-stored-content-encoding`, `x-goog-storage-class`, `x-goog-hash`
//! (`crc32c=…,md5=…`, checked against what was read) and `etag`; a `Range`
//! (`bytes=a-b`, `bytes=a-`, `bytes=-n`) is answered 206 with
//! `content-range`, or 416 when it starts past the end.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::hashes;
use super::store::{etag, StoredObject};

/// The response carrying `object`'s contents, all of them or the `Range`
/// that `request` asks for.
pub fn respond(object: &StoredObject, request: &HeaderMap) -> Response {
    let data = object.bytes();
    let total = data.len() as u64;
    let range = request
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_range(v, total));
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    };
    put("content-type", object.content_type().to_string());
    put("x-goog-generation", object.generation.to_string());
    put("x-goog-metageneration", object.metageneration.to_string());
    put("x-goog-stored-content-length", total.to_string());
    let encoding = object
        .fields
        .get("contentEncoding")
        .and_then(|v| v.as_str())
        .unwrap_or("identity");
    put("x-goog-stored-content-encoding", encoding.to_string());
    put("x-goog-storage-class", "STANDARD".to_string());
    put(
        "x-goog-hash",
        format!(
            "crc32c={},md5={}",
            hashes::crc32c_base64(&data),
            hashes::md5_base64(&data)
        ),
    );
    put("etag", etag(object.generation, object.metageneration));
    put("accept-ranges", "bytes".to_string());
    match range {
        None => (StatusCode::OK, headers, data).into_response(),
        Some(Err(())) => {
            put("content-range", format!("bytes */{total}"));
            (StatusCode::RANGE_NOT_SATISFIABLE, headers).into_response()
        }
        Some(Ok((start, end))) => {
            put("content-range", format!("bytes {start}-{end}/{total}"));
            let slice = data[start as usize..=end as usize].to_vec();
            (StatusCode::PARTIAL_CONTENT, headers, slice).into_response()
        }
    }
}

/// A single `bytes=` range over `total` bytes, as inclusive `(start, end)`;
/// `Err` when it cannot be satisfied, `None` when the header is not one
/// (then the whole object is sent, as HTTP allows) or the object is empty.
fn parse_range(value: &str, total: u64) -> Option<Result<(u64, u64), ()>> {
    let spec = value.trim().strip_prefix("bytes=")?;
    if spec.contains(',') || total == 0 {
        return None;
    }
    let (first, last) = spec.split_once('-')?;
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        let n: u64 = last.parse().ok()?;
        if n == 0 {
            return Some(Err(()));
        }
        return Some(Ok((total.saturating_sub(n), total - 1)));
    }
    let start: u64 = first.parse().ok()?;
    if start >= total {
        return Some(Err(()));
    }
    let end = match last {
        "" => total - 1,
        l => l.parse::<u64>().ok()?.min(total - 1),
    };
    (start <= end).then_some(Ok((start, end)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_inclusive_and_clamped() {
        assert_eq!(parse_range("bytes=0-3", 10), Some(Ok((0, 3))));
        assert_eq!(parse_range("bytes=5-", 10), Some(Ok((5, 9))));
        assert_eq!(parse_range("bytes=-4", 10), Some(Ok((6, 9))));
        assert_eq!(parse_range("bytes=-40", 10), Some(Ok((0, 9))));
        assert_eq!(parse_range("bytes=2-400", 10), Some(Ok((2, 9))));
        assert_eq!(parse_range("bytes=10-", 10), Some(Err(())));
        assert_eq!(
            parse_range("bytes=0-", 0),
            None,
            "an empty object is sent whole"
        );
        assert_eq!(parse_range("items=0-3", 10), None);
        assert_eq!(parse_range("bytes=4-2", 10), None);
    }
}
