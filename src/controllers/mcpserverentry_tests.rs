use std::collections::HashMap;

use pretty_assertions::assert_eq;
use serde_json::json;

use super::*;
use crate::api::v1beta1::{
    CABundleConfigMapRef, CABundleRef, ExternalAuthConfigRef, HeaderForward, HeaderFromSecret, SecretKeyRef,
};
use crate::controllers::conditions::Desired;
use crate::controllers::testing::{self, Call, EARLIER, NOW, NS, World, accept_all, entry, group_with_phase};

/// A cluster for the pure evaluation: groups by name, and which auth configs, ConfigMaps and
/// Secrets (with their keys) exist.
#[derive(Default)]
struct Fake {
    groups: HashMap<&'static str, GroupLookup>,
    auth: Vec<&'static str>,
    config_maps: HashMap<&'static str, Vec<&'static str>>,
    secrets: HashMap<&'static str, Vec<&'static str>>,
}

impl EntryWorld for Fake {
    fn group(&self, _: &str, name: &str) -> GroupLookup {
        self.groups.get(name).cloned().unwrap_or(GroupLookup::Missing)
    }
    fn auth_config_exists(&self, _: &str, name: &str) -> bool {
        self.auth.contains(&name)
    }
    fn config_map(&self, _: &str, name: &str) -> Option<Arc<ConfigMapKeys>> {
        self.config_maps.get(name).map(|keys| Arc::new(testing::config_map(name, keys)))
    }
    fn secret(&self, _: &str, name: &str) -> Option<Arc<SecretKeys>> {
        self.secrets.get(name).map(|keys| Arc::new(testing::secret(name, keys)))
    }
}

fn ready_group() -> Fake {
    Fake { groups: HashMap::from([("g", GroupLookup::Ready)]), ..Fake::default() }
}

fn condition<'a>(evaluation: &'a Evaluation, type_: &str) -> Option<&'a Desired> {
    evaluation.conditions.iter().find(|c| c.type_ == type_)
}

/// (status, reason) of one condition.
fn outcome(evaluation: &Evaluation, type_: &str) -> (bool, &'static str) {
    let c = condition(evaluation, type_).unwrap_or_else(|| panic!("no {type_} condition"));
    (c.status, c.reason)
}

fn eval(e: &MCPServerEntry, world: &Fake) -> Evaluation {
    evaluate(e, world, &RemoteUrlPolicy::default())
}

fn with_url(url: Option<&str>, allow_private: bool) -> MCPServerEntry {
    let mut e = entry("e", "g");
    e.spec.remote_url = url.map(str::to_string);
    e.spec.allow_private_endpoint = allow_private.then_some(true);
    e
}

#[test]
fn remote_url_validated_uses_the_admission_rules_and_their_messages() {
    let cases: &[(Option<&str>, bool, bool, &str, &str)] = &[
        (Some("https://mcp.example.com/mcp"), false, true, REMOTE_URL_VALID, ""),
        (Some("http://127.0.0.1:8080/"), false, false, REMOTE_URL_INVALID, "[entry.url.blocked-host]"),
        (Some("https://10.1.2.3/"), false, false, REMOTE_URL_INVALID, "[entry.url.private-host]"),
        (Some("https://10.1.2.3/"), true, true, REMOTE_URL_VALID, ""),
        (Some("https://user:pw@mcp.example.com/"), false, false, REMOTE_URL_INVALID, "[entry.url.credentials]"),
        (None, false, false, REMOTE_URL_INVALID, "spec.remoteUrl: a remote URL is required [entry.url.required]"),
    ];
    for (url, private, status, reason, message) in cases {
        let evaluation = eval(&with_url(*url, *private), &ready_group());
        let c = condition(&evaluation, REMOTE_URL_VALIDATED).unwrap();
        assert_eq!((c.status, c.reason), (*status, *reason), "{url:?}");
        assert!(c.message.contains(message), "{url:?}: {}", c.message);
    }
}

#[test]
fn an_invalid_url_message_is_the_webhook_denial_text() {
    let evaluation = eval(&with_url(Some("http://169.254.169.254/latest"), false), &ready_group());
    let c = condition(&evaluation, REMOTE_URL_VALIDATED).unwrap();
    assert!(c.message.starts_with("spec.remoteUrl: host 169.254.169.254 "), "{}", c.message);
    assert!(c.message.ends_with("[entry.url.blocked-host]"), "{}", c.message);
}

#[test]
fn group_ref_validated_follows_the_group() {
    let cases = [
        (GroupLookup::Ready, true, GROUP_REF_IS_VALID, "MCPGroup \"g\" is ready"),
        (GroupLookup::Missing, false, GROUP_REF_NOT_FOUND, "MCPGroup \"g\" not found in namespace \"team\""),
        (GroupLookup::Deleting, false, GROUP_REF_NOT_FOUND, GROUP_DELETING_MESSAGE),
        (GroupLookup::NotReady { phase: Some("Pending".into()) }, false, GROUP_REF_NOT_READY, "(phase Pending)"),
        (GroupLookup::NotReady { phase: None }, false, GROUP_REF_NOT_READY, "(phase unset)"),
    ];
    for (lookup, status, reason, message) in cases {
        let world = Fake { groups: HashMap::from([("g", lookup.clone())]), ..Fake::default() };
        let evaluation = eval(&entry("e", "g"), &world);
        let c = condition(&evaluation, GROUP_REF_VALIDATED).unwrap();
        assert_eq!((c.status, c.reason), (status, reason), "{lookup:?}");
        assert!(c.message.contains(message), "{lookup:?}: {}", c.message);
    }
    let mut no_group = entry("e", "g");
    no_group.spec.group_ref = None;
    assert_eq!(outcome(&eval(&no_group, &ready_group()), GROUP_REF_VALIDATED), (false, GROUP_REF_NOT_FOUND));
}

#[test]
fn external_auth_config_validated() {
    let mut world = ready_group();
    world.auth = vec!["tokens"];
    let plain = entry("e", "g");
    assert_eq!(outcome(&eval(&plain, &world), EXTERNAL_AUTH_CONFIG_VALIDATED), (true, AUTH_CONFIG_NOT_CONFIGURED));
    let mut with_auth = entry("e", "g");
    with_auth.spec.external_auth_config_ref = Some(ExternalAuthConfigRef { name: "tokens".into(), namespace: None });
    assert_eq!(outcome(&eval(&with_auth, &world), EXTERNAL_AUTH_CONFIG_VALIDATED), (true, AUTH_CONFIG_VALID));
    with_auth.spec.external_auth_config_ref = Some(ExternalAuthConfigRef { name: "gone".into(), namespace: None });
    let evaluation = eval(&with_auth, &world);
    assert_eq!(outcome(&evaluation, EXTERNAL_AUTH_CONFIG_VALIDATED), (false, AUTH_CONFIG_NOT_FOUND));
    assert_eq!(evaluation.phase, Phase::Failed);
}

fn with_ca(name: Option<&str>, key: Option<&str>, optional: Option<bool>) -> MCPServerEntry {
    let mut e = entry("e", "g");
    e.spec.ca_bundle_ref = Some(CABundleRef {
        config_map_ref: Some(CABundleConfigMapRef { name: name.map(Into::into), key: key.map(Into::into), optional }),
    });
    e
}

#[test]
fn ca_bundle_ref_validated_checks_the_config_map_and_its_key() {
    let mut world = ready_group();
    world.config_maps = HashMap::from([("ca", vec!["ca.crt"]), ("custom", vec!["bundle.pem"])]);
    let cases = [
        (with_ca(Some("ca"), None, None), true, CA_BUNDLE_REF_VALID),
        (with_ca(Some("ca"), Some(""), None), true, CA_BUNDLE_REF_VALID),
        (with_ca(Some("custom"), Some("bundle.pem"), None), true, CA_BUNDLE_REF_VALID),
        (with_ca(Some("custom"), None, None), false, CA_BUNDLE_KEY_NOT_FOUND),
        (with_ca(Some("custom"), None, Some(true)), false, CA_BUNDLE_KEY_NOT_FOUND),
        (with_ca(Some("absent"), None, None), false, CA_BUNDLE_REF_NOT_FOUND),
        (with_ca(Some("absent"), None, Some(false)), false, CA_BUNDLE_REF_NOT_FOUND),
        (with_ca(Some("absent"), None, Some(true)), true, CA_BUNDLE_REF_OPTIONAL_MISSING),
        (with_ca(None, None, None), false, CA_BUNDLE_REF_NOT_FOUND),
        (entry("e", "g"), true, CA_BUNDLE_REF_NOT_CONFIGURED),
    ];
    for (e, status, reason) in cases {
        let evaluation = eval(&e, &world);
        assert_eq!(outcome(&evaluation, CA_BUNDLE_REF_VALIDATED), (status, reason), "{:?}", e.spec.ca_bundle_ref);
    }
    let message = |e| condition(&eval(&e, &world), CA_BUNDLE_REF_VALIDATED).unwrap().message.clone();
    assert_eq!(message(with_ca(Some("custom"), None, None)), "ConfigMap \"custom\" has no key \"ca.crt\"");
    assert!(message(with_ca(Some("absent"), None, Some(true))).contains("system trust roots"));
}

fn with_headers(refs: &[(&str, &str)]) -> MCPServerEntry {
    let mut e = entry("e", "g");
    e.spec.header_forward = Some(HeaderForward {
        add_headers_from_secret: Some(
            refs.iter()
                .enumerate()
                .map(|(i, (name, key))| HeaderFromSecret {
                    header_name: format!("X-Header-{i}").into(),
                    value_secret_ref: Some(SecretKeyRef { name: (*name).into(), key: (*key).into(), namespace: None }),
                })
                .collect(),
        ),
        add_plaintext_headers: None,
    });
    e
}

#[test]
fn header_secret_refs_validated_only_with_secret_backed_headers() {
    let mut world = ready_group();
    world.secrets = HashMap::from([("api", vec!["token", "other"])]);
    assert!(condition(&eval(&entry("e", "g"), &world), HEADER_SECRET_REFS_VALIDATED).is_none());
    let mut plaintext_only = entry("e", "g");
    plaintext_only.spec.header_forward = Some(HeaderForward {
        add_plaintext_headers: Some([("X-Team".into(), "a".into())].into()),
        ..Default::default()
    });
    assert!(condition(&eval(&plaintext_only, &world), HEADER_SECRET_REFS_VALIDATED).is_none());

    let found = eval(&with_headers(&[("api", "token"), ("api", "other")]), &world);
    let c = condition(&found, HEADER_SECRET_REFS_VALIDATED).unwrap();
    assert_eq!(
        (c.status, c.reason, c.message.as_str()),
        (true, HEADER_SECRETS_VALID, "2 header Secret references found")
    );

    let missing = eval(&with_headers(&[("api", "token"), ("api", "nope"), ("gone", "token")]), &world);
    let c = condition(&missing, HEADER_SECRET_REFS_VALIDATED).unwrap();
    assert_eq!((c.status, c.reason), (false, HEADER_SECRET_NOT_FOUND));
    assert_eq!(c.message, "missing: Secret \"gone\" (not found), key \"nope\" of Secret \"api\"");
    assert_eq!(missing.phase, Phase::Failed);
}

#[test]
fn valid_reports_the_admission_engines_denials() {
    let world = ready_group();
    assert_eq!(outcome(&eval(&entry("e", "g"), &world), VALID), (true, CONFIG_VALID));
    let mut bad = entry("e", "g");
    bad.spec.transport = Some("stdio".into());
    let evaluation = eval(&bad, &world);
    let c = condition(&evaluation, VALID).unwrap();
    assert_eq!((c.status, c.reason), (false, CONFIG_INVALID));
    assert_eq!(
        c.message,
        "spec.transport: unsupported transport \"stdio\"; use sse or streamable-http [entry.transport]"
    );
    assert_eq!(outcome(&evaluation, REMOTE_URL_VALIDATED), (true, REMOTE_URL_VALID));
}

#[test]
fn every_check_is_evaluated_in_one_pass() {
    let mut e = with_headers(&[("gone", "token")]);
    e.spec.remote_url = Some("http://localhost/".into());
    e.spec.external_auth_config_ref = Some(ExternalAuthConfigRef { name: "gone".into(), namespace: None });
    e.spec.ca_bundle_ref = with_ca(Some("gone"), None, None).spec.ca_bundle_ref;
    let evaluation = eval(&e, &Fake::default());
    let summary: Vec<_> = evaluation.conditions.iter().map(|c| (c.type_, c.status, c.reason)).collect();
    assert_eq!(
        summary,
        vec![
            (REMOTE_URL_VALIDATED, false, REMOTE_URL_INVALID),
            (GROUP_REF_VALIDATED, false, GROUP_REF_NOT_FOUND),
            (EXTERNAL_AUTH_CONFIG_VALIDATED, false, AUTH_CONFIG_NOT_FOUND),
            (CA_BUNDLE_REF_VALIDATED, false, CA_BUNDLE_REF_NOT_FOUND),
            (HEADER_SECRET_REFS_VALIDATED, false, HEADER_SECRET_NOT_FOUND),
            (VALID, false, CONFIG_INVALID),
        ]
    );
    assert_eq!(evaluation.phase, Phase::Failed);
}

#[test]
fn the_phase_is_pending_only_while_the_group_is_the_sole_problem() {
    let not_ready = Fake {
        groups: HashMap::from([("g", GroupLookup::NotReady { phase: Some("Pending".into()) })]),
        ..Fake::default()
    };
    assert_eq!(eval(&entry("e", "g"), &ready_group()).phase, Phase::Valid);
    assert_eq!(eval(&entry("e", "g"), &not_ready).phase, Phase::Pending);
    assert_eq!(eval(&with_ca(Some("absent"), None, None), &not_ready).phase, Phase::Failed);
    assert_eq!(eval(&entry("e", "g"), &Fake::default()).phase, Phase::Failed);
}

#[test]
fn the_status_keeps_transition_times_of_unchanged_conditions() {
    let world = ready_group();
    let mut e = entry("e", "g");
    e.metadata.generation = Some(4);
    let first = desired_status(&e, &eval(&e, &world), EARLIER);
    e.status = Some(first);
    e.spec.ca_bundle_ref = with_ca(Some("absent"), None, None).spec.ca_bundle_ref;
    let second = desired_status(&e, &eval(&e, &world), NOW);
    let conditions = second.conditions.unwrap();
    let time = |t: &str| conditions.iter().find(|c| c.type_ == t).unwrap().last_transition_time.clone();
    assert_eq!(time(REMOTE_URL_VALIDATED), EARLIER);
    assert_eq!(time(CA_BUNDLE_REF_VALIDATED), NOW);
    assert!(conditions.iter().all(|c| c.observed_generation == Some(4)));
    assert_eq!((second.observed_generation, second.phase.as_deref()), (Some(4), Some("Failed")));
}

#[test]
fn an_entry_references_its_group_auth_config_config_map_and_secrets() {
    let mut e = with_headers(&[("api", "token"), ("api", "other"), ("second", "k")]);
    e.spec.external_auth_config_ref = Some(ExternalAuthConfigRef { name: "tokens".into(), namespace: None });
    e.spec.ca_bundle_ref = with_ca(Some("ca"), None, None).spec.ca_bundle_ref;
    let mut refs = e.references(Kind::MCPServerEntry);
    refs.sort();
    refs.dedup();
    let names: Vec<_> = refs.iter().map(|t| (t.kind, t.name.as_str())).collect();
    assert_eq!(
        names,
        vec![
            (Kind::MCPGroup, "g"),
            (Kind::MCPExternalAuthConfig, "tokens"),
            (Kind::ConfigMap, "ca"),
            (Kind::Secret, "api"),
            (Kind::Secret, "second"),
        ]
    );
}

// Scenarios against a mocked API server.

const ENTRY_STATUS_PATH: &str = "/apis/toolhive.stacklok.dev/v1beta1/namespaces/team/mcpserverentries/e/status?&force=true&fieldManager=mcp-operator";

fn ready_world(entries: Vec<MCPServerEntry>) -> World {
    World { groups: vec![group_with_phase("g", "Ready")], entries, ..World::default() }
}

#[tokio::test]
async fn a_valid_entry_gets_its_status_applied_and_a_validated_event() {
    let e = entry("e", "g");
    let (client, calls) = testing::mock_client(accept_all());
    let ctx = testing::context(client, ready_world(vec![e.clone()]).build());
    let action = reconcile(Arc::new(e), ctx).await.unwrap();
    assert_eq!(action, Action::await_change());
    let calls = calls.take();
    assert_eq!(calls.len(), 2, "{calls:#?}");
    let Call { method, path, body } = &calls[0];
    assert_eq!((method.as_str(), path.as_str()), ("PATCH", ENTRY_STATUS_PATH));
    let condition = |type_: &str, reason: &str, message: &str| {
        json!({ "type": type_, "status": "True", "reason": reason, "message": message,
                "lastTransitionTime": NOW, "observedGeneration": 1 })
    };
    assert_eq!(
        body,
        &json!({
            "apiVersion": "toolhive.stacklok.dev/v1beta1",
            "kind": "MCPServerEntry",
            "status": {
                "conditions": [
                    condition(REMOTE_URL_VALIDATED, REMOTE_URL_VALID, "the remote URL is allowed by the policy"),
                    condition(GROUP_REF_VALIDATED, GROUP_REF_IS_VALID, "MCPGroup \"g\" is ready"),
                    condition(EXTERNAL_AUTH_CONFIG_VALIDATED, AUTH_CONFIG_NOT_CONFIGURED, "no externalAuthConfigRef is set"),
                    condition(CA_BUNDLE_REF_VALIDATED, CA_BUNDLE_REF_NOT_CONFIGURED, "no caBundleRef is set"),
                    condition(VALID, CONFIG_VALID, "the spec passes every admission rule"),
                ],
                "observedGeneration": 1,
                "phase": "Valid"
            }
        })
    );
    assert_eq!(calls[1].method, "POST");
    assert_eq!(calls[1].path, "/apis/events.k8s.io/v1/namespaces/team/events?");
    assert_eq!(calls[1].event_reason(), Some("Validated"));
    assert_eq!(calls[1].body["type"], "Normal");
    assert_eq!(calls[1].body["regarding"]["name"], "e");
    assert_eq!(calls[1].body["reportingController"], "mcp-operator");
}

#[tokio::test]
async fn nothing_is_written_when_the_status_is_current() {
    let mut e = entry("e", "g");
    let world = ready_world(vec![]);
    let caches = world.build();
    e.status = Some(desired_status(&e, &evaluate(&e, caches.as_ref(), &RemoteUrlPolicy::default()), EARLIER));
    let (client, calls) = testing::mock_client(accept_all());
    let ctx = testing::context(client, caches);
    reconcile(Arc::new(e), ctx).await.unwrap();
    assert_eq!(calls.take(), vec![]);
}

#[tokio::test]
async fn a_failed_entry_gets_a_warning_listing_its_failed_checks() {
    let e = with_ca(Some("absent"), None, None);
    let (client, calls) = testing::mock_client(accept_all());
    let ctx = testing::context(client, ready_world(vec![e.clone()]).build());
    reconcile(Arc::new(e), ctx).await.unwrap();
    let calls = calls.take();
    assert_eq!(calls[0].body["status"]["phase"], "Failed");
    assert_eq!(calls[1].event_reason(), Some("ValidationFailed"));
    assert_eq!(calls[1].body["type"], "Warning");
    assert_eq!(calls[1].body["note"], "CABundleRefNotFound: ConfigMap \"absent\" not found in namespace \"team\"");
}

#[tokio::test]
async fn a_phase_that_stays_the_same_publishes_no_event() {
    let world = ready_world(vec![]);
    let caches = world.build();
    let mut e = with_ca(Some("absent"), None, None);
    e.status = Some(desired_status(&e, &evaluate(&e, caches.as_ref(), &RemoteUrlPolicy::default()), EARLIER));
    e.spec.external_auth_config_ref = Some(ExternalAuthConfigRef { name: "gone".into(), namespace: None });
    let (client, calls) = testing::mock_client(accept_all());
    reconcile(Arc::new(e), testing::context(client, caches)).await.unwrap();
    let calls = calls.take();
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert_eq!(calls[0].body["status"]["phase"], "Failed");
}

#[tokio::test]
async fn a_failed_status_write_is_an_api_error() {
    let e = entry("e", "g");
    let (client, _calls) = testing::mock_client(testing::fail_status_writes());
    let ctx = testing::context(client, ready_world(vec![e.clone()]).build());
    let err = reconcile(Arc::new(e), ctx).await.unwrap_err();
    assert_eq!(err.class(), "api");
}

#[tokio::test]
async fn an_entry_waits_while_the_auth_config_kind_is_first_listed() {
    let caches = ready_world(vec![]).build();
    caches.add_foreign(Kind::MCPExternalAuthConfig, testing::resource(Kind::MCPExternalAuthConfig));
    let mut e = entry("e", "g");
    e.spec.external_auth_config_ref = Some(ExternalAuthConfigRef { name: "tokens".into(), namespace: None });
    let (client, calls) = testing::mock_client(accept_all());
    let action = reconcile(Arc::new(e), testing::context(client, caches)).await.unwrap();
    assert_ne!(action, Action::await_change());
    assert_eq!(calls.take(), vec![]);
}

#[tokio::test]
async fn the_auth_config_is_found_through_the_foreign_cache() {
    let world = World {
        foreign: vec![(Kind::MCPExternalAuthConfig, vec![testing::auth_config("tokens")])],
        ..ready_world(vec![])
    };
    let caches = world.build();
    let mut e = entry("e", "g");
    e.spec.external_auth_config_ref = Some(ExternalAuthConfigRef { name: "tokens".into(), namespace: None });
    let evaluation = evaluate(&e, caches.as_ref(), &RemoteUrlPolicy::default());
    assert_eq!(outcome(&evaluation, EXTERNAL_AUTH_CONFIG_VALIDATED), (true, AUTH_CONFIG_VALID));
    caches.remove_foreign(Kind::MCPExternalAuthConfig);
    let evaluation = evaluate(&e, caches.as_ref(), &RemoteUrlPolicy::default());
    assert_eq!(outcome(&evaluation, EXTERNAL_AUTH_CONFIG_VALIDATED), (false, AUTH_CONFIG_NOT_FOUND));
    assert_eq!(NS, e.namespace().unwrap());
}

#[tokio::test]
async fn a_new_entry_waits_briefly_for_a_group_applied_with_it() {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    let caches = World::default().build();
    let (client, calls) = testing::mock_client(accept_all());
    let ctx = testing::context(client, caches);
    let mut e = entry("e", "g");
    e.metadata.creation_timestamp = Some(Time("2025-06-01T11:59:58Z".parse().unwrap()));
    let action = reconcile(Arc::new(e.clone()), ctx.clone()).await.unwrap();
    assert_eq!(action, Action::requeue(Duration::from_secs(3)));
    assert_eq!(calls.take(), vec![], "no Failed flash");
    e.metadata.creation_timestamp = Some(Time("2025-06-01T11:59:50Z".parse().unwrap()));
    reconcile(Arc::new(e), ctx).await.unwrap();
    let calls = calls.take();
    assert_eq!(calls[0].body["status"]["phase"], "Failed", "after the grace a missing group is reported");
}
