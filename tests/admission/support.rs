//! Builders for objects and AdmissionReviews, a fake cluster view, and the `accepts` / `rejects` /
//! `warns` assertions. Every review goes through `review::handle`, so each assertion also checks
//! the protocol: uid echo, 422 status, causes and message agreeing, rule ids on every line.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::LazyLock;

use base64::Engine as _;
use mcp_operator::admission::engine::{Mode, kind_for_name};
use mcp_operator::admission::review::{self, BadReview};
use mcp_operator::admission::{AdmissionKind, ClusterView, NoCluster, RemoteUrlPolicy};
use regex::Regex;
use serde_json::{Value, json};

pub const NS: &str = "team-a";
pub const UID: &str = "7f1c2a9e-0001-4000-8000-00000000abcd";
pub const GROUP: &str = "toolhive.stacklok.dev";

// ---- objects ---------------------------------------------------------------------------------

fn object(kind: &str, name: &str, spec: Value) -> Value {
    json!({
        "apiVersion": "toolhive.stacklok.dev/v1beta1",
        "kind": kind,
        "metadata": { "name": name, "namespace": NS, "uid": "0b3e7f4c-1111-4000-8000-000000000001", "generation": 1 },
        "spec": spec,
    })
}

/// `base` with `patch` merged in (RFC 7386: objects merge, `null` removes, anything else replaces).
pub fn merged(mut base: Value, patch: Value) -> Value {
    json_patch::merge(&mut base, &patch);
    base
}

/// A valid, warning-free MCPServerEntry `weather` in `team-a`, with `spec` merged in.
pub fn entry(spec: Value) -> Value {
    let base = json!({
        "remoteUrl": "https://mcp.example.com/mcp",
        "transport": "streamable-http",
        "groupRef": { "name": "tools" },
    });
    object("MCPServerEntry", "weather", merged(base, spec))
}

/// An entry with `remoteUrl: url` and nothing else changed.
pub fn entry_url(url: &str) -> Value {
    entry(json!({ "remoteUrl": url }))
}

/// An entry with `remoteUrl: url` and `allowPrivateEndpoint: true`.
pub fn entry_private(url: &str) -> Value {
    entry(json!({ "remoteUrl": url, "allowPrivateEndpoint": true }))
}

/// An entry forwarding these plaintext headers.
pub fn entry_plain_headers(headers: Value) -> Value {
    entry(json!({ "headerForward": { "addPlaintextHeaders": headers } }))
}

/// One `addHeadersFromSecret` item reading `key` of Secret `name`.
pub fn secret_header(header: &str, name: &str, key: &str) -> Value {
    json!({ "headerName": header, "valueSecretRef": { "name": name, "key": key } })
}

/// An entry forwarding these secret-backed headers.
pub fn entry_secret_headers(items: Vec<Value>) -> Value {
    entry(json!({ "headerForward": { "addHeadersFromSecret": items } }))
}

/// An MCPGroup `tools` in `team-a` with this spec.
pub fn group(spec: Value) -> Value {
    object("MCPGroup", "tools", spec)
}

pub const CONFIG_YAML: &str = "registries:\n  - name: upstream\n    format: toolhive\n    git:\n      repository: https://github.com/stacklok/toolhive-catalog.git\n      branch: main\n      path: pkg/catalog/toolhive/data/registry-upstream.json\n    syncPolicy:\n      interval: 1h\ndatabase:\n  host: postgres\n  port: 5432\n  user: registry\n  database: registry\n";

/// A valid MCPRegistry `catalog` in `team-a`, with `spec` merged in.
pub fn registry(spec: Value) -> Value {
    object("MCPRegistry", "catalog", merged(json!({ "configYAML": CONFIG_YAML }), spec))
}

/// The same object under another `metadata.name`.
pub fn renamed(mut obj: Value, name: &str) -> Value {
    obj["metadata"]["name"] = json!(name);
    obj
}

// ---- reviews ---------------------------------------------------------------------------------

fn kind_of(obj: &Value) -> AdmissionKind {
    obj["kind"].as_str().and_then(kind_for_name).expect("test object of a known kind")
}

/// One AdmissionReview, built like the API server builds it.
#[derive(Clone, Debug)]
pub struct Req {
    pub review: Value,
    pub kind: AdmissionKind,
}

impl Req {
    fn new(operation: &str, object: Option<&Value>, old: Option<&Value>) -> Self {
        let source = object.or(old).expect("a request names an object");
        let kind = kind_of(source);
        let gvk = json!({ "group": GROUP, "version": "v1beta1", "kind": kind.kind() });
        let review = json!({
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "request": {
                "uid": UID,
                "kind": gvk,
                "resource": { "group": GROUP, "version": "v1beta1", "resource": kind.plural() },
                "requestKind": gvk,
                "requestResource": { "group": GROUP, "version": "v1beta1", "resource": kind.plural() },
                "name": source["metadata"]["name"],
                "namespace": NS,
                "operation": operation,
                "userInfo": { "username": "alice", "groups": ["system:authenticated"] },
                "object": object.cloned().unwrap_or(Value::Null),
                "oldObject": old.cloned().unwrap_or(Value::Null),
                "dryRun": false,
                "options": { "apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions" },
            },
        });
        Req { review, kind }
    }

    pub fn create(object: &Value) -> Self {
        Req::new("CREATE", Some(object), None)
    }

    pub fn update(old: &Value, new: &Value) -> Self {
        Req::new("UPDATE", Some(new), Some(old))
    }

    pub fn delete(old: &Value) -> Self {
        Req::new("DELETE", None, Some(old))
    }

    pub fn connect(object: &Value) -> Self {
        Req::new("CONNECT", Some(object), None)
    }

    /// Turns the request into a write of the `status` subresource.
    pub fn status(mut self) -> Self {
        self.review["request"]["subResource"] = json!("status");
        self
    }

    pub fn dry_run(mut self) -> Self {
        self.review["request"]["dryRun"] = json!(true);
        self
    }

    /// Edits the raw review (for protocol cases).
    pub fn edit(mut self, f: impl FnOnce(&mut Value)) -> Self {
        f(&mut self.review);
        self
    }

    pub fn bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.review).expect("serialize review")
    }

    pub fn post(&self, mode: Mode, policy: &RemoteUrlPolicy, cluster: &dyn ClusterView) -> Outcome {
        let reviewed = handle_both_ways(&self.bytes(), self.kind, mode, policy, cluster)
            .unwrap_or_else(|e| panic!("review refused as bad request: {e}"));
        let outcome = Outcome { review: reviewed.response() };
        outcome.assert_well_formed(mode);
        outcome
    }

    pub fn validate(&self) -> Outcome {
        self.post(Mode::Validate, &POLICY, &NoCluster)
    }

    pub fn validate_in(&self, cluster: &dyn ClusterView) -> Outcome {
        self.post(Mode::Validate, &POLICY, cluster)
    }

    pub fn mutate(&self) -> Outcome {
        self.post(Mode::Mutate, &POLICY, &NoCluster)
    }

    /// The raw `handle` result, for bad-request cases.
    pub fn handle(&self, mode: Mode) -> Result<Value, BadReview> {
        handle_bytes(&self.bytes(), self.kind, mode)
    }
}

pub static POLICY: LazyLock<RemoteUrlPolicy> = LazyLock::new(RemoteUrlPolicy::default);

pub fn handle_bytes(body: &[u8], kind: AdmissionKind, mode: Mode) -> Result<Value, BadReview> {
    handle_both_ways(body, kind, mode, &POLICY, &NoCluster).map(|r| r.response())
}

/// `review::handle`, checked against the path through a `Value` of the whole body: the direct
/// path may only ever give the same answer.
fn handle_both_ways(
    body: &[u8],
    kind: AdmissionKind,
    mode: Mode,
    policy: &RemoteUrlPolicy,
    cluster: &dyn ClusterView,
) -> Result<review::Reviewed, BadReview> {
    let reviewed = review::handle(body, kind, mode, policy, cluster);
    assert_eq!(reviewed, review::handle_loosely(body, kind, mode, policy, cluster), "direct and loose paths differ");
    reviewed
}

// ---- responses -------------------------------------------------------------------------------

/// `… [rule-id]` or `… [rule-id] (pre-existing)` at the end of every message.
static RULE_SUFFIX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r" \[([a-z0-9]+(?:[.-][a-z0-9]+)*)\]( \(pre-existing\))?$").expect("regex"));

/// The rule id a message ends with.
pub fn rule_of(message: &str) -> Option<String> {
    RULE_SUFFIX.captures(message).map(|c| c[1].to_string())
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cause {
    pub reason: String,
    pub field: String,
    pub message: String,
}

impl Cause {
    pub fn rule(&self) -> String {
        rule_of(&self.message).unwrap_or_default()
    }
}

/// A response review.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub review: Value,
}

impl Outcome {
    pub fn response(&self) -> &Value {
        &self.review["response"]
    }

    pub fn allowed(&self) -> bool {
        self.response()["allowed"] == json!(true)
    }

    pub fn warnings(&self) -> Vec<String> {
        let warnings = self.response()["warnings"].as_array().cloned().unwrap_or_default();
        warnings.iter().map(|w| w.as_str().expect("warning is a string").to_string()).collect()
    }

    /// Warnings without the deprecation notice every MCPRegistry write carries.
    pub fn notable_warnings(&self) -> Vec<String> {
        self.warnings().into_iter().filter(|w| rule_of(w).as_deref() != Some("registry.deprecated")).collect()
    }

    pub fn causes(&self) -> Vec<Cause> {
        let causes = self.response()["status"]["details"]["causes"].as_array().cloned().unwrap_or_default();
        causes
            .iter()
            .map(|c| Cause {
                reason: c["reason"].as_str().unwrap_or_default().into(),
                field: c["field"].as_str().unwrap_or_default().into(),
                message: c["message"].as_str().unwrap_or_default().into(),
            })
            .collect()
    }

    pub fn message(&self) -> String {
        self.response()["status"]["message"].as_str().unwrap_or_default().to_string()
    }

    /// Every rule id in causes and warnings.
    pub fn rules(&self) -> Vec<String> {
        let causes = self.causes().into_iter().map(|c| c.message);
        causes.chain(self.warnings()).filter_map(|m| rule_of(&m)).collect()
    }

    /// The decoded JSON Patch, when the response carries one.
    pub fn patch(&self) -> Option<Value> {
        let encoded = self.response().get("patch")?.as_str().expect("patch is a string");
        assert_eq!(self.response()["patchType"], "JSONPatch");
        let bytes = base64::engine::general_purpose::STANDARD.decode(encoded).expect("patch is base64");
        Some(serde_json::from_slice(&bytes).expect("patch is JSON"))
    }

    pub fn cause(&self, rule: &str, field: &str) -> Cause {
        let causes = self.causes();
        causes.iter().find(|c| c.field == field && c.rule() == rule).cloned().unwrap_or_else(|| {
            panic!(
                "expected a [{rule}] denial at {field:?}; got causes {causes:#?} and warnings {:#?}",
                self.warnings()
            )
        })
    }

    pub fn warning(&self, rule: &str) -> String {
        let warnings = self.warnings();
        warnings
            .iter()
            .find(|w| rule_of(w).as_deref() == Some(rule))
            .cloned()
            .unwrap_or_else(|| panic!("expected a [{rule}] warning; got {warnings:#?} (causes {:#?})", self.causes()))
    }

    /// Protocol invariants every response must satisfy.
    fn assert_well_formed(&self, mode: Mode) {
        assert_eq!(self.review["apiVersion"], "admission.k8s.io/v1");
        assert_eq!(self.review["kind"], "AdmissionReview");
        assert_eq!(self.response()["uid"], UID, "uid is echoed");
        for warning in self.warnings() {
            assert!(rule_of(&warning).is_some(), "warning without a rule id: {warning}");
        }
        if self.allowed() {
            assert!(self.response().get("status").is_none(), "an allowed response carries no failure status");
            return;
        }
        assert_eq!(mode, Mode::Validate, "mutation never denies: {:#}", self.review);
        let status = &self.response()["status"];
        assert_eq!(status["code"], 422);
        assert_eq!(status["reason"], "Invalid");
        assert_eq!(status["status"], "Failure");
        let causes = self.causes();
        assert!(!causes.is_empty(), "a denial has causes");
        for cause in &causes {
            assert!(!cause.rule().is_empty(), "cause without a rule id: {cause:?}");
            let known = ["FieldValueRequired", "FieldValueForbidden", "FieldValueDuplicate", "FieldValueInvalid"];
            assert!(known.contains(&cause.reason.as_str()), "unknown reason {cause:?}");
        }
        let lines: Vec<String> = causes
            .iter()
            .map(|c| if c.field.is_empty() { c.message.clone() } else { format!("{}: {}", c.field, c.message) })
            .collect();
        assert_eq!(self.message(), lines.join("; "), "status.message lists every cause");
        assert!(self.response().get("patch").is_none(), "a denial carries no patch");
    }
}

// ---- assertions ------------------------------------------------------------------------------

/// CREATE is allowed without any finding (MCPRegistry's deprecation notice aside).
pub fn accepts(obj: &Value) -> Outcome {
    let outcome = Req::create(obj).validate();
    assert!(
        outcome.allowed() && outcome.notable_warnings().is_empty(),
        "expected a clean accept of {:#}\ngot causes {:#?}\nwarnings {:#?}",
        obj["spec"],
        outcome.causes(),
        outcome.warnings()
    );
    outcome
}

/// CREATE is denied, among others, by `rule` at `field`; returns that cause.
pub fn rejects(obj: &Value, rule: &str, field: &str) -> Cause {
    let outcome = Req::create(obj).validate();
    assert!(!outcome.allowed(), "expected [{rule}] at {field} to deny {:#}; it was allowed", obj["spec"]);
    outcome.cause(rule, field)
}

/// CREATE is allowed with a warning of `rule`; returns the warning.
pub fn warns(obj: &Value, rule: &str) -> String {
    let outcome = Req::create(obj).validate();
    assert!(
        outcome.allowed(),
        "expected only a [{rule}] warning for {:#}; got causes {:#?}",
        obj["spec"],
        outcome.causes()
    );
    outcome.warning(rule)
}

/// CREATE produces no finding of `rule` (other findings may exist).
pub fn never(obj: &Value, rule: &str) {
    let outcome = Req::create(obj).validate();
    assert!(
        !outcome.rules().iter().any(|r| r == rule),
        "unexpected [{rule}] for {:#}: {:#?}",
        obj["spec"],
        outcome.review
    );
}

/// What a table row expects of a CREATE.
#[derive(Clone, Copy, Debug)]
pub enum Expect<'a> {
    Accept,
    Deny(&'a str, &'a str),
    /// Denied with this cause reason.
    DenyAs(&'a str, &'a str, &'a str),
    Warn(&'a str),
}

pub use Expect::{Accept, Deny, DenyAs, Warn};

/// Runs `(case, object, expectation)` rows, naming the failing row.
pub fn table(rows: Vec<(&str, Value, Expect<'_>)>) {
    for (case, obj, expect) in rows {
        let result = std::panic::catch_unwind(|| match expect {
            Accept => {
                accepts(&obj);
            }
            Deny(rule, field) => {
                rejects(&obj, rule, field);
            }
            DenyAs(rule, field, reason) => {
                let cause = rejects(&obj, rule, field);
                assert_eq!(cause.reason, reason, "reason of {cause:?}");
            }
            Warn(rule) => {
                warns(&obj, rule);
            }
        });
        if let Err(panic) = result {
            let text = panic.downcast_ref::<String>().cloned().unwrap_or_default();
            panic!("case {case:?} ({expect:?}) failed:\n{text}");
        }
    }
}

/// The serialized response does not contain `secret` anywhere.
pub fn assert_not_echoed(outcome: &Outcome, secret: &str) {
    let text = outcome.review.to_string();
    assert!(!text.contains(secret), "response echoes {secret:?}: {text}");
}

// ---- cluster ---------------------------------------------------------------------------------

/// A cluster cache with some groups and their members.
#[derive(Default)]
pub struct FakeCluster {
    /// `(namespace, group) → members as Kind/name`.
    pub groups: BTreeMap<(String, String), Vec<String>>,
}

impl FakeCluster {
    pub fn with_group(mut self, name: &str, members: &[&str]) -> Self {
        self.groups.insert((NS.into(), name.into()), members.iter().map(|m| m.to_string()).collect());
        self
    }
}

impl ClusterView for FakeCluster {
    fn group_exists(&self, namespace: &str, name: &str) -> Option<bool> {
        Some(self.groups.contains_key(&(namespace.into(), name.into())))
    }

    fn group_members(&self, namespace: &str, name: &str) -> Option<Vec<String>> {
        Some(self.groups.get(&(namespace.into(), name.into())).cloned().unwrap_or_default())
    }
}

/// `n` characters `c`.
pub fn chars(c: char, n: usize) -> String {
    std::iter::repeat_n(c, n).collect()
}
