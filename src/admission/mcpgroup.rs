//! Admission rules of MCPGroup.

use super::finding::{Findings, Reason};
use super::{Check, Context};
use crate::api::v1beta1::MCPGroup;

pub const MAX_DESCRIPTION: usize = 4096;

pub const CHECKS: &[Check<MCPGroup>] = &[("group.description", |g, _, out| check_description(g, out))];

fn check_description(group: &MCPGroup, out: &mut Findings) {
    let Some(text) = group.spec.description.as_deref() else { return };
    let path = "spec.description";
    if super::more_chars_than(text, MAX_DESCRIPTION) {
        out.deny("group.description", path, Reason::Invalid, format!("must be at most {MAX_DESCRIPTION} characters"));
    }
    if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        out.deny(
            "group.description",
            path,
            Reason::Invalid,
            "must not contain control characters other than newline and tab",
        );
    }
}

/// Warnings for deleting a group that still has members; never denies.
pub fn check_delete(ctx: &Context, out: &mut Findings) {
    let Some(members) = ctx.cluster.group_members(ctx.namespace, ctx.name) else { return };
    if members.is_empty() {
        return;
    }
    const SHOWN: usize = 5;
    let mut list = members.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(", ");
    if members.len() > SHOWN {
        list.push_str(", …");
    }
    let noun = if members.len() == 1 { "member" } else { "members" };
    // No field path: the warning reads as the spec words it, `MCPGroup "g" still has …`.
    out.warn(
        "group.delete.members",
        "",
        format!(
            "MCPGroup {:?} still has {} {noun} ({list}); they will report GroupRefNotFound",
            ctx.name,
            members.len()
        ),
    );
}
