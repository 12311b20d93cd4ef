//! Client authentication (`spec.incomingAuth`), backend authentication (`spec.outgoingAuth`) and
//! the Secret references of the embedded authorization server.

use crate::admission::Context;
use crate::admission::finding::{Finding, Findings, Reason};
use crate::admission::path::{field, index, key};
use crate::admission::refs::{REF_NAME, check_key};
use crate::api::v1alpha1::virtualmcpserver::{
    BACKEND_EXTERNAL_AUTH_CONFIG_REF_LEGACY, BACKEND_PASS_THROUGH, BACKEND_SERVICE_ACCOUNT, INCOMING_LOCAL,
    SOURCE_MIXED,
};
use crate::api::v1beta1::VirtualMCPServerSpec;
use crate::api::v1beta1::virtualmcpserver::{
    AUTHZ_EXCLUSIVE_RULE, AuthServerConfig, BACKEND_DISCOVERED, BACKEND_EXTERNAL_AUTH_CONFIG_REF, BackendAuth,
    INCOMING_ANONYMOUS, INCOMING_KUBERNETES, INCOMING_OIDC, IncomingAuth, OIDC_NEEDS_REF_RULE, SOURCE_DISCOVERED,
    SOURCE_INLINE,
};

use super::legacy::ConversionRecord;
use super::{check_reference, check_secret_ref, missing, raw_has};

const INCOMING: &str = "spec.incomingAuth";
const OUTGOING: &str = "spec.outgoingAuth";
const MIGRATE_OIDC: &str = "create an MCPOIDCConfig and reference it with oidcConfigRef";

pub(super) fn check_incoming(spec: &VirtualMCPServerSpec, ctx: &Context, out: &mut Findings) {
    let type_path = field(INCOMING, "type");
    let Some(incoming) = &spec.incoming_auth else {
        out.deny(
            "vmcp.incoming.required",
            INCOMING,
            Reason::Required,
            "incomingAuth is required; choose its type (anonymous, oidc or kubernetes) explicitly",
        );
        return;
    };
    let record = ConversionRecord::from_annotations(ctx.annotations);
    let anonymous_only = IncomingAuth { type_: Some(INCOMING_ANONYMOUS.into()), ..IncomingAuth::default() };
    if record.was_absent(INCOMING) && *incoming == anonymous_only {
        out.warn(
            "vmcp.incoming.defaulted",
            INCOMING,
            "the object came through v1alpha1 without incomingAuth and is treated as type anonymous; set spec.incomingAuth explicitly",
        );
    }
    match incoming.type_.as_deref().unwrap_or_default() {
        "" => out.push(missing(
            "vmcp.incoming.required",
            &type_path,
            INCOMING,
            "incomingAuth.type is required: anonymous, oidc or kubernetes",
        )),
        INCOMING_ANONYMOUS => out.warn(
            "vmcp.incoming.anonymous",
            &type_path,
            "anyone who can reach the service can call every tool; use only for development",
        ),
        INCOMING_OIDC if incoming.oidc_config_ref.is_none() => out.push(
            Finding::deny(
                "vmcp.incoming.oidc",
                field(INCOMING, "oidcConfigRef"),
                Reason::Required,
                OIDC_NEEDS_REF_RULE.message,
            )
            .spanning([type_path.clone()]),
        ),
        INCOMING_OIDC => {}
        INCOMING_KUBERNETES => {
            if incoming.kubernetes.as_ref().and_then(|k| k.audience.as_deref()).is_none_or(str::is_empty) {
                out.warn(
                    "vmcp.incoming.kubernetes",
                    field(INCOMING, "kubernetes.audience"),
                    "no audience is set, so tokens minted for the API server are accepted; set a dedicated audience",
                );
            }
        }
        INCOMING_LOCAL => out.deny(
            "vmcp.incoming.removed",
            &type_path,
            Reason::Invalid,
            format!("type local was removed in v1beta1; {MIGRATE_OIDC}"),
        ),
        other => out.deny(
            "vmcp.incoming.required",
            &type_path,
            Reason::Invalid,
            format!("unsupported type {other:?}; use anonymous, oidc or kubernetes"),
        ),
    }
    let inline_oidc = field(INCOMING, "oidcConfig");
    if raw_has(ctx, &inline_oidc) {
        out.deny(
            "vmcp.incoming.removed",
            inline_oidc,
            Reason::Invalid,
            format!("inline oidcConfig was removed in v1beta1; {MIGRATE_OIDC}"),
        );
    }
    check_incoming_refs(incoming, ctx, out);
}

fn check_incoming_refs(incoming: &IncomingAuth, ctx: &Context, out: &mut Findings) {
    if let Some(oidc) = &incoming.oidc_config_ref {
        let path = field(INCOMING, "oidcConfigRef");
        let (name, namespace) = (oidc.name.as_deref(), oidc.namespace.as_deref());
        check_reference(name, namespace, &path, "MCPOIDCConfig", "vmcp.incoming.oidc", ctx, out);
        if oidc.audience.as_deref().is_none_or(str::is_empty) {
            out.push(missing(
                "vmcp.incoming.oidc",
                field(&path, "audience"),
                &path,
                "audience is required; give every server its own so tokens cannot be replayed against another",
            ));
        }
    }
    let authz_ref_path = field(INCOMING, "authzConfigRef");
    if let Some(authz) = &incoming.authz_config_ref {
        let (name, namespace) = (authz.name.as_deref(), authz.namespace.as_deref());
        check_reference(name, namespace, &authz_ref_path, "MCPAuthzConfig", REF_NAME, ctx, out);
        if incoming.authz_config.is_some() {
            out.push(
                Finding::deny("vmcp.incoming.oidc", &authz_ref_path, Reason::Invalid, AUTHZ_EXCLUSIVE_RULE.message)
                    .spanning([field(INCOMING, "authzConfig")]),
            );
        }
    }
    if let Some(config_map) = incoming.authz_config.as_ref().and_then(|a| a.config_map.as_ref()) {
        let path = field(INCOMING, "authzConfig.configMap");
        check_reference(config_map.name.as_deref(), None, &path, "ConfigMap", REF_NAME, ctx, out);
        if let Some(k) = config_map.key.as_deref().filter(|k| !k.is_empty()) {
            check_key(k, &field(&path, "key"), out);
        }
    }
}

pub(super) fn check_outgoing(spec: &VirtualMCPServerSpec, ctx: &Context, out: &mut Findings) {
    let Some(outgoing) = &spec.outgoing_auth else { return };
    let source_path = field(OUTGOING, "source");
    match outgoing.source.as_deref().unwrap_or_default() {
        "" | SOURCE_DISCOVERED | SOURCE_INLINE => {}
        SOURCE_MIXED => out.deny(
            "vmcp.outgoing.backend",
            source_path,
            Reason::Invalid,
            "source mixed was removed in v1beta1; use discovered, which applies per-backend overrides on top of discovery",
        ),
        other => out.deny(
            "vmcp.outgoing.backend",
            source_path,
            Reason::Invalid,
            format!("unsupported source {other:?}; use discovered or inline"),
        ),
    }
    let backends = outgoing.backends.as_ref();
    let no_backends = backends.is_none_or(|b| b.is_empty()) && outgoing.default.is_none();
    if outgoing.source.as_deref() == Some(SOURCE_INLINE) && no_backends {
        out.warn(
            "vmcp.outgoing.inline-empty",
            field(OUTGOING, "backends"),
            "source inline with no backends configured: no backend gets any authentication",
        );
    }
    if let Some(default) = &outgoing.default {
        check_backend(default, &field(OUTGOING, "default"), ctx, out);
    }
    for (name, backend) in backends.into_iter().flatten() {
        check_backend(backend, &key(&field(OUTGOING, "backends"), name), ctx, out);
    }
}

fn check_backend(auth: &BackendAuth, path: &str, ctx: &Context, out: &mut Findings) {
    const RULE: &str = "vmcp.outgoing.backend";
    let type_path = field(path, "type");
    let ref_path = field(path, "externalAuthConfigRef");
    let kind = auth.type_.as_deref().unwrap_or_default();
    let problem = match kind {
                "" => {
            out.push(missing(RULE, &type_path, path, "type is required: discovered or externalAuthConfigRef"));
            None
        }
        BACKEND_DISCOVERED | BACKEND_EXTERNAL_AUTH_CONFIG_REF => None,
        BACKEND_PASS_THROUGH => Some((
            Reason::Invalid,
            "type pass_through was removed in v1beta1; to forward or exchange the client's token, create an MCPExternalAuthConfig and use type externalAuthConfigRef".into(),
        )),
        BACKEND_SERVICE_ACCOUNT => Some((
            Reason::Invalid,
            "type service_account was removed in v1beta1; keep the credential in a Secret, create an MCPExternalAuthConfig that injects it as a header and use type externalAuthConfigRef".into(),
        )),
        BACKEND_EXTERNAL_AUTH_CONFIG_REF_LEGACY => {
            Some((Reason::Invalid, "type external_auth_config_ref is spelled externalAuthConfigRef in v1beta1".into()))
        }
        other => Some((Reason::Invalid, format!("unsupported type {other:?}; use discovered or externalAuthConfigRef"))),
    };
    if let Some((reason, message)) = problem {
        out.deny(RULE, &type_path, reason, message);
    }
    match (&auth.external_auth_config_ref, kind) {
        (None, BACKEND_EXTERNAL_AUTH_CONFIG_REF) => out.push(
            Finding::deny(
                RULE,
                &ref_path,
                Reason::Required,
                "externalAuthConfigRef is required for type externalAuthConfigRef",
            )
            .spanning([type_path]),
        ),
        (Some(_), BACKEND_EXTERNAL_AUTH_CONFIG_REF | BACKEND_EXTERNAL_AUTH_CONFIG_REF_LEGACY | "") | (None, _) => {}
        (Some(_), _) => out.push(
            Finding::deny(
                RULE,
                &ref_path,
                Reason::Invalid,
                "externalAuthConfigRef is only allowed with type externalAuthConfigRef",
            )
            .spanning([type_path]),
        ),
    }
    if let Some(reference) = &auth.external_auth_config_ref {
        let (name, namespace) = (Some(reference.name.as_str()), reference.namespace.as_deref());
        check_reference(name, namespace, &ref_path, "MCPExternalAuthConfig", RULE, ctx, out);
    }
    let service_account = field(path, "serviceAccount");
    if raw_has(ctx, &service_account) {
        out.deny(
            RULE,
            service_account,
            Reason::Invalid,
            "serviceAccount credentials were removed in v1beta1; create an MCPExternalAuthConfig that injects the credential as a header and reference it with externalAuthConfigRef",
        );
    }
}

/// Every Secret the embedded authorization server reads must be a valid same-namespace reference.
pub(super) fn check_auth_server_secrets(spec: &VirtualMCPServerSpec, ctx: &Context, out: &mut Findings) {
    let Some(config) = &spec.auth_server_config else { return };
    for (path, secret) in auth_server_secrets(config) {
        check_secret_ref(secret, &path, ctx, out);
    }
}

/// The Secret references of an authorization server config, with their paths.
fn auth_server_secrets(config: &AuthServerConfig) -> Vec<(String, &crate::api::v1beta1::SecretKeyRef)> {
    let base = "spec.authServerConfig";
    let mut found = Vec::new();
    for (list, refs) in
        [("hmacSecretRefs", &config.hmac_secret_refs), ("signingKeySecretRefs", &config.signing_key_secret_refs)]
    {
        let list_path = field(base, list);
        found.extend(refs.iter().flatten().enumerate().map(|(i, s)| (index(&list_path, i), s)));
    }
    for (i, client) in config.delegate_clients.iter().flatten().enumerate() {
        let path = field(&index(&field(base, "delegateClients"), i), "clientSecretRef");
        found.extend(client.client_secret_ref.as_ref().map(|s| (path, s)));
    }
    if let Some(redis) = config.storage.as_ref().and_then(|s| s.redis.as_ref()) {
        let redis_path = field(base, "storage.redis");
        if let Some(acl) = &redis.acl_user_config {
            let acl_path = field(&redis_path, "aclUserConfig");
            found.extend(acl.password_secret_ref.as_ref().map(|s| (field(&acl_path, "passwordSecretRef"), s)));
            found.extend(acl.username_secret_ref.as_ref().map(|s| (field(&acl_path, "usernameSecretRef"), s)));
        }
        for (name, tls) in [("tls", &redis.tls), ("sentinelTls", &redis.sentinel_tls)] {
            let secret = tls.as_ref().and_then(|t| t.ca_cert_secret_ref.as_ref());
            found.extend(secret.map(|s| (field(&field(&redis_path, name), "caCertSecretRef"), s)));
        }
    }
    for (i, provider) in config.upstream_providers.iter().flatten().enumerate() {
        let path = index(&field(base, "upstreamProviders"), i);
        if let Some(oauth2) = &provider.oauth2_config {
            let oauth2_path = field(&path, "oauth2Config");
            found.extend(oauth2.client_secret_ref.as_ref().map(|s| (field(&oauth2_path, "clientSecretRef"), s)));
            let token = oauth2.dcr_config.as_ref().and_then(|d| d.initial_access_token_ref.as_ref());
            found.extend(token.map(|s| (field(&oauth2_path, "dcrConfig.initialAccessTokenRef"), s)));
        }
        let oidc_secret = provider.oidc_config.as_ref().and_then(|o| o.client_secret_ref.as_ref());
        found.extend(oidc_secret.map(|s| (field(&path, "oidcConfig.clientSecretRef"), s)));
    }
    found
}
