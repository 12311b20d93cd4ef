//! The MCPGroup controller: lists the group's members in its status and, through a finalizer,
//! tells them when the group is deleted.
//!
//! Members are the MCPServers, MCPRemoteProxies and MCPServerEntries of the namespace whose
//! `spec.groupRef.name` is the group. They come from the reference index (sorted, in time
//! proportional to the member count), never from a LIST. The index remembers each member's
//! previous group, so a member that moves or is deleted re-reconciles the group it left as well
//! as the one it joined (see `Caches::changed`).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::{Api, Resource, ResourceExt};
use serde_json::{Value, json};

use super::cache::{Cached, Caches, Readable, digest};
use super::conditions::{Desired, merge_conditions};
use super::context::Context;
use super::error::Error;
use super::events::{self, Reason};
use super::kinds::Kind;
use super::mcpserverentry::{self, GROUP_DELETING_MESSAGE, GROUP_REF_NOT_FOUND, GROUP_REF_VALIDATED};
use super::status::{apply_foreign_status, apply_status};
use crate::api::v1beta1::{MCPGroup, MCPGroupStatus};

pub const FINALIZER: &str = "toolhive.stacklok.dev/mcpgroup-finalizer";
pub const MCP_SERVERS_CHECKED: &str = "MCPServersChecked";
pub const LIST_SUCCEEDED: &str = "ListMCPServersCheckSucceeded";
pub const LIST_FAILED: &str = "ListMCPServersCheckFailed";
pub const READY: &str = "Ready";
pub const FAILED: &str = "Failed";

/// Member status writes in flight at once while a group is deleted.
const NOTIFY_CONCURRENCY: usize = 16;

/// The members of one group, each list sorted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Members {
    pub servers: Vec<String>,
    pub remote_proxies: Vec<String>,
    pub entries: Vec<String>,
}

impl Members {
    pub fn len(&self) -> usize {
        self.servers.len() + self.remote_proxies.len() + self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What the caches can tell about a group's members.
#[derive(Clone, Debug, PartialEq)]
pub enum Observation {
    Listed(Members),
    /// A member kind cannot be read; ask again after `retry_in`.
    Unreadable {
        message: String,
        retry_in: Duration,
    },
    /// A member kind was just discovered and is listing; nothing to report yet.
    Syncing {
        retry_in: Duration,
    },
}

/// The members of `namespace/group` from the index, or why they cannot be known.
pub fn observe(caches: &Caches, namespace: &str, group: &str) -> Observation {
    let mut unreadable = Vec::new();
    let mut syncing = None;
    let mut retry = Duration::MAX;
    for kind in Kind::MEMBERS {
        match caches.readable(kind) {
            Readable::Absent | Readable::Ready => {}
            Readable::Syncing { retry_in } => syncing = Some(retry_in.min(syncing.unwrap_or(retry_in))),
            Readable::Failed { message, retry_in } => {
                unreadable.push(message);
                retry = retry.min(retry_in);
            }
        }
    }
    if !unreadable.is_empty() {
        return Observation::Unreadable { message: unreadable.join("; "), retry_in: retry };
    }
    if let Some(retry_in) = syncing {
        return Observation::Syncing { retry_in };
    }
    Observation::Listed(Members {
        servers: caches.members(namespace, group, Kind::MCPServer),
        remote_proxies: caches.members(namespace, group, Kind::MCPRemoteProxy),
        entries: caches.members(namespace, group, Kind::MCPServerEntry),
    })
}

fn list(names: &[String]) -> Option<Vec<String>> {
    (!names.is_empty()).then(|| names.to_vec())
}

fn count(names: &[String]) -> Option<i32> {
    Some(i32::try_from(names.len()).unwrap_or(i32::MAX))
}

/// The status the controller owns for `group`, given what was observed (not `Syncing`).
pub fn desired_status(group: &MCPGroup, observation: &Observation, now: &str) -> MCPGroupStatus {
    let generation = group.metadata.generation;
    let previous = group.status.as_ref().and_then(|s| s.conditions.as_deref()).unwrap_or_default();
    let (members, phase, condition) = match observation {
        Observation::Listed(members) => (
            members.clone(),
            READY,
            Desired::truth(MCP_SERVERS_CHECKED, LIST_SUCCEEDED, "the group's members were listed"),
        ),
        Observation::Unreadable { message, .. } => {
            (Members::default(), FAILED, Desired::falsity(MCP_SERVERS_CHECKED, LIST_FAILED, message.clone()))
        }
        Observation::Syncing { .. } => (
            Members::default(),
            FAILED,
            Desired::falsity(MCP_SERVERS_CHECKED, LIST_FAILED, "member kinds are still being listed"),
        ),
    };
    MCPGroupStatus {
        conditions: Some(merge_conditions(previous, &[condition], generation, now)),
        entries: list(&members.entries),
        entry_count: count(&members.entries),
        observed_generation: generation,
        phase: Some(phase.to_string()),
        remote_proxies: list(&members.remote_proxies),
        remote_proxy_count: count(&members.remote_proxies),
        server_count: count(&members.servers),
        servers: list(&members.servers),
    }
}

/// Entries see of their group only whether it exists, is being deleted and is ready.
impl Cached for MCPGroup {
    fn seen_by_referrers(&self, _kind: Kind) -> u64 {
        let phase = self.status.as_ref().and_then(|s| s.phase.as_deref());
        digest(&(phase, self.metadata.deletion_timestamp.is_some()))
    }
}

pub async fn reconcile(group: Arc<MCPGroup>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = group.namespace().ok_or(Error::NoNamespace)?;
    let api: Api<MCPGroup> = Api::namespaced(ctx.client.clone(), &namespace);
    let action = finalizer(&api, FINALIZER, group, |event| async {
        match event {
            Finalizer::Apply(group) => apply(&group, &ctx).await,
            Finalizer::Cleanup(group) => cleanup(&group, &ctx).await,
        }
    })
    .await?;
    Ok(action)
}

async fn apply(group: &MCPGroup, ctx: &Context) -> Result<Action, Error> {
    let namespace = group.namespace().ok_or(Error::NoNamespace)?;
    let observation = observe(&ctx.caches, &namespace, &group.name_any());
    let requeue = match &observation {
        // Wait for the first list instead of flashing `Failed`; the list re-triggers us anyway.
        Observation::Syncing { retry_in } => return Ok(Action::requeue(*retry_in)),
        Observation::Unreadable { retry_in, .. } => Some(*retry_in),
        Observation::Listed(_) => None,
    };
    let status = desired_status(group, &observation, &ctx.now());
    if group.status.as_ref() != Some(&status) {
        apply_status(&ctx.client, group, &status).await?;
        let before = group.status.as_ref().and_then(|s| s.phase.as_deref());
        if before != status.phase.as_deref() {
            announce(group, &observation, ctx).await;
        }
    }
    Ok(requeue.map_or_else(Action::await_change, Action::requeue))
}

async fn announce(group: &MCPGroup, observation: &Observation, ctx: &Context) {
    let regarding = group.object_ref(&());
    match observation {
        Observation::Listed(members) => {
            let note = format!("{} members", members.len());
            events::publish(ctx, &regarding, Reason::GroupReady, note).await
        }
        Observation::Unreadable { message, .. } => {
            events::publish(ctx, &regarding, Reason::MembersUnreadable, message.clone()).await
        }
        Observation::Syncing { .. } => {}
    }
}

/// The group is being deleted: every member reports `GroupRefNotFound`, best effort, and the
/// finalizer goes regardless, so deletion is never blocked by members.
async fn cleanup(group: &MCPGroup, ctx: &Context) -> Result<Action, Error> {
    let namespace = group.namespace().ok_or(Error::NoNamespace)?;
    let name = group.name_any();
    let mut members: Vec<(Kind, String)> = Vec::new();
    for kind in Kind::MEMBERS {
        members.extend(ctx.caches.members(&namespace, &name, kind).into_iter().map(|n| (kind, n)));
    }
    let total = members.len();
    let failures = futures::stream::iter(members)
        .map(|(kind, member)| {
            let namespace = namespace.clone();
            async move {
                let result = notify_member(ctx, kind, &namespace, &member).await;
                if let Err(err) = &result {
                    tracing::warn!(kind = kind.name(), namespace, member, error = %err, "cannot mark a member of a deleted group");
                }
                result.is_err()
            }
        })
        .buffer_unordered(NOTIFY_CONCURRENCY)
        .filter(|failed| std::future::ready(*failed))
        .count()
        .await;
    let regarding = group.object_ref(&());
    if total > failures {
        let note = format!("{} of {total} members now report {GROUP_REF_NOT_FOUND}", total - failures);
        events::publish(ctx, &regarding, Reason::MembersNotified, note).await;
    }
    if failures > 0 {
        let note = format!("{failures} of {total} members could not be updated; deleting the group anyway");
        events::publish(ctx, &regarding, Reason::MemberUpdateFailed, note).await;
    }
    Ok(Action::await_change())
}

async fn notify_member(ctx: &Context, kind: Kind, namespace: &str, name: &str) -> Result<(), Error> {
    if kind == Kind::MCPServerEntry {
        // The entry's own evaluation sees the deleting group and reports exactly that.
        if let Some(entry) = ctx.caches.entries.get(namespace, name) {
            mcpserverentry::sync_status(&entry, ctx).await?;
        }
        return Ok(());
    }
    let Some(foreign) = ctx.caches.foreign(kind) else { return Ok(()) };
    let Some(member) = foreign.cache.get(namespace, name) else { return Ok(()) };
    let Some(condition) = deleted_group_condition(&member.data, member.metadata.generation, &ctx.now()) else {
        return Ok(());
    };
    let status = json!({ "conditions": [condition] });
    apply_foreign_status(&ctx.client, &foreign.resource, namespace, name, &status).await
}

/// The `GroupRefValidated` condition a member of the Go operator's kinds gets when its group is
/// deleted, or `None` if it already has it. Only this condition is applied: the rest of that
/// status belongs to the Go operator.
pub fn deleted_group_condition(member: &Value, generation: Option<i64>, now: &str) -> Option<Value> {
    let conditions = member.get("status").and_then(|s| s.get("conditions")).and_then(Value::as_array);
    let previous = conditions.into_iter().flatten().find(|c| c.get("type") == Some(&json!(GROUP_REF_VALIDATED)));
    let field = |c: &Value, f: &str| c.get(f).cloned().unwrap_or(Value::Null);
    if let Some(p) = previous
        && field(p, "status") == "False"
        && field(p, "reason") == GROUP_REF_NOT_FOUND
        && field(p, "message") == GROUP_DELETING_MESSAGE
        && p.get("observedGeneration").and_then(Value::as_i64) == generation
    {
        return None;
    }
    let since = previous
        .filter(|p| field(p, "status") == "False")
        .and_then(|p| p.get("lastTransitionTime").and_then(Value::as_str))
        .unwrap_or(now);
    let mut condition = json!({
        "type": GROUP_REF_VALIDATED,
        "status": "False",
        "reason": GROUP_REF_NOT_FOUND,
        "message": GROUP_DELETING_MESSAGE,
        "lastTransitionTime": since,
    });
    if let Some(generation) = generation {
        condition["observedGeneration"] = json!(generation);
    }
    Some(condition)
}

#[cfg(test)]
#[path = "mcpgroup_tests.rs"]
mod tests;
