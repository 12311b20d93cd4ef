//! The direct path of [`review::handle`](super::review::handle): a plain, well-formed CREATE or
//! UPDATE is read in one pass straight from the body (borrowed strings, the object decoded into its
//! typed form as it is read) instead of through a `serde_json::Value` of the whole review, which
//! costs an allocation per key and value. Whatever it does not recognise is left to
//! [`review::handle_loosely`](super::review::handle_loosely), so every answer stays the same.
//!
//! Accepting exactly what `Value` accepts: every member this path does not keep (unread review
//! fields, `oldObject`, `fieldsV1`, unknown keys of the review, the object and its metadata) is read
//! as [`Skipped`]: its text is scanned without building anything, and held to the checks a `Value`
//! parse applies (number range, escapes, depth); the members it keeps are decoded by the same parser
//! with the same checks. Duplicate keys keep the last value, as `Value` does. Where a check cannot
//! be settled cheaply the review goes to the loose path, which answers it as before.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use super::engine::{AdmissionKind, Admit, DirectRequest, Mode, Operation, decide_direct};
use super::review::{REVIEW_API_VERSION, Reviewed};
use super::{ClusterView, RemoteUrlPolicy};
use crate::api::crd::GROUP;
use crate::api::v1beta1::{MCPGroup, MCPRegistry, MCPServerEntry, VirtualMCPServer};

/// A JSON object read member by member: [`Members::member`] reads the members it knows, every other
/// member is read as [`Skipped`].
trait Members<'de>: Default {
    /// Reads the value of `key` from `map` and returns `true`, or returns `false` for a key it
    /// does not know without reading anything.
    fn member<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error>;
}

struct MembersVisitor<T>(PhantomData<T>);

impl<'de, T: Members<'de>> Visitor<'de> for MembersVisitor<T> {
    type Value = T;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let mut out = T::default();
        while let Some(key) = map.next_key::<Str<'de>>()? {
            if !out.member(&key.0, &mut map)? {
                map.next_value::<Skipped>()?;
            }
        }
        Ok(out)
    }
}

fn members<'de, D: Deserializer<'de>, T: Members<'de>>(deserializer: D) -> Result<T, D::Error> {
    deserializer.deserialize_map(MembersVisitor(PhantomData))
}

/// Implements `Deserialize` through [`Members`] for a struct whose fields are all `Option`s read
/// from the listed keys (`null` reads as absent; a repeated key keeps its last value, as in a
/// `Value`). Generics: `[impl parameters] 'de, type`.
macro_rules! members {
    ([$($generics:tt)*] $de:lifetime, $ty:ty { $($key:literal => $field:ident),* $(,)? }) => {
        impl<$($generics)*> Members<$de> for $ty {
            fn member<A: MapAccess<$de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error> {
                match key {
                    $($key => self.$field = map.next_value()?,)*
                    _ => return Ok(false),
                }
                Ok(true)
            }
        }

        impl<$($generics)*> Deserialize<$de> for $ty {
            fn deserialize<D: Deserializer<$de>>(deserializer: D) -> Result<Self, D::Error> {
                members(deserializer)
            }
        }
    };
}

/// The parts of an AdmissionReview that [`handle_direct`] reads, borrowed from the body; `O` is the
/// object ([`Decoded`], or a `Value` for kinds whose checks read it).
struct Envelope<'a, O> {
    api_version: Option<Str<'a>>,
    kind: Option<Str<'a>>,
    request: Option<EnvelopeRequest<'a, O>>,
}

impl<O> Default for Envelope<'_, O> {
    fn default() -> Self {
        Envelope { api_version: None, kind: None, request: None }
    }
}

members!(['de, O: Deserialize<'de>] 'de, Envelope<'de, O> { "apiVersion" => api_version, "kind" => kind, "request" => request });

struct EnvelopeRequest<'a, O> {
    uid: Option<Str<'a>>,
    operation: Option<Str<'a>>,
    kind: Option<GroupKind<'a>>,
    namespace: Option<Str<'a>>,
    name: Option<Str<'a>>,
    sub_resource: Option<Str<'a>>,
    object: Option<O>,
    old_object: Option<ObjectHead<'a>>,
}

impl<O> Default for EnvelopeRequest<'_, O> {
    fn default() -> Self {
        EnvelopeRequest {
            uid: None,
            operation: None,
            kind: None,
            namespace: None,
            name: None,
            sub_resource: None,
            object: None,
            old_object: None,
        }
    }
}

members!(['de, O: Deserialize<'de>] 'de, EnvelopeRequest<'de, O> {
    "uid" => uid,
    "operation" => operation,
    "kind" => kind,
    "namespace" => namespace,
    "name" => name,
    "subResource" => sub_resource,
    "object" => object,
    "oldObject" => old_object,
});

#[derive(Default)]
struct GroupKind<'a> {
    group: Option<Str<'a>>,
    kind: Option<Str<'a>>,
}

members!(['de] 'de, GroupKind<'de> { "group" => group, "kind" => kind });

/// An object read as its kind's derived `Deserialize` reads it (`metadata`, `spec`, `status`), plus
/// the `apiVersion` and `kind` the protocol checks compare.
struct Decoded<'a, S, St> {
    api_version: Option<Str<'a>>,
    kind: Option<Str<'a>>,
    metadata: Option<Metadata>,
    spec: Option<S>,
    status: Option<St>,
}

impl<S, St> Default for Decoded<'_, S, St> {
    fn default() -> Self {
        Decoded { api_version: None, kind: None, metadata: None, spec: None, status: None }
    }
}

members!(['de, S: Deserialize<'de>, St: Deserialize<'de>] 'de, Decoded<'de, S, St> {
    "apiVersion" => api_version,
    "kind" => kind,
    "metadata" => metadata,
    "spec" => spec,
    "status" => status,
});

type DecodedOf<'a, T> = Decoded<'a, <T as Admit>::Spec, <T as Admit>::Status>;

/// `ObjectMeta` read as k8s-openapi reads it, except that `managedFields` and `ownerReferences`,
/// which no rule reads, are checked the same way and dropped instead of kept (the first holds a
/// `Value` tree per manager).
#[derive(Default)]
struct Metadata {
    annotations: Option<BTreeMap<String, String>>,
    creation_timestamp: Option<Time>,
    deletion_grace_period_seconds: Option<i64>,
    deletion_timestamp: Option<Time>,
    finalizers: Option<Vec<String>>,
    generate_name: Option<String>,
    generation: Option<i64>,
    labels: Option<BTreeMap<String, String>>,
    managed_fields: Option<Vec<ManagedFields>>,
    name: Option<String>,
    namespace: Option<String>,
    owner_references: Option<Vec<OwnerReference>>,
    resource_version: Option<String>,
    self_link: Option<String>,
    uid: Option<String>,
}

members!(['de] 'de, Metadata {
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
    "uid" => uid,
});

impl From<Metadata> for ObjectMeta {
    fn from(m: Metadata) -> Self {
        ObjectMeta {
            annotations: m.annotations,
            creation_timestamp: m.creation_timestamp,
            deletion_grace_period_seconds: m.deletion_grace_period_seconds,
            deletion_timestamp: m.deletion_timestamp,
            finalizers: m.finalizers,
            generate_name: m.generate_name,
            generation: m.generation,
            labels: m.labels,
            managed_fields: None,
            name: m.name,
            namespace: m.namespace,
            owner_references: None,
            resource_version: m.resource_version,
            self_link: m.self_link,
            uid: m.uid,
        }
    }
}

/// A `ManagedFieldsEntry`, checked as k8s-openapi reads it (its `fieldsV1` holds any JSON value).
#[derive(Default)]
struct ManagedFields {
    _api_version: Option<IsStr>,
    _fields_type: Option<IsStr>,
    _fields_v1: Option<Skipped>,
    _manager: Option<IsStr>,
    _operation: Option<IsStr>,
    _subresource: Option<IsStr>,
    _time: Option<Time>,
}

members!(['de] 'de, ManagedFields {
    "apiVersion" => _api_version,
    "fieldsType" => _fields_type,
    "fieldsV1" => _fields_v1,
    "manager" => _manager,
    "operation" => _operation,
    "subresource" => _subresource,
    "time" => _time,
});

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

members!(['de] 'de, OwnerReference {
    "apiVersion" => _api_version,
    "blockOwnerDeletion" => _block_owner_deletion,
    "controller" => _controller,
    "kind" => _kind,
    "name" => _name,
    "uid" => _uid,
});

/// What the protocol checks read of an `oldObject`; the rest is checked and dropped.
#[derive(Default)]
struct ObjectHead<'a> {
    api_version: Option<Str<'a>>,
    kind: Option<Str<'a>>,
}

members!(['de] 'de, ObjectHead<'de> { "apiVersion" => api_version, "kind" => kind });

/// A string, borrowed from the body unless it has escapes.
struct Str<'a>(Cow<'a, str>);

impl std::ops::Deref for Str<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Str<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrVisitor;
        impl<'de> Visitor<'de> for StrVisitor {
            type Value = Str<'de>;
            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(StrVisitor)
    }
}

/// A string, checked and dropped.
#[derive(Default)]
struct IsStr;

impl<'de> Deserialize<'de> for IsStr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IsStrVisitor;
        impl<'de> Visitor<'de> for IsStrVisitor {
            type Value = IsStr;
            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<IsStr, E> {
                Ok(IsStr)
            }
        }
        deserializer.deserialize_str(IsStrVisitor)
    }
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
    // Checked once for the whole body, so the parser reads a `str` and need not check it per string.
    let body = std::str::from_utf8(body).ok()?;
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
    with_decoded_review::<T, _>(body, |request, raw| answer::<T>(request, raw, kind, mode, policy, cluster))
}

/// Calls `then` with the request of the `admission.k8s.io/v1` review in `body`, its object decoded
/// in the same pass, or, for kinds whose checks read the raw JSON, read as a `Value` and decoded
/// from it (the `Value` is passed along).
fn with_decoded_review<T: Admit, R>(
    body: &str,
    then: impl FnOnce(EnvelopeRequest<'_, DecodedOf<'_, T>>, Option<&Value>) -> Option<R>,
) -> Option<R> {
    fn request_of<O>(review: Envelope<'_, O>) -> Option<EnvelopeRequest<'_, O>> {
        let is_v1 = review.api_version.as_deref() == Some(REVIEW_API_VERSION)
            && review.kind.as_deref() == Some("AdmissionReview");
        is_v1.then_some(review.request).flatten()
    }
    if !T::READS_RAW {
        return then(request_of(serde_json::from_str(body).ok()?)?, None);
    }
    // The object's text is read twice, as a `Value` for the checks and as the typed object. Both
    // parses start at the object, three levels down in the body, so its nesting is held to what a
    // parse of the whole body allows.
    let mut request = request_of(serde_json::from_str::<Envelope<&RawValue>>(body).ok()?)?;
    let text = request.object.take().map(RawValue::get);
    let (object, raw) = match text {
        Some(text) if text != "null" => {
            if !nesting_within(text, MAX_DEPTH - OBJECT_LEVEL) {
                return None;
            }
            (Some(serde_json::from_str::<DecodedOf<'_, T>>(text).ok()?), Some(serde_json::from_str(text).ok()?))
        }
        _ => (None, None),
    };
    let request = EnvelopeRequest {
        uid: request.uid,
        operation: request.operation,
        kind: request.kind,
        namespace: request.namespace,
        name: request.name,
        sub_resource: request.sub_resource,
        object,
        old_object: request.old_object,
    };
    then(request, raw.as_ref())
}

/// The typed object of the review in `body`, decoded the way the direct path decodes it.
pub(crate) fn decode_object<T: Admit>(body: &[u8]) -> Option<T> {
    with_decoded_review::<T, _>(std::str::from_utf8(body).ok()?, |request, _| {
        let object = request.object?;
        Some(T::from_parts(object.metadata?.into(), object.spec?, object.status))
    })
}

fn answer<T: Admit>(
    request: EnvelopeRequest<'_, DecodedOf<'_, T>>,
    raw: Option<&Value>,
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
    let namespace = request
        .namespace
        .as_deref()
        .filter(|n| !n.is_empty())
        .or(metadata.namespace.as_deref())
        .unwrap_or("default")
        .to_string();
    let name =
        metadata.name.as_deref().filter(|n| !n.is_empty()).or(request.name.as_deref()).unwrap_or_default().to_string();
    let typed = T::from_parts(metadata, spec, object.status);
    let direct = DirectRequest {
        operation,
        namespace: &namespace,
        name: &name,
        object: typed,
        raw,
        has_old_object: request.old_object.is_some(),
    };
    let decision = decide_direct(mode, direct, policy, cluster)?;
    Some(Reviewed::new(kind, uid.0.into_owned(), operation_text, namespace, name, decision))
}

/// How deeply a `Value` parse of the body nests arrays and objects at most (`serde_json`'s limit).
const MAX_DEPTH: usize = 127;

/// The level of the review's object in the body (review, request, object).
const OBJECT_LEVEL: usize = 3;

/// The deepest level at which a [`Skipped`] value's container sits (the members of a
/// `managedFields` entry: review, request, object, metadata, list, entry).
const DEEPEST_SKIP_LEVEL: usize = 6;

/// A JSON value that is not kept: its text is borrowed from the body (read without building
/// anything) and held to the checks a `Value` parse of it applies. Most values settle on a scan of
/// their text; the rest, with escapes or exponents or very long numbers, are parsed again as
/// [`Checked`].
#[derive(Default)]
struct Skipped;

impl<'de> Deserialize<'de> for Skipped {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = <&'de RawValue>::deserialize(deserializer)?;
        if passes_value_checks(raw.get(), MAX_DEPTH - DEEPEST_SKIP_LEVEL) {
            Ok(Skipped)
        } else {
            Err(de::Error::custom("a value that a full parse rejects"))
        }
    }
}

/// Whether `text`, one JSON value as `serde_json` read it without looking inside (its syntax is
/// checked, nothing else), also passes what a `Value` parse checks: nesting at most `depth` levels,
/// escapes that decode, numbers within `f64` range.
fn passes_value_checks(text: &str, depth: usize) -> bool {
    match scan(text.as_bytes(), depth) {
        Scan::Clean => true,
        Scan::Unsettled => serde_json::from_str::<Checked>(text).is_ok(),
        Scan::TooDeep => false,
    }
}

/// Whether the arrays and objects of `text` (one JSON value) nest at most `depth` levels.
fn nesting_within(text: &str, depth: usize) -> bool {
    !matches!(scan(text.as_bytes(), depth), Scan::TooDeep)
}

/// What a scan of well-formed JSON text found.
#[derive(Debug, PartialEq, Eq)]
enum Scan {
    /// Nothing a `Value` parse could refuse.
    Clean,
    /// An escaped UTF-16 surrogate, an exponent or a number of 309 digits or more: the text needs
    /// a real parse to tell (nesting is within the limit).
    Unsettled,
    /// Nested deeper than the limit.
    TooDeep,
}

/// Scans well-formed JSON text for what a `Value` parse checks beyond syntax: string contents are
/// skipped in vectorised jumps to the next quote or backslash, and only the bytes between strings
/// are looked at one by one.
fn scan(text: &[u8], depth: usize) -> Scan {
    let (mut at, mut level, mut unsettled) = (0, 0usize, false);
    while let Some(&byte) = text.get(at) {
        match byte {
            b'"' => {
                at += 1;
                // To the closing quote, over escapes (a backslash and the byte after it). Of the
                // escapes the syntax check lets through, only a `\u` of a UTF-16 surrogate (`D800`
                // to `DFFF`) can fail to decode, when it is not half of a pair.
                while let Some(offset) = memchr::memchr2(b'"', b'\\', &text[at..]) {
                    at += offset + 1;
                    if text[at - 1] == b'"' {
                        break;
                    }
                    if let Some([b'u', b'd' | b'D', b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F']) = text.get(at..at + 3) {
                        unsettled = true;
                    }
                    at += 1;
                }
            }
            b'{' | b'[' => {
                level += 1;
                if level > depth {
                    return Scan::TooDeep;
                }
                at += 1;
            }
            b'}' | b']' => {
                level = level.saturating_sub(1);
                at += 1;
            }
            b'0'..=b'9' => {
                let digits = text[at..].iter().take_while(|b| b.is_ascii_digit()).count();
                at += digits;
                // Past `f64` only with an exponent or 309 digits; a fraction starts a new run.
                unsettled |= digits >= 309 || matches!(text.get(at), Some(b'e' | b'E'));
            }
            _ => at += 1,
        }
    }
    if unsettled { Scan::Unsettled } else { Scan::Clean }
}

/// Any JSON value, checked as a `Value` parse checks it and dropped.
#[derive(Default)]
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
    use crate::admission::review::{encode, handle, handle_loosely};

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
    fn skipped_text_passes_exactly_what_a_value_parse_passes() {
        let nested = |levels: usize, inner: &str| format!("{}{inner}{}", "[".repeat(levels), "]".repeat(levels));
        let mut texts: Vec<String> = [
            "1",
            "-0.5",
            "1e300",
            "1E308",
            "1e400",
            "-1e999",
            "1.5e-400",
            r#""v1e5""#,
            r#"{"f:e1":{},"k8se":"2e"}"#,
            r#""\u0041\n""#,
            r#""\ud800""#,
            r#""\udc00x""#,
            r#""\ud83d\ude00""#,
            r#""\\ud800""#,
            r#"{"k:{\"name\":\"x\"}":{}}"#,
            r#"{"a\"b":"\\"}"#,
            r#"["[[[[[[","{{{{"]"#,
            r#"{"k\ud800":1}"#,
        ]
        .map(String::from)
        .to_vec();
        texts.push(format!("1{}", "0".repeat(300)));
        texts.push(format!("1{}", "0".repeat(400)));
        texts.push(format!("[{}]", vec!["123456789"; 40].join(",")));
        texts.push(format!("0.{}", "1".repeat(400)));
        texts.push(nested(127, "1"));
        texts.push(nested(128, "1"));
        texts.push(nested(127, r#""]]]""#));
        texts.push(format!(r#"[{}]"#, vec![r#"{"x":[]}"#; 100].join(",")));
        texts.push(format!(r#"["{}",{}]"#, "[".repeat(200), nested(20, "1")));
        for text in &texts {
            assert!(serde_json::from_str::<&RawValue>(text).is_ok(), "{text}");
            let value = serde_json::from_str::<Value>(text).is_ok();
            assert_eq!(passes_value_checks(text, MAX_DEPTH), value, "{text}");
        }
    }

    #[test]
    fn answers_are_written_as_their_value_serializes() {
        let policy = RemoteUrlPolicy::default();
        let mut cases = fixtures();
        let typical = compact_fixture("mcpserverentries/create-typical.request.json");
        let odd_uid = edited(typical.as_bytes(), |r| r["request"]["uid"] = json!("a\"b\\c\u{1}\u{e9}\u{2028}"));
        cases.push(("uid that needs escapes".into(), odd_uid));
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
                    plain += usize::from(reviewed.summary.allowed && reviewed.summary.findings.iter().next().is_none());
                }
            }
        }
        assert!(plain >= 10, "only {plain} plain admissions");
    }

    #[test]
    fn the_scan_settles_plain_text_and_leaves_the_rest_to_a_parse() {
        for (text, expected) in [
            (r#"{"uid":"5f3e2e1a","n":[1,-2.5,"1e5"],"t":true}"#, Scan::Clean),
            (r#"{"f:v1e5":{},"k":"[[[{"}"#, Scan::Clean),
            (r#"[1e5]"#, Scan::Unsettled),
            (r#"[0.5E-3]"#, Scan::Unsettled),
            (r#"{"k":"a\"b\\\n\u0041\u2028"}"#, Scan::Clean),
            (r#"{"k":"k:{\"name\":\"x\"}"}"#, Scan::Clean),
            (r#"["\ud800"]"#, Scan::Unsettled),
            (r#"["\uDC00"]"#, Scan::Unsettled),
            (r#"["\ud83d\ude00"]"#, Scan::Unsettled),
            (r#"["\\",[[]]]"#, Scan::Clean),
        ] {
            assert_eq!(scan(text.as_bytes(), 3), expected, "{text}");
        }
        assert_eq!(scan(br#"["\\",[[[]]]]"#, 3), Scan::TooDeep);
        assert_eq!(scan(format!("[{}]", "9".repeat(308)).as_bytes(), 3), Scan::Clean);
        assert_eq!(scan(format!("[{}]", "9".repeat(309)).as_bytes(), 3), Scan::Unsettled);
    }

    #[test]
    fn what_the_api_server_sends_settles_on_the_scan() {
        // managedFields keys of list items are escaped JSON (`k:{\"name\":…}`) and uids mix
        // digits and `e`: neither needs the second parse.
        let review: Value =
            serde_json::from_str(&compact_fixture("mcpserverentries/create-typical.request.json")).expect("json");
        let request = &review["request"];
        let mut skipped: Vec<&Value> =
            ["resource", "requestKind", "requestResource", "userInfo", "options"].map(|k| &request[k]).to_vec();
        skipped.extend(
            request["object"]["metadata"]["managedFields"]
                .as_array()
                .expect("managedFields")
                .iter()
                .map(|m| &m["fieldsV1"]),
        );
        for value in skipped {
            let text = serde_json::to_string(value).expect("json");
            assert_eq!(scan(text.as_bytes(), MAX_DEPTH), Scan::Clean, "{text}");
        }
    }

    #[test]
    fn nesting_is_counted_outside_strings() {
        assert!(nesting_within("[[1]]", 2));
        assert!(!nesting_within("[[1]]", 1));
        assert!(nesting_within(r#"["[[[","\"[[["]"#, 1));
        assert!(!nesting_within(r#"[{"a":[["\\"]]}]"#, 3));
        assert!(nesting_within(r#"[{"a":["\\",[]]}]"#, 4));
    }

    /// A metadata member nested `levels` arrays deep, then `"generation":1,`.
    fn nested_member(levels: usize) -> String {
        format!(r#""x":{}{},"generation":1,"#, "[".repeat(levels), "]".repeat(levels))
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
