//! Ratcheting on UPDATE: unchanged violations become `(pre-existing)` warnings, changed ones deny.

use serde_json::{Value, json};

use crate::support::*;

/// The object with a label added, the kind of edit ratcheting exists for.
fn relabeled(obj: &Value) -> Value {
    merged(obj.clone(), json!({ "metadata": { "labels": { "team": "data" } } }))
}

fn update(old: &Value, new: &Value) -> Outcome {
    Req::update(old, new).validate()
}

/// UPDATE is allowed and reports `rule` as pre-existing.
fn ratchets(old: &Value, new: &Value, rule: &str) -> String {
    let outcome = update(old, new);
    assert!(outcome.allowed(), "expected [{rule}] to ratchet; causes {:#?}", outcome.causes());
    let warning = outcome.warning(rule);
    assert!(warning.ends_with(&format!("[{rule}] (pre-existing)")), "{warning}");
    warning
}

/// UPDATE is denied by `rule` at `field`.
fn denies(old: &Value, new: &Value, rule: &str, field: &str) -> Cause {
    let outcome = update(old, new);
    assert!(!outcome.allowed(), "expected [{rule}] at {field} to deny the update");
    let cause = outcome.cause(rule, field);
    assert!(cause.message.ends_with(&format!("[{rule}]")), "a fresh violation is not pre-existing: {cause:?}");
    cause
}

#[test]
fn unchanged_violations_become_pre_existing_warnings() {
    let old = entry_url("https://127.0.0.1/");
    let warning = ratchets(&old, &relabeled(&old), "entry.url.blocked-host");
    assert_eq!(
        warning,
        "spec.remoteUrl: host 127.0.0.1 is in blocked range 127.0.0.0/8 [entry.url.blocked-host] (pre-existing)"
    );
}

#[test]
fn changed_violations_deny() {
    let old = entry_url("https://127.0.0.1/");
    denies(&old, &entry_url("https://127.0.0.2/"), "entry.url.blocked-host", "spec.remoteUrl");
}

#[test]
fn a_new_violation_denies_while_old_ones_stay_warnings() {
    let old = entry_url("https://127.0.0.1/");
    let new = merged(old.clone(), json!({ "spec": { "transport": "stdio" } }));
    let outcome = update(&old, &new);
    assert!(!outcome.allowed());
    assert_eq!(outcome.causes().iter().map(|c| c.rule()).collect::<Vec<_>>(), ["entry.transport"]);
    assert!(outcome.warning("entry.url.blocked-host").ends_with("(pre-existing)"));
}

#[test]
fn fixing_a_violation_is_always_allowed() {
    let old = entry_url("https://127.0.0.1/");
    assert!(update(&old, &entry(json!({}))).allowed());
}

#[test]
fn private_host_spans_allow_private_endpoint() {
    let allowed = entry_private("https://10.0.0.1/");
    let disallowed = entry_url("https://10.0.0.1/");
    // Same URL, but the opt-in went away: a new violation.
    denies(&allowed, &disallowed, "entry.url.private-host", "spec.remoteUrl");
    // Neither field changed.
    ratchets(&disallowed, &relabeled(&disallowed), "entry.url.private-host");
    // The opt-in stayed off and the URL changed.
    denies(&disallowed, &entry_url("https://10.0.0.2/"), "entry.url.private-host", "spec.remoteUrl");
}

#[test]
fn duplicates_span_both_occurrences() {
    let both = |plain: &str, secret: &str| {
        entry(json!({ "headerForward": {
            "addPlaintextHeaders": { plain: "a" },
            "addHeadersFromSecret": [secret_header(secret, "s", "k")],
        } }))
    };
    let old = both("X-Tenant", "x-tenant");
    let field = "spec.headerForward.addHeadersFromSecret[0].headerName";
    ratchets(&old, &relabeled(&old), "entry.header.duplicate");
    denies(&old, &both("X-Tenant", "X-TENANT"), "entry.header.duplicate", field);
    denies(&old, &both("x-TENANT", "x-tenant"), "entry.header.duplicate", field);
}

#[test]
fn every_kind_ratchets() {
    let long_registry = renamed(registry(json!({})), &chars('r', 60));
    ratchets(&long_registry, &relabeled(&long_registry), "meta.name-length");
    let long_description = group(json!({ "description": chars('d', 4097) }));
    ratchets(&long_description, &relabeled(&long_description), "group.description");
    denies(
        &long_description,
        &group(json!({ "description": chars('d', 4098) })),
        "group.description",
        "spec.description",
    );
    let bad_ref = entry(json!({ "groupRef": { "name": "tools", "namespace": "team-b" } }));
    ratchets(&bad_ref, &relabeled(&bad_ref), "ref.cross-namespace");
}

#[test]
fn reserved_pgpass_names_span_the_pgpass_reference() {
    let volume = json!([{ "name": "pgpass", "emptyDir": {} }]);
    let old = registry(json!({ "volumes": volume }));
    let new = registry(json!({ "volumes": volume, "pgpassSecretRef": { "name": "db", "key": ".pgpass" } }));
    denies(&old, &new, "registry.reserved", "spec.volumes[0].name");
    ratchets(&new, &relabeled(&new), "registry.reserved");
}

#[test]
fn removing_a_mounted_volume_is_a_new_violation() {
    let mount = json!([{ "name": "oauth", "mountPath": "/secrets" }]);
    let old =
        registry(json!({ "volumes": [{ "name": "oauth", "secret": { "secretName": "o" } }], "volumeMounts": mount }));
    let new = registry(json!({ "volumeMounts": mount }));
    denies(&old, &new, "registry.volumes", "spec.volumeMounts[0].name");
    ratchets(&new, &relabeled(&new), "registry.volumes");
}

#[test]
fn mount_collisions_with_pgpass_span_the_pgpass_reference() {
    let volumes = json!([{ "name": "home", "emptyDir": {} }]);
    let mounts = json!([{ "name": "home", "mountPath": "/home/appuser/.pgpass" }]);
    let old = registry(json!({ "volumes": volumes, "volumeMounts": mounts }));
    let new = merged(old.clone(), json!({ "spec": { "pgpassSecretRef": { "name": "db", "key": ".pgpass" } } }));
    denies(&old, &new, "registry.mount-path", "spec.volumeMounts[0].mountPath");
}

#[test]
fn undecodable_objects_never_ratchet() {
    let old = entry(json!({ "allowPrivateEndpoint": "yes" }));
    assert!(!update(&old, &relabeled(&old)).allowed());
}

#[test]
fn create_and_updates_without_old_object_do_not_ratchet() {
    let obj = entry_url("https://127.0.0.1/");
    let req = Req::update(&obj, &obj).edit(|r| r["request"]["oldObject"] = Value::Null);
    assert!(!req.validate().allowed());
    assert!(!Req::create(&obj).validate().allowed());
}
