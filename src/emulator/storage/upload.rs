//! What an object insert carries, whatever its `uploadType`: the name, the
//! metadata fields the writer set, the contents and the hashes the writer
//! computed (which must match). Pure.
//!
//! - `multipart` (Google's Rust client below 16 MiB, gcloud): metadata JSON
//!   part, media part, and maybe a trailing JSON part of checksums;
//! - `media`: the body is the contents, `name` a query parameter, the
//!   content type the request's;
//! - no `uploadType` on `POST /storage/v1/b/{b}/o`: the body is the
//!   metadata of an empty object.
//!
//! `resumable` sessions are not emulated (the Rust client uses them from
//! 16 MiB on, far above any state file).

use serde_json::{Map, Value};

use super::errors::StorageError;
use super::hashes;
use super::multipart;
use super::store::WRITABLE_FIELDS;

/// An insert, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Upload {
    /// The object's name.
    pub name: String,
    /// The writable metadata fields given.
    pub fields: Map<String, Value>,
    /// The contents.
    pub data: Vec<u8>,
}

/// Parses an insert.
///
/// # Errors
/// 400 for an unknown or unsupported `uploadType`, a malformed body, a
/// missing name, or a `crc32c` / `md5Hash` that does not match the contents.
pub fn parse(
    query: &[(String, String)],
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Upload, StorageError> {
    let upload_type = query
        .iter()
        .find(|(k, _)| k == "uploadType")
        .map(|(_, v)| v.as_str());
    let (metadata, data, trailer) = match upload_type {
        Some("multipart") => {
            let boundary = multipart::boundary(content_type.unwrap_or_default())?;
            let mut parts = multipart::parse(body, &boundary)?.into_iter();
            let (Some(meta), Some(media)) = (parts.next(), parts.next()) else {
                return Err(StorageError::invalid(
                    "Invalid multipart request: expected the metadata part and the media part.",
                ));
            };
            let metadata = json_object(&meta.body)?;
            let mut metadata = metadata;
            if let Some(kind) = media.content_type.filter(|_| !metadata.contains_key("contentType")) {
                metadata.insert("contentType".into(), Value::String(kind));
            }
            let trailer = parts.next().map(|p| json_object(&p.body)).transpose()?;
            (metadata, media.body, trailer)
        }
        Some("media") => {
            let mut metadata = Map::new();
            if let Some(kind) = content_type {
                metadata.insert("contentType".into(), Value::String(kind.to_string()));
            }
            (metadata, body.to_vec(), None)
        }
        None => (json_object(body)?, Vec::new(), None),
        Some("resumable") => {
            return Err(StorageError::invalid(
                "The emulator does not serve resumable uploads: upload with uploadType=multipart or media.",
            ))
        }
        Some(other) => {
            return Err(StorageError::invalid(format!(
                "Invalid upload type: '{other}'. Must be one of media, multipart, resumable."
            )))
        }
    };
    let name = query
        .iter()
        .find(|(k, _)| k == "name")
        .map(|(_, v)| v.clone())
        .or_else(|| {
            metadata
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .filter(|n| !n.is_empty())
        .ok_or_else(|| StorageError::required("name"))?;
    for given in [Some(&metadata), trailer.as_ref()].into_iter().flatten() {
        check_hashes(given, &data)?;
    }
    let fields = metadata
        .into_iter()
        .filter(|(k, v)| WRITABLE_FIELDS.contains(&k.as_str()) && !v.is_null())
        .collect();
    Ok(Upload { name, fields, data })
}

fn json_object(bytes: &[u8]) -> Result<Map<String, Value>, StorageError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(StorageError::invalid(
            "Invalid JSON payload received. The object metadata must be a JSON object.",
        )),
        Err(e) => Err(StorageError::invalid(format!(
            "Invalid JSON payload received. {e}"
        ))),
    }
}

/// The writer's `crc32c` and `md5Hash` must be those of the contents.
fn check_hashes(given: &Map<String, Value>, data: &[u8]) -> Result<(), StorageError> {
    if let Some(crc) = given.get("crc32c").and_then(Value::as_str) {
        let computed = hashes::crc32c_base64(data);
        if crc != computed {
            return Err(StorageError::invalid(format!(
                "Provided CRC32C \"{crc}\" doesn't match calculated CRC32C \"{computed}\"."
            )));
        }
    }
    if let Some(md5) = given.get("md5Hash").and_then(Value::as_str) {
        let computed = hashes::md5_base64(data);
        if md5 != computed {
            return Err(StorageError::invalid(format!(
                "Provided MD5 hash \"{md5}\" doesn't match calculated MD5 hash \"{computed}\"."
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn multipart_body(metadata: &str, media: &str) -> Vec<u8> {
        format!(
            "--b\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{metadata}\r\n--b\r\n\r\n{media}\r\n--b--\r\n"
        )
        .into_bytes()
    }

    #[test]
    fn a_multipart_upload_takes_its_name_from_the_query_and_checks_the_crc() {
        let text = "123456789";
        let body = multipart_body(
            r#"{"contentType":"application/json","crc32c":"4waSgw==","acl":[]}"#,
            text,
        );
        let query = q(&[("uploadType", "multipart"), ("name", "envs/a.json")]);
        let upload = parse(&query, Some("multipart/related; boundary=b"), &body).unwrap();
        assert_eq!(upload.name, "envs/a.json");
        assert_eq!(upload.data, text.as_bytes());
        assert_eq!(upload.fields["contentType"], "application/json");
        assert!(!upload.fields.contains_key("crc32c"), "not writable");

        let wrong = multipart_body(r#"{"crc32c":"AAAAAA=="}"#, text);
        let e = parse(&query, Some("multipart/related; boundary=b"), &wrong).unwrap_err();
        assert_eq!(e.code, 400);
        assert!(e
            .message
            .contains("doesn't match calculated CRC32C \"4waSgw==\""));
    }

    #[test]
    fn media_uploads_need_a_name_and_resumable_ones_are_refused() {
        let ok = parse(
            &q(&[("uploadType", "media"), ("name", "x")]),
            Some("text/plain"),
            b"hi",
        )
        .unwrap();
        assert_eq!(
            (ok.data.as_slice(), &ok.fields["contentType"]),
            (&b"hi"[..], &Value::from("text/plain"))
        );
        let no_name = parse(&q(&[("uploadType", "media")]), None, b"hi").unwrap_err();
        assert_eq!(no_name.reason, "required");
        let resumable = parse(&q(&[("uploadType", "resumable")]), None, b"").unwrap_err();
        assert_eq!(resumable.code, 400);
    }
}
