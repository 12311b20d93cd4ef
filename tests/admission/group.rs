//! MCPGroup: `group.*` rules.

use mcp_operator::admission::engine::Mode;
use serde_json::json;

use crate::support::*;

#[test]
fn group_description() {
    let described = |d: &str| group(json!({ "description": d }));
    let path = "spec.description";
    table(vec![
        ("absent", group(json!({})), Accept),
        ("empty", described(""), Accept),
        ("newline and tab", described("Tools for the\tdata team.\nAsk #data."), Accept),
        ("4096 characters", described(&chars('d', 4096)), Accept),
        ("4096 two-byte characters", described(&chars('é', 4096)), Accept),
        ("4097 characters", described(&chars('d', 4097)), DenyAs("group.description", path, "FieldValueInvalid")),
        ("carriage return", described("a\r\nb"), Deny("group.description", path)),
        ("NUL", described("a\u{0}b"), Deny("group.description", path)),
        ("ESC", described("\u{1b}[31mred"), Deny("group.description", path)),
        ("DEL", described("a\u{7f}"), Deny("group.description", path)),
        ("C1 control", described("a\u{9b}b"), Deny("group.description", path)),
    ]);
}

#[test]
fn group_delete_members_warns_and_never_denies() {
    let cluster = FakeCluster::default().with_group("tools", &["MCPServerEntry/a", "MCPServer/b", "MCPServer/c"]);
    let outcome = Req::delete(&group(json!({}))).validate_in(&cluster);
    assert!(outcome.allowed());
    assert_eq!(
        outcome.warnings(),
        [
            "MCPGroup \"tools\" still has 3 members (MCPServerEntry/a, MCPServer/b, MCPServer/c); they will report GroupRefNotFound [group.delete.members]"
        ]
    );
}

#[test]
fn group_delete_members_wording() {
    let one = FakeCluster::default().with_group("tools", &["MCPServerEntry/a"]);
    let warning = Req::delete(&group(json!({}))).validate_in(&one).warning("group.delete.members");
    assert!(warning.contains("still has 1 member (MCPServerEntry/a)"), "{warning}");
    let members: Vec<String> = (0..12).map(|i| format!("MCPServerEntry/e{i:02}")).collect();
    let many = FakeCluster::default().with_group("tools", &members.iter().map(String::as_str).collect::<Vec<_>>());
    let warning = Req::delete(&group(json!({}))).validate_in(&many).warning("group.delete.members");
    assert!(warning.contains("still has 12 members (MCPServerEntry/e00, "), "{warning}");
    assert!(warning.contains(", …); they will report GroupRefNotFound"), "long lists are cut: {warning}");
}

#[test]
fn group_delete_without_members_or_cache_is_silent() {
    let empty = FakeCluster::default().with_group("tools", &[]);
    assert!(Req::delete(&group(json!({}))).validate_in(&empty).warnings().is_empty());
    assert!(Req::delete(&group(json!({}))).validate().warnings().is_empty(), "NoCluster: no warning");
    let other = FakeCluster::default().with_group("other", &["MCPServer/x"]);
    assert!(Req::delete(&group(json!({}))).validate_in(&other).warnings().is_empty());
}

#[test]
fn group_delete_warns_even_without_old_object() {
    let cluster = FakeCluster::default().with_group("tools", &["MCPServer/b"]);
    let req = Req::delete(&group(json!({}))).edit(|r| r["request"]["oldObject"] = serde_json::Value::Null);
    let outcome = req.validate_in(&cluster);
    assert!(outcome.allowed());
    outcome.warning("group.delete.members");
}

#[test]
fn group_delete_is_allowed_even_when_the_old_object_breaks_rules() {
    let bad = group(json!({ "description": chars('d', 5000) }));
    let cluster = FakeCluster::default().with_group("tools", &["MCPServer/b"]);
    let outcome = Req::delete(&bad).validate_in(&cluster);
    assert!(outcome.allowed());
    assert_eq!(outcome.rules(), ["group.delete.members"]);
    let mutated = Req::delete(&bad).post(Mode::Mutate, &POLICY, &cluster);
    assert!(mutated.allowed() && mutated.warnings().is_empty() && mutated.patch().is_none());
}

#[test]
fn group_status_writes_are_not_validated() {
    // The validating webhook does not register `mcpgroups/status`; a stray call is allowed as is.
    let bad = group(json!({ "description": "a\u{0}b" }));
    let outcome = Req::update(&bad, &bad).status().validate();
    assert!(outcome.allowed() && outcome.warnings().is_empty());
}
