//! The direct path of [`review::handle`](super::review::handle): a plain, well-formed CREATE or
//! UPDATE is read in one pass straight from the body by the [`json`] reader (borrowed strings, the
//! object decoded into its typed form as it is read, by [`json::Read`] without serde's visitor
//! protocol where it can, see [`typed`](super::typed)) instead of through a `serde_json::Value` of
//! the whole review, which costs an allocation per key and value. Whatever it does not recognise is
//! left to [`review::handle_loosely`](super::review::handle_loosely), so every answer stays the
//! same.
//!
//! Accepting exactly what `Value` accepts: the [`json`] reader accepts only documents a `Value`
//! parse accepts, and every member this path does not keep (unread review fields, `oldObject`,
//! `ownerReferences`, unknown keys of the review, the object and its metadata) is skipped by it
//! ([`json::Reader::skip`]) as strictly as it reads; `labels` and `managedFields` are checked by it at byte
//! level as k8s-openapi reads them ([`ByteShape`]). Duplicate keys keep the last value, as `Value`
//! does.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::marker::PhantomData;

use compact_str::CompactString;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;
use serde::Deserialize;
use serde::de;
use serde_json::Value;

use super::engine::{AdmissionKind, Admit, DirectRequest, Mode, Operation, decide_direct};
use super::review::{REVIEW_API_VERSION, Reviewed};
use super::{ClusterView, READ_ANNOTATIONS, RawObject, RemoteUrlPolicy, SpecText};
use crate::api::crd::GROUP;
use crate::api::v1beta1::{MCPGroup, MCPRegistry, MCPServerEntry, VirtualMCPServer};
use crate::json;

json::read_by_serde!(Value);

/// The parts of an AdmissionReview that [`handle_direct`] reads, borrowed from the body; `O` is the
/// object ([`Decoded`]).
struct Envelope<'a, O> {
    api_version: Option<Str<'a>>,
    kind: Option<Str<'a>>,
    request: Option<EnvelopeRequest<'a, O>>,
}

json::read_struct!(['de, O: json::Read<'de>] 'de, Envelope<'de, O> {
    optional { "apiVersion" => api_version, "kind" => kind, "request" => request }
});

struct EnvelopeRequest<'a, O> {
    uid: Option<Str<'a>>,
    operation: Option<Str<'a>>,
    kind: Option<GroupKind<'a>>,
    namespace: Option<Str<'a>>,
    name: Option<Str<'a>>,
    sub_resource: Option<Str<'a>>,
    /// Boxed: the decoded object is large, and the envelope is moved from layer to layer.
    object: Option<Box<O>>,
    old_object: Option<ObjectHead<'a>>,
}

json::read_struct!(['de, O: json::Read<'de>] 'de, EnvelopeRequest<'de, O> {
    optional {
        "uid" => uid,
        "operation" => operation,
        "kind" => kind,
        "namespace" => namespace,
        "name" => name,
        "subResource" => sub_resource,
        "object" => object,
        "oldObject" => old_object,
    }
});

struct GroupKind<'a> {
    group: Option<Str<'a>>,
    kind: Option<Str<'a>>,
}

json::read_struct!(['de] 'de, GroupKind<'de> { optional { "group" => group, "kind" => kind } });

/// An object read as its kind's derived `Deserialize` reads it (`metadata`, `spec`, `status`), plus
/// the `apiVersion` and `kind` the protocol checks compare.
struct Decoded<'a, S, St> {
    api_version: Option<Str<'a>>,
    kind: Option<Str<'a>>,
    metadata: Option<Metadata>,
    /// With its text, which rules look in for fields the typed spec does not hold.
    spec: Option<json::Spanned<'a, S>>,
    status: Option<St>,
}

json::read_struct!(['de, S: json::Read<'de>, St: json::Read<'de>] 'de, Decoded<'de, S, St> {
    optional { "apiVersion" => api_version, "kind" => kind, "metadata" => metadata, "spec" => spec, "status" => status }
});

type DecodedOf<'a, T> = Decoded<'a, <T as Admit>::Spec, <T as Admit>::Status>;

/// `ObjectMeta` read as k8s-openapi reads it, except that what no rule reads is checked the same
/// way and dropped instead of kept: `managedFields` (a `Value` tree per manager), `ownerReferences`,
/// `labels`, `uid`, `resourceVersion`, `selfLink`, `finalizers`, the timestamps and every annotation
/// but those in [`READ_ANNOTATIONS`]. A rule that starts reading one of these must be given it here.
#[derive(Default)]
struct Metadata {
    annotations: Option<ReadAnnotations>,
    creation_timestamp: Option<IsTime>,
    deletion_grace_period_seconds: Option<i64>,
    deletion_timestamp: Option<IsTime>,
    finalizers: Option<Vec<IsStr>>,
    generate_name: Option<String>,
    generation: Option<i64>,
    labels: Option<Shaped<Labels>>,
    managed_fields: Option<Shaped<ManagedFieldsList>>,
    name: Option<String>,
    namespace: Option<String>,
    owner_references: Option<Vec<OwnerReference>>,
    resource_version: Option<IsStr>,
    self_link: Option<IsStr>,
    uid: Option<IsStr>,
}

json::read_struct!(['de] 'de, Metadata {
    optional {
        "annotations" => annotations,
        "creationTimestamp" => creation_timestamp,
        "deletionGracePeriodSeconds" => deletion_grace_period_seconds,
        "deletionTimestamp" => deletion_timestamp,
        "finalizers" => finalizers,
        "generateName" => generate_name,
        "generation" => generation,
        "labels" => labels,
        "managedFields" => managed_fields,
        "name" => name,
        "namespace" => namespace,
        "ownerReferences" => owner_references,
        "resourceVersion" => resource_version,
        "selfLink" => self_link,
        "uid" => uid,    }
});

impl From<Metadata> for ObjectMeta {
    fn from(m: Metadata) -> Self {
        ObjectMeta {
            annotations: m.annotations.map(|a| a.0),
            creation_timestamp: None,
            deletion_grace_period_seconds: m.deletion_grace_period_seconds,
            deletion_timestamp: None,
            finalizers: None,
            generate_name: m.generate_name,
            generation: m.generation,
            labels: None,
            managed_fields: None,
            name: m.name,
            namespace: m.namespace,
            owner_references: None,
            resource_version: None,
            self_link: None,
            uid: None,
        }
    }
}

/// A value checked and dropped by the [`json`] reader at byte level, without decoding it token by
/// token, as strictly as k8s-openapi reads it. For the largest parts of a typical review that no
/// rule reads.
trait ByteShape {
    /// Where the value at `at` ends, checked as k8s-openapi reads it, with at most `depth` levels of
    /// nesting.
    fn end(bytes: &[u8], at: usize, depth: u32) -> json::Skip;
}

struct Shaped<S>(PhantomData<S>);

impl<'de, S: ByteShape> json::Read<'de> for Shaped<S> {
    fn read(reader: &mut json::Reader<'de>) -> json::Result<Self> {
        reader.skip_checked(S::end).map(|()| Shaped(PhantomData))
    }
}

/// `metadata.labels`: a map of strings.
enum Labels {}

impl ByteShape for Labels {
    fn end(bytes: &[u8], at: usize, depth: u32) -> json::Skip {
        json::object_end(bytes, at, depth, |_, at, _| json::string_end(bytes, at))
    }
}

/// `metadata.managedFields`: a list of `ManagedFieldsEntry`s, checked as k8s-openapi reads them (their
/// `fieldsV1` holds any JSON value).
enum ManagedFieldsList {}

/// The keys of a `ManagedFieldsEntry` that [`ManagedFieldsList`] checks (its `fieldsV1` as any value).
#[cfg(test)]
impl json::Keys for ManagedFieldsList {
    const KEYS: &'static [&'static str] =
        &["apiVersion", "fieldsType", "fieldsV1", "manager", "operation", "subresource", "time"];
}

impl ByteShape for ManagedFieldsList {
    fn end(bytes: &[u8], at: usize, depth: u32) -> json::Skip {
        json::array_end(bytes, at, depth, |at, depth| {
            json::object_end(bytes, at, depth, |key, at, depth| {
                if let Some(end) = json::null_end(bytes, at) {
                    return Ok(end);
                }
                match key {
                    b"apiVersion" | b"fieldsType" | b"manager" | b"operation" | b"subresource" => {
                        json::string_end(bytes, at)
                    }
                    b"time" => match json::plain_string(bytes, at)? {
                        (text, end) if is_time(text) => Ok(end),
                        _ => Err(at),
                    },
                    // `fieldsV1` (any JSON value) and keys k8s-openapi ignores.
                    _ => json::skip_value(bytes, at, depth),
                }
            })
        })
    }
}

/// An `OwnerReference`, checked as k8s-openapi reads it (every member optional).
#[derive(Default)]
struct OwnerReference {
    _api_version: Option<IsStr>,
    _block_owner_deletion: Option<bool>,
    _controller: Option<bool>,
    _kind: Option<IsStr>,
    _name: Option<IsStr>,
    _uid: Option<IsStr>,
}

json::read_struct!(['de] 'de, OwnerReference {
    optional {
        "apiVersion" => _api_version,
        "blockOwnerDeletion" => _block_owner_deletion,
        "controller" => _controller,
        "kind" => _kind,
        "name" => _name,
        "uid" => _uid,    }
});

/// What the protocol checks read of an `oldObject`; the rest is checked and dropped.
struct ObjectHead<'a> {
    api_version: Option<Str<'a>>,
    kind: Option<Str<'a>>,
}

json::read_struct!(['de] 'de, ObjectHead<'de> { optional { "apiVersion" => api_version, "kind" => kind } });

/// A string, borrowed from the body unless it has escapes.
struct Str<'a>(Cow<'a, str>);

impl std::ops::Deref for Str<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de> json::Read<'de> for Str<'de> {
    fn read(reader: &mut json::Reader<'de>) -> json::Result<Self> {
        Cow::read(reader).map(Str)
    }
}

/// A string, checked and dropped.
#[derive(Default)]
struct IsStr;

/// Checked without decoding its escapes, which matters for the annotation
/// `kubectl.kubernetes.io/last-applied-configuration`, a whole object written as one escaped string.
impl<'de> json::Read<'de> for IsStr {
    fn read(reader: &mut json::Reader<'de>) -> json::Result<Self> {
        reader.skip_checked(|bytes, at, _| json::string_end(bytes, at)).map(|()| IsStr)
    }
}

/// `metadata.annotations` checked as a map of strings, keeping only [`READ_ANNOTATIONS`].
struct ReadAnnotations(BTreeMap<String, String>);

impl<'de> json::Read<'de> for ReadAnnotations {
    fn read(reader: &mut json::Reader<'de>) -> json::Result<Self> {
        let mut kept = BTreeMap::new();
        let mut members = reader.object()?;
        while let Some(key) = members.next_key(reader)? {
            if READ_ANNOTATIONS.contains(&&*key) {
                let value = String::read(reader)?;
                kept.insert(key.into_owned(), value);
            } else {
                IsStr::read(reader)?;
            }
        }
        Ok(ReadAnnotations(kept))
    }
}

/// A `Time` (`metadata.creationTimestamp`, `managedFields[].time`), checked as k8s-openapi reads
/// it and dropped: the form the API server writes is checked by hand, anything else by jiff.
struct IsTime;

impl<'de> json::Read<'de> for IsTime {
    fn read(reader: &mut json::Reader<'de>) -> json::Result<Self> {
        let text = Cow::<str>::read(reader)?;
        if is_time(text.as_bytes()) { Ok(IsTime) } else { Err(de::Error::custom("not a Time")) }
    }
}

/// Whether `text` is a UTC timestamp in the form the API server writes (`2026-11-30T10:00:00Z`)
/// naming a real second well inside the range jiff's `Timestamp` accepts. Anything else is left to
/// jiff, so this decides only what jiff would accept.
fn is_plain_utc_timestamp(text: &[u8]) -> bool {
    let Ok(b) = <&[u8; 20]>::try_from(text) else { return false };
    let shape = b[4] == b'-' && b[7] == b'-' && b[10] == b'T' && b[13] == b':' && b[16] == b':' && b[19] == b'Z';
    // Digit values; anything but a digit comes out above 9.
    let d = |i: usize| u32::from(b[i].wrapping_sub(b'0'));
    let highest = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18].map(d).into_iter().fold(0, u32::max);
    if !shape || highest > 9 {
        return false;
    }
    let two = |i: usize| d(i) * 10 + d(i + 1);
    let (year, month, day) = (two(0) * 100 + two(2), two(5), two(8));
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = match month {
        2 => 28 + u32::from(leap),
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return false,
    };
    (1000..=9998).contains(&year) && (1..=month_days).contains(&day) && two(11) < 24 && two(14) < 60 && two(17) < 60
}

/// Whether the text of a JSON string without escapes is a `Time` as k8s-openapi reads it
/// ([`IsTime`]).
fn is_time(text: &[u8]) -> bool {
    is_plain_utc_timestamp(text)
        || std::str::from_utf8(text)
            .is_ok_and(|text| Timestamp::deserialize(de::value::StrDeserializer::<de::value::Error>::new(text)).is_ok())
}

/// The answer to a plain, well-formed CREATE or UPDATE, read without building a `Value` of the body.
/// `None` for anything else (other operations, subresources, protocol problems, values of
/// unexpected types, objects that do not decode, UPDATEs to ratchet):
/// [`handle_loosely`](super::review::handle_loosely) answers those, so every answer stays exactly
/// what it would have been.
pub(crate) fn handle_direct(
    body: &[u8],
    kind: AdmissionKind,
    mode: Mode,
    policy: &RemoteUrlPolicy,
    cluster: &dyn ClusterView,
) -> Option<Reviewed> {
    // Checked once for the whole body, so the parser reads a `str` and need not check it per string
    // (with SIMD: a third of the cost of `std::str::from_utf8` on a typical review).
    let body = simdutf8::basic::from_utf8(body).ok()?;
    match kind {
        AdmissionKind::MCPGroup => handle_kind::<MCPGroup>(body, kind, mode, policy, cluster),
        AdmissionKind::MCPServerEntry => handle_kind::<MCPServerEntry>(body, kind, mode, policy, cluster),
        AdmissionKind::VirtualMCPServer => handle_kind::<VirtualMCPServer>(body, kind, mode, policy, cluster),
        AdmissionKind::MCPRegistry => handle_kind::<MCPRegistry>(body, kind, mode, policy, cluster),
    }
}

/// A kind whose `spec` and `status` the [`json`] reader decodes (by [`typed`](super::typed)).
pub(crate) trait DirectKind: Admit<Spec: for<'de> json::Read<'de>, Status: for<'de> json::Read<'de>> {}

impl<T: Admit<Spec: for<'de> json::Read<'de>, Status: for<'de> json::Read<'de>>> DirectKind for T {}

fn handle_kind<T: DirectKind>(
    body: &str,
    kind: AdmissionKind,
    mode: Mode,
    policy: &RemoteUrlPolicy,
    cluster: &dyn ClusterView,
) -> Option<Reviewed> {
    answer::<T>(decoded_review::<T>(body)?, kind, mode, policy, cluster)
}

/// The request of the `admission.k8s.io/v1` review in `body`, its object decoded in the same pass.
fn decoded_review<T: DirectKind>(body: &str) -> Option<EnvelopeRequest<'_, DecodedOf<'_, T>>> {
    let review: Envelope<DecodedOf<T>> = json::read_str(body).ok()?;
    let is_v1 =
        review.api_version.as_deref() == Some(REVIEW_API_VERSION) && review.kind.as_deref() == Some("AdmissionReview");
    is_v1.then_some(review.request).flatten()
}

/// The typed object of the review in `body`, decoded the way the direct path decodes it.
pub(crate) fn decode_object<T: DirectKind>(body: &[u8]) -> Option<T> {
    let object = *decoded_review::<T>(std::str::from_utf8(body).ok()?)?.object?;
    Some(T::from_parts(object.metadata?.into(), object.spec?.value, object.status))
}

fn answer<T: DirectKind>(
    request: EnvelopeRequest<'_, DecodedOf<'_, T>>,
    kind: AdmissionKind,
    mode: Mode,
    policy: &RemoteUrlPolicy,
    cluster: &dyn ClusterView,
) -> Option<Reviewed> {
    let uid = request.uid.filter(|uid| !uid.is_empty())?;
    if request.sub_resource.as_deref().is_some_and(|s| !s.is_empty()) {
        return None;
    }
    let operation_text = request.operation.as_deref()?;
    let operation =
        Operation::parse(operation_text).filter(|op| matches!(op, Operation::Create | Operation::Update))?;
    let object = request.object?;
    // The old object counts only where the new one does not say.
    let old_head = request.old_object.as_ref();
    let serves = kind.kind();
    let requested = request.kind.as_ref();
    let object_kind = object.kind.as_deref().or_else(|| old_head?.kind.as_deref());
    let object_api_version = object.api_version.as_deref().or_else(|| old_head?.api_version.as_deref());
    let object_group = object_api_version.map(|v| v.rsplit_once('/').map_or("", |(g, _)| g));
    if requested.and_then(|k| k.kind.as_deref()).is_some_and(|k| k != serves)
        || requested.and_then(|k| k.group.as_deref()).is_some_and(|g| g != GROUP)
        || object_kind.is_some_and(|k| k != serves)
        || object_group.is_some_and(|g| g != GROUP)
    {
        return None;
    }
    let metadata: ObjectMeta = object.metadata?.into();
    let spec = object.spec?;
    let namespace = CompactString::from(
        request.namespace.as_deref().filter(|n| !n.is_empty()).or(metadata.namespace.as_deref()).unwrap_or("default"),
    );
    let name = CompactString::from(
        metadata.name.as_deref().filter(|n| !n.is_empty()).or(request.name.as_deref()).unwrap_or_default(),
    );
    let spec_text = SpecText::new(spec.text, spec.members);
    let typed = T::from_parts(metadata, spec.value, object.status);
    let direct = DirectRequest {
        operation,
        namespace: &namespace,
        name: &name,
        object: &typed,
        raw: Some(RawObject::Spec(&spec_text)),
        has_old_object: request.old_object.is_some(),
    };
    let decision = decide_direct(mode, direct, policy, cluster)?;
    Some(Reviewed::new(kind, uid.0.into_owned(), operation_text, namespace, name, decision))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use pretty_assertions::assert_eq;
    use serde_json::{Value, json};

    use super::*;
    use crate::admission::NoCluster;
    use crate::admission::review::{encode, handle, handle_loosely};

    /// The metadata structs are checked as k8s-openapi reads its own: a member they did not list
    /// would be skipped without its type being checked.
    #[test]
    fn the_metadata_readers_know_the_keys_of_k8s_openapi() {
        use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
        json::assert_keys_match::<Metadata, ObjectMeta>();
        json::assert_keys_match::<ManagedFieldsList, meta::ManagedFieldsEntry>();
        json::assert_keys_match::<OwnerReference, meta::OwnerReference>();
    }

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

    /// An admission fixture compacted as the API server sends it.
    fn compact_fixture(name: &str) -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("webhooks/admission").join(name);
        let value: Value = serde_json::from_slice(&std::fs::read(path).expect("fixture")).expect("json");
        serde_json::to_string(&value).expect("json")
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
        let text = compact_fixture("mcpserverentries/create-typical.request.json");
        let replace = |from: &str, to: &str| {
            assert!(text.contains(from), "{from}");
            text.replacen(from, to, 1).into_bytes()
        };
        let created = |value: &str| {
            replace(r#""creationTimestamp":"2026-11-30T10:00:00Z""#, &format!(r#""creationTimestamp":{value}"#))
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
            // Members the direct path reads without keeping: checked as a `Value` parse checks them.
            ("number out of range in the object", replace(r#""spec":{"#, r#""x":1e400,"spec":{"#)),
            ("number out of range in metadata", replace(r#""generation":1,"#, r#""generation":1,"x":[1e400],"#)),
            ("metadata uid not a string", replace(r#""generation":1,"#, r#""generation":1,"uid":5,"#)),
            ("resourceVersion null", replace(r#""generation":1,"#, r#""generation":1,"resourceVersion":null,"#)),
            ("selfLink with escapes", replace(r#""generation":1,"#, r#""generation":1,"selfLink":"\/a\u0062","#)),
            ("finalizer not a string", replace(r#""generation":1,"#, r#""generation":1,"finalizers":["a",1],"#)),
            ("finalizers not a list", replace(r#""generation":1,"#, r#""generation":1,"finalizers":"a","#)),
            (
                "deletionTimestamp",
                replace(r#""generation":1,"#, r#""generation":1,"deletionTimestamp":"2026-12-01T00:00:00Z","#),
            ),
            (
                "deletionTimestamp not a time",
                replace(r#""generation":1,"#, r#""generation":1,"deletionTimestamp":"soon","#),
            ),
            ("number out of range in fieldsV1", replace(r#""f:team":{}"#, r#""f:team":{"x":-1e999}"#)),
            ("lone surrogate in managedFields", replace(r#""manager":"kubectl""#, r#""manager":"kube\udc00""#)),
            (
                "lone surrogate in an ownerReference",
                replace(
                    r#""generation":1,"#,
                    r#""generation":1,"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"o","uid":"u","x":"\ud800"}],"#,
                ),
            ),
            (
                "ownerReference of the wrong type",
                replace(r#""generation":1,"#, r#""generation":1,"ownerReferences":[{"controller":"yes"}],"#),
            ),
            ("managedFields time not a time", replace(r#""time":"2026-11-30T10:00:00Z""#, r#""time":"yesterday""#)),
            (
                "managedFields time on 29 February 2026",
                replace(r#""time":"2026-11-30T10:00:00Z""#, r#""time":"2026-02-29T10:00:00Z""#),
            ),
            ("creationTimestamp not a time", created(r#""2026-13-01T00:00:00Z""#)),
            ("creationTimestamp with an offset", created(r#""2026-11-30T10:00:00+01:00""#)),
            ("creationTimestamp in a leap second", created(r#""2016-12-31T23:59:60Z""#)),
            ("creationTimestamp past jiff's range", created(r#""9999-12-31T23:59:59Z""#)),
            ("creationTimestamp not a string", created("20261130")),
            ("null creationTimestamp", created("null")),
            // Checked at byte level ([`ByteShape`]) by the direct path.
            (
                "null managedFields members",
                replace(r#""manager":"kubectl""#, r#""manager":null,"time":null,"fieldsV1":null"#),
            ),
            ("managedFields member of the wrong type", replace(r#""fieldsType":"FieldsV1""#, r#""fieldsType":1"#)),
            ("managedFields member not a string", replace(r#""operation":"Apply""#, r#""operation":["Apply"]"#)),
            (
                "unknown managedFields member",
                replace(r#""manager":"kubectl""#, r#""manager":"kubectl","x":{"y":[1,"\ud83d\ude00"]}"#),
            ),
            ("escaped managedFields key", replace(r#""time":"2026-11-30T10:00:00Z""#, r#""ti\u006de":"yesterday""#)),
            (
                "escaped managedFields time",
                replace(r#""time":"2026-11-30T10:00:00Z""#, r#""time":"2026-11-30T10:00:00\u005a""#),
            ),
            (
                "managedFields time with an offset",
                replace(r#""time":"2026-11-30T10:00:00Z""#, r#""time":"2026-11-30T10:00:00-07:00""#),
            ),
            ("managedFields entry not an object", replace(r#""managedFields":["#, r#""managedFields":["x","#)),
            ("null managedFields entry", replace(r#""managedFields":["#, r#""managedFields":[null,"#)),
            ("managedFields not an array", replace(r#""managedFields":["#, r#""managedFields":"x","y":["#)),
            (
                "empty managedFields and labels",
                replace(r#""managedFields":["#, r#""labels":{},"managedFields":[],"x":["#),
            ),
            ("null labels", replace(r#""labels":{"#, r#""labels":null,"x":{"#)),
            ("escaped label key and value", replace(r#""team":"team-a""#, r#""t\u0065am":"team-\u0061""#)),
            ("label value null", replace(r#""team":"team-a""#, r#""team":null"#)),
            ("label value unterminated", replace(r#""team":"team-a"}"#, r#""team":"team-a}"#)),
            ("label value not a string", replace(r#""team":"team-a""#, r#""team":7"#)),
            ("labels not a map", replace(r#""labels":{"#, r#""labels":["x"],"x":{"#)),
            (
                "annotation value null",
                replace(r#""toolhive.stacklok.dev/owner":"#, r#""toolhive.stacklok.dev/owner":null,"y":"#),
            ),
            (
                "annotation value with escapes",
                replace(
                    r#""platform-engineering@example.com""#,
                    r#""{\"a\":[\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00\"]}\n""#,
                ),
            ),
            ("annotation value with a lone surrogate", replace("platform-engineering@", r"platform\udc00@")),
            ("annotation value with a bad escape", replace("platform-engineering@", r"platform\x@")),
            ("annotation value with a short \\u escape", replace("platform-engineering@", r"platform\u12@")),
            ("annotation value with a control character", replace("platform-engineering@", "platform\u{1}@")),
            ("annotation value ending in a backslash", replace(r#"example.com"}"#, r#"example.com\"}"#)),
            ("annotation value not a string", replace(r#""platform-engineering@example.com""#, "[1]")),
            (
                "a conversion annotation among others, repeated",
                replace(
                    r#""annotations":{"#,
                    r#""annotations":{"conversion.toolhive.stacklok.dev/v1alpha1":"{","conversion.toolhive.stacklok.dev/v1alpha1":"{\"absent\":[\"spec.x\"]}","#,
                ),
            ),
            (
                "conversion annotation not a string",
                replace(r#""annotations":{"#, r#""annotations":{"conversion.toolhive.stacklok.dev/v1alpha1":{},"#),
            ),
            ("deep nesting in fieldsV1", replace(r#""f:team":{}"#, &format!(r#""f:team":{deep}"#))),
            ("escapes in fieldsV1", replace(r#""f:team":{}"#, r#""f:te\u0061m":{"\n":"\\"}"#)),
            ("exponent-like keys in fieldsV1", replace(r#""f:team":{}"#, r#""f:v1e5":{"x":2E3}"#)),
            (
                "a long number in an unread field",
                replace(r#""dryRun":false"#, &format!(r#""dryRun":1{}"#, "0".repeat(400))),
            ),
            ("brackets in unread strings", replace(r#""dryRun":false"#, &format!(r#""dryRun":"{}""#, "[".repeat(300)))),
            // The object sits three levels down: 125 more is the deepest a `Value` of the body takes.
            ("nesting at the depth limit", replace(r#""generation":1,"#, &nested_member(125))),
            ("nesting past the depth limit", replace(r#""generation":1,"#, &nested_member(126))),
            ("escaped keys", replace(r#""spec":{"caBundleRef""#, r#""sp\u0065c":{"caBundle\u0052ef""#)),
            (
                "repeated metadata name, the last counts",
                replace(r#""name":"github","namespace""#, r#""name":"x","name":"github","namespace""#),
            ),
            ("number out of range in oldObject", {
                let update = edited(text.as_bytes(), |r| {
                    r["request"]["operation"] = json!("UPDATE");
                    r["request"]["oldObject"] = r["request"]["object"].clone();
                });
                let update = String::from_utf8(update).unwrap();
                let at = update.rfind(r#""spec":{"#).unwrap();
                format!(r#"{}"x":1e400,{}"#, &update[..at], &update[at..]).into_bytes()
            }),
        ];
        let mut direct = 0;
        for (label, body) in &cases {
            assert_same(label, body);
            direct += usize::from(
                handle_direct(
                    body,
                    AdmissionKind::MCPServerEntry,
                    Mode::Validate,
                    &RemoteUrlPolicy::default(),
                    &NoCluster,
                )
                .is_some(),
            );
        }
        assert!(direct >= 10, "the direct path answered only {direct} of these");
    }

    #[test]
    fn answers_are_written_as_their_value_serializes() {
        let policy = RemoteUrlPolicy::default();
        let mut cases = fixtures();
        let typical = compact_fixture("mcpserverentries/create-typical.request.json");
        let odd_uid = edited(typical.as_bytes(), |r| r["request"]["uid"] = json!("a\"b\\c\u{1}\u{e9}\u{2028}"));
        cases.push(("uid that needs escapes".into(), odd_uid));
        let wide_uid = edited(typical.as_bytes(), |r| r["request"]["uid"] = json!("\u{e9}\u{2028}\u{65e5}\u{7f}~"));
        cases.push(("uid of characters that need no escapes".into(), wide_uid));
        let mut plain = 0;
        for (label, body) in &cases {
            for kind in AdmissionKind::ALL {
                for mode in [Mode::Validate, Mode::Mutate] {
                    let Ok(reviewed) = handle(body, kind, mode, &policy, &NoCluster) else { continue };
                    let value = serde_json::to_vec(&reviewed.response()).expect("json");
                    assert_eq!(
                        String::from_utf8(encode(&reviewed)).expect("utf-8"),
                        String::from_utf8(value).expect("utf-8"),
                        "{label}"
                    );
                    plain += usize::from(reviewed.summary.allowed && reviewed.summary.findings.is_empty());
                }
            }
        }
        assert!(plain >= 10, "only {plain} plain admissions");
    }

    /// A metadata member nested `levels` arrays deep, then `"generation":1,`.
    fn nested_member(levels: usize) -> String {
        format!(r#""x":{}{},"generation":1,"#, "[".repeat(levels), "]".repeat(levels))
    }

    #[test]
    fn plain_timestamps_are_judged_as_jiff_judges_them() {
        let jiff_accepts =
            |text: &str| Timestamp::deserialize(de::value::StrDeserializer::<de::value::Error>::new(text)).is_ok();
        let mut plain = 0;
        for year in [999, 1000, 1600, 1900, 1970, 2000, 2023, 2024, 2100, 9998, 9999] {
            for month in 0..=13 {
                for day in 0..=32 {
                    for time in ["00:00:00", "23:59:59", "24:00:00", "12:60:00", "12:00:60", "07:08:09"] {
                        let text = format!("{year:04}-{month:02}-{day:02}T{time}Z");
                        let accepted = jiff_accepts(&text);
                        if is_plain_utc_timestamp(text.as_bytes()) {
                            assert!(accepted, "{text} passed the plain check but jiff refuses it");
                            plain += 1;
                        } else if accepted {
                            // Left to jiff: only the leap second and the years at the ends.
                            assert!(time.ends_with(":60") || !(1000..=9998).contains(&year), "{text}");
                        }
                    }
                }
            }
        }
        assert_eq!(plain, (9 * 365 + 3) * 3, "every day of the nine years in range (three leap), three times each");
        for other in
            ["2026-11-30t10:00:00Z", "2026-11-30T10:00:00z", "2026-11-30T10:00:00+00:00", "2026-11-30T10:00:00.5Z"]
        {
            assert!(!is_plain_utc_timestamp(other.as_bytes()), "{other}");
        }
    }

    #[test]
    fn the_conversion_annotation_reaches_the_rules_and_the_last_repeat_counts() {
        let text = compact_fixture("virtualmcpservers/create-legacy-converted.request.json");
        let key = r#""conversion.toolhive.stacklok.dev/v1alpha1":"#;
        let at = text.find(key).expect("annotation");
        let policy = RemoteUrlPolicy::default();
        let answer = |body: &[u8]| {
            assert_same("legacy", body);
            handle_direct(body, AdmissionKind::VirtualMCPServer, Mode::Validate, &policy, &NoCluster)
                .map(|reviewed| encode(&reviewed))
                .expect("answered directly")
        };
        let as_is = answer(text.as_bytes());
        let garbage_first = format!(r#"{}{key}"{{","label":"x",{}"#, &text[..at], &text[at..]);
        assert_eq!(answer(garbage_first.as_bytes()), as_is);
        let garbage_last = text.replacen(r#","owner":"platform""#, &format!(r#","owner":"platform",{key}"{{""#), 1);
        assert_ne!(garbage_last, text);
        let without = text.replacen(key, r#""renamed":"#, 1);
        assert_ne!(answer(garbage_last.as_bytes()), as_is, "the last repeat counts");
        assert_ne!(answer(without.as_bytes()), as_is, "the annotation changes the answer");
    }

    #[test]
    fn legacy_fields_are_found_in_the_spec_text_as_in_a_value() {
        let text = compact_fixture("virtualmcpservers/create-valid.request.json");
        let policy = RemoteUrlPolicy::default();
        let rules = |body: &[u8]| -> Vec<String> {
            let reviewed = handle_direct(body, AdmissionKind::VirtualMCPServer, Mode::Validate, &policy, &NoCluster)
                .expect("answered directly");
            let answer: Value = serde_json::from_slice(&encode(&reviewed)).expect("json");
            let mut said: Vec<String> = answer["response"]["warnings"]
                .as_array()
                .into_iter()
                .flatten()
                .chain(answer["response"]["status"]["message"].as_str().map(|_| &answer["response"]["status"]))
                .map(Value::to_string)
                .collect();
            said.sort();
            said
        };
        let plain = rules(text.as_bytes());
        let replace = |from: &str, to: &str| {
            assert!(text.contains(from), "{from}");
            text.replacen(from, to, 1)
        };
        let oidc = r#""incomingAuth":{"#;
        let backend = r#""github":{"#;
        let cases = [
            ("token cache", replace(r#""spec":{"#, r#""spec":{"tokenCache":{},"#), true),
            ("escaped key", replace(r#""spec":{"#, r#""spec":{"t\u006fkenCache":null,"#), true),
            ("in an earlier repeat of spec", replace(r#""spec":{"#, r#""spec":{"tokenCache":{}},"spec":{"#), false),
            ("in the last repeat of spec", replace(r#""spec":{"#, r#""spec":{},"spec":{"tokenCache":1,"#), true),
            ("nested, not at the top", replace(r#""config":{"#, r#""config":{"tokenCache":{},"#), false),
            ("a moved field at the top", replace(r#""spec":{"#, r#""spec":{ "operational" : {} ,"#), true),
            ("inline oidcConfig", replace(oidc, &format!(r#"{oidc}"oidcConfig":{{"issuer":"x"}},"#)), true),
            ("backend serviceAccount", replace(backend, &format!(r#"{backend}"serviceAccount":{{}},"#)), true),
            ("the word in a value", replace(r#""replicas":2"#, r#""replicas":2,"x":"tokenCache""#), false),
        ];
        for (label, body, changes) in cases {
            assert_same(label, body.as_bytes());
            assert_eq!(rules(body.as_bytes()) != plain, changes, "{label}");
        }
    }

    #[test]
    fn vmcp_objects_are_checked_in_the_same_pass() {
        let text = compact_fixture("virtualmcpservers/create-valid.request.json");
        let at = text.find(r#""spec":{"#).expect("spec");
        let with = |member: &str| format!("{}{member},{}", &text[..at], &text[at..]).into_bytes();
        for (label, body) in [
            ("as is", text.clone().into_bytes()),
            ("number out of range", with(r#""x":1e400"#)),
            ("nesting at the depth limit", with(&format!(r#""x":{}{}"#, "[".repeat(125), "]".repeat(125)))),
            ("nesting past the depth limit", with(&format!(r#""x":{}{}"#, "[".repeat(126), "]".repeat(126)))),
        ] {
            assert_same(label, &body);
        }
        let policy = RemoteUrlPolicy::default();
        assert!(
            handle_direct(text.as_bytes(), AdmissionKind::VirtualMCPServer, Mode::Validate, &policy, &NoCluster)
                .is_some()
        );
    }
}
