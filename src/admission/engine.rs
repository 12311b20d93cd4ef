//! Runs a kind's checks and defaults for one request: decoding, panic isolation, ratcheting and
//! the JSON Patch of the mutating defaults.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use json_patch::jsonptr::Pointer;
use json_patch::{AddOperation, PatchOperation, ReplaceOperation};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::ResourceExt;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::finding::{Finding, Findings, Reason, Severity};
use super::path::{field, lookup};
use super::{
    Check, ClusterView, Context, RawObject, RemoteUrlPolicy, mcpgroup, mcpregistry, mcpserverentry, virtualmcpserver,
};
use crate::api::v1beta1::{
    MCPGroup, MCPGroupSpec, MCPGroupStatus, MCPRegistry, MCPRegistrySpec, MCPRegistryStatus, MCPServerEntry,
    MCPServerEntrySpec, MCPServerEntryStatus, VirtualMCPServer, VirtualMCPServerSpec, VirtualMCPServerStatus,
};

/// Rule id of a denial for an object that does not decode into the kind's type at all.
pub const DECODE_RULE: &str = "object.decode";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
    Delete,
    Connect,
}

impl Operation {
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "CREATE" => Operation::Create,
            "UPDATE" => Operation::Update,
            "DELETE" => Operation::Delete,
            "CONNECT" => Operation::Connect,
            _ => return None,
        })
    }
}

/// Validating or mutating.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Validate,
    Mutate,
}

/// The kinds admission knows, as found in webhook paths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdmissionKind {
    MCPGroup,
    MCPServerEntry,
    VirtualMCPServer,
    MCPRegistry,
}

impl AdmissionKind {
    pub const ALL: [AdmissionKind; 4] = [
        AdmissionKind::MCPGroup,
        AdmissionKind::MCPServerEntry,
        AdmissionKind::VirtualMCPServer,
        AdmissionKind::MCPRegistry,
    ];

    pub fn plural(self) -> &'static str {
        match self {
            AdmissionKind::MCPGroup => "mcpgroups",
            AdmissionKind::MCPServerEntry => "mcpserverentries",
            AdmissionKind::VirtualMCPServer => "virtualmcpservers",
            AdmissionKind::MCPRegistry => "mcpregistries",
        }
    }

    pub fn kind(self) -> &'static str {
        match self {
            AdmissionKind::MCPGroup => "MCPGroup",
            AdmissionKind::MCPServerEntry => "MCPServerEntry",
            AdmissionKind::VirtualMCPServer => "VirtualMCPServer",
            AdmissionKind::MCPRegistry => "MCPRegistry",
        }
    }

    /// Whether a status write without a phase gets `Pending`.
    fn defaults_status_phase(self) -> bool {
        !matches!(self, AdmissionKind::MCPRegistry)
    }
}

pub fn kind_for_name(kind: &str) -> Option<AdmissionKind> {
    AdmissionKind::ALL.into_iter().find(|k| k.kind() == kind)
}

/// One admission request, already taken apart.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    pub operation: Operation,
    pub namespace: &'a str,
    pub name: &'a str,
    pub object: Option<&'a Value>,
    pub old_object: Option<&'a Value>,
    pub sub_resource: Option<&'a str>,
}

/// The engine's answer: findings (denials and warnings) and, for mutation, a JSON Patch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decision {
    pub findings: Findings,
    pub patch: Option<json_patch::Patch>,
}

impl Decision {
    pub fn allowed(&self) -> bool {
        !self.findings.has_denials()
    }
}

/// A CREATE or UPDATE of an object itself (no subresource), with the object already decoded.
pub struct DirectRequest<'a, T> {
    pub operation: Operation,
    pub namespace: &'a str,
    pub name: &'a str,
    /// Borrowed: the decoded object is large, and the checks only read it.
    pub object: &'a T,
    /// The object as the request carried it ([`Context::raw`]).
    pub raw: Option<RawObject<'a>>,
    /// Whether an `oldObject` came with the request (ratcheting compares against it).
    pub has_old_object: bool,
}

/// What the engine needs of each kind's root type.
pub trait Admit: DeserializeOwned + ResourceExt + 'static {
    type Spec: DeserializeOwned;
    type Status: DeserializeOwned;
    /// The object from the parts its derived `Deserialize` reads.
    fn from_parts(metadata: ObjectMeta, spec: Self::Spec, status: Option<Self::Status>) -> Self;
    fn checks() -> &'static [Check<Self>];
    /// The defaults this object lacks, added to `out` in the order of their paths (as a diff of
    /// the object before and after would list them). None by default.
    fn defaults(&self, _out: &mut Defaults) {}
    /// Findings for a DELETE; judged from the request alone, since `oldObject` may be absent.
    fn check_delete(_ctx: &Context, _out: &mut Findings) {}
}

impl Admit for MCPServerEntry {
    type Spec = MCPServerEntrySpec;
    type Status = MCPServerEntryStatus;
    fn from_parts(metadata: ObjectMeta, spec: Self::Spec, status: Option<Self::Status>) -> Self {
        MCPServerEntry { metadata, spec, status }
    }
    fn checks() -> &'static [Check<Self>] {
        mcpserverentry::CHECKS
    }
    fn defaults(&self, out: &mut Defaults) {
        mcpserverentry::defaults(self, out);
    }
}

impl Admit for MCPGroup {
    type Spec = MCPGroupSpec;
    type Status = MCPGroupStatus;
    fn from_parts(metadata: ObjectMeta, spec: Self::Spec, status: Option<Self::Status>) -> Self {
        MCPGroup { metadata, spec, status }
    }
    fn checks() -> &'static [Check<Self>] {
        mcpgroup::CHECKS
    }
    fn check_delete(ctx: &Context, out: &mut Findings) {
        mcpgroup::check_delete(ctx, out);
    }
}

impl Admit for VirtualMCPServer {
    type Spec = VirtualMCPServerSpec;
    type Status = VirtualMCPServerStatus;
    fn from_parts(metadata: ObjectMeta, spec: Self::Spec, status: Option<Self::Status>) -> Self {
        VirtualMCPServer { metadata, spec, status }
    }
    fn checks() -> &'static [Check<Self>] {
        virtualmcpserver::CHECKS
    }
    fn defaults(&self, out: &mut Defaults) {
        virtualmcpserver::defaults(self, out);
    }
}

/// No mutating defaults (`status.phase` has no schema default either).
impl Admit for MCPRegistry {
    type Spec = MCPRegistrySpec;
    type Status = MCPRegistryStatus;
    fn from_parts(metadata: ObjectMeta, spec: Self::Spec, status: Option<Self::Status>) -> Self {
        MCPRegistry { metadata, spec, status }
    }
    fn checks() -> &'static [Check<Self>] {
        mcpregistry::CHECKS
    }
}

/// Evaluates `request` for `kind`.
pub fn decide(
    kind: AdmissionKind,
    mode: Mode,
    request: &Request,
    policy: &RemoteUrlPolicy,
    cluster: &dyn ClusterView,
) -> Decision {
    match kind {
        AdmissionKind::MCPGroup => decide_for::<MCPGroup>(kind, mode, request, policy, cluster),
        AdmissionKind::MCPServerEntry => decide_for::<MCPServerEntry>(kind, mode, request, policy, cluster),
        AdmissionKind::VirtualMCPServer => decide_for::<VirtualMCPServer>(kind, mode, request, policy, cluster),
        AdmissionKind::MCPRegistry => decide_for::<MCPRegistry>(kind, mode, request, policy, cluster),
    }
}

/// [`decide`] for a plain CREATE or UPDATE whose object was decoded straight from the request body.
/// `None` for an UPDATE with denials: ratcheting compares old and new values, which [`decide`]
/// does on `Value`s of both objects.
pub fn decide_direct<T: Admit>(
    mode: Mode,
    request: DirectRequest<T>,
    policy: &RemoteUrlPolicy,
    cluster: &dyn ClusterView,
) -> Option<Decision> {
    if mode == Mode::Mutate {
        return Some(Decision { patch: typed_defaults_patch(request.object), ..Decision::default() });
    }
    let ctx = Context {
        operation: request.operation,
        namespace: request.namespace,
        name: request.name,
        policy,
        cluster,
        annotations: Some(request.object.annotations()),
        raw: request.raw,
    };
    let findings = run_checks(request.object, &ctx);
    if request.operation == Operation::Update && request.has_old_object && findings.has_denials() {
        return None;
    }
    Some(Decision { findings, patch: None })
}

fn decide_for<T: Admit>(
    kind: AdmissionKind,
    mode: Mode,
    request: &Request,
    policy: &RemoteUrlPolicy,
    cluster: &dyn ClusterView,
) -> Decision {
    let is_status = request.sub_resource == Some("status");
    match (mode, request.operation) {
        (_, Operation::Connect) => Decision::default(),
        (Mode::Mutate, Operation::Delete) => Decision::default(),
        (Mode::Mutate, _) if is_status => {
            Decision { patch: status_phase_patch(kind, request.object), ..Decision::default() }
        }
        (Mode::Mutate, _) => Decision { patch: request.object.and_then(defaults_patch::<T>), ..Decision::default() },
        (Mode::Validate, _) if is_status => Decision::default(),
        (Mode::Validate, Operation::Delete) => {
            let mut findings = Findings::default();
            T::check_delete(&context(request, policy, cluster, None, request.old_object), &mut findings);
            Decision { findings, patch: None }
        }
        (Mode::Validate, _) => {
            let Some(object) = request.object else {
                let mut findings = Findings::default();
                findings.deny(DECODE_RULE, "", Reason::Required, "the request carries no object");
                return Decision { findings, patch: None };
            };
            let mut findings = validate_value::<T>(object, request, policy, cluster);
            if request.operation == Operation::Update
                && let Some(old) = request.old_object
            {
                ratchet(&mut findings, object, old);
            }
            Decision { findings, patch: None }
        }
    }
}

fn context<'a>(
    request: &Request<'a>,
    policy: &'a RemoteUrlPolicy,
    cluster: &'a dyn ClusterView,
    annotations: Option<&'a BTreeMap<String, String>>,
    raw: Option<&'a Value>,
) -> Context<'a> {
    let raw = raw.map(RawObject::Value);
    Context {
        operation: request.operation,
        namespace: request.namespace,
        name: request.name,
        policy,
        cluster,
        annotations,
        raw,
    }
}

/// Decodes `object` as `T` and runs every check of `T`.
pub fn validate_value<T: Admit>(
    object: &Value,
    request: &Request,
    policy: &RemoteUrlPolicy,
    cluster: &dyn ClusterView,
) -> Findings {
    match decode_with_path::<T>(&with_spec(object)) {
        Ok(typed) => run_checks(&typed, &context(request, policy, cluster, Some(typed.annotations()), Some(object))),
        Err(err) => {
            let mut findings = Findings::default();
            let (field, reason, problem) = decode_problem("", &err);
            findings.deny(DECODE_RULE, field, reason, format!("does not match the schema: {problem}"));
            findings
        }
    }
}

/// The schemas do not require `spec`, so an absent or `null` one is an empty one (a bare MCPGroup
/// is valid; a bare MCPServerEntry gets the rules' own "required" messages, not a decoding error).
fn with_spec(object: &Value) -> Cow<'_, Value> {
    match object.get("spec") {
        None | Some(Value::Null) if object.is_object() => {
            let mut filled = object.clone();
            filled["spec"] = json!({});
            Cow::Owned(filled)
        }
        _ => Cow::Borrowed(object),
    }
}

/// Decodes `value` as `T`, with the path of the failing field when it does not decode. The path
/// is tracked only on a second pass, after a failure: tracking it costs a third of a decode.
pub(crate) fn decode_with_path<'v, T: Deserialize<'v>>(
    value: &'v Value,
) -> Result<T, serde_path_to_error::Error<serde_json::Error>> {
    T::deserialize(value).or_else(|_| serde_path_to_error::deserialize(value))
}

/// Splits a decoding error of the value at `base` into `(field path, reason, problem)`. A missing
/// field is reported at its own path as required; other problems never repeat input values.
pub(crate) fn decode_problem(
    base: &str,
    err: &serde_path_to_error::Error<serde_json::Error>,
) -> (String, Reason, String) {
    let inner = err.path().to_string();
    let path = match inner.as_str() {
        "." => base.to_string(),
        _ if base.is_empty() || inner.starts_with('[') => format!("{base}{inner}"),
        _ => format!("{base}.{inner}"),
    };
    let message = err.inner().to_string();
    match message.strip_prefix("missing field `").and_then(|m| m.strip_suffix('`')) {
        Some(missing) => (field(&path, missing), Reason::Required, format!("{missing} is required")),
        None => (path, Reason::Invalid, describe_mismatch(&message)),
    }
}

/// serde's own messages, with input values redacted; a deserializer's custom message (a timestamp
/// or quantity parser, say) may quote its input in any form, so it is not repeated.
fn describe_mismatch(message: &str) -> String {
    const SERDE_MESSAGES: [&str; 6] =
        ["invalid type:", "invalid value:", "invalid length", "unknown variant", "unknown field", "duplicate field"];
    if SERDE_MESSAGES.iter().any(|m| message.starts_with(m)) {
        redact_values(message)
    } else {
        "the value has an invalid format".into()
    }
}

/// serde quotes offending input in its messages (`invalid type: string "…"`, ``integer `42` ``);
/// it may be a secret, so only its kind is reported.
pub(crate) fn redact_values(message: &str) -> String {
    const QUOTED: [(&str, char, &str); 5] = [
        ("string \"", '"', "a string"),
        ("integer `", '`', "an integer"),
        ("floating point `", '`', "a number"),
        ("char `", '`', "a character"),
        ("variant `", '`', "variant"),
    ];
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some((start, (marker, close, replacement))) =
        QUOTED.iter().filter_map(|q| rest.find(q.0).map(|i| (i, q))).min_by_key(|(i, _)| *i)
    {
        out.push_str(&rest[..start]);
        out.push_str(replacement);
        let after = &rest[start + marker.len()..];
        rest = after_closing(after, *close);
    }
    out.push_str(rest);
    out
}

/// The text after the first unescaped `close` in `text` (empty when there is none).
fn after_closing(text: &str, close: char) -> &str {
    let mut escaped = false;
    let end = text.char_indices().find(|&(_, c)| {
        let found = c == close && !escaped;
        escaped = c == '\\' && !escaped;
        found
    });
    end.map_or("", |(i, c)| &text[i + c.len_utf8()..])
}

/// Runs every check of `T`; a check that panics becomes a denial naming it.
pub fn run_checks<T: Admit>(object: &T, ctx: &Context) -> Findings {
    run_table(T::checks(), object, ctx)
}

fn run_table<T>(checks: &[Check<T>], object: &T, ctx: &Context) -> Findings {
    let mut findings = Findings::default();
    for (id, check) in checks {
        let mut local = Findings::default();
        match catch_unwind(AssertUnwindSafe(|| check(object, ctx, &mut local))) {
            Ok(()) => findings.0.append(&mut local.0),
            Err(_) => {
                findings.deny(id, "", Reason::Invalid, "internal error while evaluating this rule; denied to be safe")
            }
        }
    }
    findings
}

/// On UPDATE, denials whose fields all kept their old values become `(pre-existing)` warnings.
pub fn ratchet(findings: &mut Findings, object: &Value, old: &Value) {
    for finding in findings.0.iter_mut().filter(|f| f.severity == Severity::Deny && f.rule != DECODE_RULE) {
        let unchanged = |path: &String| lookup(object, path) == lookup(old, path);
        if !finding.field.is_empty() && unchanged(&finding.field) && finding.also_depends_on.iter().all(unchanged) {
            finding.severity = Severity::Warn;
            finding.pre_existing = true;
        }
    }
}

/// The defaults an object lacks, as the JSON Patch operations that set them on the object as sent
/// ([`Admit::defaults`] adds them; the paths are below a `spec` that is assumed present).
#[derive(Debug, Default)]
pub struct Defaults(Vec<PatchOperation>);

impl Defaults {
    /// Sets the string at `path` (a JSON pointer) to `value` where `current` is absent or empty:
    /// `add` where it is absent (or `null`), `replace` where it is empty.
    pub fn string(&mut self, current: Option<&str>, path: &'static str, value: &str) {
        let path = Pointer::from_static(path).to_buf();
        let value = Value::from(value);
        match current {
            None => self.0.push(PatchOperation::Add(AddOperation { path, value })),
            Some("") => self.0.push(PatchOperation::Replace(ReplaceOperation { path, value })),
            Some(_) => {}
        }
    }
}

/// `T`'s defaults for a raw object as a patch, or `None` when it has them all.
pub fn defaults_patch<T: Admit>(object: &Value) -> Option<json_patch::Patch> {
    let mut patch = typed_defaults_patch(&T::deserialize(&*with_spec(object)).ok()?)?;
    // The operations' paths are below `spec`; an absent or `null` one is set first.
    if object.get("spec").is_none_or(Value::is_null) {
        let spec = AddOperation { path: Pointer::from_static("/spec").to_buf(), value: json!({}) };
        patch.0.insert(0, PatchOperation::Add(spec));
    }
    Some(patch)
}

/// `T`'s defaults for a decoded object (whose `spec` was present) as a patch, or `None`.
fn typed_defaults_patch<T: Admit>(typed: &T) -> Option<json_patch::Patch> {
    let mut defaults = Defaults::default();
    typed.defaults(&mut defaults);
    (!defaults.0.is_empty()).then_some(json_patch::Patch(defaults.0))
}

/// Applies `T`'s defaults to a raw object (for the offline CLI); returns whether it changed.
pub fn apply_defaults_value<T: Admit>(object: &mut Value) -> bool {
    let Some(patch) = defaults_patch::<T>(object) else { return false };
    json_patch::patch(object, &patch).is_ok()
}

/// `status.phase: Pending` when a status write leaves the phase empty.
fn status_phase_patch(kind: AdmissionKind, object: Option<&Value>) -> Option<json_patch::Patch> {
    if !kind.defaults_status_phase() {
        return None;
    }
    let status = object?.get("status");
    let phase_empty = status.and_then(|s| s.get("phase")).is_none_or(|p| p.is_null() || p == "");
    if !phase_empty {
        return None;
    }
    let op = match status {
        Some(Value::Object(_)) => json!({ "op": "add", "path": "/status/phase", "value": "Pending" }),
        _ => json!({ "op": "add", "path": "/status", "value": { "phase": "Pending" } }),
    };
    serde_json::from_value(json!([op])).ok()
}

/// A finding list whose denials are turned into warnings (used where nothing may be denied).
pub fn as_warnings(findings: Findings) -> Findings {
    Findings(findings.0.into_iter().map(|f| Finding { severity: Severity::Warn, ..f }).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_check_becomes_a_denial_naming_it_and_the_others_still_run() {
        let checks: &[Check<u8>] = &[
            ("demo.first", |_, _, out| out.warn("demo.first", "spec.a", "first ran")),
            ("demo.broken", |_, _, _| panic!("bug in a rule")),
            ("demo.last", |_, _, out| out.warn("demo.last", "spec.b", "last ran")),
        ];
        let policy = RemoteUrlPolicy::default();
        let ctx = Context {
            operation: Operation::Create,
            namespace: "ns",
            name: "n",
            policy: &policy,
            cluster: &super::super::NoCluster,
            annotations: None,
            raw: None,
        };
        let findings = run_table(checks, &0, &ctx);
        let rules: Vec<(&str, bool)> = findings.iter().map(|f| (f.rule, f.is_denial())).collect();
        assert_eq!(rules, vec![("demo.first", false), ("demo.broken", true), ("demo.last", false)]);
        assert!(findings.denials().all(|f| f.message.contains("internal error")));
    }

    #[test]
    fn serde_messages_never_repeat_input_values() {
        assert_eq!(
            redact_values(r#"invalid type: string "hunter2 \"quoted\"", expected a boolean"#),
            "invalid type: a string, expected a boolean"
        );
        assert_eq!(
            redact_values("invalid type: integer `1234`, expected a string"),
            "invalid type: an integer, expected a string"
        );
        assert_eq!(
            redact_values("invalid value: floating point `1.5`, expected u8"),
            "invalid value: a number, expected u8"
        );
        assert_eq!(
            redact_values("unknown variant `hunter2`, expected one of `a`, `b`"),
            "unknown variant, expected one of `a`, `b`"
        );
        assert_eq!(redact_values(r#"string "unterminated"#), "a string");
        assert_eq!(
            describe_mismatch("failed to parse year: expected 0-9 but got h"),
            "the value has an invalid format"
        );
    }
}
