//! The objects a VirtualMCPServer references, looked up in the caches and turned into the runtime's
//! terms: incoming auth (MCPOIDCConfig, MCPAuthzConfig, an authorization ConfigMap), outgoing auth
//! (MCPExternalAuthConfigs), telemetry (MCPTelemetryConfig), tool configs (MCPToolConfig) and
//! composite tool definitions. Secrets only ever become environment variable names.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::api::v1beta1::VirtualMCPServer;
use crate::api::v1beta1::virtualmcpserver::{
    BACKEND_EXTERNAL_AUTH_CONFIG_REF, BackendAuth, INCOMING_ANONYMOUS, INCOMING_KUBERNETES, INCOMING_OIDC,
    KUBERNETES_DEFAULT_ISSUER, SOURCE_DISCOVERED,
};
use crate::controllers::cache::Caches;
use crate::controllers::children::env_part;
use crate::controllers::kinds::Kind;

/// The service-account CA every pod has.
pub const SERVICE_ACCOUNT_CA: &str = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
/// The pod's own service-account token, used to fetch the cluster's JWKS.
pub const SERVICE_ACCOUNT_TOKEN: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";
/// Environment variable holding the MCPOIDCConfig's client secret.
pub const OIDC_CLIENT_SECRET_ENV: &str = "VMCP_OIDC_CLIENT_SECRET";
/// Where ConfigMaps with CA bundles are mounted: `<dir>/<configmap>/<key>`.
pub const CA_BUNDLE_DIR: &str = "/etc/toolhive/ca-bundles";

/// An environment variable whose value comes from a Secret key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SecretEnv {
    pub env: String,
    pub secret: String,
    pub key: String,
}

/// A ConfigMap mounted for its CA bundle.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CaBundle {
    pub config_map: String,
    pub optional: bool,
}

/// The referenced objects, resolved; problems are collected, never short-circuited.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Resolved {
    /// `incomingAuth` as the runtime reads it.
    pub incoming: Value,
    /// `outgoingAuth` as the runtime reads it.
    pub outgoing: Value,
    /// `telemetry` from the MCPTelemetryConfig, if referenced and found.
    pub telemetry: Option<Value>,
    /// Specs of referenced MCPToolConfigs by name.
    pub tool_configs: BTreeMap<String, Value>,
    /// Specs of referenced composite tool definitions, in reference order.
    pub composite_tools: Vec<Value>,
    pub secret_env: Vec<SecretEnv>,
    pub ca_bundles: Vec<CaBundle>,
    /// Problems of incoming or outgoing auth (`AuthConfigured`).
    pub auth_problems: Vec<String>,
    /// Missing telemetry, tool config or composite tool references.
    pub ref_problems: Vec<String>,
    /// Whether any reference to other config objects is set (`ConfigRefsValidated` shown).
    pub has_config_refs: bool,
}

/// What the caches cannot answer: the content of an authorization ConfigMap (read with `get`).
#[derive(Clone, Debug, Default, PartialEq)]
pub enum AuthzConfigMap {
    #[default]
    NotNeeded,
    Missing,
    Found(BTreeMap<String, String>),
}

pub fn resolve(vmcp: &VirtualMCPServer, namespace: &str, caches: &Caches, authz_cm: &AuthzConfigMap) -> Resolved {
    let mut out = Resolved::default();
    out.incoming = incoming(vmcp, namespace, caches, authz_cm, &mut out);
    out.outgoing = outgoing(vmcp, namespace, caches, &mut out);
    telemetry(vmcp, namespace, caches, &mut out);
    tool_configs(vmcp, namespace, caches, &mut out);
    composite_tools(vmcp, namespace, caches, &mut out);
    out.secret_env.sort();
    out.secret_env.dedup();
    out.ca_bundles.sort();
    out.ca_bundles.dedup_by(|a, b| a.config_map == b.config_map);
    out
}

fn spec_of(caches: &Caches, kind: Kind, namespace: &str, name: &str) -> Option<Value> {
    caches.foreign_object(kind, namespace, name).map(|o| o.data.get("spec").cloned().unwrap_or(json!({})))
}

fn not_found(kind: Kind, name: &str, namespace: &str, caches: &Caches) -> String {
    if caches.foreign(kind).is_none() {
        format!("{kind} {name:?} not found: the {kind} CRD is not installed")
    } else {
        format!("{kind} {name:?} not found in namespace {namespace:?}")
    }
}

fn incoming(
    vmcp: &VirtualMCPServer,
    namespace: &str,
    caches: &Caches,
    authz_cm: &AuthzConfigMap,
    out: &mut Resolved,
) -> Value {
    let Some(auth) = vmcp.spec.incoming_auth.as_ref() else {
        out.auth_problems.push("spec.incomingAuth is not set".into());
        return json!({ "type": INCOMING_ANONYMOUS });
    };
    let kind = auth.type_.as_deref().unwrap_or_default();
    let mut rendered = Map::new();
    match kind {
        INCOMING_ANONYMOUS => {
            rendered.insert("type".into(), json!(INCOMING_ANONYMOUS));
        }
        INCOMING_KUBERNETES => {
            let k8s = auth.kubernetes.clone().unwrap_or_default();
            let issuer = k8s.issuer.filter(|i| !i.is_empty()).unwrap_or_else(|| KUBERNETES_DEFAULT_ISSUER.into());
            let audience = k8s.audience.filter(|a| !a.is_empty()).unwrap_or_else(|| issuer.clone());
            rendered.insert("type".into(), json!(INCOMING_OIDC));
            rendered.insert(
                "oidc".into(),
                json!({
                    "audience": audience,
                    "caBundlePath": SERVICE_ACCOUNT_CA,
                    "clientId": audience,
                    "issuer": issuer,
                    "jwksAllowPrivateIp": true,
                    "jwksAuthTokenPath": SERVICE_ACCOUNT_TOKEN,
                }),
            );
        }
        INCOMING_OIDC => {
            rendered.insert("type".into(), json!(INCOMING_OIDC));
            if let Some(oidc) = oidc(vmcp, namespace, caches, out) {
                rendered.insert("oidc".into(), oidc);
            }
        }
        other => out.auth_problems.push(format!("spec.incomingAuth.type {other:?} is not supported")),
    }
    if let Some(authz) = authz(vmcp, namespace, caches, authz_cm, out) {
        rendered.insert("authz".into(), authz);
    }
    Value::Object(rendered)
}

fn oidc(vmcp: &VirtualMCPServer, namespace: &str, caches: &Caches, out: &mut Resolved) -> Option<Value> {
    let auth = vmcp.spec.incoming_auth.as_ref()?;
    let Some(reference) = auth.oidc_config_ref.as_ref() else {
        out.auth_problems.push("type oidc needs spec.incomingAuth.oidcConfigRef".into());
        return None;
    };
    let name = reference.name.as_deref().unwrap_or_default();
    let Some(spec) = spec_of(caches, Kind::MCPOIDCConfig, namespace, name) else {
        out.auth_problems.push(not_found(Kind::MCPOIDCConfig, name, namespace, caches));
        return None;
    };
    let mut oidc = Map::new();
    let copy = |from: &Value, to: &mut Map<String, Value>, src: &str, dst: &str| {
        if let Some(v) = from.get(src).filter(|v| !v.is_null() && *v != "" && **v != Value::Bool(false)) {
            to.insert(dst.into(), v.clone());
        }
    };
    match spec["type"].as_str().unwrap_or_default() {
        "kubernetesServiceAccount" => {
            let sa = &spec["kubernetesServiceAccount"];
            let issuer = sa["issuer"].as_str().filter(|i| !i.is_empty()).unwrap_or(KUBERNETES_DEFAULT_ISSUER);
            oidc.insert("issuer".into(), json!(issuer));
            oidc.insert("caBundlePath".into(), json!(SERVICE_ACCOUNT_CA));
            oidc.insert("jwksAllowPrivateIp".into(), json!(true));
            oidc.insert("jwksAuthTokenPath".into(), json!(SERVICE_ACCOUNT_TOKEN));
            copy(sa, &mut oidc, "jwksUrl", "jwksUrl");
            copy(sa, &mut oidc, "introspectionUrl", "introspectionUrl");
        }
        "inline" => {
            let inline = &spec["inline"];
            for (src, dst) in [
                ("issuer", "issuer"),
                ("clientId", "clientId"),
                ("jwksUrl", "jwksUrl"),
                ("introspectionUrl", "introspectionUrl"),
                ("insecureAllowHTTP", "insecureAllowHttp"),
                ("jwksAllowPrivateIP", "jwksAllowPrivateIp"),
                ("protectedResourceAllowPrivateIP", "protectedResourceAllowPrivateIp"),
                ("jwksAuthTokenPath", "jwksAuthTokenPath"),
            ] {
                copy(inline, &mut oidc, src, dst);
            }
            if let (Some(secret), Some(key)) =
                (inline["clientSecretRef"]["name"].as_str(), inline["clientSecretRef"]["key"].as_str())
            {
                oidc.insert("clientSecretEnv".into(), json!(OIDC_CLIENT_SECRET_ENV));
                out.secret_env.push(SecretEnv {
                    env: OIDC_CLIENT_SECRET_ENV.into(),
                    secret: secret.into(),
                    key: key.into(),
                });
            }
            if let Some(cm) = inline["caBundleRef"]["configMapRef"]["name"].as_str().filter(|n| !n.is_empty()) {
                let key =
                    inline["caBundleRef"]["configMapRef"]["key"].as_str().filter(|k| !k.is_empty()).unwrap_or("ca.crt");
                oidc.insert("caBundlePath".into(), json!(format!("{CA_BUNDLE_DIR}/{cm}/{key}")));
                let optional = inline["caBundleRef"]["configMapRef"]["optional"] == true;
                out.ca_bundles.push(CaBundle { config_map: cm.into(), optional });
            }
        }
        other => {
            out.auth_problems.push(format!("MCPOIDCConfig {name:?} has unsupported type {other:?}"));
            return None;
        }
    }
    if let Some(audience) = reference.audience.as_ref().filter(|a| !a.is_empty()) {
        oidc.insert("audience".into(), json!(audience));
        oidc.entry("clientId").or_insert_with(|| json!(audience));
    }
    if let Some(resource) = reference.resource_url.as_ref().filter(|r| !r.is_empty()) {
        oidc.insert("resource".into(), json!(resource));
    }
    if let Some(scopes) = reference.scopes.as_ref().filter(|s| !s.is_empty()) {
        oidc.insert("scopes".into(), json!(scopes));
    }
    Some(Value::Object(oidc))
}

/// `authz` of the runtime: Cedar policies, inline, from a ConfigMap or from an MCPAuthzConfig.
fn authz(
    vmcp: &VirtualMCPServer,
    namespace: &str,
    caches: &Caches,
    authz_cm: &AuthzConfigMap,
    out: &mut Resolved,
) -> Option<Value> {
    let auth = vmcp.spec.incoming_auth.as_ref()?;
    let mut cedar = Map::new();
    cedar.insert("type".into(), json!("cedar"));
    if let Some(reference) = auth.authz_config_ref.as_ref() {
        let name = reference.name.as_deref().unwrap_or_default();
        let Some(spec) = spec_of(caches, Kind::MCPAuthzConfig, namespace, name) else {
            out.auth_problems.push(not_found(Kind::MCPAuthzConfig, name, namespace, caches));
            return None;
        };
        if spec["type"] != "cedarv1" {
            out.auth_problems.push(format!(
                "MCPAuthzConfig {name:?} has type {}; a VirtualMCPServer supports only cedarv1",
                spec["type"]
            ));
            return None;
        }
        cedar_options(&spec["config"], &mut cedar);
    } else if let Some(config) = auth.authz_config.as_ref() {
        match config.type_.as_deref().unwrap_or("configMap") {
            "inline" => {
                let inline = config.inline.clone().unwrap_or_default();
                cedar.insert("policies".into(), json!(inline.policies.unwrap_or_default()));
                if let Some(entities) = inline.entities_json.filter(|e| !e.is_empty()) {
                    cedar.insert("entitiesJson".into(), json!(entities));
                }
                if let Some(provider) = inline.primary_upstream_provider.filter(|p| !p.is_empty()) {
                    cedar.insert("primaryUpstreamProvider".into(), json!(provider));
                }
            }
            _ => {
                let cm = config.config_map.clone().unwrap_or_default();
                let name = cm.name.unwrap_or_default();
                let key = cm.key.filter(|k| !k.is_empty()).unwrap_or_else(|| "authz.json".into());
                let data = match authz_cm {
                    AuthzConfigMap::Found(data) => data,
                    _ => {
                        out.auth_problems
                            .push(format!("authorization ConfigMap {name:?} not found in namespace {namespace:?}"));
                        return None;
                    }
                };
                let Some(text) = data.get(&key) else {
                    out.auth_problems.push(format!("authorization ConfigMap {name:?} has no key {key:?}"));
                    return None;
                };
                let Ok(document) = serde_norway::from_str::<Value>(text) else {
                    out.auth_problems.push(format!("key {key:?} of ConfigMap {name:?} is not JSON or YAML"));
                    return None;
                };
                cedar_options(document.get("cedar").unwrap_or(&document), &mut cedar);
            }
        }
        for (field, value) in [
            ("groupClaimName", &config.group_claim_name),
            ("roleClaimName", &config.role_claim_name),
            ("groupEntityType", &config.group_entity_type),
        ] {
            if let Some(value) = value.as_ref().filter(|v| !v.is_empty()) {
                cedar.insert(field.into(), json!(value));
            }
        }
    } else {
        return None;
    }
    Some(Value::Object(cedar))
}

/// Cedar options in the toolhive authorization file format (`snake_case`) or camelCase.
fn cedar_options(config: &Value, cedar: &mut Map<String, Value>) {
    for (snake, camel) in [
        ("policies", "policies"),
        ("entities_json", "entitiesJson"),
        ("group_claim_name", "groupClaimName"),
        ("role_claim_name", "roleClaimName"),
        ("group_entity_type", "groupEntityType"),
    ] {
        if let Some(value) = config.get(snake).or_else(|| config.get(camel)).filter(|v| !v.is_null()) {
            cedar.insert(camel.into(), value.clone());
        }
    }
    cedar.entry("policies").or_insert_with(|| json!([]));
}

fn outgoing(vmcp: &VirtualMCPServer, namespace: &str, caches: &Caches, out: &mut Resolved) -> Value {
    let Some(auth) = vmcp.spec.outgoing_auth.as_ref() else {
        return json!({ "source": SOURCE_DISCOVERED });
    };
    let mut rendered = Map::new();
    rendered.insert("source".into(), json!(auth.source.as_deref().unwrap_or(SOURCE_DISCOVERED)));
    if let Some(default) = auth.default.as_ref()
        && let Some(strategy) = backend_strategy("default", default, namespace, caches, out)
    {
        rendered.insert("default".into(), strategy);
    }
    let mut backends = Map::new();
    for (backend, config) in auth.backends.iter().flatten() {
        if let Some(strategy) = backend_strategy(backend, config, namespace, caches, out) {
            backends.insert(backend.clone(), strategy);
        }
    }
    if !backends.is_empty() {
        rendered.insert("backends".into(), Value::Object(backends));
    }
    Value::Object(rendered)
}

fn backend_strategy(
    backend: &str,
    config: &BackendAuth,
    namespace: &str,
    caches: &Caches,
    out: &mut Resolved,
) -> Option<Value> {
    if config.type_.as_deref() != Some(BACKEND_EXTERNAL_AUTH_CONFIG_REF) {
        return Some(json!({ "type": "unauthenticated" }));
    }
    let name = config.external_auth_config_ref.as_ref().map(|r| r.name.as_str()).unwrap_or_default();
    let Some(spec) = spec_of(caches, Kind::MCPExternalAuthConfig, namespace, name) else {
        out.auth_problems
            .push(format!("backend {backend:?}: {}", not_found(Kind::MCPExternalAuthConfig, name, namespace, caches)));
        return None;
    };
    let suffix = env_part(name);
    match spec["type"].as_str().unwrap_or_default() {
        "unauthenticated" => Some(json!({ "type": "unauthenticated" })),
        "tokenExchange" => {
            let source = &spec["tokenExchange"];
            let mut exchange = Map::new();
            for field in ["tokenUrl", "clientId", "audience", "scopes", "subjectTokenType"] {
                if let Some(v) = source.get(field).filter(|v| !v.is_null()) {
                    exchange.insert(field.into(), v.clone());
                }
            }
            if let Some((secret, key)) = secret_ref(&source["clientSecretRef"]) {
                let env = format!("TOOLHIVE_TOKEN_EXCHANGE_CLIENT_SECRET_{suffix}");
                exchange.insert("clientSecretEnv".into(), json!(env));
                out.secret_env.push(SecretEnv { env, secret, key });
            }
            Some(json!({ "type": "token_exchange", "tokenExchange": exchange }))
        }
        "headerInjection" => {
            let source = &spec["headerInjection"];
            let mut injection = Map::new();
            injection.insert("headerName".into(), source["headerName"].clone());
            if let Some((secret, key)) = secret_ref(&source["valueSecretRef"]) {
                let env = format!("TOOLHIVE_HEADER_INJECTION_VALUE_{suffix}");
                injection.insert("headerValueEnv".into(), json!(env));
                out.secret_env.push(SecretEnv { env, secret, key });
            }
            Some(json!({ "type": "header_injection", "headerInjection": injection }))
        }
        other => {
            out.auth_problems.push(format!(
                "backend {backend:?}: MCPExternalAuthConfig {name:?} has type {other:?}, which a VirtualMCPServer cannot use inline"
            ));
            None
        }
    }
}

fn secret_ref(value: &Value) -> Option<(String, String)> {
    Some((value["name"].as_str()?.to_string(), value["key"].as_str()?.to_string()))
}

fn telemetry(vmcp: &VirtualMCPServer, namespace: &str, caches: &Caches, out: &mut Resolved) {
    let Some(reference) = vmcp.spec.telemetry_config_ref.as_ref() else { return };
    out.has_config_refs = true;
    let name = reference.name.as_deref().unwrap_or_default();
    let Some(spec) = spec_of(caches, Kind::MCPTelemetryConfig, namespace, name) else {
        out.ref_problems.push(not_found(Kind::MCPTelemetryConfig, name, namespace, caches));
        return;
    };
    let otel = &spec["openTelemetry"];
    let service_name = reference
        .service_name
        .clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| format!("thv-{}", vmcp.metadata.name.as_deref().unwrap_or_default()));
    let mut rendered = Map::new();
    rendered.insert("serviceName".into(), json!(service_name));
    let enabled = otel["enabled"] == true;
    if enabled {
        for (src, dst) in [("endpoint", "endpoint"), ("insecure", "insecure"), ("headers", "headers")] {
            if let Some(v) = otel.get(src).filter(|v| !v.is_null()) {
                rendered.insert(dst.into(), v.clone());
            }
        }
        if let Some(v) = otel.get("resourceAttributes").filter(|v| !v.is_null()) {
            rendered.insert("customAttributes".into(), v.clone());
        }
        if let Some(v) = otel.get("useLegacyAttributes").filter(|v| !v.is_null()) {
            rendered.insert("useLegacyAttributes".into(), v.clone());
        }
        rendered.insert("tracingEnabled".into(), json!(otel["tracing"]["enabled"] == true));
        if let Some(rate) = otel["tracing"].get("samplingRate").filter(|v| !v.is_null()) {
            rendered.insert("samplingRate".into(), rate.clone());
        }
        rendered.insert("metricsEnabled".into(), json!(otel["metrics"]["enabled"] == true));
    }
    rendered.insert("enablePrometheusMetricsPath".into(), json!(spec["prometheus"]["enabled"] == true));
    out.telemetry = Some(Value::Object(rendered));
}

fn tool_configs(vmcp: &VirtualMCPServer, namespace: &str, caches: &Caches, out: &mut Resolved) {
    let tools = vmcp.spec.config.as_ref().and_then(|c| c.aggregation.as_ref()).and_then(|a| a.tools.as_ref());
    for reference in tools.into_iter().flatten().filter_map(|t| t.tool_config_ref.as_ref()) {
        out.has_config_refs = true;
        let name = reference.name.as_deref().unwrap_or_default();
        match spec_of(caches, Kind::MCPToolConfig, namespace, name) {
            Some(spec) => {
                out.tool_configs.insert(name.to_string(), spec);
            }
            None => out.ref_problems.push(not_found(Kind::MCPToolConfig, name, namespace, caches)),
        }
    }
}

fn composite_tools(vmcp: &VirtualMCPServer, namespace: &str, caches: &Caches, out: &mut Resolved) {
    let refs = vmcp.spec.config.as_ref().and_then(|c| c.composite_tool_refs.as_ref());
    for reference in refs.into_iter().flatten() {
        out.has_config_refs = true;
        let name = reference.name.as_deref().unwrap_or_default();
        match spec_of(caches, Kind::VirtualMCPCompositeToolDefinition, namespace, name) {
            Some(spec) => out.composite_tools.push(spec),
            None => out.ref_problems.push(not_found(Kind::VirtualMCPCompositeToolDefinition, name, namespace, caches)),
        }
    }
}
