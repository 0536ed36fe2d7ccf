//! What Secret Manager accepts: secret ids, labels, payloads and their
//! CRC32C, with the errors it answers otherwise. Pure functions.
//!
//! The rules are those of the API reference (`google.cloud.secretmanager.v1`,
//! as `google-cloud-secretmanager-v1`'s model documents them): a secret id
//! is at most 255 letters, digits, `-` and `_`; label keys match
//! `[\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]{0,62}` and values
//! `[\p{Ll}\p{Lo}\p{N}_-]{0,63}`, each at most 128 bytes of UTF-8, at most
//! 64 labels; a payload is at most 64 KiB.

use base64::Engine as _;
use serde_json::Value;

use crate::emulator::errors::ApiError;

/// Largest payload `addVersion` takes, in bytes (64 KiB).
pub const MAX_PAYLOAD: usize = 65536;

/// Most labels a secret may carry.
const MAX_LABELS: usize = 64;

/// A 400 `INVALID_ARGUMENT`.
pub fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(400, "INVALID_ARGUMENT", "badRequest", message.into())
}

/// Whether `id` is a secret id: 1 to 255 ASCII letters, digits, `-` or `_`.
pub fn valid_secret_id(id: &str) -> bool {
    (1..=255).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `\p{Ll}` or `\p{Lo}`: a lowercase letter, or a letter with no case.
fn lower_or_caseless(c: char) -> bool {
    c.is_lowercase() || (c.is_alphabetic() && !c.is_uppercase())
}

/// `[\p{Ll}\p{Lo}\p{N}_-]`.
fn label_char(c: char) -> bool {
    lower_or_caseless(c) || c.is_numeric() || c == '_' || c == '-'
}

/// Checks a secret's `labels` object.
///
/// # Errors
/// 400 naming the first label that breaks a rule, or when there are more
/// than 64.
pub fn check_labels(labels: &Value) -> Result<(), ApiError> {
    let Some(map) = labels.as_object() else {
        return match labels {
            Value::Null => Ok(()),
            _ => Err(invalid(
                "Invalid value at 'secret.labels': labels must be a map of strings.",
            )),
        };
    };
    if map.len() > MAX_LABELS {
        return Err(invalid(format!(
            "A secret can have at most {MAX_LABELS} labels; {} were given.",
            map.len()
        )));
    }
    for (key, value) in map {
        let key_ok = key.chars().next().is_some_and(lower_or_caseless)
            && key.chars().count() <= 63
            && key.len() <= 128
            && key.chars().all(label_char);
        if !key_ok {
            return Err(invalid(format!(
                "Invalid label key [{key}]: keys must be 1 to 63 characters, start with a lowercase letter and contain only lowercase letters, digits, underscores and hyphens."
            )));
        }
        let Some(value) = value.as_str() else {
            return Err(invalid(format!(
                "Invalid value at 'secret.labels[{key}]': a label value must be a string."
            )));
        };
        if value.chars().count() > 63 || value.len() > 128 || !value.chars().all(label_char) {
            return Err(invalid(format!(
                "Invalid label value [{value}] for key [{key}]: values must be at most 63 characters and contain only lowercase letters, digits, underscores and hyphens."
            )));
        }
    }
    Ok(())
}

/// Checks a secret's `replication`: exactly one of `automatic` and
/// `userManaged`, the latter with at least one replica naming a location.
///
/// # Errors
/// 400 when it is missing or malformed.
pub fn check_replication(replication: &Value) -> Result<(), ApiError> {
    let automatic = replication.get("automatic").filter(|v| !v.is_null());
    let user = replication.get("userManaged").filter(|v| !v.is_null());
    match (automatic, user) {
        (None, None) => Err(invalid(
            "Secret.replication is required: set replication.automatic or replication.userManaged.",
        )),
        (Some(_), Some(_)) => Err(invalid(
            "Secret.replication must set only one of replication.automatic and replication.userManaged.",
        )),
        (Some(_), None) => Ok(()),
        (None, Some(user)) => {
            let replicas = user["replicas"].as_array().map_or(&[][..], Vec::as_slice);
            if replicas.is_empty() {
                return Err(invalid(
                    "Secret.replication.userManaged.replicas must name at least one location.",
                ));
            }
            if replicas
                .iter()
                .any(|r| r["location"].as_str().is_none_or(str::is_empty))
            {
                return Err(invalid(
                    "Every replica of Secret.replication.userManaged must have a location.",
                ));
            }
            Ok(())
        }
    }
}

/// The replication status a new version reports for a secret's `replication`.
pub fn replication_status(replication: &Value) -> Value {
    match replication.get("userManaged") {
        Some(user) if !user.is_null() => {
            let replicas: Vec<Value> = user["replicas"]
                .as_array()
                .map_or(&[][..], Vec::as_slice)
                .iter()
                .map(|r| serde_json::json!({"location": r["location"]}))
                .collect();
            serde_json::json!({"userManaged": {"replicas": replicas}})
        }
        _ => serde_json::json!({"automatic": {}}),
    }
}

/// The bytes of `payload.data` (standard or URL-safe base64, as Google's
/// JSON parser takes bytes), checked for size and against
/// `payload.dataCrc32c` when given. Returns the data and whether the
/// client gave a checksum.
///
/// # Errors
/// 400 for data that is not base64, empty or larger than 64 KiB, or whose
/// CRC32C is not the one given.
pub fn payload(payload: &Value) -> Result<(Vec<u8>, bool), ApiError> {
    let text = match &payload["data"] {
        Value::Null => "",
        Value::String(s) => s.as_str(),
        other => {
            return Err(invalid(format!(
                "Invalid value at 'payload.data' (TYPE_BYTES), {other}"
            )))
        }
    };
    let data = decode_bytes(text).ok_or_else(|| {
        invalid(format!(
            "Invalid value at 'payload.data' (TYPE_BYTES), Base64 decoding failed for \"{text}\""
        ))
    })?;
    if data.is_empty() {
        return Err(invalid("Secret Payload cannot be empty."));
    }
    if data.len() > MAX_PAYLOAD {
        return Err(invalid(format!(
            "Secret Payload cannot be larger than {MAX_PAYLOAD} bytes; it is {} bytes.",
            data.len()
        )));
    }
    let given = match &payload["dataCrc32c"] {
        Value::Null => None,
        Value::String(s) => Some(s.parse::<i64>().map_err(|_| {
            invalid(format!(
                "Invalid value at 'payload.data_crc32c' (TYPE_INT64), \"{s}\""
            ))
        })?),
        Value::Number(n) => Some(n.as_i64().ok_or_else(|| {
            invalid(format!(
                "Invalid value at 'payload.data_crc32c' (TYPE_INT64), {n}"
            ))
        })?),
        other => {
            return Err(invalid(format!(
                "Invalid value at 'payload.data_crc32c' (TYPE_INT64), {other}"
            )))
        }
    };
    if let Some(given) = given {
        if given != i64::from(crc32c(&data)) {
            return Err(invalid(
                "The checksum in field payload.data_crc32c did not match the data in field payload.data.",
            ));
        }
    }
    Ok((data, given.is_some()))
}

/// Base64, standard or URL-safe, padded or not.
fn decode_bytes(text: &str) -> Option<Vec<u8>> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    let lenient =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    let standard = GeneralPurpose::new(&base64::alphabet::STANDARD, lenient);
    let url = GeneralPurpose::new(&base64::alphabet::URL_SAFE, lenient);
    standard.decode(text).or_else(|_| url.decode(text)).ok()
}

/// CRC32C (Castagnoli, reflected polynomial 0x82F63B78) of `data`, the
/// checksum Secret Manager keeps with every payload.
pub fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0x82F6_3B78 & mask);
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn crc32c_is_castagnoli() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(b""), 0);
        // Google's documented sample: "a\n" (YQo=) has dataCrc32c 163439259.
        assert_eq!(crc32c(b"a\n"), 163_439_259);
    }

    #[test]
    fn secret_ids_are_letters_digits_hyphens_underscores() {
        assert!(valid_secret_id("meshform-state_CA1"));
        assert!(valid_secret_id(&"a".repeat(255)));
        assert!(!valid_secret_id(&"a".repeat(256)));
        assert!(!valid_secret_id(""));
        assert!(!valid_secret_id("has.dot"));
        assert!(!valid_secret_id("has/slash"));
    }

    #[test]
    fn labels_follow_googles_rules() {
        assert!(check_labels(&json!({"meshform_state": "abc-123", "k": ""})).is_ok());
        assert!(check_labels(&json!({"été": "ü"})).is_ok());
        assert!(check_labels(&Value::Null).is_ok());
        for bad in [
            json!({"Upper": "x"}),
            json!({"1digit": "x"}),
            json!({"": "x"}),
            json!({"k": "Upper"}),
            json!({"k": "dot."}),
            json!({"k": "x".repeat(64)}),
            json!({"k".repeat(64): "x"}),
        ] {
            assert_eq!(check_labels(&bad).unwrap_err().code, 400, "{bad}");
        }
        let many: serde_json::Map<String, Value> =
            (0..65).map(|i| (format!("k{i}"), json!("v"))).collect();
        assert!(check_labels(&Value::Object(many)).is_err());
    }

    #[test]
    fn replication_is_required_and_one_of_two() {
        assert!(check_replication(&json!({"automatic": {}})).is_ok());
        assert!(check_replication(
            &json!({"userManaged": {"replicas": [{"location": "europe-west2"}]}})
        )
        .is_ok());
        assert!(check_replication(&Value::Null).is_err());
        assert!(check_replication(&json!({})).is_err());
        assert!(check_replication(&json!({"automatic": {}, "userManaged": {}})).is_err());
        assert!(check_replication(&json!({"userManaged": {"replicas": []}})).is_err());
    }

    #[test]
    fn payloads_are_checked_for_size_and_checksum() {
        let (data, given) = payload(&json!({"data": "YQo=", "dataCrc32c": "163439259"})).unwrap();
        assert_eq!((data.as_slice(), given), (&b"a\n"[..], true));
        let (_, given) = payload(&json!({"data": "YQo"})).unwrap();
        assert!(!given);
        assert!(payload(&json!({"data": "YQo=", "dataCrc32c": 163_439_259})).is_ok());
        let wrong = payload(&json!({"data": "YQo=", "dataCrc32c": "1"})).unwrap_err();
        assert_eq!((wrong.code, wrong.status), (400, "INVALID_ARGUMENT"));
        assert!(wrong.message.contains("data_crc32c"));
        assert!(payload(&json!({"data": ""})).is_err());
        assert!(payload(&json!({"data": "!!"})).is_err());
        let big = base64::engine::general_purpose::STANDARD.encode(vec![0u8; MAX_PAYLOAD + 1]);
        assert!(payload(&json!({"data": big})).is_err());
        let max = base64::engine::general_purpose::STANDARD.encode(vec![0u8; MAX_PAYLOAD]);
        assert!(payload(&json!({"data": max})).is_ok());
    }
}
