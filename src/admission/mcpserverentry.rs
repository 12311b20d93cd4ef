//! Admission rules and defaults of MCPServerEntry.

use std::collections::BTreeMap;

use super::engine::Defaults;
use super::finding::{Findings, Reason};
use super::path::{field, index, key};
use super::refs::{self, check_key, check_name, check_namespace};
use super::remote_url::{UrlProblem, inspect};
use super::{Check, Context, headers};
use crate::api::v1beta1::{HeaderForward, MCPServerEntry, MCPServerEntrySpec};

pub const DEFAULT_CA_KEY: &str = "ca.crt";
pub const TRANSPORTS: [&str; 2] = ["sse", "streamable-http"];
pub const MAX_HEADERS: usize = 64;
/// Up to this many forwarded headers, duplicates are found by comparing every pair.
const FEW_HEADERS: usize = 16;

const URL: &str = "spec.remoteUrl";

/// The checks of an MCPServerEntry, in report order.
pub const CHECKS: &[Check<MCPServerEntry>] = &[
    ("entry.url", |e, ctx, out| check_url(&e.spec, ctx, out)),
    ("entry.transport", |e, _, out| check_transport(&e.spec, out)),
    ("entry.group", check_group),
    ("entry.auth", |e, ctx, out| {
        if let Some(auth) = &e.spec.external_auth_config_ref {
            refs::check_ref(
                &auth.name,
                auth.namespace.as_deref(),
                "spec.externalAuthConfigRef",
                "MCPExternalAuthConfig",
                ctx,
                out,
            );
        }
    }),
    ("entry.ca", |e, _, out| check_ca(&e.spec, out)),
    ("entry.header", |e, ctx, out| {
        if let Some(forward) = &e.spec.header_forward {
            check_headers(forward, ctx, out);
        }
    }),
];

fn check_url(spec: &MCPServerEntrySpec, ctx: &Context, out: &mut Findings) {
    if spec.allow_private_endpoint == Some(true) {
        out.warn(
            "entry.private-endpoint",
            "spec.allowPrivateEndpoint",
            "the entry may target private network addresses",
        );
    }
    let Some(raw) = spec.remote_url.as_deref().filter(|u| !u.is_empty()) else {
        out.deny("entry.url.required", URL, Reason::Required, "a remote URL is required");
        return;
    };
    let report = inspect(raw, ctx.policy);
    let host = report.host.as_deref().unwrap_or_default();
    for problem in &report.problems {
        match problem {
            UrlProblem::Syntax(why) => out.deny("entry.url.syntax", URL, Reason::Invalid, format!("URL {why}")),
            UrlProblem::Credentials => out.deny(
                "entry.url.credentials",
                URL,
                Reason::Invalid,
                "must not contain credentials (user-info), which leak into status, logs and kubectl output; send them as a header with spec.headerForward.addHeadersFromSecret",
            ),
            UrlProblem::Blocked(why) => {
                out.deny("entry.url.blocked-host", URL, Reason::Forbidden, format!("host {host} {why}"))
            }
            UrlProblem::Private(why) if spec.allow_private_endpoint != Some(true) => out.push(
                super::Finding::deny(
                    "entry.url.private-host",
                    URL,
                    Reason::Forbidden,
                    format!("host {host} {why}; set spec.allowPrivateEndpoint: true to allow private endpoints"),
                )
                .spanning(["spec.allowPrivateEndpoint".to_string()]),
            ),
            UrlProblem::Private(_) => {}
        }
    }
    if report.plain_http {
        out.warn("entry.url.plain-http", URL, "uses http://; traffic and forwarded headers are not encrypted");
    }
    if report.has_fragment {
        out.warn("entry.url.fragment", URL, "a #fragment is never sent to the server");
    }
    if report.plain_http && spec.ca_bundle_ref.is_some() {
        out.warn("entry.ca.with-http", "spec.caBundleRef", "a CA bundle has no effect with an http:// URL");
    }
}

fn check_transport(spec: &MCPServerEntrySpec, out: &mut Findings) {
    match spec.transport.as_deref() {
        None | Some("") => out.deny(
            "entry.transport",
            "spec.transport",
            Reason::Required,
            "transport is required (sse or streamable-http)",
        ),
        Some(t) if !TRANSPORTS.contains(&t) => out.deny(
            "entry.transport",
            "spec.transport",
            Reason::Invalid,
            format!("unsupported transport {t:?}; use sse or streamable-http"),
        ),
        Some(_) => {}
    }
}

fn check_group(entry: &MCPServerEntry, ctx: &Context, out: &mut Findings) {
    let Some(group) = &entry.spec.group_ref else {
        out.deny("entry.group", "spec.groupRef", Reason::Required, "every entry must name its MCPGroup in groupRef");
        return;
    };
    let problems_before = out.len();
    check_name(&group.name, "spec.groupRef.name", out);
    check_namespace(group.namespace.as_deref(), "spec.groupRef", "MCPGroup", ctx, out);
    // Only a well-formed, same-namespace reference can be looked up.
    if out.len() == problems_before && ctx.cluster.group_exists(ctx.namespace, &group.name) == Some(false) {
        out.warn(
            "entry.group.missing",
            "spec.groupRef.name",
            format!("MCPGroup {:?} does not exist yet in namespace {:?}", group.name, ctx.namespace),
        );
    }
}

fn check_ca(spec: &MCPServerEntrySpec, out: &mut Findings) {
    let Some(cm) = spec.ca_bundle_ref.as_ref().and_then(|ca| ca.config_map_ref.as_ref()) else { return };
    // The schema lets the name default to "", so its presence is this kind's own check.
    refs::check_required_name(
        "entry.ca",
        "the CA bundle ConfigMap name",
        cm.name.as_deref(),
        "spec.caBundleRef.configMapRef.name",
        out,
    );
    // An absent or empty key is valid: the mutating webhook turns it into `ca.crt`.
    if let Some(k) = cm.key.as_deref().filter(|k| !k.is_empty()) {
        check_key(k, "spec.caBundleRef.configMapRef.key", out);
    }
}

const PLAIN_HEADERS: &str = "spec.headerForward.addPlaintextHeaders";
const SECRET_HEADERS: &str = "spec.headerForward.addHeadersFromSecret";

/// Where a forwarded header's name is; its field path is built only for a finding.
#[derive(Clone, Copy)]
enum HeaderAt<'a> {
    Plain(&'a str),
    Secret(usize),
}

impl HeaderAt<'_> {
    fn path(self) -> String {
        match self {
            HeaderAt::Plain(name) => key(PLAIN_HEADERS, name),
            HeaderAt::Secret(i) => field(&index(SECRET_HEADERS, i), "headerName"),
        }
    }
}

/// A header name ordered without regard to ASCII case, as HTTP compares them.
#[derive(Clone, Copy)]
struct Caseless<'a>(&'a str);

impl Ord for Caseless<'_> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.bytes().map(|b| b.to_ascii_lowercase()).cmp(other.0.bytes().map(|b| b.to_ascii_lowercase()))
    }
}

impl PartialOrd for Caseless<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Caseless<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(other.0)
    }
}

impl Eq for Caseless<'_> {}

fn check_headers(forward: &HeaderForward, ctx: &Context, out: &mut Findings) {
    let plain = forward.add_plaintext_headers.as_ref();
    let secret = forward.add_headers_from_secret.as_deref().unwrap_or_default();
    // Every header name, plaintext first, for the duplicate check (each against the one before it).
    let names = plain
        .into_iter()
        .flatten()
        .map(|(n, _)| (HeaderAt::Plain(n), n.as_str()))
        .chain(secret.iter().enumerate().map(|(i, h)| (HeaderAt::Secret(i), h.header_name.as_str())));
    // A few names (the usual case) are compared pairwise; many go through a map, so that the
    // check stays linear however many an object lists.
    let few = plain.map_or(0, BTreeMap::len) + secret.len() <= FEW_HEADERS;
    let mut listed = [("", HeaderAt::Secret(0)); FEW_HEADERS];
    let mut seen: BTreeMap<Caseless, HeaderAt> = BTreeMap::new();
    for (i, (at, name)) in names.enumerate() {
        check_header_name(name, at, out);
        let before = if few {
            let before =
                listed[..i].iter().rev().find(|(other, _)| other.eq_ignore_ascii_case(name)).map(|(_, at)| *at);
            listed[i] = (name, at);
            before
        } else {
            seen.insert(Caseless(name), at)
        };
        if let Some(before) = before {
            let (path, first) = (at.path(), before.path());
            out.push(
                super::Finding::deny(
                    "entry.header.duplicate",
                    &path,
                    Reason::Duplicate,
                    format!("header {name:?} is already set at {first} (names are case-insensitive)"),
                )
                .spanning([first]),
            );
        }
    }
    for (name, value) in plain.into_iter().flatten() {
        if let Some(problem) = headers::value_problem(value) {
            out.deny("entry.header.value", key(PLAIN_HEADERS, name), Reason::Invalid, problem);
        }
        if headers::looks_like_credential(name) {
            out.warn(
                "entry.header.secret-in-plaintext",
                key(PLAIN_HEADERS, name),
                "looks like a credential and is visible to anyone who can read the object; use addHeadersFromSecret",
            );
        }
    }
    if plain.map_or(0, BTreeMap::len) > MAX_HEADERS {
        out.deny(
            "entry.header.count",
            PLAIN_HEADERS,
            Reason::Invalid,
            format!("at most {MAX_HEADERS} plaintext headers are allowed"),
        );
    }
    if secret.len() > MAX_HEADERS {
        out.deny(
            "entry.header.count",
            SECRET_HEADERS,
            Reason::Invalid,
            format!("at most {MAX_HEADERS} secret-backed headers are allowed"),
        );
    }
    for (i, header) in secret.iter().enumerate() {
        let path = || field(&index(SECRET_HEADERS, i), "valueSecretRef");
        let Some(secret_ref) = &header.value_secret_ref else {
            out.deny(
                "entry.header.secret-ref",
                path(),
                Reason::Required,
                "valueSecretRef (Secret name and key) is required",
            );
            continue;
        };
        refs::check_name_at(&secret_ref.name, || field(&path(), "name"), out);
        refs::check_key_at(&secret_ref.key, || field(&path(), "key"), out);
        if secret_ref.namespace.is_some() {
            check_namespace(secret_ref.namespace.as_deref(), &path(), "Secret", ctx, out);
        }
    }
}

fn check_header_name(name: &str, at: HeaderAt, out: &mut Findings) {
    if let Some(problem) = headers::name_problem(name) {
        let reason = if name.is_empty() { Reason::Required } else { Reason::Invalid };
        out.deny("entry.header.name", at.path(), reason, problem);
    } else if headers::is_restricted(name) {
        out.deny(
            "entry.header.restricted",
            at.path(),
            Reason::Forbidden,
            format!("header {name:?} is managed by the proxy and cannot be forwarded"),
        );
    }
}

/// Mutating defaults: the CA bundle's ConfigMap key.
pub fn defaults(entry: &MCPServerEntry, out: &mut Defaults) {
    if let Some(cm) = entry.spec.ca_bundle_ref.as_ref().and_then(|ca| ca.config_map_ref.as_ref()) {
        out.string(cm.key.as_deref(), "/spec/caBundleRef/configMapRef/key", DEFAULT_CA_KEY);
    }
}
