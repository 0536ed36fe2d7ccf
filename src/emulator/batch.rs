//! `POST /batch/compute/v1`: Google's batch endpoint, which gcloud uses for
//! some list and describe calls.
//!
//! The request is `multipart/mixed`; each part is `Content-Type:
//! application/http` with a `Content-ID` and holds one HTTP request
//! (`GET /compute/v1/projects/… HTTP/1.1`, headers, blank line, body). The
//! answer is `multipart/mixed` too, one part per request in order, each
//! `Content-Type: application/http` with `Content-ID: <response-ID>` and the
//! HTTP status line, headers and JSON body of that request's answer.

use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::errors::ApiError;

/// One request of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The part's `Content-ID` without angle brackets, e.g. `uuid+1`; empty if absent.
    pub content_id: String,
    /// HTTP method, e.g. `GET`.
    pub method: String,
    /// Path and query, e.g. `/compute/v1/projects/p/global/networks?alt=json`.
    pub target: String,
    /// The request body (empty for GET).
    pub body: Vec<u8>,
}

/// One answer of a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// HTTP status code.
    pub status: u16,
    /// JSON body.
    pub body: Value,
}

impl From<Result<Value, ApiError>> for Answer {
    fn from(result: Result<Value, ApiError>) -> Self {
        match result {
            Ok(body) => Answer { status: 200, body },
            Err(e) => Answer {
                status: e.code,
                body: e.body(),
            },
        }
    }
}

/// The boundary of a `multipart/mixed` content type.
///
/// # Errors
/// 400 `invalid` when the content type is not multipart or has no boundary.
pub fn boundary(headers: &HeaderMap) -> Result<String, ApiError> {
    let ct = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !ct.to_ascii_lowercase().starts_with("multipart/") {
        return Err(ApiError::invalid(
            "Invalid batch request: the content type must be multipart/mixed.",
        ));
    }
    ct.split(';')
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim().trim_matches('"').to_string())
        .filter(|b| !b.is_empty())
        .ok_or_else(|| ApiError::invalid("Invalid batch request: multipart boundary is missing."))
}

/// Splits a batch body into its requests.
///
/// # Errors
/// 400 `invalid` for a part that holds no HTTP request line.
pub fn parse(body: &[u8], boundary: &str) -> Result<Vec<Part>, ApiError> {
    let text = String::from_utf8_lossy(body);
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    for chunk in text.split(delimiter.as_str()).skip(1) {
        if chunk.starts_with("--") {
            break;
        }
        let (headers, inner) = split_head(chunk.trim_start_matches(['\r', '\n']));
        let content_id = header(headers, "content-id")
            .map(|v| v.trim_start_matches('<').trim_end_matches('>').to_string())
            .unwrap_or_default();
        let inner = inner.trim_start_matches(['\r', '\n']);
        let (line, rest) = inner.split_once('\n').unwrap_or((inner, ""));
        let mut words = line.split_whitespace();
        let (Some(method), Some(target)) = (words.next(), words.next()) else {
            return Err(ApiError::invalid(
                "Invalid batch request: a part holds no HTTP request.",
            ));
        };
        let (_, body) = split_head(rest);
        let body = body.trim_end_matches(['\r', '\n']);
        parts.push(Part {
            content_id,
            method: method.to_string(),
            target: target.to_string(),
            body: body.as_bytes().to_vec(),
        });
    }
    Ok(parts)
}

/// Headers and body of a MIME entity (split at the first blank line).
fn split_head(text: &str) -> (&str, &str) {
    let crlf = text.find("\r\n\r\n").map(|i| (i, 4));
    let lf = text.find("\n\n").map(|i| (i, 2));
    match [crlf, lf].into_iter().flatten().min() {
        Some((i, len)) => (&text[..i], &text[i + len..]),
        None => (text, ""),
    }
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// The path after `/compute/v1/` and the query pairs of a part's target.
pub fn compute_target(target: &str) -> Option<(String, Vec<(String, String)>)> {
    let path_and_query = match target.find("://") {
        Some(i) => {
            let after = &target[i + 3..];
            &after[after.find('/').unwrap_or(after.len())..]
        }
        None => target,
    };
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let rest = path.strip_prefix("/compute/v1/")?;
    Some((rest.to_string(), super::query::parse_pairs(query)))
}

/// The method of a part, or 400 for an unknown one.
///
/// # Errors
/// 400 `invalid` for a method name that is not a valid HTTP method.
pub fn method_of(part: &Part) -> Result<Method, ApiError> {
    Method::from_bytes(part.method.as_bytes())
        .map_err(|_| ApiError::invalid(format!("Invalid HTTP method {}", part.method)))
}

/// The `multipart/mixed` answer to `parts`, with `answers` in the same order.
pub fn respond(parts: &[Part], answers: &[Answer]) -> Response {
    let boundary = format!("batch_{:016x}", rand::random::<u64>());
    let mut out = String::new();
    for (part, answer) in parts.iter().zip(answers) {
        let reason = StatusCode::from_u16(answer.status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("");
        let json = answer.body.to_string();
        out.push_str(&format!(
            "--{boundary}\r\nContent-Type: application/http\r\n"
        ));
        if !part.content_id.is_empty() {
            out.push_str(&format!("Content-ID: <response-{}>\r\n", part.content_id));
        }
        out.push_str(&format!(
            "\r\nHTTP/1.1 {} {reason}\r\nContent-Type: application/json; charset=UTF-8\r\nContent-Length: {}\r\n\r\n{json}\r\n",
            answer.status,
            json.len()
        ));
    }
    out.push_str(&format!("--{boundary}--\r\n"));
    (
        StatusCode::OK,
        [(
            axum::http::header::CONTENT_TYPE,
            format!("multipart/mixed; boundary={boundary}"),
        )],
        out,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const GCLOUD_BODY: &str = "\n--===============7330845974216740156==\nContent-Type: application/http\nMIME-Version: 1.0\nContent-Transfer-Encoding: binary\nContent-ID: <b29c5de2-0db4-490a-b6e1-3fb4a62bdc6c+0>\n\nGET /compute/v1/projects/p/aggregated/instances?alt=json&includeAllScopes=True HTTP/1.1\nContent-Type: application/json\nMIME-Version: 1.0\naccept: application/json\ncontent-length: 0\nHost: 127.0.0.1:1\n\n\n--===============7330845974216740156==\nContent-Type: application/http\nMIME-Version: 1.0\nContent-Transfer-Encoding: binary\nContent-ID: <b29c5de2-0db4-490a-b6e1-3fb4a62bdc6c+1>\n\nPOST /compute/v1/projects/p/global/networks?alt=json HTTP/1.1\nContent-Type: application/json\nMIME-Version: 1.0\nHost: 127.0.0.1:1\n\n{\"name\": \"n\"}\n--===============7330845974216740156==--";

    #[test]
    fn parses_the_parts_gcloud_sends() {
        let parts = parse(
            GCLOUD_BODY.as_bytes(),
            "===============7330845974216740156==",
        )
        .expect("parses");
        assert_eq!(parts.len(), 2);
        assert_eq!(
            parts[0].content_id,
            "b29c5de2-0db4-490a-b6e1-3fb4a62bdc6c+0"
        );
        assert_eq!(parts[0].method, "GET");
        assert!(parts[0].body.is_empty());
        let (rest, query) = compute_target(&parts[0].target).expect("compute path");
        assert_eq!(rest, "projects/p/aggregated/instances");
        assert!(query.contains(&("includeAllScopes".into(), "True".into())));
        assert_eq!(parts[1].method, "POST");
        assert_eq!(parts[1].body, b"{\"name\": \"n\"}");
    }

    #[test]
    fn boundary_is_read_quoted_or_not() {
        let mut h = HeaderMap::new();
        h.insert(
            "content-type",
            "multipart/mixed; boundary=\"==abc==\"".parse().unwrap(),
        );
        assert_eq!(boundary(&h).expect("boundary"), "==abc==");
        h.insert("content-type", "application/json".parse().unwrap());
        assert_eq!(boundary(&h).unwrap_err().code, 400);
    }

    #[tokio::test]
    async fn answers_carry_response_content_ids() {
        let parts = parse(
            GCLOUD_BODY.as_bytes(),
            "===============7330845974216740156==",
        )
        .expect("parses");
        let answers = vec![
            Answer {
                status: 200,
                body: json!({"kind": "k"}),
            },
            Answer::from(Err(ApiError::not_found("projects/p/global/networks/n"))),
        ];
        let response = respond(&parts, &answers);
        let ct = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_string();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let text = String::from_utf8(body.to_vec()).unwrap();
        let b = ct.split("boundary=").nth(1).unwrap();
        assert!(text.starts_with(&format!("--{b}\r\n")));
        assert!(text.contains("Content-ID: <response-b29c5de2-0db4-490a-b6e1-3fb4a62bdc6c+1>"));
        assert!(text.contains("HTTP/1.1 404 Not Found"));
        assert!(text.ends_with(&format!("--{b}--\r\n")));
    }
}
