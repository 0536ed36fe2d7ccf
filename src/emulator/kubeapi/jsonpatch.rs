//! JSON patches (RFC 6902, `application/json-patch+json`), as
//! `kubectl patch --type=json` sends them.

use serde_json::Value;

/// Unescapes one JSON-pointer segment (`~1` → `/`, `~0` → `~`).
fn segment(s: &str) -> String {
    s.replace("~1", "/").replace("~0", "~")
}

fn split(path: &str) -> Result<Vec<String>, String> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let rest = path
        .strip_prefix('/')
        .ok_or_else(|| format!("invalid JSON pointer {path:?}"))?;
    Ok(rest.split('/').map(segment).collect())
}

fn parent<'a>(doc: &'a mut Value, path: &[String]) -> Result<&'a mut Value, String> {
    let mut cur = doc;
    for k in path {
        cur = match cur {
            Value::Object(m) => m.get_mut(k),
            Value::Array(a) => k.parse::<usize>().ok().and_then(move |i| a.get_mut(i)),
            _ => None,
        }
        .ok_or_else(|| format!("doc is missing path: /{}", path.join("/")))?;
    }
    Ok(cur)
}

fn get(doc: &Value, path: &[String]) -> Option<Value> {
    path.iter()
        .try_fold(doc, |v, k| match v {
            Value::Object(m) => m.get(k),
            Value::Array(a) => k.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        })
        .cloned()
}

fn add(doc: &mut Value, path: &[String], value: Value) -> Result<(), String> {
    let Some((last, up)) = path.split_last() else {
        *doc = value;
        return Ok(());
    };
    match parent(doc, up)? {
        Value::Object(m) => {
            m.insert(last.clone(), value);
        }
        Value::Array(a) => {
            let i = if last == "-" {
                a.len()
            } else {
                last.parse::<usize>()
                    .ok()
                    .filter(|i| *i <= a.len())
                    .ok_or_else(|| format!("invalid index {last}"))?
            };
            a.insert(i, value);
        }
        _ => return Err(format!("cannot add at /{}", path.join("/"))),
    }
    Ok(())
}

fn remove(doc: &mut Value, path: &[String]) -> Result<Value, String> {
    let (last, up) = path
        .split_last()
        .ok_or_else(|| "cannot remove the root".to_string())?;
    let missing = || format!("doc is missing key: /{}", path.join("/"));
    match parent(doc, up)? {
        Value::Object(m) => m.remove(last).ok_or_else(missing),
        Value::Array(a) => {
            let i = last
                .parse::<usize>()
                .ok()
                .filter(|i| *i < a.len())
                .ok_or_else(missing)?;
            Ok(a.remove(i))
        }
        _ => Err(missing()),
    }
}

/// Applies the operations of `patch` to `doc`.
///
/// # Errors
/// A message (for a 422) when an operation fails, a `test` does not
/// match, or the patch is not a list of operations.
pub fn apply(doc: &mut Value, patch: &Value) -> Result<(), String> {
    let ops = patch
        .as_array()
        .ok_or_else(|| "a JSON patch must be a list of operations".to_string())?;
    for op in ops {
        let path = split(op["path"].as_str().unwrap_or(""))?;
        let value = || {
            op.get("value")
                .cloned()
                .ok_or_else(|| "missing value".to_string())
        };
        let from = || split(op["from"].as_str().unwrap_or(""));
        match op["op"].as_str().unwrap_or("") {
            "add" => add(doc, &path, value()?)?,
            "remove" => {
                remove(doc, &path)?;
            }
            "replace" => {
                remove(doc, &path)?;
                add(doc, &path, value()?)?;
            }
            "move" => {
                let v = remove(doc, &from()?)?;
                add(doc, &path, v)?;
            }
            "copy" => {
                let v = get(doc, &from()?).ok_or_else(|| "copy from a missing path".to_string())?;
                add(doc, &path, v)?;
            }
            "test" => {
                if get(doc, &path) != Some(value()?) {
                    return Err(format!("testing value /{} failed", path.join("/")));
                }
            }
            other => return Err(format!("Unexpected kind: {other}")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn operations_of_rfc_6902() {
        let mut doc = json!({"spec": {"replicas": 1, "ports": [{"port": 80}]},
                             "metadata": {"labels": {"a/b": "x"}}});
        apply(
            &mut doc,
            &json!([
                {"op": "replace", "path": "/spec/replicas", "value": 3},
                {"op": "add", "path": "/spec/ports/-", "value": {"port": 443}},
                {"op": "remove", "path": "/metadata/labels/a~1b"},
                {"op": "test", "path": "/spec/ports/0/port", "value": 80},
                {"op": "copy", "from": "/spec/replicas", "path": "/spec/min"},
            ]),
        )
        .unwrap();
        assert_eq!(
            doc,
            json!({"spec": {"replicas": 3, "min": 3, "ports": [{"port": 80}, {"port": 443}]},
                   "metadata": {"labels": {}}})
        );
        assert!(apply(&mut doc, &json!([{"op": "remove", "path": "/nope"}])).is_err());
    }
}
