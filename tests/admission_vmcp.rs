//! VirtualMCPServer admission, rule by rule. Every case goes through the AdmissionReview handler
//! as the API server would send it: a full review in, a full review out.
//!
//! A case is a JSON merge patch (RFC 7386; `null` removes a key) onto a valid object, and what
//! the named rule must say about the result: nothing, a denial at a field, or a warning at a field.

use base64::Engine as _;
use mcp_operator::admission::engine::Mode;
use mcp_operator::admission::review::{handle, handle_loosely};
use mcp_operator::admission::{AdmissionKind, NoCluster, RemoteUrlPolicy};
use serde_json::{Value, json};

const NS: &str = "team-a";
const ANNOTATION: &str = "conversion.toolhive.stacklok.dev/v1alpha1";

/// A valid VirtualMCPServer on which no rule has anything to say.
fn base() -> Value {
    json!({
        "apiVersion": "toolhive.stacklok.dev/v1beta1",
        "kind": "VirtualMCPServer",
        "metadata": {"name": "engineering", "namespace": NS, "uid": "5f1e3c1a-0000-4000-8000-000000000001"},
        "spec": {
            "groupRef": {"name": "engineering-tools"},
            "incomingAuth": {"type": "oidc", "oidcConfigRef": {"name": "corp-sso", "audience": "vmcp-engineering"}},
            "serviceType": "ClusterIP",
            "sessionAffinity": "ClientIP"
        }
    })
}

fn with(patch: &Value) -> Value {
    let mut object = base();
    json_patch::merge(&mut object, patch);
    object
}

fn review(operation: &str, object: Option<&Value>, old: Option<&Value>, sub_resource: Option<&str>) -> Vec<u8> {
    let name = object.or(old).and_then(|o| o["metadata"]["name"].as_str()).unwrap_or_default();
    let gvk = json!({"group": "toolhive.stacklok.dev", "version": "v1beta1", "kind": "VirtualMCPServer"});
    let gvr = json!({"group": "toolhive.stacklok.dev", "version": "v1beta1", "resource": "virtualmcpservers"});
    let mut request = json!({
        "uid": "b7d3c2a1-0000-4000-8000-00000000vmcp",
        "kind": gvk, "resource": gvr, "requestKind": gvk, "requestResource": gvr,
        "name": name, "namespace": NS, "operation": operation,
        "userInfo": {"username": "alice@example.com", "groups": ["system:authenticated"]},
        "dryRun": false
    });
    if let Some(object) = object {
        request["object"] = object.clone();
    }
    if let Some(old) = old {
        request["oldObject"] = old.clone();
    }
    if let Some(sub) = sub_resource {
        request["subResource"] = json!(sub);
    }
    serde_json::to_vec(&json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}))
        .expect("json")
}

fn call(mode: Mode, body: &[u8]) -> Value {
    let (kind, policy) = (AdmissionKind::VirtualMCPServer, RemoteUrlPolicy::default());
    let reviewed = handle(body, kind, mode, &policy, &NoCluster);
    assert_eq!(reviewed, handle_loosely(body, kind, mode, &policy, &NoCluster), "direct and loose paths differ");
    let reviewed = reviewed.expect("a well-formed review");
    reviewed.response()["response"].clone()
}

fn validate(object: &Value) -> Value {
    call(Mode::Validate, &review("CREATE", Some(object), None, None))
}

fn update(object: &Value, old: &Value) -> Value {
    call(Mode::Validate, &review("UPDATE", Some(object), Some(old), None))
}

/// What one rule said: denial or warning, at which field, with which text.
#[derive(Debug)]
struct Hit {
    denied: bool,
    field: String,
    message: String,
}

fn hits(response: &Value, rule: &str) -> Vec<Hit> {
    let tag = format!("[{rule}]");
    let ends_with_tag = |m: &str| m.ends_with(&tag) || m.ends_with(&format!("{tag} (pre-existing)"));
    let mut out = Vec::new();
    for cause in response["status"]["details"]["causes"].as_array().into_iter().flatten() {
        let message = cause["message"].as_str().unwrap_or_default();
        if ends_with_tag(message) {
            let field = cause["field"].as_str().unwrap_or_default().to_string();
            out.push(Hit { denied: true, field, message: message.to_string() });
        }
    }
    for warning in response["warnings"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        if ends_with_tag(warning) {
            let (field, message) = warning.split_once(": ").unwrap_or(("", warning));
            out.push(Hit { denied: false, field: field.to_string(), message: message.to_string() });
        }
    }
    out
}

fn warnings(response: &Value) -> Vec<String> {
    response["warnings"].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect()
}

enum Expect {
    /// The rule reports nothing.
    Clean,
    /// The rule denies at this field.
    Deny(&'static str),
    /// The rule denies at this field with a message containing the text.
    DenyWith(&'static str, &'static str),
    /// The rule warns at this field, and the request is not denied by it.
    Warn(&'static str),
}

use Expect::{Clean, Deny, DenyWith, Warn};

/// Runs a rule's table: each case is a merge patch onto [`base`].
fn table(rule: &str, cases: Vec<(&str, Value, Expect)>) {
    for (name, patch, expect) in cases {
        let response = validate(&with(&patch));
        let found = hits(&response, rule);
        let context = format!("{rule} / {name}: {found:#?}\n{response:#}");
        match expect {
            Clean => assert!(found.is_empty(), "expected nothing: {context}"),
            Deny(field) | DenyWith(field, _) => {
                assert_eq!(response["allowed"], false, "{context}");
                let hit = found.iter().find(|h| h.denied && h.field == field);
                assert!(hit.is_some(), "expected a denial at {field}: {context}");
                if let (DenyWith(_, text), Some(hit)) = (&expect, hit) {
                    assert!(hit.message.contains(text), "expected {text:?} in {:?}: {context}", hit.message);
                }
            }
            Warn(field) => {
                assert!(found.iter().all(|h| !h.denied), "expected no denial: {context}");
                assert!(found.iter().any(|h| h.field == field), "expected a warning at {field}: {context}");
            }
        }
    }
}

fn annotated(record: Value) -> Value {
    json!({"metadata": {"annotations": {ANNOTATION: record.to_string()}}})
}

#[test]
fn the_base_object_is_clean() {
    let response = validate(&base());
    assert_eq!(response["allowed"], true, "{response:#}");
    assert!(response.get("warnings").is_none(), "{response:#}");
    assert!(response.get("patch").is_none());
}

#[test]
fn meta_name_length() {
    let named = |name: Value| json!({"metadata": {"name": name}});
    table(
        "meta.name-length",
        vec![
            ("58 characters", named(json!("a".repeat(58))), Clean),
            ("59 characters", named(json!("a".repeat(59))), DenyWith("metadata.name", "vmcp-<name>")),
            ("digits and dashes", named(json!("vmcp-2-a")), Clean),
            ("leading digit", named(json!("1vmcp")), Deny("metadata.name")),
            ("dot", named(json!("a.b")), Deny("metadata.name")),
            ("upper case", named(json!("Vmcp")), Deny("metadata.name")),
            ("trailing dash", named(json!("vmcp-")), Deny("metadata.name")),
            ("generateName, no name yet", json!({"metadata": {"name": null, "generateName": "vmcp-"}}), Clean),
        ],
    );
}

#[test]
fn vmcp_group() {
    table(
        "vmcp.group",
        vec![
            ("groupRef set", json!({}), Clean),
            ("groupRef absent", json!({"spec": {"groupRef": null}}), Deny("spec.groupRef")),
            (
                "only the legacy config.groupRef",
                json!({"spec": {"groupRef": null, "config": {"groupRef": "engineering-tools"}}}),
                DenyWith("spec.groupRef", "spec.config.groupRef (\"engineering-tools\") is not read in v1beta1"),
            ),
        ],
    );
    let group = |name: Value, namespace: Value| json!({"spec": {"groupRef": {"name": name, "namespace": namespace}}});
    table(
        "ref.name",
        vec![
            ("valid name", group(json!("a.b-c"), Value::Null), Clean),
            ("253 characters", group(json!("a".repeat(253)), Value::Null), Clean),
            ("254 characters", group(json!("a".repeat(254)), Value::Null), Deny("spec.groupRef.name")),
            ("empty", group(json!(""), Value::Null), Deny("spec.groupRef.name")),
            ("upper case", group(json!("Tools"), Value::Null), Deny("spec.groupRef.name")),
            (
                "namespace/name",
                group(json!("team-b/tools"), Value::Null),
                DenyWith("spec.groupRef.name", "cross-namespace references are not allowed"),
            ),
        ],
    );
    table(
        "ref.cross-namespace",
        vec![
            ("own namespace", group(json!("tools"), json!(NS)), Clean),
            (
                "other namespace",
                group(json!("tools"), json!("team-b")),
                DenyWith("spec.groupRef.namespace", "the MCPGroup must be in namespace \"team-a\""),
            ),
        ],
    );
}

#[test]
fn vmcp_group_conflict_and_legacy() {
    let config_group = |g: &str| json!({"spec": {"config": {"groupRef": g}}});
    table(
        "vmcp.group.conflict",
        vec![
            ("no config.groupRef", json!({}), Clean),
            ("equal", config_group("engineering-tools"), Clean),
            ("empty", config_group(""), Clean),
            ("different", config_group("ops-tools"), DenyWith("spec.config.groupRef", "\"ops-tools\"")),
        ],
    );
    table(
        "vmcp.group.legacy",
        vec![
            ("no config.groupRef", json!({}), Clean),
            ("equal", config_group("engineering-tools"), Warn("spec.config.groupRef")),
            ("different is a conflict, not legacy", config_group("ops-tools"), Clean),
        ],
    );
}

#[test]
fn vmcp_incoming_required() {
    let incoming = |auth: Value| json!({"spec": {"incomingAuth": auth}});
    table(
        "vmcp.incoming.required",
        vec![
            ("oidc", json!({}), Clean),
            ("anonymous", incoming(json!({"type": "anonymous", "oidcConfigRef": null})), Clean),
            ("incomingAuth absent", incoming(Value::Null), Deny("spec.incomingAuth")),
            ("type absent", incoming(json!({"type": null})), Deny("spec.incomingAuth.type")),
            ("type empty", incoming(json!({"type": ""})), Deny("spec.incomingAuth.type")),
            ("unknown type", incoming(json!({"type": "saml"})), DenyWith("spec.incomingAuth.type", "\"saml\"")),
        ],
    );
}

#[test]
fn vmcp_incoming_oidc() {
    let incoming = |auth: Value| json!({"spec": {"incomingAuth": auth}});
    let oidc_ref = |r: Value| incoming(json!({"oidcConfigRef": r}));
    table(
        "vmcp.incoming.oidc",
        vec![
            ("name and audience", json!({}), Clean),
            (
                "no oidcConfigRef",
                incoming(json!({"oidcConfigRef": null})),
                DenyWith(
                    "spec.incomingAuth.oidcConfigRef",
                    "spec.incomingAuth.oidcConfigRef is required when type is oidc",
                ),
            ),
            ("no name", oidc_ref(json!({"name": null})), Deny("spec.incomingAuth.oidcConfigRef.name")),
            ("empty name", oidc_ref(json!({"name": ""})), Deny("spec.incomingAuth.oidcConfigRef.name")),
            ("no audience", oidc_ref(json!({"audience": null})), Deny("spec.incomingAuth.oidcConfigRef.audience")),
            ("empty audience", oidc_ref(json!({"audience": ""})), Deny("spec.incomingAuth.oidcConfigRef.audience")),
            (
                "kubernetes needs no oidcConfigRef",
                incoming(json!({"type": "kubernetes", "oidcConfigRef": null, "kubernetes": {"audience": "vmcp"}})),
                Clean,
            ),
            ("authzConfigRef alone", incoming(json!({"authzConfigRef": {"name": "cedar"}})), Clean),
            (
                "authzConfig alone",
                incoming(
                    json!({"authzConfig": {"type": "inline", "inline": {"policies": ["permit(principal, action, resource);"]}}}),
                ),
                Clean,
            ),
            (
                "authzConfig and authzConfigRef",
                incoming(json!({
                    "authzConfigRef": {"name": "cedar"},
                    "authzConfig": {"type": "inline", "inline": {"policies": ["permit(principal, action, resource);"]}}
                })),
                DenyWith("spec.incomingAuth.authzConfigRef", "authzConfig and authzConfigRef are mutually exclusive"),
            ),
        ],
    );
}

#[test]
fn vmcp_incoming_anonymous_kubernetes_and_defaulted() {
    let incoming = |auth: Value| json!({"spec": {"incomingAuth": auth}});
    let anonymous = || json!({"type": "anonymous", "oidcConfigRef": null});
    table(
        "vmcp.incoming.anonymous",
        vec![("oidc", json!({}), Clean), ("anonymous", incoming(anonymous()), Warn("spec.incomingAuth.type"))],
    );
    let kubernetes = |k: Value| incoming(json!({"type": "kubernetes", "oidcConfigRef": null, "kubernetes": k}));
    table(
        "vmcp.incoming.kubernetes",
        vec![
            ("with audience", kubernetes(json!({"audience": "vmcp-engineering"})), Clean),
            ("no kubernetes block", kubernetes(Value::Null), Warn("spec.incomingAuth.kubernetes.audience")),
            ("empty audience", kubernetes(json!({"audience": ""})), Warn("spec.incomingAuth.kubernetes.audience")),
            (
                "issuer only",
                kubernetes(json!({"issuer": "https://k8s.example"})),
                Warn("spec.incomingAuth.kubernetes.audience"),
            ),
        ],
    );
    let defaulted = |record: Value, auth: Value| {
        let mut patch = annotated(record);
        patch["spec"] = json!({"incomingAuth": auth});
        patch
    };
    table(
        "vmcp.incoming.defaulted",
        vec![
            ("anonymous, no annotation", incoming(anonymous()), Clean),
            (
                "recorded as a list",
                defaulted(json!({"absent": ["spec.incomingAuth"]}), anonymous()),
                Warn("spec.incomingAuth"),
            ),
            (
                "recorded as a marker",
                defaulted(json!({"incomingAuth": "absent"}), anonymous()),
                Warn("spec.incomingAuth"),
            ),
            ("changed since conversion", defaulted(json!({"incomingAuth": "absent"}), json!({})), Clean),
            ("another field was absent", defaulted(json!({"config": "absent"}), anonymous()), Clean),
            ("unreadable annotation", defaulted(json!("{not json"), anonymous()), Clean),
        ],
    );
}

#[test]
fn vmcp_incoming_removed() {
    let incoming = |auth: Value| json!({"spec": {"incomingAuth": auth}});
    table(
        "vmcp.incoming.removed",
        vec![
            ("oidcConfigRef", json!({}), Clean),
            (
                "type local",
                incoming(json!({"type": "local", "oidcConfigRef": null})),
                DenyWith(
                    "spec.incomingAuth.type",
                    "removed in v1beta1; create an MCPOIDCConfig and reference it with oidcConfigRef",
                ),
            ),
            (
                "inline oidcConfig",
                incoming(json!({"oidcConfig": {"type": "inline", "inline": {"issuer": "https://login.example.com"}}})),
                DenyWith("spec.incomingAuth.oidcConfig", "create an MCPOIDCConfig and reference it with oidcConfigRef"),
            ),
        ],
    );
}

#[test]
fn vmcp_outgoing_backend() {
    let outgoing = |auth: Value| json!({"spec": {"outgoingAuth": auth}});
    let backend = |b: Value| outgoing(json!({"backends": {"github": b}}));
    let external = |name: &str| json!({"type": "externalAuthConfigRef", "externalAuthConfigRef": {"name": name}});
    table(
        "vmcp.outgoing.backend",
        vec![
            ("discovered default", outgoing(json!({"default": {"type": "discovered"}})), Clean),
            ("externalAuthConfigRef backend", backend(external("github-token")), Clean),
            ("type absent", backend(json!({})), Deny("spec.outgoingAuth.backends[github].type")),
            (
                "externalAuthConfigRef without a reference",
                backend(json!({"type": "externalAuthConfigRef"})),
                Deny("spec.outgoingAuth.backends[github].externalAuthConfigRef"),
            ),
            (
                "discovered with a reference",
                backend(json!({"type": "discovered", "externalAuthConfigRef": {"name": "x"}})),
                DenyWith(
                    "spec.outgoingAuth.backends[github].externalAuthConfigRef",
                    "only allowed with type externalAuthConfigRef",
                ),
            ),
            (
                "empty reference name",
                backend(external("")),
                Deny("spec.outgoingAuth.backends[github].externalAuthConfigRef.name"),
            ),
            (
                "legacy pass_through",
                outgoing(json!({"default": {"type": "pass_through"}})),
                DenyWith("spec.outgoingAuth.default.type", "removed in v1beta1"),
            ),
            (
                "legacy service_account",
                backend(json!({"type": "service_account"})),
                DenyWith("spec.outgoingAuth.backends[github].type", "MCPExternalAuthConfig"),
            ),
            (
                "legacy serviceAccount object",
                backend(json!({
                    "type": "discovered",
                    "serviceAccount": {"credentialsRef": {"name": "jira", "key": "token"}, "headerName": "Authorization"}
                })),
                DenyWith("spec.outgoingAuth.backends[github].serviceAccount", "removed in v1beta1"),
            ),
            (
                "legacy spelling",
                backend(json!({"type": "external_auth_config_ref", "externalAuthConfigRef": {"name": "t"}})),
                DenyWith("spec.outgoingAuth.backends[github].type", "spelled externalAuthConfigRef"),
            ),
            ("unknown type", backend(json!({"type": "oauth"})), Deny("spec.outgoingAuth.backends[github].type")),
            (
                "legacy source mixed",
                outgoing(json!({"source": "mixed"})),
                DenyWith("spec.outgoingAuth.source", "use discovered"),
            ),
            ("unknown source", outgoing(json!({"source": "static"})), Deny("spec.outgoingAuth.source")),
        ],
    );
    table(
        "ref.cross-namespace",
        vec![(
            "backend reference in another namespace",
            backend(
                json!({"type": "externalAuthConfigRef", "externalAuthConfigRef": {"name": "t", "namespace": "team-b"}}),
            ),
            DenyWith("spec.outgoingAuth.backends[github].externalAuthConfigRef.namespace", "MCPExternalAuthConfig"),
        )],
    );
}

#[test]
fn vmcp_outgoing_inline_empty() {
    let outgoing = |auth: Value| json!({"spec": {"outgoingAuth": auth}});
    table(
        "vmcp.outgoing.inline-empty",
        vec![
            ("discovered, nothing configured", outgoing(json!({"source": "discovered"})), Clean),
            ("inline, nothing configured", outgoing(json!({"source": "inline"})), Warn("spec.outgoingAuth.backends")),
            (
                "inline, empty backends",
                outgoing(json!({"source": "inline", "backends": {}})),
                Warn("spec.outgoingAuth.backends"),
            ),
            (
                "inline with a backend",
                outgoing(json!({"source": "inline", "backends": {"a": {"type": "discovered"}}})),
                Clean,
            ),
            ("inline with a default", outgoing(json!({"source": "inline", "default": {"type": "discovered"}})), Clean),
        ],
    );
}

#[test]
fn vmcp_token_cache_and_config_moved() {
    let token_cache = json!({"provider": "redis", "redis": {"address": "redis:6379"}});
    table(
        "vmcp.token-cache",
        vec![
            ("no annotation", json!({}), Clean),
            ("recorded tokenCache", annotated(json!({"spec": {"tokenCache": token_cache}})), Warn("spec.tokenCache")),
            ("unrelated record", annotated(json!({"groupRef": "config.groupRef"})), Clean),
        ],
    );
    let mut lost = annotated(json!({"spec": {"aggregation": {"conflictResolution": "manual"}}}));
    json_patch::merge(&mut lost, &json!({"spec": {"config": {"aggregation": {"conflictResolution": "prefix"}}}}));
    let mut lost_operational = annotated(json!({"movedToConfig": ["aggregation"], "spec": {"operational": {}}}));
    json_patch::merge(&mut lost_operational, &json!({"spec": {"config": {"operational": {"logLevel": "debug"}}}}));
    table(
        "vmcp.config.moved",
        vec![
            ("no annotation", json!({}), Clean),
            ("moved without conflict", annotated(json!({"movedToConfig": ["aggregation"]})), Clean),
            ("top-level aggregation lost to spec.config", lost, Warn("spec.aggregation")),
            ("top-level operational lost to spec.config", lost_operational, Warn("spec.operational")),
            (
                "compositeTools and compositeToolRefs",
                annotated(json!({"spec": {"compositeTools": [], "compositeToolRefs": []}})),
                Warn("spec.compositeToolRefs"),
            ),
        ],
    );
}

#[test]
fn vmcp_aggregation() {
    let aggregation = |a: Value| json!({"spec": {"config": {"aggregation": a}}});
    let priority = |order: Value| {
        aggregation(json!({"conflictResolution": "priority", "conflictResolutionConfig": {"priorityOrder": order}}))
    };
    let tools = |t: Value| aggregation(json!({"tools": [t]}));
    table(
        "vmcp.aggregation",
        vec![
            ("prefix", aggregation(json!({"conflictResolution": "prefix"})), Clean),
            ("manual", aggregation(json!({"conflictResolution": "manual"})), Clean),
            ("absent means prefix", aggregation(json!({})), Clean),
            (
                "unknown strategy",
                aggregation(json!({"conflictResolution": "newest"})),
                Deny("spec.config.aggregation.conflictResolution"),
            ),
            ("priority with an order", priority(json!(["github", "jira"])), Clean),
            (
                "priority with an empty order",
                priority(json!([])),
                Deny("spec.config.aggregation.conflictResolutionConfig.priorityOrder"),
            ),
            (
                "priority without config",
                aggregation(json!({"conflictResolution": "priority"})),
                Deny("spec.config.aggregation.conflictResolutionConfig.priorityOrder"),
            ),
            ("tools with a workload", tools(json!({"workload": "github", "filter": ["create_issue"]})), Clean),
            (
                "tools without a workload",
                tools(json!({"filter": ["create_issue"]})),
                Deny("spec.config.aggregation.tools[0].workload"),
            ),
            (
                "tools with an empty workload",
                tools(json!({"workload": ""})),
                Deny("spec.config.aggregation.tools[0].workload"),
            ),
            (
                "toolConfigRef with a name",
                tools(json!({"workload": "github", "toolConfigRef": {"name": "gh-tools"}})),
                Clean,
            ),
            (
                "toolConfigRef without a name",
                tools(json!({"workload": "github", "toolConfigRef": {}})),
                Deny("spec.config.aggregation.tools[0].toolConfigRef.name"),
            ),
        ],
    );
}

fn composite(tool: Value) -> Value {
    json!({"spec": {"config": {"compositeTools": [tool]}}})
}

fn tool_with_steps(steps: Value) -> Value {
    composite(json!({"name": "triage", "description": "Files an issue", "steps": steps}))
}

#[test]
fn vmcp_composite_tools() {
    let step = |s: Value| tool_with_steps(json!([s]));
    let tool_step = json!({"id": "create", "tool": "github.create_issue"});
    let two = |a: Value, b: Value| json!({"spec": {"config": {"compositeTools": [a, b]}}});
    let named = |name: &str| json!({"name": name, "description": "d", "steps": [{"id": "s", "tool": "a.b"}]});
    table(
        "vmcp.composite",
        vec![
            ("a valid tool", step(tool_step.clone()), Clean),
            ("distinct names", two(named("a"), named("b")), Clean),
            (
                "duplicate names",
                two(named("a"), named("a")),
                DenyWith("spec.config.compositeTools[1].name", "compositeTools[0].name"),
            ),
            (
                "no name",
                composite(json!({"description": "d", "steps": [tool_step]})),
                Deny("spec.config.compositeTools[0].name"),
            ),
            (
                "no description",
                composite(json!({"name": "t", "steps": [tool_step]})),
                Deny("spec.config.compositeTools[0].description"),
            ),
            (
                "no steps",
                composite(json!({"name": "t", "description": "d"})),
                Deny("spec.config.compositeTools[0].steps"),
            ),
            ("empty steps", tool_with_steps(json!([])), Deny("spec.config.compositeTools[0].steps")),
            ("step without id", step(json!({"tool": "a.b"})), Deny("spec.config.compositeTools[0].steps[0].id")),
            (
                "duplicate step ids",
                tool_with_steps(json!([{"id": "s", "tool": "a.b"}, {"id": "s", "tool": "a.c"}])),
                Deny("spec.config.compositeTools[0].steps[1].id"),
            ),
            (
                "unknown step type",
                step(json!({"id": "s", "type": "loop"})),
                Deny("spec.config.compositeTools[0].steps[0].type"),
            ),
            ("tool step without tool", step(json!({"id": "s"})), Deny("spec.config.compositeTools[0].steps[0].tool")),
            (
                "tool without backend",
                step(json!({"id": "s", "tool": "create_issue"})),
                Deny("spec.config.compositeTools[0].steps[0].tool"),
            ),
            (
                "empty backend",
                step(json!({"id": "s", "tool": ".create_issue"})),
                Deny("spec.config.compositeTools[0].steps[0].tool"),
            ),
            (
                "empty tool",
                step(json!({"id": "s", "tool": "github."})),
                Deny("spec.config.compositeTools[0].steps[0].tool"),
            ),
            ("elicitation with a message", step(json!({"id": "s", "type": "elicitation", "message": "OK?"})), Clean),
            (
                "elicitation without a message",
                step(json!({"id": "s", "type": "elicitation"})),
                Deny("spec.config.compositeTools[0].steps[0].message"),
            ),
            ("forEach", step(json!({"id": "s", "type": "forEach", "collection": "{{.params.items}}"})), Clean),
            (
                "dependsOn a known step",
                tool_with_steps(json!([{"id": "a", "tool": "x.y"}, {"id": "b", "tool": "x.z", "dependsOn": ["a"]}])),
                Clean,
            ),
            (
                "dependsOn an unknown step",
                tool_with_steps(json!([{"id": "a", "tool": "x.y"}, {"id": "b", "tool": "x.z", "dependsOn": ["c"]}])),
                DenyWith("spec.config.compositeTools[0].steps[1].dependsOn[0]", "\"c\""),
            ),
            (
                "retry once",
                step(
                    json!({"id": "s", "tool": "a.b", "onError": {"action": "retry", "retryCount": 1, "retryDelay": "2s"}}),
                ),
                Clean,
            ),
            (
                "retry zero times",
                step(json!({"id": "s", "tool": "a.b", "onError": {"action": "retry", "retryCount": 0}})),
                Deny("spec.config.compositeTools[0].steps[0].onError.retryCount"),
            ),
            (
                "retry without a count",
                step(json!({"id": "s", "tool": "a.b", "onError": {"action": "retry"}})),
                Deny("spec.config.compositeTools[0].steps[0].onError.retryCount"),
            ),
            (
                "continue without a count",
                step(json!({"id": "s", "tool": "a.b", "onError": {"action": "continue"}})),
                Clean,
            ),
            (
                "bad retry delay",
                step(
                    json!({"id": "s", "tool": "a.b", "onError": {"action": "retry", "retryCount": 2, "retryDelay": "2"}}),
                ),
                Deny("spec.config.compositeTools[0].steps[0].onError.retryDelay"),
            ),
            ("valid step timeout", step(json!({"id": "s", "tool": "a.b", "timeout": "1m30s"})), Clean),
            (
                "bad step timeout",
                step(json!({"id": "s", "tool": "a.b", "timeout": "90"})),
                Deny("spec.config.compositeTools[0].steps[0].timeout"),
            ),
            (
                "negative tool timeout",
                composite(json!({"name": "t", "description": "d", "timeout": "-5s", "steps": [tool_step]})),
                Deny("spec.config.compositeTools[0].timeout"),
            ),
            (
                "object parameters",
                composite(
                    json!({"name": "t", "description": "d", "parameters": {"type": "object"}, "steps": [tool_step]}),
                ),
                Clean,
            ),
            (
                "parameters without type",
                composite(
                    json!({"name": "t", "description": "d", "parameters": {"properties": {}}, "steps": [tool_step]}),
                ),
                Clean,
            ),
            (
                "string parameters",
                composite(
                    json!({"name": "t", "description": "d", "parameters": {"type": "string"}, "steps": [tool_step]}),
                ),
                Deny("spec.config.compositeTools[0].parameters.type"),
            ),
        ],
    );
}

#[test]
fn vmcp_composite_dependency_cycles_name_a_step_on_the_cycle() {
    let steps = json!([
        {"id": "fetch", "tool": "github.get_issue"},
        {"id": "label", "tool": "github.label", "dependsOn": ["fetch", "notify"]},
        {"id": "comment", "tool": "github.comment", "dependsOn": ["label"]},
        {"id": "notify", "tool": "slack.post", "dependsOn": ["comment"]}
    ]);
    let response = validate(&with(&tool_with_steps(steps)));
    let found = hits(&response, "vmcp.composite");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].field, "spec.config.compositeTools[0].steps[1].dependsOn");
    assert!(
        found[0].message.contains(
            "step \"label\" depends on \"notify\", which depends on \"comment\", which depends on \"label\" again"
        ),
        "{}",
        found[0].message
    );
    let own = validate(&with(&tool_with_steps(json!([{"id": "a", "tool": "x.y", "dependsOn": ["a"]}]))));
    let found = hits(&own, "vmcp.composite");
    assert!(found[0].message.contains("step \"a\" depends on itself"), "{found:#?}");
}

#[test]
fn vmcp_operational() {
    let operational = |o: Value| json!({"spec": {"config": {"operational": o}}});
    let breaker = |b: Value| operational(json!({"failureHandling": {"circuitBreaker": b}}));
    let handling = |h: Value| operational(json!({"failureHandling": h}));
    table(
        "vmcp.operational",
        vec![
            ("default timeout", operational(json!({"timeouts": {"default": "30s"}})), Clean),
            (
                "timeout without unit",
                operational(json!({"timeouts": {"default": "30"}})),
                Deny("spec.config.operational.timeouts.default"),
            ),
            ("per-workload", operational(json!({"timeouts": {"perWorkload": {"github": "1.5m"}}})), Clean),
            (
                "bad per-workload",
                operational(json!({"timeouts": {"perWorkload": {"github": "fast"}}})),
                Deny("spec.config.operational.timeouts.perWorkload[github]"),
            ),
            ("circuit breaker 1s", breaker(json!({"timeout": "1s"})), Clean),
            ("circuit breaker 1000ms", breaker(json!({"timeout": "1000ms"})), Clean),
            (
                "circuit breaker 999ms",
                breaker(json!({"timeout": "999ms"})),
                DenyWith("spec.config.operational.failureHandling.circuitBreaker.timeout", "timeout must be >= 1s"),
            ),
            (
                "circuit breaker not a duration",
                breaker(json!({"timeout": "1 minute"})),
                Deny("spec.config.operational.failureHandling.circuitBreaker.timeout"),
            ),
            ("failure threshold 1", breaker(json!({"failureThreshold": 1})), Clean),
            (
                "failure threshold 0",
                breaker(json!({"failureThreshold": 0})),
                Deny("spec.config.operational.failureHandling.circuitBreaker.failureThreshold"),
            ),
            ("unhealthy threshold 1", handling(json!({"unhealthyThreshold": 1})), Clean),
            (
                "unhealthy threshold 0",
                handling(json!({"unhealthyThreshold": 0})),
                Deny("spec.config.operational.failureHandling.unhealthyThreshold"),
            ),
            (
                "health check interval",
                handling(json!({"healthCheckInterval": "10s", "healthCheckTimeout": "500ms"})),
                Clean,
            ),
            (
                "health check interval with a space",
                handling(json!({"healthCheckInterval": "10 s"})),
                Deny("spec.config.operational.failureHandling.healthCheckInterval"),
            ),
            (
                "status reporting in days",
                handling(json!({"statusReportingInterval": "1d"})),
                Deny("spec.config.operational.failureHandling.statusReportingInterval"),
            ),
        ],
    );
}

#[test]
fn vmcp_session_storage() {
    let storage = |s: Value| json!({"spec": {"sessionStorage": s}});
    let redis = || json!({"provider": "redis", "address": "redis.team-a.svc:6379"});
    let limited = |storage: Value, limits: Value| json!({"spec": {"sessionStorage": storage, "config": {"rateLimiting": limits}}});
    let shared = json!({"shared": {"maxTokens": 100, "refillPeriod": "1m0s"}});
    let per_user = json!({"perUser": {"maxTokens": 10, "refillPeriod": "1m0s"}});
    let mut per_user_anonymous = limited(redis(), per_user.clone());
    json_patch::merge(
        &mut per_user_anonymous,
        &json!({"spec": {"incomingAuth": {"type": "anonymous", "oidcConfigRef": null}}}),
    );
    let mut per_tool_kubernetes = limited(
        redis(),
        json!({"tools": [{"name": "github_create_issue", "perUser": {"maxTokens": 1, "refillPeriod": "1s"}}]}),
    );
    json_patch::merge(
        &mut per_tool_kubernetes,
        &json!({"spec": {"incomingAuth": {"type": "kubernetes", "oidcConfigRef": null, "kubernetes": {"audience": "v"}}}}),
    );
    table(
        "vmcp.session-storage",
        vec![
            ("memory", storage(json!({"provider": "memory"})), Clean),
            ("redis with address", storage(redis()), Clean),
            (
                "redis without address",
                storage(json!({"provider": "redis"})),
                DenyWith("spec.sessionStorage.address", "address is required"),
            ),
            (
                "redis with empty address",
                storage(json!({"provider": "redis", "address": ""})),
                Deny("spec.sessionStorage.address"),
            ),
            ("no provider", storage(json!({"address": "r:6379"})), Deny("spec.sessionStorage.provider")),
            ("unknown provider", storage(json!({"provider": "etcd"})), Deny("spec.sessionStorage.provider")),
            ("db 0", storage(json!({"provider": "redis", "address": "r:6379", "db": 0})), Clean),
            (
                "db -1",
                storage(json!({"provider": "redis", "address": "r:6379", "db": -1})),
                Deny("spec.sessionStorage.db"),
            ),
            ("rate limits with redis", limited(redis(), shared.clone()), Clean),
            (
                "rate limits with memory",
                limited(json!({"provider": "memory"}), shared.clone()),
                DenyWith(
                    "spec.config.rateLimiting",
                    "config.rateLimiting requires sessionStorage with provider 'redis'",
                ),
            ),
            (
                "rate limits without storage",
                json!({"spec": {"config": {"rateLimiting": shared}}}),
                Deny("spec.config.rateLimiting"),
            ),
            ("per-user limits with oidc", limited(redis(), per_user), Clean),
            (
                "per-user limits with anonymous",
                per_user_anonymous,
                DenyWith(
                    "spec.config.rateLimiting.perUser",
                    "config.rateLimiting.perUser requires incomingAuth.type oidc",
                ),
            ),
            (
                "per-tool per-user limits with kubernetes",
                per_tool_kubernetes,
                DenyWith(
                    "spec.config.rateLimiting.tools[0].perUser",
                    "per-tool perUser rate limiting requires incomingAuth.type oidc",
                ),
            ),
        ],
    );
}

#[test]
fn vmcp_session_storage_replicas() {
    let replicas = |n: i32, storage: Value| json!({"spec": {"replicas": n, "sessionStorage": storage}});
    let redis = json!({"provider": "redis", "address": "r:6379"});
    table(
        "vmcp.session-storage.replicas",
        vec![
            ("1 replica", replicas(1, Value::Null), Clean),
            ("2 replicas without storage", replicas(2, Value::Null), Warn("spec.replicas")),
            ("2 replicas with memory", replicas(2, json!({"provider": "memory"})), Warn("spec.replicas")),
            ("2 replicas with redis", replicas(2, redis), Clean),
        ],
    );
}

#[test]
fn vmcp_headers() {
    let top = |h: Value| json!({"spec": {"passthroughHeaders": h}});
    let config = |h: Value| json!({"spec": {"config": {"passthroughHeaders": h}}});
    table(
        "vmcp.headers",
        vec![
            ("plain headers", top(json!(["X-Request-Id", "X-Tenant"])), Clean),
            ("255 characters", top(json!(["h".repeat(255)])), Clean),
            ("256 characters", top(json!(["h".repeat(256)])), Deny("spec.passthroughHeaders[0]")),
            ("empty", top(json!(["X-Tenant", ""])), Deny("spec.passthroughHeaders[1]")),
            ("not a token", top(json!(["X Tenant"])), Deny("spec.passthroughHeaders[0]")),
            ("hop-by-hop", top(json!(["Connection"])), DenyWith("spec.passthroughHeaders[0]", "managed by the proxy")),
            ("forwarding header", config(json!(["x-forwarded-for"])), Deny("spec.config.passthroughHeaders[0]")),
            ("Authorization", top(json!(["authorization"])), DenyWith("spec.passthroughHeaders[0]", "credentials")),
            ("Cookie", config(json!(["X-Tenant", "Cookie"])), Deny("spec.config.passthroughHeaders[1]")),
        ],
    );
}

#[test]
fn vmcp_pod_template() {
    let template = |t: Value| json!({"spec": {"podTemplateSpec": t}});
    let container = |c: Value| template(json!({"spec": {"containers": [c]}}));
    table(
        "vmcp.pod-template",
        vec![
            (
                "resources of the vmcp container",
                container(json!({"name": "vmcp", "resources": {"limits": {"memory": "512Mi"}}})),
                Clean,
            ),
            ("labels only", template(json!({"metadata": {"labels": {"team": "a"}}})), Clean),
            (
                "containers is not a list",
                template(json!({"spec": {"containers": "vmcp"}})),
                DenyWith("spec.podTemplateSpec", "spec.podTemplateSpec.spec.containers"),
            ),
            (
                "port as a string",
                container(json!({"name": "vmcp", "ports": [{"containerPort": "8080"}]})),
                DenyWith("spec.podTemplateSpec", "spec.podTemplateSpec.spec.containers[0].ports[0].containerPort"),
            ),
            (
                "container without a name",
                container(json!({"image": "x"})),
                Deny("spec.podTemplateSpec.spec.containers[0].name"),
            ),
        ],
    );
    table(
        "vmcp.pod-template.container",
        vec![
            ("the vmcp container", container(json!({"name": "vmcp"})), Clean),
            ("a typo", container(json!({"name": "vmpc"})), Warn("spec.podTemplateSpec.spec.containers[0].name")),
            ("no containers", template(json!({"spec": {"nodeSelector": {"pool": "mcp"}}})), Clean),
        ],
    );
}

#[test]
fn vmcp_embedding() {
    let optimizer =
        |o: Value, server_ref: Value| json!({"spec": {"embeddingServerRef": server_ref, "config": {"optimizer": o}}});
    table(
        "vmcp.embedding",
        vec![
            ("no optimizer", json!({}), Clean),
            ("optimizer with a managed server", optimizer(json!({}), json!({"name": "tei"})), Clean),
            ("optimizer with a service", optimizer(json!({"embeddingService": "http://tei:8080"}), Value::Null), Clean),
            (
                "optimizer without embeddings",
                optimizer(json!({"maxToolsToReturn": 8}), Value::Null),
                Deny("spec.config.optimizer.embeddingService"),
            ),
            (
                "optimizer with an empty service",
                optimizer(json!({"embeddingService": ""}), Value::Null),
                Deny("spec.config.optimizer.embeddingService"),
            ),
            ("server ref without a name", optimizer(json!({}), json!({})), Deny("spec.embeddingServerRef.name")),
            (
                "openai with a managed server",
                optimizer(json!({"embeddingProvider": "openai", "embeddingModel": "m"}), json!({"name": "tei"})),
                DenyWith("spec.embeddingServerRef", "cannot be combined with optimizer.embeddingProvider 'openai'"),
            ),
            (
                "openai with its own service",
                optimizer(
                    json!({"embeddingProvider": "openai", "embeddingService": "https://api.example"}),
                    Value::Null,
                ),
                Clean,
            ),
        ],
    );
}

/// Every reference of the spec: a patch that sets it, with its path.
fn references(name: &str, namespace: Option<&str>) -> Vec<(&'static str, Value)> {
    let r = match namespace {
        Some(ns) => json!({"name": name, "namespace": ns}),
        None => json!({"name": name}),
    };
    let secret = {
        let mut s = r.clone();
        s["key"] = json!("password");
        s
    };
    let oidc = {
        let mut s = r.clone();
        s["audience"] = json!("vmcp");
        s
    };
    vec![
        ("spec.groupRef", json!({"spec": {"groupRef": r}})),
        ("spec.incomingAuth.oidcConfigRef", json!({"spec": {"incomingAuth": {"oidcConfigRef": oidc}}})),
        ("spec.incomingAuth.authzConfigRef", json!({"spec": {"incomingAuth": {"authzConfigRef": r}}})),
        ("spec.telemetryConfigRef", json!({"spec": {"telemetryConfigRef": r}})),
        ("spec.embeddingServerRef", json!({"spec": {"embeddingServerRef": r}})),
        (
            "spec.config.aggregation.tools[0].toolConfigRef",
            json!({"spec": {"config": {"aggregation": {"tools": [{"workload": "github", "toolConfigRef": r}]}}}}),
        ),
        ("spec.config.compositeToolRefs[0]", json!({"spec": {"config": {"compositeToolRefs": [r]}}})),
        (
            "spec.outgoingAuth.default.externalAuthConfigRef",
            json!({"spec": {"outgoingAuth": {"default": {"type": "externalAuthConfigRef", "externalAuthConfigRef": r}}}}),
        ),
        (
            "spec.sessionStorage.passwordRef",
            json!({"spec": {"sessionStorage": {"provider": "redis", "address": "r:6379", "passwordRef": secret}}}),
        ),
        (
            "spec.authServerConfig.hmacSecretRefs[0]",
            json!({"spec": {"authServerConfig": {"hmacSecretRefs": [secret]}}}),
        ),
        (
            "spec.authServerConfig.storage.redis.aclUserConfig.passwordSecretRef",
            json!({"spec": {"authServerConfig": {"storage": {"type": "redis", "redis": {
                "addr": "r:6379", "aclUserConfig": {"passwordSecretRef": secret}
            }}}}}),
        ),
        (
            "spec.authServerConfig.upstreamProviders[0].oidcConfig.clientSecretRef",
            json!({"spec": {"authServerConfig": {"upstreamProviders": [{
                "name": "corp", "type": "oidc",
                "oidcConfig": {"issuerUrl": "https://login.example.com", "clientId": "vmcp", "clientSecretRef": secret}
            }]}}}),
        ),
    ]
}

#[test]
fn every_reference_gets_the_shared_reference_rules() {
    for (path, patch) in references("good-name", None) {
        let response = validate(&with(&patch));
        assert!(hits(&response, "ref.name").is_empty(), "{path}: {response:#}");
        assert!(hits(&response, "ref.cross-namespace").is_empty(), "{path}: {response:#}");
    }
    for (path, patch) in references("good-name", Some(NS)) {
        assert!(hits(&validate(&with(&patch)), "ref.cross-namespace").is_empty(), "{path}: own namespace is fine");
    }
    for (path, patch) in references("Bad_Name", None) {
        let found = hits(&validate(&with(&patch)), "ref.name");
        let field = format!("{path}.name");
        assert!(found.iter().any(|h| h.denied && h.field == field), "{field}: {found:#?}");
    }
    for (path, patch) in references("good-name", Some("team-b")) {
        let found = hits(&validate(&with(&patch)), "ref.cross-namespace");
        let field = format!("{path}.namespace");
        assert!(found.iter().any(|h| h.denied && h.field == field), "{field}: {found:#?}");
        assert!(found.iter().all(|h| h.message.contains("must be in namespace \"team-a\"")), "{found:#?}");
    }
}

#[test]
fn secret_keys_config_maps_and_pull_secrets_are_checked() {
    let bad_key = json!({"spec": {"sessionStorage": {"provider": "redis", "address": "r:6379",
        "passwordRef": {"name": "redis", "key": "pass word"}}}});
    let found = hits(&validate(&with(&bad_key)), "ref.name");
    assert!(found.iter().any(|h| h.field == "spec.sessionStorage.passwordRef.key"), "{found:#?}");

    let config_map = json!({"spec": {"incomingAuth": {"authzConfig": {"type": "configMap",
        "configMap": {"name": "Cedar", "key": "a/b"}}}}});
    let found = hits(&validate(&with(&config_map)), "ref.name");
    let fields: Vec<&str> = found.iter().map(|h| h.field.as_str()).collect();
    assert_eq!(fields, ["spec.incomingAuth.authzConfig.configMap.name", "spec.incomingAuth.authzConfig.configMap.key"]);

    let pull = json!({"spec": {"imagePullSecrets": [{"name": "regcred"}, {"name": ""}, {}]}});
    let found = hits(&validate(&with(&pull)), "ref.name");
    let fields: Vec<&str> = found.iter().map(|h| h.field.as_str()).collect();
    assert_eq!(fields, ["spec.imagePullSecrets[1].name", "spec.imagePullSecrets[2].name"]);
}

#[test]
fn a_denial_lists_every_violation_with_causes() {
    let object = with(&json!({
        "metadata": {"name": "9-lives"},
        "spec": {
            "groupRef": {"name": "tools", "namespace": "team-b"},
            "incomingAuth": {"type": "local", "oidcConfigRef": null},
            "passthroughHeaders": ["Host"],
            "sessionStorage": {"provider": "redis"}
        }
    }));
    let response = validate(&object);
    assert_eq!(response["allowed"], false);
    assert_eq!(response["status"]["code"], 422);
    assert_eq!(response["status"]["reason"], "Invalid");
    let causes = response["status"]["details"]["causes"].as_array().expect("causes");
    let summary: Vec<(&str, &str)> =
        causes.iter().map(|c| (c["field"].as_str().unwrap(), c["reason"].as_str().unwrap())).collect();
    assert_eq!(
        summary,
        [
            ("metadata.name", "FieldValueInvalid"),
            ("spec.groupRef.namespace", "FieldValueForbidden"),
            ("spec.incomingAuth.type", "FieldValueInvalid"),
            ("spec.sessionStorage.address", "FieldValueRequired"),
            ("spec.passthroughHeaders[0]", "FieldValueForbidden"),
        ]
    );
    let message = response["status"]["message"].as_str().expect("message");
    let joined: Vec<String> = causes
        .iter()
        .map(|c| format!("{}: {}", c["field"].as_str().unwrap(), c["message"].as_str().unwrap()))
        .collect();
    assert_eq!(message, joined.join("; "), "the message lists the causes in order");
    assert!(message.starts_with("metadata.name: VirtualMCPServer name must be a DNS-1035 label"), "{message}");
}

/// What conversion makes of the legacy test object `tests/data/virtualmcpserver/v1alpha1-legacy.yaml`.
fn converted_legacy() -> Value {
    let record = json!({
        "groupRef": "config.groupRef",
        "movedToConfig": ["aggregation", "operational"],
        "outgoingAuth": {"source": "mixed", "backends": {"github": "external_auth_config_ref"}},
        "spec": {"tokenCache": {"provider": "redis", "redis": {"address": "redis.tools.svc:6379", "tls": true,
            "passwordRef": {"name": "redis", "key": "password"}}}}
    });
    json!({
        "apiVersion": "toolhive.stacklok.dev/v1beta1",
        "kind": "VirtualMCPServer",
        "metadata": {"name": "legacy", "namespace": NS, "annotations": {ANNOTATION: record.to_string()}},
        "spec": {
            "groupRef": {"name": "engineering-tools"},
            "config": {
                "groupRef": "engineering-tools",
                "aggregation": {"conflictResolution": "prefix"},
                "operational": {"timeouts": {"default": "45s"}}
            },
            "incomingAuth": {"oidcConfig": {"type": "inline", "inline": {"issuer": "https://login.example.com", "audience": "vmcp"}}},
            "outgoingAuth": {
                "source": "discovered",
                "default": {"type": "pass_through"},
                "backends": {
                    "jira": {"type": "service_account", "serviceAccount": {
                        "credentialsRef": {"name": "jira", "key": "token"},
                        "headerName": "Authorization", "headerFormat": "Bearer {token}"
                    }},
                    "github": {"type": "externalAuthConfigRef", "externalAuthConfigRef": {"name": "github-token"}}
                }
            }
        }
    })
}

#[test]
fn legacy_shapes_carried_over_by_conversion_get_migration_messages() {
    let response = validate(&converted_legacy());
    assert_eq!(response["allowed"], false);
    let causes: Vec<String> = response["status"]["details"]["causes"]
        .as_array()
        .expect("causes")
        .iter()
        .map(|c| format!("{}: {}", c["field"].as_str().unwrap(), c["message"].as_str().unwrap()))
        .collect();
    let expected = [
        ("spec.incomingAuth.type", "[vmcp.incoming.required]"),
        ("spec.incomingAuth.oidcConfig", "removed in v1beta1; create an MCPOIDCConfig"),
        ("spec.outgoingAuth.default.type", "type pass_through was removed in v1beta1"),
        ("spec.outgoingAuth.backends[jira].type", "type service_account was removed in v1beta1"),
        ("spec.outgoingAuth.backends[jira].serviceAccount", "serviceAccount credentials were removed in v1beta1"),
    ];
    assert_eq!(causes.len(), expected.len(), "{causes:#?}");
    for ((field, text), cause) in expected.iter().zip(&causes) {
        assert!(cause.starts_with(field) && cause.contains(text), "{cause} should be at {field} and say {text:?}");
    }
    let warned = warnings(&response);
    assert!(warned.iter().any(|w| w.ends_with("[vmcp.group.legacy]")), "{warned:#?}");
    assert!(warned.iter().any(|w| w.starts_with("spec.tokenCache: ") && w.ends_with("[vmcp.token-cache]")));
    assert!(!warned.iter().any(|w| w.contains("[vmcp.config.moved]")), "nothing lost to spec.config: {warned:#?}");
}

#[test]
fn legacy_top_level_fields_in_the_raw_object_are_reported_too() {
    // A direct call or the offline CLI may see an object the API server would have pruned.
    let object = with(&json!({"spec": {"tokenCache": {"provider": "memory"}, "operational": {}}}));
    let response = validate(&object);
    assert_eq!(response["allowed"], true, "{response:#}");
    let warned = warnings(&response);
    assert!(warned.iter().any(|w| w.starts_with("spec.tokenCache: ")), "{warned:#?}");
    assert!(
        warned.iter().any(|w| w.starts_with("spec.operational: ") && w.contains("move it to spec.config.operational")),
        "{warned:#?}"
    );
}

#[test]
fn ratcheting_compares_every_field_of_a_multi_field_rule() {
    let conflicting = with(&json!({"spec": {"config": {"groupRef": "old-tools"}}}));
    let mut relabelled = conflicting.clone();
    relabelled["metadata"]["labels"] = json!({"owner": "platform"});
    let response = update(&relabelled, &conflicting);
    assert_eq!(response["allowed"], true, "{response:#}");
    assert!(warnings(&response).iter().any(|w| w.ends_with("[vmcp.group.conflict] (pre-existing)")), "{response:#}");

    // The conflict also depends on spec.groupRef.name: changing it makes the violation new.
    let mut regrouped = conflicting.clone();
    regrouped["spec"]["groupRef"]["name"] = json!("new-tools");
    let response = update(&regrouped, &conflicting);
    assert_eq!(response["allowed"], false, "{response:#}");
    assert_eq!(hits(&response, "vmcp.group.conflict")[0].field, "spec.config.groupRef");

    // Rate limits need Redis: switching the provider away is a new violation of the same rule
    // although spec.config.rateLimiting itself did not change.
    let limited = json!({"spec": {"sessionStorage": {"provider": "redis", "address": "r:6379"},
        "config": {"rateLimiting": {"shared": {"maxTokens": 5, "refillPeriod": "1s"}}}}});
    let old = with(&limited);
    let mut new = old.clone();
    new["spec"]["sessionStorage"] = json!({"provider": "memory"});
    let response = update(&new, &old);
    assert_eq!(response["allowed"], false, "{response:#}");
    let old_memory = new.clone();
    let mut still_memory = new.clone();
    still_memory["metadata"]["labels"] = json!({"x": "y"});
    let response = update(&still_memory, &old_memory);
    assert_eq!(response["allowed"], true, "{response:#}");

    // A value missing from an object that is itself new is a new violation, even though the
    // value's own path is absent both before and after.
    for (added, field) in [
        (json!({"sessionStorage": {"address": "r:6379"}}), "spec.sessionStorage.provider"),
        (
            json!({"config": {"compositeTools": [{"name": "t", "steps": [{"id": "s", "tool": "a.b"}]}]}}),
            "spec.config.compositeTools[0].description",
        ),
        (json!({"outgoingAuth": {"backends": {"jira": {}}}}), "spec.outgoingAuth.backends[jira].type"),
        (json!({"telemetryConfigRef": {"serviceName": "vmcp"}}), "spec.telemetryConfigRef.name"),
    ] {
        let old = base();
        let new = with(&json!({"spec": added}));
        let response = update(&new, &old);
        assert_eq!(response["allowed"], false, "{field}: {response:#}");
        assert_eq!(response["status"]["details"]["causes"][0]["field"], field);
    }
}

fn patch_of(response: &Value) -> Option<Value> {
    let encoded = response.get("patch")?.as_str()?;
    assert_eq!(response["patchType"], "JSONPatch");
    let bytes = base64::engine::general_purpose::STANDARD.decode(encoded).expect("base64");
    Some(serde_json::from_slice(&bytes).expect("json patch"))
}

fn mutate(object: &Value) -> Value {
    call(Mode::Mutate, &review("CREATE", Some(object), None, None))
}

#[test]
fn defaults_are_minimal_and_idempotent() {
    let mut object = with(&json!({"spec": {
        "serviceType": null,
        "sessionAffinity": "",
        "outgoingAuth": {"backends": {"github": {"type": "discovered"}}},
        "config": {"aggregation": {"tools": [{"workload": "github"}]}, "futureSetting": {"kept": true}}
    }}));
    let response = mutate(&object);
    assert_eq!(response["allowed"], true);
    let patch = patch_of(&response).expect("a patch");
    assert_eq!(
        patch,
        json!([
            {"op": "add", "path": "/spec/config/aggregation/conflictResolution", "value": "prefix"},
            {"op": "add", "path": "/spec/outgoingAuth/source", "value": "discovered"},
            {"op": "add", "path": "/spec/serviceType", "value": "ClusterIP"},
            {"op": "replace", "path": "/spec/sessionAffinity", "value": "ClientIP"}
        ])
    );
    json_patch::patch(&mut object, &serde_json::from_value::<json_patch::Patch>(patch).unwrap()).expect("applies");
    assert_eq!(object["spec"]["config"]["futureSetting"], json!({"kept": true}), "unknown config survives");
    let again = mutate(&object);
    assert!(again.get("patch").is_none() && again.get("patchType").is_none(), "idempotent: {again:#}");
}

#[test]
fn defaults_touch_nothing_else() {
    let response = mutate(&base());
    assert!(response.get("patch").is_none(), "{response:#}");
    let explicit = with(&json!({"spec": {
        "serviceType": "LoadBalancer", "sessionAffinity": "None",
        "outgoingAuth": {"source": "inline", "default": {"type": "discovered"}},
        "config": {"aggregation": {"conflictResolution": ""}}
    }}));
    let patch = patch_of(&mutate(&explicit)).expect("the empty strategy is defaulted");
    assert_eq!(
        patch,
        json!([{"op": "replace", "path": "/spec/config/aggregation/conflictResolution", "value": "prefix"}])
    );
    // Legacy values conversion carried over are left for the validating webhook to judge.
    let legacy = converted_legacy();
    let patch = patch_of(&mutate(&legacy)).expect("service defaults");
    let paths: Vec<&str> = patch.as_array().unwrap().iter().map(|op| op["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["/spec/serviceType", "/spec/sessionAffinity"]);
}

#[test]
fn defaults_for_an_object_without_a_spec_set_the_spec_first() {
    for (case, spec) in [("no spec", None), ("null spec", Some(Value::Null))] {
        let mut object = base();
        match spec {
            None => drop(object.as_object_mut().unwrap().remove("spec")),
            Some(spec) => object["spec"] = spec,
        }
        let patch = patch_of(&mutate(&object)).unwrap_or_else(|| panic!("{case}: a patch"));
        assert_eq!(
            patch,
            json!([
                {"op": "add", "path": "/spec", "value": {}},
                {"op": "add", "path": "/spec/serviceType", "value": "ClusterIP"},
                {"op": "add", "path": "/spec/sessionAffinity", "value": "ClientIP"}
            ]),
            "{case}"
        );
        json_patch::patch(&mut object, &serde_json::from_value::<json_patch::Patch>(patch).unwrap())
            .unwrap_or_else(|e| panic!("{case}: the patch applies to the object as sent: {e}"));
        assert_eq!(object["spec"], json!({"serviceType": "ClusterIP", "sessionAffinity": "ClientIP"}), "{case}");
    }
}

#[test]
fn status_writes_get_a_pending_phase_and_never_touch_spec() {
    let mut object = with(&json!({"spec": {"serviceType": null}}));
    object["status"] = json!({"backendCount": 0});
    let response = call(Mode::Mutate, &review("UPDATE", Some(&object), Some(&object), Some("status")));
    assert_eq!(patch_of(&response), Some(json!([{"op": "add", "path": "/status/phase", "value": "Pending"}])));
    object["status"]["phase"] = json!("Ready");
    let response = call(Mode::Mutate, &review("UPDATE", Some(&object), Some(&object), Some("status")));
    assert!(response.get("patch").is_none(), "{response:#}");
    // The validating webhook does not judge status writes.
    let broken = with(&json!({"spec": {"groupRef": null}}));
    let response = call(Mode::Validate, &review("UPDATE", Some(&broken), Some(&broken), Some("status")));
    assert_eq!(response["allowed"], true);
}

#[test]
fn delete_is_allowed_whatever_the_object_says() {
    let broken = with(&json!({"spec": {"groupRef": null, "incomingAuth": {"type": "local"}}}));
    let response = call(Mode::Validate, &review("DELETE", None, Some(&broken), None));
    assert_eq!(response["allowed"], true);
    assert!(response.get("warnings").is_none());
}

#[test]
fn secret_values_are_never_echoed() {
    let object = with(&json!({"spec": {"podTemplateSpec": {"spec": {"containers": [{
        "name": "vmcp", "env": "API_KEY=hunter2"
    }]}}}}));
    let response = validate(&object);
    assert_eq!(response["allowed"], false);
    assert!(!response.to_string().contains("hunter2"), "{response:#}");
}
