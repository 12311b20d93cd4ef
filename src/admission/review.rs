//! The `admission.k8s.io/v1` AdmissionReview protocol around the engine, as a pure function from
//! request bytes to response JSON, shared by the HTTPS server and the fuzz target.

use base64::Engine as _;
use compact_str::CompactString;
use serde::Serialize;
use serde_json::{Value, json};

use super::direct::{decode_object, handle_direct};
use super::engine::{AdmissionKind, Decision, Mode, Operation, Request, decide};
use super::finding::{Finding, Findings, Reason};
use super::{ClusterView, RemoteUrlPolicy};
use crate::api::crd::GROUP;
use crate::api::v1beta1::{MCPGroup, MCPRegistry, MCPServerEntry, VirtualMCPServer};

pub const REVIEW_API_VERSION: &str = "admission.k8s.io/v1";

/// A body that is not a usable AdmissionReview and has no uid to answer to: HTTP 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadReview(pub String);

impl BadReview {
    /// The JSON body of the 400 response.
    pub fn body(&self) -> Value {
        json!({ "error": self.0 })
    }

    /// The 400 response body, serialized.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(&self.body()).unwrap_or_default()
    }
}

/// What happened, for logs and metrics (never object contents).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub uid: String,
    // Short names in line (up to 24 bytes): no allocation each for most reviews.
    pub operation: CompactString,
    pub namespace: CompactString,
    pub name: CompactString,
    pub allowed: bool,
    pub patched: bool,
    pub findings: Findings,
}

/// A well-formed answer to a review: its summary, and what the response review is built from.
#[derive(Debug, Clone, PartialEq)]
pub struct Reviewed {
    pub summary: Summary,
    kind: AdmissionKind,
    patch: Option<json_patch::Patch>,
}

impl Reviewed {
    /// The response to a review of `kind` decided as `decision`, with its summary.
    pub(crate) fn new(
        kind: AdmissionKind,
        uid: String,
        operation: &str,
        namespace: CompactString,
        name: CompactString,
        decision: Decision,
    ) -> Reviewed {
        Reviewed {
            summary: Summary {
                uid,
                operation: operation.into(),
                namespace,
                name,
                allowed: decision.allowed(),
                patched: decision.patch.is_some(),
                findings: decision.findings,
            },
            kind,
            patch: decision.patch,
        }
    }

    /// The response review.
    pub fn response(&self) -> Value {
        let summary = &self.summary;
        response_for(&summary.uid, self.kind, &summary.name, &summary.findings, self.patch.as_ref())
    }
}

/// The response review, serialized as the HTTP body. A plain admission (no findings, no patch),
/// the common answer, is written straight out, byte for byte as the serialized `Value` would be.
pub fn encode(reviewed: &Reviewed) -> Vec<u8> {
    if reviewed.patch.is_none() && reviewed.summary.findings.is_empty() {
        const HEAD: &str =
            r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"allowed":true,"uid":"#;
        let mut out = Vec::with_capacity(HEAD.len() + reviewed.summary.uid.len() + 8);
        out.extend_from_slice(HEAD.as_bytes());
        let uid = reviewed.summary.uid.as_bytes();
        // A string without quotes, backslashes and control characters serializes as itself.
        if crate::json::string_stop(uid, 0) == uid.len() {
            out.push(b'"');
            out.extend_from_slice(uid);
            out.extend_from_slice(b"\"}}");
            return out;
        }
        // Serializing a string into a Vec cannot fail.
        if serde_json::to_writer(&mut out, &reviewed.summary.uid).is_ok() {
            out.extend_from_slice(b"}}");
            return out;
        }
    }
    let summary = &reviewed.summary;
    let review = review_out(&summary.uid, reviewed.kind, &summary.name, &summary.findings, reviewed.patch.as_ref());
    // Serializing a struct of strings, numbers and lists cannot fail.
    serde_json::to_vec(&review).unwrap_or_default()
}

/// Whether the object of the review in `body` decodes as `kind`, the way `handle` decodes a plain
/// CREATE or UPDATE (for benchmarks).
pub fn decodes(body: &[u8], kind: AdmissionKind) -> bool {
    match kind {
        AdmissionKind::MCPGroup => decode_object::<MCPGroup>(body).is_some(),
        AdmissionKind::MCPServerEntry => decode_object::<MCPServerEntry>(body).is_some(),
        AdmissionKind::VirtualMCPServer => decode_object::<VirtualMCPServer>(body).is_some(),
        AdmissionKind::MCPRegistry => decode_object::<MCPRegistry>(body).is_some(),
    }
}

/// Handles one AdmissionReview body for `kind` at `/validate` or `/mutate`.
pub fn handle(
    body: &[u8],
    kind: AdmissionKind,
    mode: Mode,
    policy: &RemoteUrlPolicy,
    cluster: &dyn ClusterView,
) -> Result<Reviewed, BadReview> {
    match handle_direct(body, kind, mode, policy, cluster) {
        Some(reviewed) => Ok(reviewed),
        None => handle_loosely(body, kind, mode, policy, cluster),
    }
}

/// Handles a review from a `Value` of the whole body: any body, including malformed ones and
/// every protocol problem. [`handle`] takes this path for what the direct path leaves.
pub fn handle_loosely(
    body: &[u8],
    kind: AdmissionKind,
    mode: Mode,
    policy: &RemoteUrlPolicy,
    cluster: &dyn ClusterView,
) -> Result<Reviewed, BadReview> {
    let review: Value = serde_json::from_slice(body).map_err(|e| BadReview(format!("body is not valid JSON: {e}")))?;
    let shape = shape_problem(&review);
    let request = review
        .get("request")
        .filter(|r| r.is_object())
        .ok_or_else(|| BadReview(shape.clone().unwrap_or_else(|| "the review has no request".into())))?;
    let uid = match request.get("uid") {
        Some(Value::String(uid)) if !uid.is_empty() => uid.clone(),
        _ => {
            let problem = "request.uid is missing or not a non-empty string".to_string();
            return Err(BadReview(shape.map_or(problem.clone(), |s| format!("{s}; {problem}"))));
        }
    };
    // From here on every problem, a wrong review apiVersion or kind included, is answered as a
    // well-formed (v1) denial that echoes the uid.
    if let Some(problem) = shape {
        return Ok(refusal(uid, kind, &problem));
    }
    let operation_text = request.get("operation").and_then(Value::as_str).unwrap_or_default();
    let Some(operation) = Operation::parse(operation_text) else {
        return Ok(refusal(
            uid,
            kind,
            &format!("request.operation {operation_text:?} is not CREATE, UPDATE, DELETE or CONNECT"),
        ));
    };
    if let Some(problem) = kind_problem(request, kind) {
        return Ok(refusal(uid, kind, &problem));
    }
    let object = request.get("object").filter(|o| !o.is_null());
    let old_object = request.get("oldObject").filter(|o| !o.is_null());
    let str_at =
        |v: Option<&Value>, key: &str| v.and_then(|v| v.get(key)).and_then(Value::as_str).map(CompactString::from);
    let metadata = object.or(old_object).and_then(|o| o.get("metadata"));
    let namespace = str_at(Some(request), "namespace")
        .filter(|n| !n.is_empty())
        .or_else(|| str_at(metadata, "namespace"))
        .unwrap_or_else(|| "default".into());
    let name = str_at(metadata, "name")
        .filter(|n| !n.is_empty())
        .or_else(|| str_at(Some(request), "name"))
        .unwrap_or_default();
    let sub_resource = str_at(Some(request), "subResource").filter(|s| !s.is_empty());
    let req = Request {
        operation,
        namespace: &namespace,
        name: &name,
        object,
        old_object,
        sub_resource: sub_resource.as_deref(),
    };
    let decision = decide(kind, mode, &req, policy, cluster);
    Ok(Reviewed::new(kind, uid, operation_text, namespace, name, decision))
}

fn shape_problem(review: &Value) -> Option<String> {
    if !review.is_object() {
        return Some("body is not a JSON object".into());
    }
    let api_version = review.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    if api_version != REVIEW_API_VERSION {
        return Some(format!("apiVersion {api_version:?} is not {REVIEW_API_VERSION}"));
    }
    let kind = review.get("kind").and_then(Value::as_str).unwrap_or_default();
    (kind != "AdmissionReview").then(|| format!("kind {kind:?} is not AdmissionReview"))
}

/// The request, and the objects it carries, must be about the kind the path names.
fn kind_problem(request: &Value, kind: AdmissionKind) -> Option<String> {
    let serves = kind.kind();
    let requested = request.get("kind").and_then(|k| k.get("kind")).and_then(Value::as_str);
    let group = request.get("kind").and_then(|k| k.get("group")).and_then(Value::as_str);
    let objects = || ["object", "oldObject"].into_iter().filter_map(|k| request.get(k)).filter(|o| !o.is_null());
    let object_kind = objects().find_map(|o| o.get("kind")?.as_str());
    // `v1` (core) has no group: everything before the last `/` of apiVersion.
    let object_group =
        objects().find_map(|o| o.get("apiVersion")?.as_str()).map(|v| v.rsplit_once('/').map_or("", |(g, _)| g));
    if let Some(r) = requested.filter(|r| *r != serves) {
        return Some(format!("request is for kind {r:?}, but this endpoint serves {serves}"));
    }
    if let Some(g) = group.filter(|g| *g != GROUP) {
        return Some(format!("request is for group {g:?}, but this endpoint serves {GROUP}"));
    }
    if let Some(o) = object_kind.filter(|o| *o != serves) {
        return Some(format!("object is of kind {o:?}, but this endpoint serves {serves}"));
    }
    object_group
        .filter(|g| *g != GROUP)
        .map(|g| format!("object is of API group {g:?}, but this endpoint serves {GROUP}"))
}

/// A denial for a review that has a uid but cannot be evaluated.
fn refusal(uid: String, kind: AdmissionKind, problem: &str) -> Reviewed {
    let mut findings = Findings::default();
    findings.deny("review.invalid", "", Reason::Invalid, problem.to_string());
    Reviewed { summary: Summary { uid, allowed: false, findings, ..Summary::default() }, kind, patch: None }
}

fn line(finding: &Finding) -> String {
    if finding.field.is_empty() { finding.cause_message() } else { finding.to_string() }
}

/// Builds the response review for a decision's findings and patch.
pub fn response_for(
    uid: &str,
    kind: AdmissionKind,
    name: &str,
    findings: &Findings,
    patch: Option<&json_patch::Patch>,
) -> Value {
    // Serializing a struct of strings, numbers and lists cannot fail.
    serde_json::to_value(review_out(uid, kind, name, findings, patch)).unwrap_or_default()
}

/// The response review, written without a `Value` in between: each struct declares its members in
/// the order a `Value` writes them (sorted), so both give the same bytes.
fn review_out<'a>(
    uid: &'a str,
    kind: AdmissionKind,
    name: &'a str,
    findings: &'a Findings,
    patch: Option<&json_patch::Patch>,
) -> ReviewOut<'a> {
    let allowed = !findings.has_denials();
    let status = (!allowed).then(|| {
        let denials: Vec<&Finding> = findings.denials().collect();
        StatusOut {
            code: 422,
            details: DetailsOut {
                causes: denials
                    .iter()
                    .map(|f| CauseOut { field: &f.field, message: f.cause_message(), reason: f.reason.as_cause() })
                    .collect(),
                group: GROUP,
                kind: kind.kind(),
                name,
            },
            message: denials.iter().map(|f| line(f)).collect::<Vec<_>>().join("; "),
            metadata: EmptyOut {},
            reason: "Invalid",
            status: "Failure",
        }
    });
    let patch = patch
        .and_then(|patch| serde_json::to_vec(patch).ok())
        .map(|bytes| base64::engine::general_purpose::STANDARD.encode(bytes));
    ReviewOut {
        api_version: REVIEW_API_VERSION,
        kind: "AdmissionReview",
        response: ResponseOut {
            allowed,
            patch_type: patch.is_some().then_some("JSONPatch"),
            patch,
            status,
            uid,
            warnings: findings.warnings().map(line).collect(),
        },
    }
}

#[derive(Serialize)]
struct ReviewOut<'a> {
    #[serde(rename = "apiVersion")]
    api_version: &'static str,
    kind: &'static str,
    response: ResponseOut<'a>,
}

#[derive(Serialize)]
struct ResponseOut<'a> {
    allowed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    patch: Option<String>,
    #[serde(rename = "patchType", skip_serializing_if = "Option::is_none")]
    patch_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<StatusOut<'a>>,
    uid: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<String>,
}

#[derive(Serialize)]
struct StatusOut<'a> {
    code: u16,
    details: DetailsOut<'a>,
    message: String,
    metadata: EmptyOut,
    reason: &'static str,
    status: &'static str,
}

#[derive(Serialize)]
struct DetailsOut<'a> {
    causes: Vec<CauseOut<'a>>,
    group: &'static str,
    kind: &'static str,
    name: &'a str,
}

#[derive(Serialize)]
struct CauseOut<'a> {
    field: &'a str,
    message: String,
    reason: &'static str,
}

#[derive(Serialize)]
struct EmptyOut {}
