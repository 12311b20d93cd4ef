use futures::channel::mpsc::UnboundedReceiver;
use kube::runtime::watcher::Event;
use pretty_assertions::assert_eq;

use super::*;
use crate::api::v1beta1::{
    CABundleConfigMapRef, CABundleRef, ExternalAuthConfigRef, HeaderForward, HeaderFromSecret, SecretKeyRef,
};
use crate::controllers::testing::{
    self, World, auth_config, config_map, entry, group, group_with_phase, member, secret,
};

fn drained<K: Resource>(queue: &mut UnboundedReceiver<ObjectRef<K>>) -> Vec<String> {
    let mut names = Vec::new();
    while let Ok(r) = queue.try_recv() {
        names.push(r.name);
    }
    names.sort();
    names.dedup();
    names
}

/// An entry that references a ConfigMap, a Secret and an auth config.
fn referencing_entry(name: &str) -> MCPServerEntry {
    let mut e = entry(name, "g");
    e.spec.ca_bundle_ref = Some(CABundleRef {
        config_map_ref: Some(CABundleConfigMapRef { name: Some("ca".into()), key: None, optional: None }),
    });
    e.spec.external_auth_config_ref = Some(ExternalAuthConfigRef { name: "tokens".into(), namespace: None });
    e.spec.header_forward = Some(HeaderForward {
        add_headers_from_secret: Some(vec![HeaderFromSecret {
            header_name: "X-Api-Key".into(),
            value_secret_ref: Some(SecretKeyRef { name: "api".into(), key: "token".into(), namespace: None }),
        }]),
        add_plaintext_headers: None,
    });
    e
}

#[test]
fn the_cluster_view_knows_nothing_until_every_cache_listed() {
    let caches = Caches::new(ControllerMetrics::default());
    testing::list(&caches, Kind::MCPGroup, &caches.groups, [group("g")]);
    assert_eq!(caches.group_exists("team", "g"), None);
    assert_eq!(caches.group_members("team", "g"), None);
    testing::list(&caches, Kind::MCPServerEntry, &caches.entries, []);
    testing::list(&caches, Kind::ConfigMap, &caches.config_maps, []);
    testing::list(&caches, Kind::Secret, &caches.secrets, []);
    assert!(!caches.is_synced(), "the workload kinds and their children have not listed yet");
    testing::list_workload_kinds(&caches);
    assert!(!caches.is_synced(), "discovery of the optional kinds has not run yet");
    caches.set_discovered();
    assert!(caches.is_synced());
    assert_eq!(caches.group_exists("team", "g"), Some(true));
    assert_eq!(caches.group_exists("team", "nope"), Some(false));
    assert_eq!(caches.group_exists("other", "g"), Some(false));
}

#[test]
fn group_members_are_kind_slash_name_sorted() {
    let world = World {
        groups: vec![group("g")],
        entries: vec![entry("zz", "g"), entry("aa", "g"), entry("x", "other")],
        foreign: vec![
            (Kind::MCPServer, vec![member(Kind::MCPServer, "srv", Some("g"))]),
            (Kind::MCPRemoteProxy, vec![member(Kind::MCPRemoteProxy, "proxy", Some("g"))]),
        ],
        ..World::default()
    };
    let caches = world.build();
    assert_eq!(
        caches.group_members("team", "g"),
        Some(vec![
            "MCPRemoteProxy/proxy".to_string(),
            "MCPServer/srv".to_string(),
            "MCPServerEntry/aa".to_string(),
            "MCPServerEntry/zz".to_string(),
        ])
    );
    assert_eq!(caches.group_members("team", "empty"), Some(vec![]));
    caches.watch_error(Kind::MCPServer, &watcher::Error::NoResourceVersion);
    caches.watch_error(Kind::MCPServer, &watcher::Error::NoResourceVersion);
    assert_eq!(caches.group_members("team", "g"), None, "an unreadable member kind cannot tell");
}

#[test]
fn readiness_waits_for_a_discovered_kind_to_list_or_fail() {
    let caches = Caches::new(ControllerMetrics::default());
    let foreign = caches.add_foreign(Kind::MCPServer, testing::resource(Kind::MCPServer));
    for kind in CORE {
        match kind {
            Kind::MCPGroup => testing::list(&caches, kind, &caches.groups, []),
            Kind::MCPServerEntry => testing::list(&caches, kind, &caches.entries, []),
            Kind::ConfigMap => testing::list(&caches, kind, &caches.config_maps, []),
            _ => testing::list(&caches, kind, &caches.secrets, []),
        }
    }
    caches.set_discovered();
    assert!(!caches.is_synced());
    assert!(matches!(caches.readable(Kind::MCPServer), Readable::Syncing { .. }));
    caches.watch_error(Kind::MCPServer, &watcher::Error::NoResourceVersion);
    caches.watch_error(Kind::MCPServer, &watcher::Error::NoResourceVersion);
    assert!(caches.is_synced(), "a failing kind is reported in status, not by withholding readiness");
    testing::list(&caches, Kind::MCPServer, &foreign.cache, []);
    assert_eq!(caches.readable(Kind::MCPServer), Readable::Ready);
    assert_eq!(caches.readable(Kind::MCPRemoteProxy), Readable::Absent);
}

#[test]
fn referenced_objects_requeue_the_entries_that_reference_them() {
    let world = World {
        groups: vec![group_with_phase("g", "Ready")],
        entries: vec![referencing_entry("uses"), entry("plain", "g")],
        foreign: vec![(Kind::MCPExternalAuthConfig, vec![auth_config("tokens")])],
        ..World::default()
    };
    let caches = world.build();
    let mut queue = caches.queues.entries.open();

    caches.apply(Kind::ConfigMap, &caches.config_maps, &Event::Apply(config_map("ca", &["ca.crt"])));
    assert_eq!(drained(&mut queue), ["uses"], "a referenced ConfigMap appeared");
    caches.apply(Kind::ConfigMap, &caches.config_maps, &Event::Apply(config_map("unrelated", &["x"])));
    assert_eq!(drained(&mut queue), Vec::<String>::new());
    let ca = |pem: &str, version: &str| -> ConfigMapKeys {
        serde_json::from_value(serde_json::json!({
            "metadata": { "name": "ca", "namespace": "team", "resourceVersion": version },
            "data": { "ca.crt": pem }
        }))
        .unwrap()
    };
    caches.apply(Kind::ConfigMap, &caches.config_maps, &Event::Apply(ca("first", "2")));
    assert_eq!(drained(&mut queue), ["uses"], "the referenced ConfigMap's content changed");
    caches.apply(Kind::ConfigMap, &caches.config_maps, &Event::Apply(ca("first", "3")));
    assert_eq!(drained(&mut queue), Vec::<String>::new(), "a new resourceVersion alone changes nothing");

    caches.apply(Kind::Secret, &caches.secrets, &Event::Apply(secret("api", &["token"])));
    assert_eq!(drained(&mut queue), ["uses"], "a referenced Secret appeared");
    let mut rotated = secret("api", &["token"]);
    rotated.metadata.resource_version = Some("2".into());
    caches.apply(Kind::Secret, &caches.secrets, &Event::Apply(rotated));
    assert_eq!(drained(&mut queue), Vec::<String>::new(), "a new value under the same keys changes nothing");
    caches.apply(Kind::Secret, &caches.secrets, &Event::Delete(secret("api", &["token"])));
    assert_eq!(drained(&mut queue), ["uses"], "a referenced Secret disappeared");

    let auth = caches.foreign(Kind::MCPExternalAuthConfig).unwrap();
    caches.apply(Kind::MCPExternalAuthConfig, &auth.cache, &Event::Delete(auth_config("tokens")));
    assert_eq!(drained(&mut queue), ["uses"], "the auth config disappeared");

    let mut deleting = group_with_phase("g", "Ready");
    deleting.metadata.labels = Some([("team".into(), "a".into())].into());
    caches.apply(Kind::MCPGroup, &caches.groups, &Event::Apply(deleting));
    assert_eq!(drained(&mut queue), Vec::<String>::new(), "entries do not see a group's labels");
    caches.apply(Kind::MCPGroup, &caches.groups, &Event::Apply(group_with_phase("g", "Failed")));
    assert_eq!(drained(&mut queue), ["plain", "uses"], "the group's phase changed");
    caches.apply(Kind::MCPGroup, &caches.groups, &Event::Delete(group_with_phase("g", "Failed")));
    assert_eq!(drained(&mut queue), ["plain", "uses"], "the group disappeared");
}

#[test]
fn a_relist_drops_members_that_vanished_and_requeues_every_group() {
    let world = World {
        groups: vec![group("a"), group("b")],
        foreign: vec![(Kind::MCPServer, vec![member(Kind::MCPServer, "gone", Some("a"))])],
        ..World::default()
    };
    let caches = world.build();
    let mut queue = caches.queues.groups.open();
    let servers = caches.foreign(Kind::MCPServer).unwrap();
    testing::list(&caches, Kind::MCPServer, &servers.cache, [member(Kind::MCPServer, "new", Some("b"))]);
    assert_eq!(caches.members("team", "a", Kind::MCPServer), Vec::<String>::new());
    assert_eq!(caches.members("team", "b", Kind::MCPServer), ["new"]);
    assert_eq!(drained(&mut queue), ["a", "b"]);
}

#[test]
fn a_kind_whose_crd_goes_away_has_no_members_left() {
    let world = World {
        groups: vec![group("g")],
        foreign: vec![(Kind::MCPServer, vec![member(Kind::MCPServer, "s", Some("g"))])],
        ..World::default()
    };
    let caches = world.build();
    let mut queue = caches.queues.groups.open();
    caches.remove_foreign(Kind::MCPServer);
    assert_eq!(caches.readable(Kind::MCPServer), Readable::Absent);
    assert_eq!(caches.group_members("team", "g"), Some(vec![]));
    assert_eq!(caches.foreign_object(Kind::MCPServer, "team", "s"), None);
    assert_eq!(drained(&mut queue), ["g"]);
}

#[test]
fn cached_toolhive_objects_keep_only_the_annotations_rules_read() {
    let conversion = crate::admission::READ_ANNOTATIONS[0];
    let annotations = || {
        Some(
            [(LAST_APPLIED, "{}"), ("team", "a"), (conversion, "{}")]
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .into(),
        )
    };
    let labels = || Some([("app.kubernetes.io/part-of".to_string(), "tools".to_string())].into());
    let kept = Some([(conversion.to_string(), "{}".to_string())].into());

    let mut e = entry("e", "g");
    (e.metadata.annotations, e.metadata.labels) = (annotations(), labels());
    e.metadata.managed_fields = Some(vec![Default::default()]);
    e.prune(Kind::MCPServerEntry);
    assert_eq!((e.metadata.managed_fields, e.metadata.labels, e.metadata.annotations), (None, None, kept.clone()));

    let mut v = VirtualMCPServer::new("v", Default::default());
    (v.metadata.annotations, v.metadata.labels) = (annotations(), labels());
    v.prune(Kind::VirtualMCPServer);
    assert_eq!((v.metadata.labels, v.metadata.annotations), (None, kept));

    let mut g = group("g");
    (g.metadata.annotations, g.metadata.labels) = (Some([("team".to_string(), "a".to_string())].into()), labels());
    g.prune(Kind::MCPGroup);
    assert_eq!((g.metadata.labels, g.metadata.annotations), (None, None), "an emptied map is dropped");
}

#[test]
fn events_from_the_watch_of_a_dropped_kind_are_ignored() {
    let world = World { groups: vec![group("g")], foreign: vec![(Kind::MCPServer, vec![])], ..World::default() };
    let caches = world.build();
    let stale = caches.foreign(Kind::MCPServer).unwrap();
    caches.remove_foreign(Kind::MCPServer);
    caches.add_foreign(Kind::MCPServer, testing::resource(Kind::MCPServer));
    caches.apply(Kind::MCPServer, &stale.cache, &Event::Apply(member(Kind::MCPServer, "late", Some("g"))));
    assert_eq!(caches.members("team", "g", Kind::MCPServer), Vec::<String>::new());
    assert_eq!(caches.foreign_object(Kind::MCPServer, "team", "late"), None);
}
