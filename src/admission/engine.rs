//! Runs a kind's checks and defaults for one request: decoding, panic isolation, ratcheting and
//! the JSON Patch of the mutating defaults.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use kube::ResourceExt;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::finding::{Finding, Findings, Reason, Severity};
use super::path::lookup;
use super::{Check, ClusterView, Context, RemoteUrlPolicy, mcpgroup, mcpregistry, mcpserverentry, virtualmcpserver};
use crate::api::v1beta1::{MCPGroup, MCPRegistry, MCPServerEntry, VirtualMCPServer};

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

pub fn kind_for_plural(plural: &str) -> Option<AdmissionKind> {
    AdmissionKind::ALL.into_iter().find(|k| k.plural() == plural)
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

/// What the engine needs of each kind's root type.
pub trait Admit: DeserializeOwned + Serialize + Clone + ResourceExt + 'static {
    fn checks() -> &'static [Check<Self>];
    fn apply_defaults(&mut self) -> bool;
    fn check_delete(&self, _ctx: &Context, _out: &mut Findings) {}
}

impl Admit for MCPServerEntry {
    fn checks() -> &'static [Check<Self>] {
        mcpserverentry::CHECKS
    }
    fn apply_defaults(&mut self) -> bool {
        mcpserverentry::apply_defaults(self)
    }
}

impl Admit for MCPGroup {
    fn checks() -> &'static [Check<Self>] {
        mcpgroup::CHECKS
    }
    fn apply_defaults(&mut self) -> bool {
        false
    }
    fn check_delete(&self, ctx: &Context, out: &mut Findings) {
        mcpgroup::check_delete(self, ctx, out);
    }
}

impl Admit for VirtualMCPServer {
    fn checks() -> &'static [Check<Self>] {
        virtualmcpserver::CHECKS
    }
    fn apply_defaults(&mut self) -> bool {
        virtualmcpserver::apply_defaults(self)
    }
}

impl Admit for MCPRegistry {
    fn checks() -> &'static [Check<Self>] {
        mcpregistry::CHECKS
    }
    fn apply_defaults(&mut self) -> bool {
        mcpregistry::apply_defaults(self)
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
            if let Some(raw) = request.old_object
                && let Ok(old) = serde_json::from_value::<T>(raw.clone())
            {
                let ctx = context(request, policy, cluster, old.annotations(), raw);
                old.check_delete(&ctx, &mut findings);
            }
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
    annotations: &'a BTreeMap<String, String>,
    raw: &'a Value,
) -> Context<'a> {
    Context {
        operation: request.operation,
        namespace: request.namespace,
        name: request.name,
        policy,
        cluster,
        annotations: Some(annotations),
        raw: Some(raw),
    }
}

/// Decodes `object` as `T` and runs every check of `T`.
pub fn validate_value<T: Admit>(
    object: &Value,
    request: &Request,
    policy: &RemoteUrlPolicy,
    cluster: &dyn ClusterView,
) -> Findings {
    match serde_path_to_error::deserialize::<_, T>(object) {
        Ok(typed) => run_checks(&typed, &context(request, policy, cluster, typed.annotations(), object)),
        Err(err) => {
            let mut findings = Findings::default();
            let path = err.path().to_string();
            let field = if path == "." { String::new() } else { path };
            let problem = redact_values(&err.inner().to_string());
            findings.deny(DECODE_RULE, field, Reason::Invalid, format!("does not match the schema: {problem}"));
            findings
        }
    }
}

/// serde quotes offending strings in its messages (`invalid type: string "…"`); they may be
/// secrets, so only their kind is reported.
pub(crate) fn redact_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find("string \"") {
        out.push_str(&rest[..start]);
        out.push_str("a string");
        let after = &rest[start + "string \"".len()..];
        let mut escaped = false;
        let end = after.char_indices().find(|&(_, c)| {
            let close = c == '"' && !escaped;
            escaped = c == '\\' && !escaped;
            close
        });
        rest = end.map_or("", |(i, _)| &after[i + 1..]);
    }
    out.push_str(rest);
    out
}

/// Runs every check of `T`; a check that panics becomes a denial naming it.
pub fn run_checks<T: Admit>(object: &T, ctx: &Context) -> Findings {
    let mut findings = Findings::default();
    for (id, check) in T::checks() {
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

/// Applies `T`'s defaults and returns the minimal patch, or `None` when nothing changes.
pub fn defaults_patch<T: Admit>(object: &Value) -> Option<json_patch::Patch> {
    let typed: T = serde_json::from_value(object.clone()).ok()?;
    let before = serde_json::to_value(&typed).ok()?;
    let mut after = typed;
    if !after.apply_defaults() {
        return None;
    }
    let patch = json_patch::diff(&before, &serde_json::to_value(&after).ok()?);
    (!patch.0.is_empty()).then_some(patch)
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
