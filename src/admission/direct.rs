//! The direct path of [`review::handle`](super::review::handle): a plain, well-formed CREATE or
//! UPDATE is read straight from the body (borrowed strings, the objects as raw JSON text decoded
//! into their typed form) instead of through a `serde_json::Value` of the whole review, which costs
//! an allocation per key and value. Whatever it does not recognise is left to
//! [`review::handle_loosely`](super::review::handle_loosely), so every answer stays the same.

use std::borrow::Cow;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use super::engine::{AdmissionKind, Admit, DirectRequest, Mode, Operation, decide_direct};
use super::review::{REVIEW_API_VERSION, Reviewed, Summary, response_for};
use super::{ClusterView, RemoteUrlPolicy};
use crate::api::crd::GROUP;
use crate::api::v1beta1::{MCPGroup, MCPRegistry, MCPServerEntry, VirtualMCPServer};

/// The parts of an AdmissionReview that [`handle_direct`] reads, borrowed from the body; `O` is the
/// object, decoded in the same pass ([`Decoded`]) or kept as JSON text.
#[derive(Deserialize)]
#[serde(bound(deserialize = "O: Deserialize<'de>"))]
struct Envelope<'a, O> {
    #[serde(rename = "apiVersion", borrow)]
    api_version: Cow<'a, str>,
    #[serde(borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    request: EnvelopeRequest<'a, O>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "O: Deserialize<'de>"))]
struct EnvelopeRequest<'a, O> {
    #[serde(borrow)]
    uid: Cow<'a, str>,
    #[serde(borrow, default)]
    operation: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    kind: Option<GroupKind<'a>>,
    #[serde(borrow, default)]
    namespace: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    sub_resource: Option<Cow<'a, str>>,
    #[serde(default)]
    object: Option<O>,
    #[serde(borrow, default)]
    old_object: Option<&'a RawValue>,
}

impl<'a, O> EnvelopeRequest<'a, O> {
    fn try_map_object<P>(self, decode: impl FnOnce(O) -> Option<P>) -> Option<EnvelopeRequest<'a, P>> {
        let object = match self.object {
            Some(object) => Some(decode(object)?),
            None => None,
        };
        Some(EnvelopeRequest {
            uid: self.uid,
            operation: self.operation,
            kind: self.kind,
            namespace: self.namespace,
            name: self.name,
            sub_resource: self.sub_resource,
            object,
            old_object: self.old_object,
        })
    }
}

#[derive(Deserialize)]
struct GroupKind<'a> {
    #[serde(borrow, default)]
    group: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    kind: Option<Cow<'a, str>>,
}

/// An object read as its kind's derived `Deserialize` reads it (`metadata`, `spec`, `status`), plus
/// the `apiVersion` and `kind` the protocol checks compare.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "S: Deserialize<'de>, St: Deserialize<'de>"))]
struct Decoded<'a, S, St> {
    #[serde(borrow, default)]
    api_version: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    kind: Option<Cow<'a, str>>,
    metadata: ObjectMeta,
    spec: S,
    status: Option<St>,
}

type DecodedOf<'a, T> = Decoded<'a, <T as Admit>::Spec, <T as Admit>::Status>;

/// What the protocol checks read of an `oldObject`.
#[derive(Deserialize)]
struct ObjectHead<'a> {
    #[serde(rename = "apiVersion", borrow, default)]
    api_version: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    kind: Option<Cow<'a, str>>,
}

/// The answer to a plain, well-formed CREATE or UPDATE, read without building a `Value` of the body.
/// `None` for anything else (other operations, subresources, protocol problems, duplicate keys,
/// values of unexpected types, objects that do not decode, UPDATEs to ratchet):
/// [`handle_loosely`](super::review::handle_loosely) answers those, so every answer stays exactly
/// what it would have been.
pub(crate) fn handle_direct(
    body: &[u8],
    kind: AdmissionKind,
    mode: Mode,
    policy: &RemoteUrlPolicy,
    cluster: &dyn ClusterView,
) -> Option<Reviewed> {
    let body = accepted_as_value(body)?;
    match kind {
        AdmissionKind::MCPGroup => handle_kind::<MCPGroup>(body, kind, mode, policy, cluster),
        AdmissionKind::MCPServerEntry => handle_kind::<MCPServerEntry>(body, kind, mode, policy, cluster),
        AdmissionKind::VirtualMCPServer => handle_kind::<VirtualMCPServer>(body, kind, mode, policy, cluster),
        AdmissionKind::MCPRegistry => handle_kind::<MCPRegistry>(body, kind, mode, policy, cluster),
    }
}

fn handle_kind<T: Admit>(
    body: &str,
    kind: AdmissionKind,
    mode: Mode,
    policy: &RemoteUrlPolicy,
    cluster: &dyn ClusterView,
) -> Option<Reviewed> {
    let (review, raw) = decode_review::<T>(body)?;
    if review.api_version != REVIEW_API_VERSION || review.kind != "AdmissionReview" {
        return None;
    }
    answer::<T>(review.request, raw.as_ref(), kind, mode, policy, cluster)
}

/// The review with its object decoded in one pass, or, for kinds whose checks read the raw JSON,
/// with the object also as a `Value`.
fn decode_review<T: Admit>(body: &str) -> Option<(Envelope<'_, DecodedOf<'_, T>>, Option<Value>)> {
    if !T::READS_RAW {
        return Some((serde_json::from_str(body).ok()?, None));
    }
    let review: Envelope<&RawValue> = serde_json::from_str(body).ok()?;
    let mut raw = None;
    let request = review.request.try_map_object(|object| {
        raw = Some(serde_json::from_str::<Value>(object.get()).ok()?);
        serde_json::from_str(object.get()).ok()
    })?;
    Some((Envelope { api_version: review.api_version, kind: review.kind, request }, raw))
}

/// The typed object of the review in `body`, decoded the way the direct path decodes it.
pub(crate) fn decode_object<T: Admit>(body: &[u8]) -> Option<T> {
    let (review, _) = decode_review::<T>(accepted_as_value(body)?)?;
    let object = review.request.object?;
    Some(T::from_parts(object.metadata, object.spec, object.status))
}

fn answer<T: Admit>(
    request: EnvelopeRequest<'_, DecodedOf<'_, T>>,
    raw: Option<&Value>,
    kind: AdmissionKind,
    mode: Mode,
    policy: &RemoteUrlPolicy,
    cluster: &dyn ClusterView,
) -> Option<Reviewed> {
    if request.uid.is_empty() || request.sub_resource.as_deref().is_some_and(|s| !s.is_empty()) {
        return None;
    }
    let operation_text = request.operation.as_deref()?;
    let operation =
        Operation::parse(operation_text).filter(|op| matches!(op, Operation::Create | Operation::Update))?;
    let object = request.object?;
    // The old object counts only where the new one does not say.
    let old_head: Option<ObjectHead> = match request.old_object {
        Some(old) if object.kind.is_none() || object.api_version.is_none() => {
            Some(serde_json::from_str(old.get()).ok()?)
        }
        _ => None,
    };
    let serves = kind.kind();
    let requested = request.kind.as_ref();
    let object_kind = object.kind.as_deref().or_else(|| old_head.as_ref()?.kind.as_deref());
    let object_api_version = object.api_version.as_deref().or_else(|| old_head.as_ref()?.api_version.as_deref());
    let object_group = object_api_version.map(|v| v.rsplit_once('/').map_or("", |(g, _)| g));
    if requested.and_then(|k| k.kind.as_deref()).is_some_and(|k| k != serves)
        || requested.and_then(|k| k.group.as_deref()).is_some_and(|g| g != GROUP)
        || object_kind.is_some_and(|k| k != serves)
        || object_group.is_some_and(|g| g != GROUP)
    {
        return None;
    }
    let metadata = &object.metadata;
    let namespace = request
        .namespace
        .as_deref()
        .filter(|n| !n.is_empty())
        .or(metadata.namespace.as_deref())
        .unwrap_or("default")
        .to_string();
    let name =
        metadata.name.as_deref().filter(|n| !n.is_empty()).or(request.name.as_deref()).unwrap_or_default().to_string();
    let typed = T::from_parts(object.metadata, object.spec, object.status);
    let direct = DirectRequest {
        operation,
        namespace: &namespace,
        name: &name,
        object: typed,
        raw,
        has_old_object: request.old_object.is_some(),
    };
    let decision = decide_direct(mode, direct, policy, cluster)?;
    Some(Reviewed {
        response: response_for(&request.uid, kind, &name, &decision),
        summary: Summary {
            uid: request.uid.into_owned(),
            operation: operation_text.to_string(),
            namespace,
            name,
            allowed: decision.allowed(),
            patched: decision.patch.is_some(),
            findings: decision.findings,
        },
    })
}

/// `body` as text if `serde_json::from_slice::<Value>` accepts it: the same parser with the same
/// depth limit, number ranges and escape checks, but nothing is built. The direct path skips the
/// parts it does not read, and skipping checks less than building a `Value` does. UTF-8 is checked
/// once for the whole body, so the later passes read a `str` and need not check it per string.
pub(crate) fn accepted_as_value(body: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(body).ok()?;
    serde_json::from_str::<Checked>(text).is_ok().then_some(text)
}

/// Any JSON value, checked and dropped.
struct Checked;

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CheckedVisitor)
    }
}

/// An object key, read as a string like `Value` reads it.
struct CheckedKey;

impl<'de> Deserialize<'de> for CheckedKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(CheckedVisitor).map(|_| CheckedKey)
    }
}

struct CheckedVisitor;

impl<'de> Visitor<'de> for CheckedVisitor {
    type Value = Checked;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        while map.next_key::<CheckedKey>()?.is_some() {
            map.next_value::<Checked>()?;
        }
        Ok(Checked)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use pretty_assertions::assert_eq;
    use serde_json::{Value, json};

    use super::*;
    use crate::admission::NoCluster;
    use crate::admission::review::{handle, handle_loosely};

    /// Every admission fixture as the API server sends it (compact) and as stored (pretty).
    fn fixtures() -> Vec<(String, Vec<u8>)> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("webhooks/admission");
        let mut out = Vec::new();
        for dir in std::fs::read_dir(root).expect("fixtures").flatten() {
            for file in std::fs::read_dir(dir.path()).expect("kind").flatten() {
                let path = file.path();
                if path.to_string_lossy().ends_with(".request.json") {
                    let pretty = std::fs::read(&path).expect("read");
                    let value: Value = serde_json::from_slice(&pretty).expect("json");
                    out.push((path.display().to_string(), serde_json::to_vec(&value).expect("json")));
                    out.push((format!("{} (pretty)", path.display()), pretty));
                }
            }
        }
        out.sort();
        out
    }

    /// The direct path answers exactly as the loose path does, or leaves the review to it.
    fn assert_same(label: &str, body: &[u8]) {
        let policy = RemoteUrlPolicy::default();
        for kind in AdmissionKind::ALL {
            for mode in [Mode::Validate, Mode::Mutate] {
                let loose = handle_loosely(body, kind, mode, &policy, &NoCluster);
                assert_eq!(handle(body, kind, mode, &policy, &NoCluster), loose, "{label} {kind:?} {mode:?}");
            }
        }
    }

    fn edited(body: &[u8], edit: impl FnOnce(&mut Value)) -> Vec<u8> {
        let mut review: Value = serde_json::from_slice(body).expect("json");
        edit(&mut review);
        serde_json::to_vec(&review).expect("json")
    }

    #[test]
    fn every_fixture_gets_the_same_answer_both_ways() {
        let cases = fixtures();
        assert!(cases.len() >= 30, "fixtures missing");
        let policy = RemoteUrlPolicy::default();
        let mut direct = 0;
        for (label, body) in &cases {
            assert_same(label, body);
            let as_update = edited(body, |r| {
                r["request"]["operation"] = json!("UPDATE");
                let mut old = r["request"]["object"].clone();
                if old.is_object() {
                    old["spec"] = json!({});
                }
                r["request"]["oldObject"] = old;
            });
            assert_same(&format!("{label} as UPDATE"), &as_update);
            let unchanged = edited(body, |r| r["request"]["oldObject"] = r["request"]["object"].clone());
            assert_same(&format!("{label} unchanged"), &unchanged);
            let kind = AdmissionKind::ALL.into_iter().find(|k| label.contains(k.plural())).expect("kind");
            direct += usize::from(handle_direct(body, kind, Mode::Validate, &policy, &NoCluster).is_some());
        }
        assert!(direct >= 10, "the direct path answered only {direct} fixtures");
    }

    #[test]
    fn unusual_reviews_get_the_same_answer_both_ways() {
        let typical = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("webhooks/admission/mcpserverentries/create-typical.request.json"),
        )
        .expect("fixture");
        let text = String::from_utf8(serde_json::to_vec(&serde_json::from_slice::<Value>(&typical).unwrap()).unwrap())
            .unwrap();
        let replace = |from: &str, to: &str| {
            assert!(text.contains(from), "{from}");
            text.replacen(from, to, 1).into_bytes()
        };
        let deep = format!("{}1{}", "[".repeat(130), "]".repeat(130));
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("duplicate key in the object", replace(r#""spec":{"#, r#""spec":{"transport":"sse","#)),
            (
                "duplicate key in the request",
                replace(r#""operation":"CREATE""#, r#""operation":"DELETE","operation":"CREATE""#),
            ),
            ("duplicate uid", replace(r#""uid":"e0a1"#, r#""uid":"x","uid":"e0a1"#)),
            ("deep nesting in an unread field", replace(r#""dryRun":false"#, &format!(r#""dryRun":false,"x":{deep}"#))),
            ("number out of range in an unread field", replace(r#""dryRun":false"#, r#""dryRun":1e400"#)),
            ("lone surrogate in an unread string", replace("alice@example.com", r"alice\ud800")),
            ("escaped strings", replace("alice@example.com", r"alice\u0040example.com\n")),
            (
                "escaped object name",
                replace(
                    r#""name":"github","namespace":"team-a","uid":"5f"#,
                    r#""name":"git\u0068ub","namespace":"team-a","uid":"5f"#,
                ),
            ),
            ("invalid UTF-8 in an unread string", {
                let mut bytes = replace("alice@example.com", "alice@example.co\u{e9}");
                let at = bytes.windows(2).position(|w| w == "\u{e9}".as_bytes()).unwrap();
                bytes[at + 1] = 0xff;
                bytes
            }),
            ("trailing garbage", [text.as_bytes(), b" x"].concat()),
            ("not JSON", b"{".to_vec()),
            (
                "no spec",
                edited(text.as_bytes(), |r| drop(r["request"]["object"].as_object_mut().unwrap().remove("spec"))),
            ),
            ("null spec", edited(text.as_bytes(), |r| r["request"]["object"]["spec"] = Value::Null)),
            (
                "spec of the wrong type",
                edited(text.as_bytes(), |r| r["request"]["object"]["spec"]["transport"] = json!(7)),
            ),
            ("null object", edited(text.as_bytes(), |r| r["request"]["object"] = Value::Null)),
            ("array object", edited(text.as_bytes(), |r| r["request"]["object"] = json!([1]))),
            ("object kind not a string", edited(text.as_bytes(), |r| r["request"]["object"]["kind"] = json!(1))),
            ("object of another kind", edited(text.as_bytes(), |r| r["request"]["object"]["kind"] = json!("MCPGroup"))),
            (
                "object of another group",
                edited(text.as_bytes(), |r| r["request"]["object"]["apiVersion"] = json!("v1")),
            ),
            ("request for another group", edited(text.as_bytes(), |r| r["request"]["kind"]["group"] = json!("apps"))),
            ("request kind not an object", edited(text.as_bytes(), |r| r["request"]["kind"] = json!("x"))),
            ("no operation", edited(text.as_bytes(), |r| r["request"]["operation"] = Value::Null)),
            ("unknown operation", edited(text.as_bytes(), |r| r["request"]["operation"] = json!("PATCH"))),
            ("empty uid", edited(text.as_bytes(), |r| r["request"]["uid"] = json!(""))),
            ("uid not a string", edited(text.as_bytes(), |r| r["request"]["uid"] = json!(7))),
            ("status subresource", edited(text.as_bytes(), |r| r["request"]["subResource"] = json!("status"))),
            ("empty subresource", edited(text.as_bytes(), |r| r["request"]["subResource"] = json!(""))),
            (
                "no namespace anywhere",
                edited(text.as_bytes(), |r| {
                    r["request"]["namespace"] = Value::Null;
                    r["request"]["object"]["metadata"].as_object_mut().unwrap().remove("namespace");
                }),
            ),
            (
                "empty names",
                edited(text.as_bytes(), |r| {
                    r["request"]["namespace"] = json!("");
                    r["request"]["object"]["metadata"]["name"] = json!("");
                }),
            ),
            ("metadata not an object", edited(text.as_bytes(), |r| r["request"]["object"]["metadata"] = json!("m"))),
            ("v1beta1 review", edited(text.as_bytes(), |r| r["apiVersion"] = json!("admission.k8s.io/v1beta1"))),
            (
                "denied UPDATE, ratcheted",
                edited(text.as_bytes(), |r| {
                    r["request"]["operation"] = json!("UPDATE");
                    r["request"]["object"]["spec"]["remoteUrl"] = json!("http://localhost/x");
                    r["request"]["oldObject"] = r["request"]["object"].clone();
                }),
            ),
            (
                "denied UPDATE, new violation",
                edited(text.as_bytes(), |r| {
                    r["request"]["operation"] = json!("UPDATE");
                    r["request"]["oldObject"] = r["request"]["object"].clone();
                    r["request"]["object"]["spec"]["remoteUrl"] = json!("http://localhost/x");
                }),
            ),
            (
                "defaults to apply",
                edited(text.as_bytes(), |r| {
                    r["request"]["object"]["spec"]["caBundleRef"]["configMapRef"]
                        .as_object_mut()
                        .unwrap()
                        .remove("key");
                }),
            ),
        ];
        for (label, body) in cases {
            assert_same(label, &body);
        }
    }
}
