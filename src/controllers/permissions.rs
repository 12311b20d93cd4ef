//! Every API call the caches and these controllers make, as `(API group, resource, verbs)`. The
//! test below holds the deployed ClusterRole to it. Discovery (`GET /apis`, `/apis/<group>/<v>`)
//! needs no rule: the default `system:discovery` role grants it to every authenticated user.

use super::kinds::Kind;
use crate::api::crd::GROUP;

/// Reflectors list and watch; the MCPGroup finalizer is added and removed with a JSON patch;
/// statuses are server-side applied (`patch`); events are created, and patched when repeated.
pub const USED: &[(&str, &str, &[&str])] = &[
    (GROUP, "mcpgroups", &["list", "watch", "patch"]),
    (GROUP, "mcpgroups/status", &["patch"]),
    (GROUP, "mcpserverentries", &["list", "watch"]),
    (GROUP, "mcpserverentries/status", &["patch"]),
    (GROUP, "mcpservers", &["list", "watch"]),
    (GROUP, "mcpservers/status", &["patch"]),
    (GROUP, "mcpremoteproxies", &["list", "watch"]),
    (GROUP, "mcpremoteproxies/status", &["patch"]),
    (GROUP, "mcpexternalauthconfigs", &["list", "watch"]),
    ("", "configmaps", &["list", "watch"]),
    ("", "secrets", &["list", "watch"]),
    ("events.k8s.io", "events", &["create", "patch"]),
];

/// The resources the caches watch, one per cached kind.
pub fn watched() -> impl Iterator<Item = (&'static str, &'static str)> {
    [Kind::MCPGroup, Kind::MCPServerEntry, Kind::ConfigMap, Kind::Secret]
        .into_iter()
        .chain(Kind::FOREIGN)
        .map(|k| (k.api_group(), k.plural()))
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

    #[test]
    fn every_watched_kind_is_in_the_table() {
        for (group, plural) in watched() {
            let listed = USED.iter().any(|(g, r, verbs)| *g == group && *r == plural && verbs.contains(&"watch"));
            assert!(listed, "{group}/{plural} is watched but not in USED");
        }
    }
}
