//! The Service `vmcp-<name>` in front of the pods.

use serde_json::json;

use super::{Inputs, PORT, PORT_NAME, label_pairs, selector_labels, service_name};
use crate::admission::virtualmcpserver::{DEFAULT_SERVICE_TYPE, DEFAULT_SESSION_AFFINITY};
use crate::controllers::children::{Child, metadata};

pub fn render(inputs: &Inputs) -> Child {
    let name = service_name(inputs.name);
    let labels = selector_labels(inputs.name);
    let selector: serde_json::Map<String, serde_json::Value> =
        labels.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
    let spec = &inputs.vmcp.spec;
    let body = json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(&name, inputs.namespace, &label_pairs(&labels), &[], &inputs.owner),
        "spec": {
            "type": spec.service_type.as_deref().filter(|t| !t.is_empty()).unwrap_or(DEFAULT_SERVICE_TYPE),
            "sessionAffinity": spec.session_affinity.as_deref().filter(|a| !a.is_empty()).unwrap_or(DEFAULT_SESSION_AFFINITY),
            "selector": selector,
            "ports": [{ "name": PORT_NAME, "port": PORT, "protocol": "TCP", "targetPort": PORT }],
        }
    });
    Child { kind: "Service", name, body }
}
