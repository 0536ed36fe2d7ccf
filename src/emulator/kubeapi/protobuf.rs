//! Request bodies in Kubernetes' protobuf encoding
//! (`application/vnd.kubernetes.protobuf`), which kubectl's typed clients
//! send for built-in kinds (`kubectl create namespace|configmap|secret|
//! deployment|serviceaccount|role|rolebinding|...`, `kubectl expose`,
//! `kubectl run`).
//!
//! The body is the `k8s\0` magic and a `runtime.Unknown` envelope whose
//! `raw` field holds the object. Objects are decoded to JSON with a
//! schema of the fields of the kinds meshform applies (field numbers from
//! Kubernetes' `generated.proto`); fields outside it are skipped. As Go
//! encodes every non-pointer field, empty strings, zeros and `false` are
//! dropped: they are what JSON's `omitempty` leaves out.

use base64::Engine as _;
use serde_json::{json, Map, Value};

/// The kind of a field.
#[derive(Debug, Clone, Copy)]
enum F {
    Str,
    Int,
    Bool,
    Msg(&'static [Field]),
    StrList,
    MsgList(&'static [Field]),
    MapStr,
    MapBytes,
    IntOrStr,
}

type Field = (u32, &'static str, F);

const OBJECT_META: &[Field] = &[
    (1, "name", F::Str),
    (2, "generateName", F::Str),
    (3, "namespace", F::Str),
    (11, "labels", F::MapStr),
    (12, "annotations", F::MapStr),
    (14, "finalizers", F::StrList),
];
const LABEL_SELECTOR_REQ: &[Field] = &[
    (1, "key", F::Str),
    (2, "operator", F::Str),
    (3, "values", F::StrList),
];
const LABEL_SELECTOR: &[Field] = &[
    (1, "matchLabels", F::MapStr),
    (2, "matchExpressions", F::MsgList(LABEL_SELECTOR_REQ)),
];
const CONTAINER_PORT: &[Field] = &[
    (1, "name", F::Str),
    (2, "hostPort", F::Int),
    (3, "containerPort", F::Int),
    (4, "protocol", F::Str),
    (5, "hostIP", F::Str),
];
const RESOURCE_ATTRIBUTES: &[Field] = &[
    (1, "namespace", F::Str),
    (2, "verb", F::Str),
    (3, "group", F::Str),
    (4, "version", F::Str),
    (5, "resource", F::Str),
    (6, "subresource", F::Str),
    (7, "name", F::Str),
];
const NON_RESOURCE_ATTRIBUTES: &[Field] = &[(1, "path", F::Str), (2, "verb", F::Str)];
const ACCESS_REVIEW_SPEC: &[Field] = &[
    (1, "resourceAttributes", F::Msg(RESOURCE_ATTRIBUTES)),
    (2, "nonResourceAttributes", F::Msg(NON_RESOURCE_ATTRIBUTES)),
    (3, "user", F::Str),
    (4, "groups", F::StrList),
    (6, "uid", F::Str),
];
const TOKEN_REVIEW_SPEC: &[Field] = &[(1, "token", F::Str), (2, "audiences", F::StrList)];
const ENV_VAR: &[Field] = &[(1, "name", F::Str), (2, "value", F::Str)];
const RESOURCES: &[Field] = &[];
const CONTAINER: &[Field] = &[
    (1, "name", F::Str),
    (2, "image", F::Str),
    (3, "command", F::StrList),
    (4, "args", F::StrList),
    (5, "workingDir", F::Str),
    (6, "ports", F::MsgList(CONTAINER_PORT)),
    (7, "env", F::MsgList(ENV_VAR)),
    (8, "resources", F::Msg(RESOURCES)),
    (13, "terminationMessagePath", F::Str),
    (14, "imagePullPolicy", F::Str),
    (16, "stdin", F::Bool),
    (18, "tty", F::Bool),
    (20, "terminationMessagePolicy", F::Str),
];
const POD_SPEC: &[Field] = &[
    (2, "containers", F::MsgList(CONTAINER)),
    (3, "restartPolicy", F::Str),
    (4, "terminationGracePeriodSeconds", F::Int),
    (6, "dnsPolicy", F::Str),
    (7, "nodeSelector", F::MapStr),
    (8, "serviceAccountName", F::Str),
    (11, "hostNetwork", F::Bool),
    (19, "schedulerName", F::Str),
    (20, "initContainers", F::MsgList(CONTAINER)),
];
const POD_TEMPLATE: &[Field] = &[
    (1, "metadata", F::Msg(OBJECT_META)),
    (2, "spec", F::Msg(POD_SPEC)),
];
const ROLLING_UPDATE: &[Field] = &[
    (1, "maxUnavailable", F::IntOrStr),
    (2, "maxSurge", F::IntOrStr),
];
const STRATEGY: &[Field] = &[
    (1, "type", F::Str),
    (2, "rollingUpdate", F::Msg(ROLLING_UPDATE)),
];
const DEPLOYMENT_SPEC: &[Field] = &[
    (1, "replicas", F::Int),
    (2, "selector", F::Msg(LABEL_SELECTOR)),
    (3, "template", F::Msg(POD_TEMPLATE)),
    (4, "strategy", F::Msg(STRATEGY)),
    (5, "minReadySeconds", F::Int),
    (6, "revisionHistoryLimit", F::Int),
    (7, "paused", F::Bool),
    (9, "progressDeadlineSeconds", F::Int),
];
const SERVICE_PORT: &[Field] = &[
    (1, "name", F::Str),
    (2, "protocol", F::Str),
    (3, "port", F::Int),
    (4, "targetPort", F::IntOrStr),
    (5, "nodePort", F::Int),
    (6, "appProtocol", F::Str),
];
const SERVICE_SPEC: &[Field] = &[
    (1, "ports", F::MsgList(SERVICE_PORT)),
    (2, "selector", F::MapStr),
    (3, "clusterIP", F::Str),
    (4, "type", F::Str),
    (5, "externalIPs", F::StrList),
    (7, "sessionAffinity", F::Str),
    (8, "loadBalancerIP", F::Str),
    (9, "loadBalancerSourceRanges", F::StrList),
    (10, "externalName", F::Str),
    (11, "externalTrafficPolicy", F::Str),
];
const POLICY_RULE: &[Field] = &[
    (1, "verbs", F::StrList),
    (2, "apiGroups", F::StrList),
    (3, "resources", F::StrList),
    (4, "resourceNames", F::StrList),
    (5, "nonResourceURLs", F::StrList),
];
const SUBJECT: &[Field] = &[
    (1, "kind", F::Str),
    (2, "apiGroup", F::Str),
    (3, "name", F::Str),
    (4, "namespace", F::Str),
];
const ROLE_REF: &[Field] = &[
    (1, "apiGroup", F::Str),
    (2, "kind", F::Str),
    (3, "name", F::Str),
];
const NAMESPACE_SPEC: &[Field] = &[(1, "finalizers", F::StrList)];
const LOCAL_OBJECT_REF: &[Field] = &[(1, "name", F::Str)];

fn schema(kind: &str) -> Option<Vec<Field>> {
    let meta = (1, "metadata", F::Msg(OBJECT_META));
    Some(match kind {
        "Namespace" => vec![meta, (2, "spec", F::Msg(NAMESPACE_SPEC))],
        "ConfigMap" => vec![
            meta,
            (2, "data", F::MapStr),
            (3, "binaryData", F::MapBytes),
            (4, "immutable", F::Bool),
        ],
        "Secret" => vec![
            meta,
            (2, "data", F::MapBytes),
            (3, "type", F::Str),
            (4, "stringData", F::MapStr),
            (5, "immutable", F::Bool),
        ],
        "ServiceAccount" => vec![
            meta,
            (3, "imagePullSecrets", F::MsgList(LOCAL_OBJECT_REF)),
            (4, "automountServiceAccountToken", F::Bool),
        ],
        "Service" => vec![meta, (2, "spec", F::Msg(SERVICE_SPEC))],
        "Deployment" => vec![meta, (2, "spec", F::Msg(DEPLOYMENT_SPEC))],
        "Pod" => vec![meta, (2, "spec", F::Msg(POD_SPEC))],
        "Role" | "ClusterRole" => vec![meta, (2, "rules", F::MsgList(POLICY_RULE))],
        "RoleBinding" | "ClusterRoleBinding" => vec![
            meta,
            (2, "subjects", F::MsgList(SUBJECT)),
            (3, "roleRef", F::Msg(ROLE_REF)),
        ],
        // A self-subject review's spec has fields 1 and 2 only.
        "SelfSubjectAccessReview" | "SubjectAccessReview" => {
            vec![meta, (2, "spec", F::Msg(ACCESS_REVIEW_SPEC))]
        }
        "TokenReview" => vec![meta, (2, "spec", F::Msg(TOKEN_REVIEW_SPEC))],
        _ => return None,
    })
}

/// The wire values of one message: `(field number, value)`.
enum Wire<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

fn varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut out = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos)?;
        *pos += 1;
        out |= ((b & 0x7f) as u64) << shift;
        if b & 0x80 == 0 {
            return Some(out);
        }
    }
    None
}

fn fields(buf: &[u8]) -> Option<Vec<(u32, Wire<'_>)>> {
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < buf.len() {
        let tag = varint(buf, &mut pos)?;
        let number = (tag >> 3) as u32;
        match tag & 7 {
            0 => out.push((number, Wire::Varint(varint(buf, &mut pos)?))),
            1 => pos += 8,
            2 => {
                let len = varint(buf, &mut pos)? as usize;
                let bytes = buf.get(pos..pos.checked_add(len)?)?;
                pos += len;
                out.push((number, Wire::Bytes(bytes)));
            }
            5 => pos += 4,
            _ => return None,
        }
    }
    (pos == buf.len()).then_some(out)
}

fn string(b: &[u8]) -> Value {
    json!(String::from_utf8_lossy(b))
}

fn map_entry(b: &[u8]) -> Option<(String, &[u8])> {
    let mut key = String::new();
    let mut value: &[u8] = &[];
    for (n, w) in fields(b)? {
        match (n, w) {
            (1, Wire::Bytes(k)) => key = String::from_utf8_lossy(k).to_string(),
            (2, Wire::Bytes(v)) => value = v,
            _ => {}
        }
    }
    Some((key, value))
}

fn int_or_string(b: &[u8]) -> Option<Value> {
    let (mut ty, mut int, mut s) = (0, 0i64, String::new());
    for (n, w) in fields(b)? {
        match (n, w) {
            (1, Wire::Varint(v)) => ty = v,
            (2, Wire::Varint(v)) => int = v as i32 as i64,
            (3, Wire::Bytes(v)) => s = String::from_utf8_lossy(v).to_string(),
            _ => {}
        }
    }
    Some(if ty == 1 { json!(s) } else { json!(int) })
}

fn message(buf: &[u8], schema: &[Field]) -> Option<Map<String, Value>> {
    let mut out = Map::new();
    for (number, wire) in fields(buf)? {
        let Some((_, name, kind)) = schema.iter().find(|(n, _, _)| *n == number) else {
            continue;
        };
        let name = name.to_string();
        match (kind, wire) {
            (F::Str, Wire::Bytes(b)) => {
                out.insert(name, string(b));
            }
            (F::Int, Wire::Varint(v)) => {
                out.insert(name, json!(v as i64));
            }
            (F::Bool, Wire::Varint(v)) => {
                out.insert(name, json!(v != 0));
            }
            (F::Msg(s), Wire::Bytes(b)) => {
                out.insert(name, Value::Object(message(b, s)?));
            }
            (F::StrList, Wire::Bytes(b)) => push(&mut out, name, string(b)),
            (F::MsgList(s), Wire::Bytes(b)) => push(&mut out, name, Value::Object(message(b, s)?)),
            (F::MapStr, Wire::Bytes(b)) => {
                let (k, v) = map_entry(b)?;
                entry_map(&mut out, name).insert(k, string(v));
            }
            (F::MapBytes, Wire::Bytes(b)) => {
                let (k, v) = map_entry(b)?;
                let encoded = base64::engine::general_purpose::STANDARD.encode(v);
                entry_map(&mut out, name).insert(k, json!(encoded));
            }
            (F::IntOrStr, Wire::Bytes(b)) => {
                out.insert(name, int_or_string(b)?);
            }
            _ => return None,
        }
    }
    out.retain(|_, v| !is_empty_scalar(v));
    Some(out)
}

fn is_empty_scalar(v: &Value) -> bool {
    match v {
        Value::String(s) => s.is_empty(),
        Value::Number(n) => n.as_i64() == Some(0),
        Value::Bool(b) => !b,
        _ => false,
    }
}

fn push(out: &mut Map<String, Value>, name: String, v: Value) {
    if let Some(list) = out.entry(name).or_insert_with(|| json!([])).as_array_mut() {
        list.push(v);
    }
}

fn entry_map(out: &mut Map<String, Value>, name: String) -> &mut Map<String, Value> {
    out.entry(name)
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("map field")
}

/// Decodes a protobuf body holding an object of `kind` into JSON.
///
/// # Errors
/// A message for a 415 (kind not decoded) or 400 (malformed body).
pub fn decode(kind: &str, body: &[u8]) -> Result<Value, (u16, String)> {
    let schema = schema(kind).ok_or_else(|| {
        (
            415,
            format!("the emulated API server reads protobuf bodies of Namespace, ConfigMap, Secret, ServiceAccount, Service, Deployment, Pod, RBAC and review kinds only, not {kind}; send JSON"),
        )
    })?;
    let bad = || (400, "the protobuf request body does not decode".to_string());
    let envelope = body.strip_prefix(b"k8s\0").ok_or_else(bad)?;
    let raw = fields(envelope)
        .ok_or_else(bad)?
        .into_iter()
        .find_map(|(n, w)| match (n, w) {
            (2, Wire::Bytes(b)) => Some(b),
            _ => None,
        })
        .ok_or_else(bad)?;
    let object = message(raw, &schema).ok_or_else(bad)?;
    Ok(Value::Object(object))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(n: u32, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![(n << 3 | 2) as u8, bytes.len() as u8];
        out.extend_from_slice(bytes);
        out
    }

    #[test]
    fn a_namespace_with_labels_and_empty_strings_decodes_like_json() {
        let label = [field(1, b"team"), field(2, b"mesh")].concat();
        let meta = [field(1, b"demo"), field(2, b""), field(11, &label)].concat();
        let raw = field(1, &meta);
        let type_meta = [field(1, b"v1"), field(2, b"Namespace")].concat();
        let body = [b"k8s\0".to_vec(), field(1, &type_meta), field(2, &raw)].concat();
        let v = decode("Namespace", &body).unwrap();
        assert_eq!(
            v,
            json!({"metadata": {"name": "demo", "labels": {"team": "mesh"}}})
        );
        assert_eq!(decode("Event", &body).unwrap_err().0, 415);
        assert_eq!(decode("Namespace", b"{}").unwrap_err().0, 400);
    }

    #[test]
    fn kubectl_auth_can_i_sends_a_self_subject_access_review() {
        let attrs = [
            field(1, b"default"),
            field(2, b"create"),
            field(5, b"configmaps"),
        ]
        .concat();
        let raw = [field(1, b""), field(2, &field(1, &attrs))].concat();
        let body = [b"k8s\0".to_vec(), field(2, &raw)].concat();
        let v = decode("SelfSubjectAccessReview", &body).unwrap();
        assert_eq!(
            v["spec"],
            json!({"resourceAttributes": {"namespace": "default", "verb": "create",
                                          "resource": "configmaps"}})
        );
    }
}
