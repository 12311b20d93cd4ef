//! `config.yaml` of the vMCP runtime, rendered from the spec and the resolved references.
//!
//! It starts from `spec.config` (so settings this operator does not interpret pass through) and
//! fills in or replaces what the operator decides: name, group, incoming and outgoing auth,
//! aggregation with its defaults, composite tools (inline and referenced), operational defaults,
//! passthrough headers, session storage and telemetry. Maps are written with sorted keys, so the
//! same inputs always give the same text (and the same checksum).

use serde_json::{Map, Value, json};

use crate::admission::virtualmcpserver::DEFAULT_CONFLICT_RESOLUTION;
use crate::api::v1beta1::VirtualMCPServer;
use crate::api::v1beta1::virtualmcpserver::SESSION_REDIS;
use crate::controllers::virtualmcpserver::resolve::Resolved;

pub const DEFAULT_PREFIX_FORMAT: &str = "{workload}_";
pub const CONFIG_KEY: &str = "config.yaml";

/// The runtime configuration as JSON, keys sorted.
pub fn render(vmcp: &VirtualMCPServer, resolved: &Resolved) -> Value {
    let spec = &vmcp.spec;
    let mut config = match serde_json::to_value(spec.config.clone().unwrap_or_default()) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    config.insert("name".into(), json!(vmcp.metadata.name.as_deref().unwrap_or_default()));
    match spec.group_ref.as_ref() {
        Some(group) => config.insert("groupRef".into(), json!(group.name)),
        None => config.remove("groupRef"),
    };
    config.insert("incomingAuth".into(), resolved.incoming.clone());
    config.insert("outgoingAuth".into(), resolved.outgoing.clone());
    config.insert("aggregation".into(), aggregation(config.get("aggregation"), resolved));
    composite_tools(&mut config, resolved);
    config.insert("operational".into(), operational(config.get("operational")));
    if let Some(headers) = spec.passthrough_headers.as_ref().filter(|h| !h.is_empty()) {
        config.insert("passthroughHeaders".into(), json!(headers));
    }
    match spec.session_storage.as_ref().filter(|s| s.provider.as_deref() == Some(SESSION_REDIS)) {
        Some(storage) => {
            let mut rendered = Map::new();
            rendered.insert("provider".into(), json!(SESSION_REDIS));
            rendered.insert("address".into(), json!(storage.address.as_deref().unwrap_or_default()));
            rendered.insert("db".into(), json!(storage.db.unwrap_or(0)));
            if let Some(prefix) = storage.key_prefix.as_ref().filter(|p| !p.is_empty()) {
                rendered.insert("keyPrefix".into(), json!(prefix));
            }
            config.insert("sessionStorage".into(), Value::Object(rendered));
        }
        None => {
            config.remove("sessionStorage");
        }
    }
    if let Some(telemetry) = resolved.telemetry.as_ref() {
        config.insert("telemetry".into(), telemetry.clone());
    }
    audit(&mut config, vmcp.metadata.name.as_deref().unwrap_or_default());
    sorted(Value::Object(config))
}

/// The rendered configuration as YAML.
pub fn to_yaml(config: &Value) -> String {
    serde_norway::to_string(config).unwrap_or_default()
}

fn aggregation(given: Option<&Value>, resolved: &Resolved) -> Value {
    let mut aggregation = given.and_then(Value::as_object).cloned().unwrap_or_default();
    let strategy = aggregation
        .get("conflictResolution")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or(DEFAULT_CONFLICT_RESOLUTION)
        .to_string();
    aggregation.insert("conflictResolution".into(), json!(strategy));
    let settings = aggregation.entry("conflictResolutionConfig").or_insert_with(|| json!({}));
    if strategy == DEFAULT_CONFLICT_RESOLUTION
        && let Some(settings) = settings.as_object_mut()
    {
        let empty = settings.get("prefixFormat").and_then(Value::as_str).is_none_or(str::is_empty);
        if empty {
            settings.insert("prefixFormat".into(), json!(DEFAULT_PREFIX_FORMAT));
        }
    }
    if let Some(Value::Array(tools)) = aggregation.get_mut("tools") {
        for tool in tools.iter_mut() {
            apply_tool_config(tool, resolved);
        }
    }
    Value::Object(aggregation)
}

/// Fills a workload's filter and overrides from its MCPToolConfig; inline values win.
fn apply_tool_config(tool: &mut Value, resolved: &Resolved) {
    let Some(object) = tool.as_object_mut() else { return };
    let Some(reference) = object.remove("toolConfigRef") else { return };
    let Some(spec) = reference["name"].as_str().and_then(|n| resolved.tool_configs.get(n)) else { return };
    if let Some(filter) = spec.get("toolsFilter").filter(|f| !f.is_null()) {
        object.entry("filter").or_insert_with(|| filter.clone());
    }
    if let Some(Value::Object(overrides)) = spec.get("toolsOverride") {
        let target = object.entry("overrides").or_insert_with(|| json!({}));
        if let Some(target) = target.as_object_mut() {
            for (tool_name, value) in overrides {
                target.entry(tool_name.clone()).or_insert_with(|| value.clone());
            }
        }
    }
}

fn composite_tools(config: &mut Map<String, Value>, resolved: &Resolved) {
    config.remove("compositeToolRefs");
    let mut tools: Vec<Value> = config.remove("compositeTools").and_then(|t| t.as_array().cloned()).unwrap_or_default();
    tools.extend(resolved.composite_tools.iter().cloned());
    if !tools.is_empty() {
        config.insert("compositeTools".into(), Value::Array(tools));
    }
}

/// The runtime's operational settings with every default filled in.
fn operational(given: Option<&Value>) -> Value {
    let mut operational = given.cloned().unwrap_or_else(|| json!({}));
    let defaults = json!({
        "timeouts": { "default": "30s" },
        "failureHandling": {
            "healthCheckInterval": "30s",
            "healthCheckTimeout": "10s",
            "unhealthyThreshold": 3,
            "partialFailureMode": "fail",
            "statusReportingInterval": "30s",
            "circuitBreaker": { "enabled": false, "failureThreshold": 5, "timeout": "60s" }
        }
    });
    fill(&mut operational, &defaults);
    operational
}

/// Sets every field of `defaults` that `value` lacks (or holds empty).
fn fill(value: &mut Value, defaults: &Value) {
    let (Value::Object(target), Value::Object(defaults)) = (value, defaults) else { return };
    for (key, default) in defaults {
        match target.get_mut(key) {
            Some(existing) if existing.is_object() => fill(existing, default),
            Some(existing) if !existing.is_null() && *existing != json!("") => {}
            _ => {
                target.insert(key.clone(), default.clone());
            }
        }
    }
}

/// Audit settings pass through only when enabled; the component defaults to the server's name.
fn audit(config: &mut Map<String, Value>, name: &str) {
    let enabled = config.get("audit").is_some_and(|a| a["enabled"] == true);
    if !enabled {
        config.remove("audit");
        return;
    }
    if let Some(Value::Object(audit)) = config.get_mut("audit") {
        let missing = audit.get("component").and_then(Value::as_str).is_none_or(str::is_empty);
        if missing {
            audit.insert("component".into(), json!(name));
        }
    }
}

/// `value` with every object's keys in sorted order (independent of the map type in use).
pub fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}
