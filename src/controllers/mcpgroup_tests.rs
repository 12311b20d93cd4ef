use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use pretty_assertions::assert_eq;
use serde_json::json;

use super::*;
use crate::controllers::testing::{self, Call, EARLIER, NOW, World, accept_all, entry, group, member, with_finalizer};

const GROUP_PATH: &str = "/apis/toolhive.stacklok.dev/v1beta1/namespaces/team/mcpgroups/g";
const STATUS_QUERY: &str = "/status?&force=true&fieldManager=mcp-operator";

fn members_world(entries: &[&str], servers: &[&str], proxies: &[&str]) -> World {
    World {
        groups: vec![group("g")],
        entries: entries.iter().map(|n| entry(n, "g")).collect(),
        foreign: vec![
            (Kind::MCPServer, servers.iter().map(|n| member(Kind::MCPServer, n, Some("g"))).collect()),
            (Kind::MCPRemoteProxy, proxies.iter().map(|n| member(Kind::MCPRemoteProxy, n, Some("g"))).collect()),
        ],
        ..World::default()
    }
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn members_are_listed_sorted_by_kind() {
    let mut world = members_world(&["e2", "e1"], &["s-b", "s-a"], &["p1"]);
    world.entries.push(entry("elsewhere", "other"));
    world.foreign[0].1.push(member(Kind::MCPServer, "loner", None));
    let caches = world.build();
    let Observation::Listed(found) = observe(&caches, "team", "g") else { panic!("not listed") };
    assert_eq!(
        found,
        Members { servers: names(&["s-a", "s-b"]), remote_proxies: names(&["p1"]), entries: names(&["e1", "e2"]) }
    );
    let status = desired_status(&group("g"), &Observation::Listed(found), NOW);
    assert_eq!(
        serde_json::to_value(&status).unwrap(),
        json!({
            "conditions": [{
                "type": MCP_SERVERS_CHECKED, "status": "True", "reason": LIST_SUCCEEDED,
                "message": "the group's members were listed", "lastTransitionTime": NOW, "observedGeneration": 1
            }],
            "entries": ["e1", "e2"], "entryCount": 2,
            "observedGeneration": 1,
            "phase": "Ready",
            "remoteProxies": ["p1"], "remoteProxyCount": 1,
            "serverCount": 2, "servers": ["s-a", "s-b"]
        })
    );
}

#[test]
fn an_empty_group_is_ready_with_zero_counts_and_no_lists() {
    let caches = World { groups: vec![group("g")], ..World::default() }.build();
    let observation = observe(&caches, "team", "g");
    let status = desired_status(&group("g"), &observation, NOW);
    assert_eq!(status.phase.as_deref(), Some(READY));
    assert_eq!((status.server_count, status.remote_proxy_count, status.entry_count), (Some(0), Some(0), Some(0)));
    assert_eq!((status.servers, status.remote_proxies, status.entries), (None, None, None));
}

fn watch_failure() -> kube::runtime::watcher::Error {
    kube::runtime::watcher::Error::NoResourceVersion
}

#[test]
fn an_unreadable_member_kind_fails_the_group_and_clears_the_lists() {
    let caches = members_world(&["e1"], &["s1"], &[]).build();
    caches.watch_error(Kind::MCPServer, &watch_failure());
    assert!(matches!(observe(&caches, "team", "g"), Observation::Listed(_)), "one error is not yet a failure");
    caches.watch_error(Kind::MCPServer, &watch_failure());
    let observation = observe(&caches, "team", "g");
    let Observation::Unreadable { message, retry_in } = &observation else { panic!("{observation:?}") };
    assert!(message.starts_with("cannot read mcpservers: "), "{message}");
    assert!(*retry_in <= crate::controllers::cache::ERROR_WINDOW);
    let status = desired_status(&group("g"), &observation, NOW);
    assert_eq!(status.phase.as_deref(), Some(FAILED));
    assert_eq!(
        (status.servers, status.entries, status.server_count, status.entry_count),
        (None, None, Some(0), Some(0))
    );
    let condition = &status.conditions.unwrap()[0];
    assert_eq!((condition.status.as_str(), condition.reason.as_str()), ("False", LIST_FAILED));
    // The next event of the kind shows its watch works again.
    caches.apply(
        Kind::MCPServer,
        &caches.foreign(Kind::MCPServer).unwrap().cache,
        &kube::runtime::watcher::Event::Apply(member(Kind::MCPServer, "s2", Some("g"))),
    );
    let Observation::Listed(found) = observe(&caches, "team", "g") else { panic!("still unreadable") };
    assert_eq!(found.servers, names(&["s1", "s2"]));
}

#[test]
fn a_kind_being_listed_for_the_first_time_reports_nothing_yet() {
    let caches = World { groups: vec![group("g")], ..World::default() }.build();
    caches.add_foreign(Kind::MCPRemoteProxy, testing::resource(Kind::MCPRemoteProxy));
    assert!(matches!(observe(&caches, "team", "g"), Observation::Syncing { .. }));
}

#[test]
fn absent_member_kinds_are_no_error() {
    let caches = World { groups: vec![group("g")], entries: vec![entry("e", "g")], ..World::default() }.build();
    let Observation::Listed(found) = observe(&caches, "team", "g") else { panic!("not listed") };
    assert_eq!(found, Members { entries: names(&["e"]), ..Members::default() });
}

#[test]
fn ten_thousand_members_come_from_the_index() {
    let entries: Vec<String> = (0..6000).map(|i| format!("entry-{i:05}")).collect();
    let servers: Vec<String> = (0..4000).rev().map(|i| format!("server-{i:05}")).collect();
    let mut world = members_world(&[], &[], &[]);
    world.entries = entries.iter().map(|n| entry(n, "g")).collect();
    world.entries.extend((0..500).map(|i| entry(&format!("other-{i}"), "other")));
    world.foreign[0].1 = servers.iter().map(|n| member(Kind::MCPServer, n, Some("g"))).collect();
    let caches = world.build();
    let started = std::time::Instant::now();
    let observation = observe(&caches, "team", "g");
    let status = desired_status(&group("g"), &observation, NOW);
    println!("10,000 members observed and rendered in {:?}", started.elapsed());
    assert_eq!((status.entry_count, status.server_count, status.remote_proxy_count), (Some(6000), Some(4000), Some(0)));
    assert_eq!(status.entries.as_deref(), Some(entries.as_slice()));
    let mut sorted = servers.clone();
    sorted.sort();
    assert_eq!(status.servers.unwrap(), sorted);
}

#[test]
fn a_moved_or_deleted_member_requeues_the_group_it_left() {
    use kube::runtime::watcher::Event;
    let caches =
        World { groups: vec![group("a"), group("b")], entries: vec![entry("e", "a")], ..World::default() }.build();
    let mut queued = caches.queues.groups.open();
    let mut drain = || {
        let mut names = Vec::new();
        while let Ok(r) = queued.try_recv() {
            names.push(r.name);
        }
        names.sort();
        names
    };
    caches.apply(Kind::MCPServerEntry, &caches.entries, &Event::Apply(entry("e", "b")));
    assert_eq!(drain(), ["a", "b"]);
    let mut relabelled = entry("e", "b");
    relabelled.metadata.labels = Some([("x".into(), "y".into())].into());
    caches.apply(Kind::MCPServerEntry, &caches.entries, &Event::Apply(relabelled));
    assert_eq!(drain(), Vec::<String>::new(), "a change that keeps the group does not requeue it");
    caches.apply(Kind::MCPServerEntry, &caches.entries, &Event::Delete(entry("e", "b")));
    assert_eq!(drain(), ["b"]);
}

#[test]
fn the_deleted_group_condition_keeps_an_earlier_false_transition() {
    let fresh = deleted_group_condition(&json!({ "status": { "phase": "Running" } }), Some(3), NOW).unwrap();
    assert_eq!(
        fresh,
        json!({ "type": GROUP_REF_VALIDATED, "status": "False", "reason": GROUP_REF_NOT_FOUND,
                "message": GROUP_DELETING_MESSAGE, "lastTransitionTime": NOW, "observedGeneration": 3 })
    );
    let was_false = json!({ "status": { "conditions": [
        { "type": GROUP_REF_VALIDATED, "status": "False", "reason": "GroupRefNotReady", "message": "x", "lastTransitionTime": EARLIER }
    ] } });
    assert_eq!(deleted_group_condition(&was_false, Some(3), NOW).unwrap()["lastTransitionTime"], EARLIER);
    let was_true = json!({ "status": { "conditions": [
        { "type": GROUP_REF_VALIDATED, "status": "True", "reason": "GroupRefIsValid", "message": "", "lastTransitionTime": EARLIER }
    ] } });
    assert_eq!(deleted_group_condition(&was_true, Some(3), NOW).unwrap()["lastTransitionTime"], NOW);
    let done = json!({ "status": { "conditions": [fresh] } });
    assert_eq!(deleted_group_condition(&done, Some(3), NOW), None);
}

// Scenarios against a mocked API server.

#[tokio::test]
async fn the_first_reconcile_only_adds_the_finalizer() {
    let g = group("g");
    let (client, calls) = testing::mock_client(accept_all());
    let ctx = testing::context(client, World { groups: vec![g.clone()], ..World::default() }.build());
    let action = reconcile(Arc::new(g), ctx).await.unwrap();
    assert_eq!(action, Action::await_change());
    assert_eq!(
        calls.take(),
        vec![Call {
            method: "PATCH".into(),
            path: format!("{GROUP_PATH}?"),
            body: json!([
                { "op": "test", "path": "/metadata/finalizers", "value": null },
                { "op": "add", "path": "/metadata/finalizers", "value": [FINALIZER] }
            ]),
        }]
    );
}

#[tokio::test]
async fn a_group_with_its_finalizer_gets_its_members_applied_and_a_ready_event() {
    let g = with_finalizer(group("g"));
    let mut world = members_world(&["e1"], &["s1"], &[]);
    world.groups = vec![g.clone()];
    let (client, calls) = testing::mock_client(accept_all());
    let ctx = testing::context(client, world.build());
    reconcile(Arc::new(g), ctx).await.unwrap();
    let calls = calls.take();
    assert_eq!(calls.len(), 2, "{calls:#?}");
    assert_eq!((calls[0].method.as_str(), calls[0].path.clone()), ("PATCH", format!("{GROUP_PATH}{STATUS_QUERY}")));
    assert_eq!(
        calls[0].body,
        json!({
            "apiVersion": "toolhive.stacklok.dev/v1beta1",
            "kind": "MCPGroup",
            "status": {
                "conditions": [{
                    "type": MCP_SERVERS_CHECKED, "status": "True", "reason": LIST_SUCCEEDED,
                    "message": "the group's members were listed", "lastTransitionTime": NOW, "observedGeneration": 1
                }],
                "entries": ["e1"], "entryCount": 1,
                "observedGeneration": 1,
                "phase": "Ready",
                "remoteProxyCount": 0,
                "serverCount": 1, "servers": ["s1"]
            }
        })
    );
    assert_eq!(calls[1].event_reason(), Some("GroupReady"));
    assert_eq!(calls[1].body["note"], "2 members");
}

#[tokio::test]
async fn a_current_status_is_not_written_again() {
    let mut g = with_finalizer(group("g"));
    let caches = members_world(&["e1"], &[], &[]).build();
    g.status = Some(desired_status(&g, &observe(&caches, "team", "g"), EARLIER));
    let (client, calls) = testing::mock_client(accept_all());
    let action = reconcile(Arc::new(g), testing::context(client, caches)).await.unwrap();
    assert_eq!(action, Action::await_change());
    assert_eq!(calls.take(), vec![]);
}

#[tokio::test]
async fn an_unreadable_kind_writes_failed_and_rechecks_later() {
    let g = with_finalizer(group("g"));
    let caches = members_world(&["e1"], &["s1"], &[]).build();
    caches.watch_error(Kind::MCPServer, &watch_failure());
    caches.watch_error(Kind::MCPServer, &watch_failure());
    let (client, calls) = testing::mock_client(accept_all());
    let action = reconcile(Arc::new(g), testing::context(client, caches)).await.unwrap();
    assert_ne!(action, Action::await_change(), "a time-based recheck is pending");
    let calls = calls.take();
    let status = &calls[0].body["status"];
    assert_eq!(status["phase"], "Failed");
    assert_eq!(status["conditions"][0]["reason"], LIST_FAILED);
    assert_eq!((status.get("servers"), status.get("entries")), (None, None));
    assert_eq!((status["serverCount"].clone(), status["entryCount"].clone()), (json!(0), json!(0)));
    assert_eq!(calls[1].event_reason(), Some("MembersUnreadable"));
    assert_eq!(calls[1].body["type"], "Warning");
}

#[tokio::test]
async fn deleting_a_group_marks_every_member_then_removes_the_finalizer() {
    let mut g = with_finalizer(group("g"));
    g.metadata.deletion_timestamp = Some(Time("2025-06-01T11:59:00Z".parse().unwrap()));
    let mut world = members_world(&["e1", "e2"], &["s1"], &["p1"]);
    world.groups = vec![g.clone()];
    let (client, calls) = testing::mock_client(accept_all());
    let ctx = testing::context(client, world.build());
    reconcile(Arc::new(g), ctx).await.unwrap();
    let calls = calls.take();
    let (events, writes): (Vec<&Call>, Vec<&Call>) = calls.iter().partition(|c| c.is_event());
    assert_eq!(writes.len(), 5, "{writes:#?}");
    let last = writes.last().unwrap();
    assert_eq!(
        (last.method.as_str(), last.path.clone(), last.body.clone()),
        (
            "PATCH",
            format!("{GROUP_PATH}?"),
            json!([
                { "op": "test", "path": "/metadata/finalizers/0", "value": FINALIZER },
                { "op": "remove", "path": "/metadata/finalizers/0" }
            ])
        ),
        "the finalizer goes last"
    );
    let mut member_paths: Vec<&str> = writes[..4].iter().map(|c| c.path.as_str()).collect();
    member_paths.sort();
    let base = "/apis/toolhive.stacklok.dev/v1beta1/namespaces/team";
    assert_eq!(
        member_paths,
        vec![
            format!("{base}/mcpremoteproxies/p1{STATUS_QUERY}"),
            format!("{base}/mcpserverentries/e1{STATUS_QUERY}"),
            format!("{base}/mcpserverentries/e2{STATUS_QUERY}"),
            format!("{base}/mcpservers/s1{STATUS_QUERY}"),
        ]
    );
    let expected_condition = json!({
        "type": GROUP_REF_VALIDATED, "status": "False", "reason": GROUP_REF_NOT_FOUND,
        "message": GROUP_DELETING_MESSAGE, "lastTransitionTime": NOW, "observedGeneration": 1
    });
    for write in &writes[..4] {
        let status = &write.body["status"];
        let conditions = status["conditions"].as_array().unwrap();
        let found = conditions.iter().find(|c| c["type"] == GROUP_REF_VALIDATED).unwrap();
        assert_eq!(found, &expected_condition, "{}", write.path);
        if write.path.contains("/mcpserverentries/") {
            assert_eq!(write.body["kind"], "MCPServerEntry");
            assert_eq!(status["phase"], "Failed", "an entry writes its whole status");
        } else {
            assert_eq!(status, &json!({ "conditions": [expected_condition.clone()] }), "only the condition is ours");
        }
    }
    let reasons: Vec<_> = events.iter().filter_map(|c| c.event_reason()).collect();
    assert!(reasons.contains(&"MembersNotified"), "{reasons:?}");
    let notified = events.iter().find(|c| c.event_reason() == Some("MembersNotified")).unwrap();
    assert_eq!(notified.body["note"], "4 of 4 members now report GroupRefNotFound");
}

#[tokio::test]
async fn deletion_is_not_blocked_by_members_that_cannot_be_updated() {
    let mut g = with_finalizer(group("g"));
    g.metadata.deletion_timestamp = Some(Time("2025-06-01T11:59:00Z".parse().unwrap()));
    let mut world = members_world(&[], &["s1"], &[]);
    world.groups = vec![g.clone()];
    let (client, calls) = testing::mock_client(testing::fail_status_writes());
    reconcile(Arc::new(g), testing::context(client, world.build())).await.unwrap();
    let calls = calls.take();
    let reasons: Vec<_> = calls.iter().filter_map(|c| c.event_reason()).collect();
    assert_eq!(reasons, ["MemberUpdateFailed"]);
    let last = calls.iter().rfind(|c| !c.is_event()).unwrap();
    assert_eq!(last.body[1]["op"], "remove", "the finalizer is removed anyway");
}

#[tokio::test]
async fn a_group_being_deleted_without_our_finalizer_is_left_alone() {
    let mut g = group("g");
    g.metadata.deletion_timestamp = Some(Time("2025-06-01T11:59:00Z".parse().unwrap()));
    g.metadata.finalizers = Some(vec!["someone.else/finalizer".into()]);
    let (client, calls) = testing::mock_client(accept_all());
    let ctx = testing::context(client, World { groups: vec![g.clone()], ..World::default() }.build());
    reconcile(Arc::new(g), ctx).await.unwrap();
    assert_eq!(calls.take(), vec![]);
}
