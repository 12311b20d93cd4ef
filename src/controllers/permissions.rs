//! Every API call the caches and these controllers make, as `(API group, resource, verbs)`. The
//! test below holds the deployed ClusterRole to it. Discovery (`GET /apis`, `/apis/<group>/<v>`)
//! needs no rule: the default `system:discovery` role grants it to every authenticated user.

use super::kinds::Kind;
use crate::api::crd::GROUP;

/// Reflectors list and watch; the MCPGroup and MCPRegistry finalizers are added and removed with a
/// JSON patch; statuses and children are server-side applied (`patch`, plus `create` for a child
/// that does not exist yet); the HMAC Secret is created once; an authorization ConfigMap is read
/// with `get`; events are created, and patched when repeated.
pub const USED: &[(&str, &str, &[&str])] = &[
    (GROUP, "mcpgroups", &["list", "watch", "patch"]),
    (GROUP, "mcpgroups/status", &["patch"]),
    (GROUP, "mcpserverentries", &["list", "watch"]),
    (GROUP, "mcpserverentries/status", &["patch"]),
    (GROUP, "virtualmcpservers", &["list", "watch"]),
    (GROUP, "virtualmcpservers/status", &["patch"]),
    (GROUP, "mcpregistries", &["list", "watch", "patch"]),
    (GROUP, "mcpregistries/status", &["patch"]),
    (GROUP, "mcpservers", &["list", "watch"]),
    (GROUP, "mcpservers/status", &["patch"]),
    (GROUP, "mcpremoteproxies", &["list", "watch"]),
    (GROUP, "mcpremoteproxies/status", &["patch"]),
    (GROUP, "mcpexternalauthconfigs", &["list", "watch"]),
    (GROUP, "mcpoidcconfigs", &["list", "watch"]),
    (GROUP, "mcpauthzconfigs", &["list", "watch"]),
    (GROUP, "mcptelemetryconfigs", &["list", "watch"]),
    (GROUP, "mcptoolconfigs", &["list", "watch"]),
    (GROUP, "virtualmcpcompositetooldefinitions", &["list", "watch"]),
    ("", "configmaps", &["get", "list", "watch", "create", "patch"]),
    ("", "secrets", &["list", "watch", "create"]),
    ("", "services", &["list", "watch", "create", "patch"]),
    ("", "serviceaccounts", &["list", "watch", "create", "patch"]),
    ("apps", "deployments", &["list", "watch", "create", "patch"]),
    ("rbac.authorization.k8s.io", "roles", &["list", "watch", "create", "patch"]),
    ("rbac.authorization.k8s.io", "rolebindings", &["list", "watch", "create", "patch"]),
    ("events.k8s.io", "events", &["create", "patch"]),
];

/// The resources the caches watch, one per cached kind.
pub fn watched() -> impl Iterator<Item = (&'static str, &'static str)> {
    Kind::CORE.into_iter().chain(Kind::FOREIGN).map(|k| (k.api_group(), k.plural()))
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::deploy::rbac;

    fn cluster_rules() -> Vec<Value> {
        let objects = rbac::objects("mcp-operator");
        let role = objects.iter().find(|o| o["kind"] == "ClusterRole").expect("a ClusterRole");
        role["rules"].as_array().cloned().unwrap_or_default()
    }

    fn grants(rules: &[Value], group: &str, resource: &str, verb: &str) -> bool {
        let has = |rule: &Value, field: &str, value: &str| {
            rule[field].as_array().is_some_and(|list| list.iter().any(|v| v == value || v == "*"))
        };
        rules.iter().any(|r| {
            r.get("resourceNames").is_none()
                && has(r, "apiGroups", group)
                && has(r, "resources", resource)
                && has(r, "verbs", verb)
        })
    }

    #[test]
    fn the_cluster_role_grants_every_call_the_controllers_make() {
        let rules = cluster_rules();
        for (group, resource, verbs) in USED {
            for verb in *verbs {
                assert!(grants(&rules, group, resource, verb), "ClusterRole lacks {verb} on {group}/{resource}");
            }
        }
    }

    /// RBAC escalation prevention: the API server lets the operator create a Role only with
    /// permissions it holds itself.
    #[test]
    fn the_cluster_role_holds_everything_the_child_roles_grant() {
        let rules = cluster_rules();
        let vmcp = crate::controllers::virtualmcpserver::render::rbac::role_rules("demo");
        let registry = crate::controllers::mcpregistry::render::role_rules();
        for child in vmcp.iter().chain(&registry) {
            for group in child.api_groups.iter().flatten() {
                for resource in child.resources.iter().flatten() {
                    for verb in &child.verbs {
                        assert!(
                            grants(&rules, group, resource, verb),
                            "ClusterRole lacks {verb} on {group}/{resource}, which a child Role grants"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn every_watched_kind_is_in_the_table() {
        for (group, plural) in watched() {
            let listed = USED.iter().any(|(g, r, verbs)| *g == group && *r == plural && verbs.contains(&"watch"));
            assert!(listed, "{group}/{plural} is watched but not in USED");
        }
    }
}
