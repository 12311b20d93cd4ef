//! ServiceAccount, Role and RoleBinding `<name>-vmcp` for the runtime: it reads the group and its
//! members (and, when backends are discovered, their auth configs, ConfigMaps and Secrets), reads
//! its own VirtualMCPServer and writes its status.

use k8s_openapi::api::rbac::v1::PolicyRule;
use serde_json::{Value, json};

use super::{Inputs, label_pairs, rbac_name, selector_labels};
use crate::api::crd::GROUP;
use crate::api::v1beta1::virtualmcpserver::SOURCE_DISCOVERED;
use crate::controllers::children::{Child, metadata};

const READ: [&str; 3] = ["get", "list", "watch"];

fn rule(groups: &[&str], resources: &[&str], verbs: &[&str], names: Option<&str>) -> PolicyRule {
    PolicyRule {
        api_groups: Some(groups.iter().map(|g| g.to_string()).collect()),
        resources: Some(resources.iter().map(|r| r.to_string()).collect()),
        verbs: verbs.iter().map(|v| v.to_string()).collect(),
        resource_names: names.map(|n| vec![n.to_string()]),
        non_resource_urls: None,
    }
}

/// The Role's rules for the VirtualMCPServer `name` (the widest form: discovered backends).
pub fn role_rules(name: &str) -> Vec<PolicyRule> {
    rules(name, true)
}

fn rules(name: &str, discovered: bool) -> Vec<PolicyRule> {
    let mut rules = vec![rule(
        &[GROUP],
        &[
            "mcpexternalauthconfigs",
            "mcpgroups",
            "mcpremoteproxies",
            "mcpserverentries",
            "mcpservers",
            "mcptoolconfigs",
        ],
        &READ,
        None,
    )];
    if discovered {
        rules.push(rule(&[""], &["configmaps", "secrets"], &READ, None));
    }
    rules.push(rule(&[GROUP], &["virtualmcpservers"], &["get"], Some(name)));
    rules.push(rule(&[GROUP], &["virtualmcpservers/status"], &["patch", "update"], Some(name)));
    rules
}

fn discovered(inputs: &Inputs) -> bool {
    let source = inputs.vmcp.spec.outgoing_auth.as_ref().and_then(|o| o.source.as_deref());
    source.is_none_or(|s| s == SOURCE_DISCOVERED)
}

/// ServiceAccount, Role, RoleBinding. `pull_secrets`: the names to set on the ServiceAccount.
pub fn render(inputs: &Inputs, pull_secrets: &[String]) -> [Child; 3] {
    let name = rbac_name(inputs.name);
    let labels = selector_labels(inputs.name);
    let meta = || metadata(&name, inputs.namespace, &label_pairs(&labels), &[], &inputs.owner);
    let mut account = json!({ "apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta() });
    if !pull_secrets.is_empty() {
        let list: Vec<Value> = pull_secrets.iter().map(|s| json!({ "name": s })).collect();
        account["imagePullSecrets"] = Value::Array(list);
    }
    let role = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": meta(),
        "rules": rules(inputs.name, discovered(inputs)),
    });
    let binding = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": meta(),
        "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name },
        "subjects": [{ "kind": "ServiceAccount", "name": name, "namespace": inputs.namespace }],
    });
    [
        Child { kind: "ServiceAccount", name: name.clone(), body: account },
        Child { kind: "Role", name: name.clone(), body: role },
        Child { kind: "RoleBinding", name, body: binding },
    ]
}
