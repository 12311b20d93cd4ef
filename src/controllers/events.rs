//! Kubernetes events (`events.k8s.io/v1`) with a closed set of reasons. Publishing is best
//! effort: a failed event is logged and never fails a reconcile.

use std::collections::HashMap;
use std::sync::Mutex;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::{Event, EventSeries};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::events::EventType;

use super::context::Context;

/// Longest note the Events API accepts.
const MAX_NOTE: usize = 1024;

/// How long after its last occurrence an event is continued as a series when it happens again (as
/// kube's and client-go's recorders do).
const SERIES_WINDOW: SignedDuration = SignedDuration::from_mins(6);

/// How often the events older than [`SERIES_WINDOW`] are forgotten.
const SWEEP_EVERY: SignedDuration = SignedDuration::from_mins(1);

/// Every reason an event of this operator can have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// A group listed its members (first time, or after failing to).
    GroupReady,
    /// A group could not list a member kind.
    MembersUnreadable,
    /// A deleted group told its members it is going away.
    MembersNotified,
    /// A deleted group could not update some members' status; deletion went on regardless.
    MemberUpdateFailed,
    /// An entry passed every check.
    EntryValidated,
    /// An entry failed a check.
    EntryInvalid,
    /// A workload controller created a child object.
    Created,
    /// A VirtualMCPServer or MCPRegistry became ready.
    WorkloadReady,
    /// A VirtualMCPServer or MCPRegistry failed.
    WorkloadFailed,
    /// An object of a deprecated kind was reconciled (once per generation).
    Deprecated,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::GroupReady => "GroupReady",
            Reason::MembersUnreadable => "MembersUnreadable",
            Reason::MembersNotified => "MembersNotified",
            Reason::MemberUpdateFailed => "MemberUpdateFailed",
            Reason::EntryValidated => "Validated",
            Reason::EntryInvalid => "ValidationFailed",
            Reason::Created => "Created",
            Reason::WorkloadReady => "Ready",
            Reason::WorkloadFailed => "ReconcileFailed",
            Reason::Deprecated => "Deprecated",
        }
    }

    pub fn event_type(self) -> EventType {
        match self {
            Reason::GroupReady
            | Reason::MembersNotified
            | Reason::EntryValidated
            | Reason::Created
            | Reason::WorkloadReady => EventType::Normal,
            Reason::MembersUnreadable
            | Reason::MemberUpdateFailed
            | Reason::EntryInvalid
            | Reason::WorkloadFailed
            | Reason::Deprecated => EventType::Warning,
        }
    }

    fn action(self) -> &'static str {
        match self {
            Reason::MembersNotified | Reason::MemberUpdateFailed => "Finalize",
            _ => "Reconcile",
        }
    }
}

/// Publishes an event about `regarding`; `note` is cut to what the API accepts.
pub async fn publish(ctx: &Context, regarding: &ObjectReference, reason: Reason, note: impl Into<String>) {
    if let Err(err) = ctx.recorder.publish(regarding, reason, truncate(note.into(), MAX_NOTE)).await {
        tracing::warn!(reason = reason.as_str(), error = %err, "cannot publish an event");
    }
}

/// Publishes events as kube's `Recorder` does (the same fields; the same reason about the same
/// object again within [`SERIES_WINDOW`] counts on the first event as a series instead of making
/// another), remembering of each recent event only its name and count. kube's recorder keeps
/// every whole event for six minutes and goes through all of them on each publish: with the
/// controllers' first pass over 10,000 objects (11,000 events) about 40 MiB, and quadratic work.
pub struct Recorder {
    client: Client,
    controller: String,
    instance: String,
    recent: Mutex<Recent>,
}

/// An event is the same as an earlier one when its reason (which fixes its type and action) and
/// the object it is about are.
type EventKey = (Reason, String);

#[derive(Default)]
struct Recent {
    events: HashMap<EventKey, Published>,
    swept: Option<Timestamp>,
}

struct Published {
    name: String,
    count: i32,
    last: Timestamp,
}

impl Recent {
    /// Forgets the events too old to be continued, at most every [`SWEEP_EVERY`].
    fn sweep(&mut self, now: Timestamp) {
        if self.swept.is_some_and(|at| at + SWEEP_EVERY > now) {
            return;
        }
        self.events.retain(|_, event| event.last + SERIES_WINDOW > now);
        self.swept = Some(now);
    }
}

impl Recorder {
    /// Events reported by `controller` (the reporting controller, `x.example.com/name`) from
    /// `instance` (this replica; the controller when absent).
    pub fn new(client: Client, controller: String, instance: Option<String>) -> Self {
        let instance = instance.unwrap_or_else(|| controller.clone());
        Recorder { client, controller, instance, recent: Mutex::default() }
    }

    /// Creates the event, or counts it on the earlier one.
    pub async fn publish(&self, regarding: &ObjectReference, reason: Reason, note: String) -> kube::Result<()> {
        let now = Timestamp::now();
        let key = (reason, object_key(regarding));
        let earlier = {
            let mut recent = self.recent.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            recent.sweep(now);
            recent.events.get(&key).filter(|e| e.last + SERIES_WINDOW > now).map(|e| (e.name.clone(), e.count))
        };
        let events: Api<Event> =
            Api::namespaced(self.client.clone(), regarding.namespace.as_deref().unwrap_or("default"));
        let published = match earlier {
            Some((name, count)) => {
                let series = EventSeries { count: count + 1, last_observed_time: MicroTime(now) };
                let patch = Event { series: Some(series), ..Event::default() };
                events.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await?;
                Published { name, count: count + 1, last: now }
            }
            None => {
                let event = self.event(regarding, reason, note, now);
                let created = events.create(&PostParams::default(), &event).await?;
                let name = created.metadata.name.or(event.metadata.name).unwrap_or_default();
                Published { name, count: 1, last: now }
            }
        };
        self.recent.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).events.insert(key, published);
        Ok(())
    }

    /// A new event, as kube's recorder writes it.
    fn event(&self, regarding: &ObjectReference, reason: Reason, note: String, now: Timestamp) -> Event {
        let subject = regarding.name.as_deref().unwrap_or(&self.controller);
        Event {
            action: Some(reason.action().to_string()),
            reason: Some(reason.as_str().to_string()),
            event_time: Some(MicroTime(now)),
            regarding: Some(regarding.clone()),
            note: Some(note),
            metadata: ObjectMeta {
                namespace: regarding.namespace.clone(),
                name: Some(format!("{subject}.{:x}", now.as_nanosecond())),
                ..ObjectMeta::default()
            },
            reporting_controller: Some(self.controller.clone()),
            reporting_instance: Some(self.instance.clone()),
            type_: Some(match reason.event_type() {
                EventType::Normal => "Normal".to_string(),
                EventType::Warning => "Warning".to_string(),
            }),
            ..Event::default()
        }
    }
}

/// The object an event is about: its uid, or its kind, namespace and name when it has none.
fn object_key(regarding: &ObjectReference) -> String {
    match &regarding.uid {
        Some(uid) if !uid.is_empty() => uid.clone(),
        _ => format!(
            "{}/{}/{}",
            regarding.kind.as_deref().unwrap_or_default(),
            regarding.namespace.as_deref().unwrap_or_default(),
            regarding.name.as_deref().unwrap_or_default()
        ),
    }
}

pub fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let cut = (0..=max - 3).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
        text.truncate(cut);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controllers::testing::{Call, accept_all, mock_client};

    fn regarding(name: &str, uid: &str) -> ObjectReference {
        ObjectReference {
            api_version: Some("toolhive.stacklok.dev/v1beta1".into()),
            kind: Some("MCPServerEntry".into()),
            namespace: Some("team".into()),
            name: Some(name.into()),
            uid: Some(uid.into()),
            ..ObjectReference::default()
        }
    }

    fn event_calls(calls: Vec<Call>) -> Vec<(String, serde_json::Value)> {
        calls.into_iter().filter(Call::is_event).map(|c| (c.method, c.body)).collect()
    }

    #[tokio::test]
    async fn the_same_event_again_is_counted_as_a_series_on_the_first() {
        let (client, calls) = mock_client(accept_all());
        let recorder = Recorder::new(client, "toolhive.stacklok.dev/operator".into(), Some("pod-a".into()));
        let entry = regarding("github", "uid-1");
        recorder.publish(&entry, Reason::EntryInvalid, "bad url".into()).await.expect("created");
        recorder.publish(&entry, Reason::EntryInvalid, "bad url again".into()).await.expect("counted");
        recorder.publish(&entry, Reason::EntryInvalid, "and again".into()).await.expect("counted");
        let calls = event_calls(calls.take());
        assert_eq!(calls.len(), 3);
        let (method, created) = &calls[0];
        assert_eq!(method, "POST");
        assert_eq!(created["reason"], "ValidationFailed");
        assert_eq!(created["type"], "Warning");
        assert_eq!(created["action"], "Reconcile");
        assert_eq!(created["note"], "bad url");
        assert_eq!(created["regarding"]["uid"], "uid-1");
        assert_eq!(created["reportingController"], "toolhive.stacklok.dev/operator");
        assert_eq!(created["reportingInstance"], "pod-a");
        assert!(created["eventTime"].is_string() && created.get("series").is_none());
        let name = created["metadata"]["name"].as_str().expect("a name");
        assert!(name.starts_with("github."), "{name}");
        for (i, count) in [(1, 2), (2, 3)] {
            let (method, patch) = &calls[i];
            assert_eq!(method, "PATCH");
            assert_eq!(patch["series"]["count"], count);
            assert!(patch["series"]["lastObservedTime"].is_string());
            assert!(patch.get("note").is_none(), "only the series changes: {patch}");
        }
    }

    #[tokio::test]
    async fn another_reason_or_object_is_another_event() {
        let (client, calls) = mock_client(accept_all());
        let recorder = Recorder::new(client, "operator".into(), None);
        let entry = regarding("github", "uid-1");
        recorder.publish(&entry, Reason::EntryInvalid, "bad".into()).await.expect("created");
        recorder.publish(&entry, Reason::EntryValidated, "good".into()).await.expect("created");
        recorder
            .publish(&regarding("github", "uid-2"), Reason::EntryValidated, "recreated".into())
            .await
            .expect("created");
        let calls = event_calls(calls.take());
        assert!(calls.iter().all(|(method, _)| method == "POST"), "{calls:?}");
        assert_eq!(calls[0].1["reportingInstance"], "operator", "the controller when no instance is named");
    }

    #[test]
    fn old_events_are_forgotten() {
        let mut recent = Recent::default();
        let start = Timestamp::now();
        recent.events.insert((Reason::Created, "a".into()), Published { name: "a.1".into(), count: 1, last: start });
        recent.sweep(start);
        assert_eq!(recent.events.len(), 1);
        let later = start + SERIES_WINDOW + SignedDuration::from_secs(1);
        recent.sweep(later);
        assert!(recent.events.is_empty());
    }

    #[test]
    fn notes_are_cut_on_a_character_boundary() {
        assert_eq!(truncate("short".into(), 10), "short");
        let cut = truncate("ä".repeat(600), MAX_NOTE);
        assert!(cut.len() <= MAX_NOTE && cut.ends_with('…'));
    }

    #[test]
    fn failures_are_warnings() {
        assert_eq!(Reason::EntryInvalid.event_type(), EventType::Warning);
        assert_eq!(Reason::EntryValidated.event_type(), EventType::Normal);
        assert_eq!(Reason::MembersUnreadable.as_str(), "MembersUnreadable");
    }
}
