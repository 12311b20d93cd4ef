//! Kubernetes events (`events.k8s.io/v1`) with a closed set of reasons. Publishing is best
//! effort: a failed event is logged and never fails a reconcile.

use k8s_openapi::api::core::v1::ObjectReference;
use kube::runtime::events::{Event, EventType};

use super::context::Context;

/// Longest note the Events API accepts.
const MAX_NOTE: usize = 1024;

/// Every reason an event of this operator can have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    let event = Event {
        type_: reason.event_type(),
        reason: reason.as_str().to_string(),
        note: Some(truncate(note.into(), MAX_NOTE)),
        action: reason.action().to_string(),
        secondary: None,
    };
    if let Err(err) = ctx.recorder.publish(&event, regarding).await {
        tracing::warn!(reason = reason.as_str(), error = %err, "cannot publish an event");
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
