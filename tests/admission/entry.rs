//! MCPServerEntry: `entry.*` rules.

use mcp_operator::admission::engine::Mode;
use mcp_operator::admission::{NoCluster, RemoteUrlPolicy};
use serde_json::{Value, json};

use crate::support::*;

/// `https://mcp.example.com/` padded with `a` to exactly `len` characters.
fn url_of_len(len: usize) -> String {
    let base = "https://mcp.example.com/";
    format!("{base}{}", chars('a', len - base.len()))
}

#[test]
fn entry_url_required() {
    table(vec![
        (
            "absent",
            entry(json!({ "remoteUrl": null })),
            DenyAs("entry.url.required", "spec.remoteUrl", "FieldValueRequired"),
        ),
        ("empty", entry_url(""), DenyAs("entry.url.required", "spec.remoteUrl", "FieldValueRequired")),
        ("present", entry_url("https://mcp.example.com/mcp"), Accept),
    ]);
}

#[test]
fn entry_url_syntax() {
    let syntax = Deny("entry.url.syntax", "spec.remoteUrl");
    table(vec![
        ("https", entry_url("https://mcp.example.com/mcp"), Accept),
        ("port, path and query", entry_url("https://mcp.example.com:8443/v1/mcp?tenant=a"), Accept),
        ("upper-case host", entry_url("https://MCP.Example.COM/mcp"), Accept),
        ("public IPv4", entry_url("https://8.8.8.8/mcp"), Accept),
        ("public IPv6", entry_url("https://[2001:db8::1]:8443/mcp"), Accept),
        ("2048 characters", entry_url(&url_of_len(2048)), Accept),
        ("2049 characters", entry_url(&url_of_len(2049)), syntax),
        ("HTTPS:// upper case", entry_url("HTTPS://mcp.example.com/"), syntax),
        ("Https:// mixed case", entry_url("Https://mcp.example.com/"), syntax),
        ("HTTP:// upper case", entry_url("HTTP://mcp.example.com/"), syntax),
        ("other scheme", entry_url("ftp://mcp.example.com/"), syntax),
        ("ws scheme", entry_url("wss://mcp.example.com/"), syntax),
        ("no scheme", entry_url("mcp.example.com/mcp"), syntax),
        ("scheme-relative", entry_url("//mcp.example.com/mcp"), syntax),
        ("one slash", entry_url("https:/mcp.example.com/"), syntax),
        ("leading space", entry_url(" https://mcp.example.com/"), syntax),
        ("empty host", entry_url("https://"), syntax),
        ("port only", entry_url("https://:443/"), syntax),
        ("space in host", entry_url("https://mcp example.com/"), syntax),
        ("space in path", entry_url("https://mcp.example.com/a b"), syntax),
        ("tab", entry_url("https://mcp.example.com/\t"), syntax),
        ("newline", entry_url("https://mcp.example.com/\n"), syntax),
        ("NUL", entry_url("https://mcp.example.com/\u{0}"), syntax),
        ("DEL", entry_url("https://mcp.example.com/\u{7f}"), syntax),
        ("no-break space", entry_url("https://mcp.example.com/\u{a0}"), syntax),
        ("port out of range", entry_url("https://mcp.example.com:99999/"), syntax),
        ("unclosed IPv6", entry_url("https://[::1/"), syntax),
        ("IPv6 zone", entry_url("https://[fe80::1%25eth0]/"), syntax),
    ]);
    let cause = rejects(&entry_url("HTTPS://mcp.example.com/"), "entry.url.syntax", "spec.remoteUrl");
    assert_eq!(cause.reason, "FieldValueInvalid");
    assert!(cause.message.contains("http:// or https://"), "{}", cause.message);
}

#[test]
fn entry_url_credentials() {
    let creds = DenyAs("entry.url.credentials", "spec.remoteUrl", "FieldValueInvalid");
    table(vec![
        ("user and password", entry_url("https://user:hunter2@mcp.example.com/"), creds),
        ("user only", entry_url("https://token@mcp.example.com/"), creds),
        ("password only", entry_url("https://:hunter2@mcp.example.com/"), creds),
        ("empty user-info", entry_url("https://@mcp.example.com/"), creds),
        ("extra slashes", entry_url("https:///user:hunter2@mcp.example.com/"), creds),
        ("@ in path", entry_url("https://mcp.example.com/pkg@v2/mcp"), Accept),
        ("@ in query", entry_url("https://mcp.example.com/mcp?owner=a@example.com"), Accept),
    ]);
    let cause = rejects(&entry_url("https://user:hunter2@mcp.example.com/"), "entry.url.credentials", "spec.remoteUrl");
    assert!(cause.message.contains("headerForward.addHeadersFromSecret"), "{}", cause.message);
}

const BLOCKED: [&str; 47] = [
    // IPv4: this network, loopback, link-local, multicast, reserved, broadcast (and their edges).
    "http://0.0.0.0/",
    "http://0.255.255.255/",
    "http://127.0.0.0/",
    "http://127.0.0.1:8080/mcp",
    "http://127.255.255.255/",
    "http://169.254.0.0/",
    "http://169.254.169.254/latest/meta-data",
    "http://169.254.255.255/",
    "http://224.0.0.0/",
    "http://239.255.255.250/",
    "http://240.0.0.0/",
    "http://255.255.255.255/",
    // Other spellings of loopback that WHATWG parsing normalises.
    "http://127.1/",
    "http://0x7f.1/",
    "http://0x7f000001/",
    "http://2130706433/",
    "http://017700000001/",
    // IPv6 and IPv4 embedded in IPv6.
    "http://[::]/",
    "http://[::1]/",
    "http://[fe80::]/",
    "http://[febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff]/",
    "http://[ff00::]/",
    "http://[ff02::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[::ffff:0.0.0.0]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:224.0.0.1]/",
    "http://[::ffff:255.255.255.255]/",
    "http://[64:ff9b::127.0.0.1]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://[::127.0.0.1]/",
    "http://[::169.254.169.254]/",
    // Names: exact or any subdomain, any case, trailing dot ignored.
    "http://localhost/",
    "http://LOCALHOST/",
    "http://localhost./",
    "http://LocalHost.:8080/",
    "http://api.localhost/",
    "http://local%68ost/",
    "https://kubernetes.default/",
    "https://kubernetes.default.svc/",
    "https://kubernetes.default.svc.cluster.local/",
    "https://KUBERNETES.DEFAULT.SVC.CLUSTER.LOCAL./",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://metadata/",
    "http://metadata./",
    "http://x.metadata/",
];

#[test]
fn entry_url_blocked_host() {
    for url in BLOCKED {
        let cause = rejects(&entry_url(url), "entry.url.blocked-host", "spec.remoteUrl");
        assert_eq!(cause.reason, "FieldValueForbidden", "{url}");
        // allowPrivateEndpoint never opens these.
        rejects(&entry_private(url), "entry.url.blocked-host", "spec.remoteUrl");
    }
}

#[test]
fn entry_url_blocked_host_message_names_the_range_or_name() {
    let outcome = Req::create(&entry_url("http://127.0.0.1:8080/mcp")).validate();
    assert_eq!(
        outcome.message(),
        "spec.remoteUrl: host 127.0.0.1 is in blocked range 127.0.0.0/8 [entry.url.blocked-host]"
    );
    let cases = [
        ("http://[::ffff:169.254.169.254]/", "169.254.0.0/16"),
        ("http://[64:ff9b::127.0.0.1]/", "127.0.0.0/8"),
        ("http://[fe80::1]/", "fe80::/10"),
        ("http://LOCALHOST./", "localhost"),
        ("http://metadata.google.internal/", "metadata.google.internal"),
    ];
    for (url, matched) in cases {
        let cause = rejects(&entry_url(url), "entry.url.blocked-host", "spec.remoteUrl");
        assert!(cause.message.contains(matched), "{url}: {}", cause.message);
    }
}

const PRIVATE: [&str; 21] = [
    "http://10.0.0.0/",
    "http://10.255.255.255/",
    "http://172.16.0.0/",
    "http://172.31.255.255/",
    "http://192.168.0.0/",
    "http://192.168.255.255/",
    "http://100.64.0.0/",
    "http://100.127.255.255/",
    "http://[fc00::]/",
    "http://[fd12:3456:789a::1]/",
    "http://[fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[::ffff:192.168.1.1]/",
    "http://[::ffff:100.64.0.1]/",
    "http://[64:ff9b::10.1.2.3]/",
    "http://[::172.16.0.1]/",
    "http://cluster.local/",
    "http://CLUSTER.LOCAL./",
    "http://mcp.tools.svc.cluster.local:8080/mcp",
    "http://a.b.cluster.local/",
    "http://0xa000001/",
];

#[test]
fn entry_url_private_host() {
    for url in PRIVATE {
        let cause = rejects(&entry_url(url), "entry.url.private-host", "spec.remoteUrl");
        assert_eq!(cause.reason, "FieldValueForbidden", "{url}");
        assert!(cause.message.contains("allowPrivateEndpoint"), "{url}: {}", cause.message);
        let outcome = Req::create(&entry_private(url)).validate();
        assert!(outcome.allowed(), "{url} with allowPrivateEndpoint: {:#?}", outcome.causes());
        outcome.warning("entry.private-endpoint");
        assert!(!outcome.rules().contains(&"entry.url.private-host".to_string()), "{url}");
    }
    let cause = rejects(&entry_url("https://10.1.2.3/"), "entry.url.private-host", "spec.remoteUrl");
    assert!(cause.message.starts_with("host 10.1.2.3 is in private range 10.0.0.0/8"), "{}", cause.message);
    table(vec![(
        "explicit false",
        entry(json!({ "remoteUrl": "https://10.0.0.1/", "allowPrivateEndpoint": false })),
        Deny("entry.url.private-host", "spec.remoteUrl"),
    )]);
}

#[test]
fn entry_url_hosts_outside_every_range_are_allowed() {
    for url in [
        "https://1.0.0.0/",
        "https://9.255.255.255/",
        "https://11.0.0.0/",
        "https://100.63.255.255/",
        "https://100.128.0.0/",
        "https://126.255.255.255/",
        "https://128.0.0.0/",
        "https://169.253.255.255/",
        "https://169.255.0.0/",
        "https://172.15.255.255/",
        "https://172.32.0.0/",
        "https://192.167.255.255/",
        "https://192.169.0.0/",
        "https://223.255.255.255/",
        "https://[2001:4860:4860::8888]/",
        "https://[fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]/",
        "https://[fe00::1]/",
        "https://[fec0::1]/",
        "https://[feff::1]/",
        "https://[::ffff:8.8.8.8]/",
        "https://[64:ff9b::8.8.8.8]/",
        "https://notlocalhost.example/",
        "https://localhost.example.com/",
        "https://mylocalhost/",
        "https://kubernetes/",
        "https://kubernetes.example.com/",
        "https://metadata.example.com/",
        "https://notcluster.local/",
        "https://cluster.local.example.com/",
        // Short in-cluster names are the normal way to reach an MCP server in the cluster.
        "https://my-svc.my-ns.svc:8080/mcp",
        "https://my-svc.my-ns/mcp",
        "https://my-svc/mcp",
    ] {
        accepts(&entry_url(url));
    }
}

#[test]
fn entry_url_policy_flags_widen_and_narrow() {
    let policy = RemoteUrlPolicy::new(
        vec!["203.0.113.0/24".parse().unwrap()],
        vec!["10.20.0.0/16".parse().unwrap(), "127.0.0.0/8".parse().unwrap()],
        vec!["internal.example.com".into()],
        "corp.local",
    );
    let post = |url: &str| Req::create(&entry_url(url)).post(Mode::Validate, &policy, &NoCluster);
    assert!(post("https://203.0.113.7/").causes().iter().any(|c| c.rule() == "entry.url.blocked-host"));
    assert!(post("https://10.20.1.1/").allowed(), "allowed CIDR wins over the private ranges");
    assert!(post("https://10.21.1.1/").causes().iter().any(|c| c.rule() == "entry.url.private-host"));
    assert!(
        post("https://127.0.0.1/").causes().iter().any(|c| c.rule() == "entry.url.blocked-host"),
        "never over loopback"
    );
    assert!(post("https://a.internal.example.com./").causes().iter().any(|c| c.rule() == "entry.url.blocked-host"));
    assert!(post("https://x.corp.local/").causes().iter().any(|c| c.rule() == "entry.url.private-host"));
    assert!(
        post("https://kubernetes.default.svc.corp.local/")
            .causes()
            .iter()
            .any(|c| c.rule() == "entry.url.blocked-host")
    );
}

#[test]
fn entry_url_plain_http() {
    let warning = warns(&entry_url("http://mcp.example.com/mcp"), "entry.url.plain-http");
    assert!(warning.starts_with("spec.remoteUrl: "), "{warning}");
    assert!(warning.contains("traffic and forwarded headers are not encrypted"), "{warning}");
    never(&entry_url("https://mcp.example.com/mcp"), "entry.url.plain-http");
}

#[test]
fn entry_url_fragment() {
    let warning = warns(&entry_url("https://mcp.example.com/mcp#tools"), "entry.url.fragment");
    assert!(warning.ends_with("[entry.url.fragment]"), "{warning}");
    never(&entry_url("https://mcp.example.com/mcp?page=1"), "entry.url.fragment");
}

#[test]
fn entry_private_endpoint() {
    let warning = warns(&entry_private("https://mcp.example.com/"), "entry.private-endpoint");
    assert_eq!(
        warning,
        "spec.allowPrivateEndpoint: the entry may target private network addresses [entry.private-endpoint]"
    );
    accepts(&entry(json!({ "allowPrivateEndpoint": false })));
}

#[test]
fn entry_transport() {
    table(vec![
        ("sse", entry(json!({ "transport": "sse" })), Accept),
        ("streamable-http", entry(json!({ "transport": "streamable-http" })), Accept),
        (
            "absent",
            entry(json!({ "transport": null })),
            DenyAs("entry.transport", "spec.transport", "FieldValueRequired"),
        ),
        ("empty", entry(json!({ "transport": "" })), DenyAs("entry.transport", "spec.transport", "FieldValueRequired")),
        (
            "stdio",
            entry(json!({ "transport": "stdio" })),
            DenyAs("entry.transport", "spec.transport", "FieldValueInvalid"),
        ),
        ("upper case", entry(json!({ "transport": "SSE" })), Deny("entry.transport", "spec.transport")),
        (
            "legacy spelling",
            entry(json!({ "transport": "streamable_http" })),
            Deny("entry.transport", "spec.transport"),
        ),
    ]);
}

#[test]
fn entry_group() {
    table(vec![
        ("valid", entry(json!({ "groupRef": { "name": "tools" } })), Accept),
        ("same namespace", entry(json!({ "groupRef": { "name": "tools", "namespace": NS } })), Accept),
        ("empty namespace", entry(json!({ "groupRef": { "name": "tools", "namespace": "" } })), Accept),
        ("absent", entry(json!({ "groupRef": null })), DenyAs("entry.group", "spec.groupRef", "FieldValueRequired")),
        (
            "empty name",
            entry(json!({ "groupRef": { "name": "" } })),
            DenyAs("ref.name", "spec.groupRef.name", "FieldValueRequired"),
        ),
        (
            "upper case",
            entry(json!({ "groupRef": { "name": "Tools" } })),
            DenyAs("ref.name", "spec.groupRef.name", "FieldValueInvalid"),
        ),
        (
            "namespaced name",
            entry(json!({ "groupRef": { "name": "team-b/tools" } })),
            Deny("ref.name", "spec.groupRef.name"),
        ),
        (
            "other namespace",
            entry(json!({ "groupRef": { "name": "tools", "namespace": "team-b" } })),
            DenyAs("ref.cross-namespace", "spec.groupRef.namespace", "FieldValueForbidden"),
        ),
    ]);
    let cause = rejects(&entry(json!({ "groupRef": { "name": "team-b/tools" } })), "ref.name", "spec.groupRef.name");
    assert!(cause.message.contains("cross-namespace references are not allowed"), "{}", cause.message);
}

#[test]
fn entry_group_missing_warns_only_with_a_cluster_cache() {
    let obj = entry(json!({}));
    let without_group = FakeCluster::default();
    let outcome = Req::create(&obj).validate_in(&without_group);
    assert!(outcome.allowed());
    let warning = outcome.warning("entry.group.missing");
    assert!(warning.starts_with("spec.groupRef.name: "), "{warning}");
    assert!(warning.contains("tools"), "{warning}");
    let with_group = FakeCluster::default().with_group("tools", &[]);
    assert!(Req::create(&obj).validate_in(&with_group).warnings().is_empty());
    assert!(Req::create(&obj).validate().warnings().is_empty(), "NoCluster skips referential warnings");
    // A reference that cannot be looked up is reported once, as a denial.
    let bad = entry(json!({ "groupRef": { "name": "Tools" } }));
    assert!(!Req::create(&bad).validate_in(&without_group).rules().contains(&"entry.group.missing".to_string()));
}

#[test]
fn entry_auth() {
    let auth = |r: Value| entry(json!({ "externalAuthConfigRef": r }));
    table(vec![
        ("valid", auth(json!({ "name": "github-oauth" })), Accept),
        ("same namespace", auth(json!({ "name": "github-oauth", "namespace": NS })), Accept),
        (
            "empty name",
            auth(json!({ "name": "" })),
            DenyAs("ref.name", "spec.externalAuthConfigRef.name", "FieldValueRequired"),
        ),
        ("bad name", auth(json!({ "name": "GitHub_OAuth" })), Deny("ref.name", "spec.externalAuthConfigRef.name")),
        (
            "other namespace",
            auth(json!({ "name": "github-oauth", "namespace": "team-b" })),
            Deny("ref.cross-namespace", "spec.externalAuthConfigRef.namespace"),
        ),
    ]);
    let outcome = Req::create(&auth(json!({ "name": "github-oauth", "namespace": "team-b" }))).validate();
    assert_eq!(
        outcome.message(),
        "spec.externalAuthConfigRef.namespace: cross-namespace references are not allowed; the MCPExternalAuthConfig must be in namespace \"team-a\" [ref.cross-namespace]"
    );
}

#[test]
fn entry_ca() {
    let ca = |cm: Value| entry(json!({ "caBundleRef": { "configMapRef": cm } }));
    let name = "spec.caBundleRef.configMapRef.name";
    let key = "spec.caBundleRef.configMapRef.key";
    table(vec![
        ("name and key", ca(json!({ "name": "internal-ca", "key": "ca.crt" })), Accept),
        ("key absent", ca(json!({ "name": "internal-ca" })), Accept),
        ("key empty", ca(json!({ "name": "internal-ca", "key": "" })), Accept),
        ("optional", ca(json!({ "name": "internal-ca", "optional": true })), Accept),
        ("no configMapRef", entry(json!({ "caBundleRef": {} })), Accept),
        ("253-character name", ca(json!({ "name": chars('a', 253) })), Accept),
        ("254-character name", ca(json!({ "name": chars('a', 254) })), Deny("ref.name", name)),
        ("name absent", ca(json!({ "key": "ca.crt" })), DenyAs("entry.ca", name, "FieldValueRequired")),
        ("name empty", ca(json!({ "name": "" })), DenyAs("entry.ca", name, "FieldValueRequired")),
        ("name upper case", ca(json!({ "name": "Internal-CA" })), DenyAs("ref.name", name, "FieldValueInvalid")),
        (
            "key with slash",
            ca(json!({ "name": "internal-ca", "key": "certs/ca.crt" })),
            DenyAs("ref.name", key, "FieldValueInvalid"),
        ),
        ("key with space", ca(json!({ "name": "internal-ca", "key": "ca crt" })), Deny("ref.name", key)),
        ("253-character key", ca(json!({ "name": "internal-ca", "key": chars('k', 253) })), Accept),
        ("254-character key", ca(json!({ "name": "internal-ca", "key": chars('k', 254) })), Deny("ref.name", key)),
        ("key charset", ca(json!({ "name": "internal-ca", "key": "Bundle_v2-ca.pem" })), Accept),
    ]);
}

#[test]
fn entry_ca_with_http() {
    let obj =
        entry(json!({ "remoteUrl": "http://mcp.example.com/", "caBundleRef": { "configMapRef": { "name": "ca" } } }));
    let outcome = Req::create(&obj).validate();
    assert!(outcome.allowed());
    assert!(outcome.warning("entry.ca.with-http").starts_with("spec.caBundleRef: "));
    outcome.warning("entry.url.plain-http");
    never(&entry(json!({ "caBundleRef": { "configMapRef": { "name": "ca" } } })), "entry.ca.with-http");
}

#[test]
fn entry_header_name() {
    let plain = |n: &str| entry_plain_headers(json!({ n: "v" }));
    let secret = |n: &str| entry_secret_headers(vec![secret_header(n, "api", "token")]);
    let secret_path = "spec.headerForward.addHeadersFromSecret[0].headerName";
    table(vec![
        ("token", plain("X-Api-Version"), Accept),
        ("every tchar", plain("x!#$%&'*+-.^_`|~Z09"), Accept),
        ("255 characters", plain(&chars('x', 255)), Accept),
        ("secret 255 characters", secret(&chars('x', 255)), Accept),
        (
            "256 characters",
            plain(&chars('x', 256)),
            Deny("entry.header.name", &format!("spec.headerForward.addPlaintextHeaders[{}]", chars('x', 256))),
        ),
        ("secret 256 characters", secret(&chars('x', 256)), Deny("entry.header.name", secret_path)),
        (
            "empty",
            plain(""),
            DenyAs("entry.header.name", "spec.headerForward.addPlaintextHeaders[]", "FieldValueRequired"),
        ),
        ("secret empty", secret(""), DenyAs("entry.header.name", secret_path, "FieldValueRequired")),
        (
            "space",
            plain("X Id"),
            DenyAs("entry.header.name", "spec.headerForward.addPlaintextHeaders[X Id]", "FieldValueInvalid"),
        ),
        ("colon", plain("X-Id:"), Deny("entry.header.name", "spec.headerForward.addPlaintextHeaders[X-Id:]")),
        ("slash", secret("X/Id"), Deny("entry.header.name", secret_path)),
        ("parentheses", secret("X(Id)"), Deny("entry.header.name", secret_path)),
        ("non-ASCII", secret("X-Größe"), Deny("entry.header.name", secret_path)),
        ("quote", secret("X\"Id"), Deny("entry.header.name", secret_path)),
    ]);
}

const RESTRICTED: [&str; 17] = [
    "Host",
    "Connection",
    "Keep-Alive",
    "Te",
    "Trailer",
    "Upgrade",
    "Http2-Settings",
    "Proxy-Authorization",
    "Proxy-Authenticate",
    "Proxy-Connection",
    "Transfer-Encoding",
    "Content-Length",
    "Forwarded",
    "X-Forwarded-For",
    "X-Forwarded-Host",
    "X-Forwarded-Proto",
    "X-Real-Ip",
];

#[test]
fn entry_header_restricted() {
    for name in RESTRICTED {
        for spelled in [name.to_string(), name.to_ascii_uppercase(), name.to_ascii_lowercase()] {
            let path = format!("spec.headerForward.addPlaintextHeaders[{spelled}]");
            let cause = rejects(&entry_plain_headers(json!({ &spelled: "x" })), "entry.header.restricted", &path);
            assert_eq!(cause.reason, "FieldValueForbidden");
            let secret = entry_secret_headers(vec![secret_header(&spelled, "s", "k")]);
            let path = "spec.headerForward.addHeadersFromSecret[0].headerName";
            rejects(&secret, "entry.header.restricted", path);
        }
    }
    for allowed in ["X-Forwarded-Port", "X-Request-Id", "Accept", "Hosts", "X-Host"] {
        accepts(&entry_plain_headers(json!({ allowed: "x" })));
    }
    accepts(&entry_secret_headers(vec![secret_header("Authorization", "api", "token")]));
}

#[test]
fn entry_header_duplicate() {
    let plain = "spec.headerForward.addPlaintextHeaders";
    let secret = "spec.headerForward.addHeadersFromSecret";
    let both = |p: Value, s: Vec<Value>| {
        entry(json!({ "headerForward": { "addPlaintextHeaders": p, "addHeadersFromSecret": s } }))
    };
    table(vec![
        ("distinct", both(json!({ "X-Tenant": "a" }), vec![secret_header("X-Api-Key", "api", "key")]), Accept),
        (
            "case within plaintext",
            entry_plain_headers(json!({ "X-Tenant": "a", "x-tenant": "b" })),
            DenyAs("entry.header.duplicate", "spec.headerForward.addPlaintextHeaders[x-tenant]", "FieldValueDuplicate"),
        ),
        (
            "across lists",
            both(json!({ "X-Tenant": "a" }), vec![secret_header("x-TENANT", "s", "k")]),
            DenyAs(
                "entry.header.duplicate",
                "spec.headerForward.addHeadersFromSecret[0].headerName",
                "FieldValueDuplicate",
            ),
        ),
        (
            "within secret list",
            entry_secret_headers(vec![secret_header("X-Key", "s", "a"), secret_header("x-key", "s", "b")]),
            Deny("entry.header.duplicate", "spec.headerForward.addHeadersFromSecret[1].headerName"),
        ),
    ]);
    let cause = rejects(
        &both(json!({ "X-Tenant": "a" }), vec![secret_header("x-tenant", "s", "k")]),
        "entry.header.duplicate",
        &format!("{secret}[0].headerName"),
    );
    assert!(cause.message.contains(&format!("{plain}[X-Tenant]")), "names the first occurrence: {}", cause.message);
}

#[test]
fn entry_header_duplicates_are_found_the_same_among_few_and_many() {
    // Few headers are compared pairwise, many through a map: both report each repeat against the
    // occurrence just before it.
    let secret = "spec.headerForward.addHeadersFromSecret";
    for count in [2, 40] {
        let plain: serde_json::Map<String, Value> = (0..count).map(|i| (format!("X-H{i}"), json!("v"))).collect();
        let obj = entry(json!({ "headerForward": {
            "addPlaintextHeaders": plain,
            "addHeadersFromSecret": [secret_header("x-h1", "s", "a"), secret_header("X-H1", "s", "b")],
        } }));
        let outcome = Req::create(&obj).validate();
        let duplicates: Vec<_> =
            outcome.causes().into_iter().filter(|c| c.rule() == "entry.header.duplicate").collect();
        assert_eq!(duplicates.len(), 2, "{count} headers: {duplicates:#?}");
        let first = outcome.cause("entry.header.duplicate", &format!("{secret}[0].headerName"));
        assert!(first.message.contains("spec.headerForward.addPlaintextHeaders[X-H1]"), "{}", first.message);
        let second = outcome.cause("entry.header.duplicate", &format!("{secret}[1].headerName"));
        assert!(second.message.contains(&format!("{secret}[0].headerName")), "{}", second.message);
    }
}

#[test]
fn entry_header_value() {
    let value = |v: &str| entry_plain_headers(json!({ "X-Tenant": v }));
    let path = "spec.headerForward.addPlaintextHeaders[X-Tenant]";
    table(vec![
        ("plain", value("acme"), Accept),
        ("empty", value(""), Accept),
        ("tab", value("a\tb"), Accept),
        ("non-ASCII", value("Zürich"), Accept),
        ("8192 characters", value(&chars('v', 8192)), Accept),
        ("8193 characters", value(&chars('v', 8193)), DenyAs("entry.header.value", path, "FieldValueInvalid")),
        ("CR", value("a\rb"), Deny("entry.header.value", path)),
        ("LF", value("a\nX-Injected: 1"), Deny("entry.header.value", path)),
        ("CRLF", value("a\r\nb"), Deny("entry.header.value", path)),
        ("NUL", value("a\u{0}b"), Deny("entry.header.value", path)),
        ("ESC", value("a\u{1b}b"), Deny("entry.header.value", path)),
        ("DEL", value("a\u{7f}b"), Deny("entry.header.value", path)),
        ("C1 control", value("a\u{85}b"), Deny("entry.header.value", path)),
    ]);
}

fn plaintext_headers(n: usize) -> Value {
    Value::Object((0..n).map(|i| (format!("X-H{i}"), json!("v"))).collect())
}

fn secret_headers(n: usize) -> Vec<Value> {
    (0..n).map(|i| secret_header(&format!("X-S{i}"), "api", "key")).collect()
}

#[test]
fn entry_header_count() {
    let both = |p: usize, s: usize| {
        entry(
            json!({ "headerForward": { "addPlaintextHeaders": plaintext_headers(p), "addHeadersFromSecret": secret_headers(s) } }),
        )
    };
    table(vec![
        ("64 of each", both(64, 64), Accept),
        (
            "65 plaintext",
            both(65, 0),
            DenyAs("entry.header.count", "spec.headerForward.addPlaintextHeaders", "FieldValueInvalid"),
        ),
        (
            "65 secret-backed",
            both(0, 65),
            DenyAs("entry.header.count", "spec.headerForward.addHeadersFromSecret", "FieldValueInvalid"),
        ),
    ]);
}

#[test]
fn entry_header_secret_in_plaintext() {
    for name in [
        "Authorization",
        "authorization",
        "Cookie",
        "X-Auth-Token",
        "X-Session-Token",
        "X-API-Key",
        "x-apikey",
        "Client-Secret",
        "DB-Password",
        "X-Auth",
    ] {
        let warning = warns(&entry_plain_headers(json!({ name: "s3cr3t-value" })), "entry.header.secret-in-plaintext");
        assert!(warning.starts_with(&format!("spec.headerForward.addPlaintextHeaders[{name}]: ")), "{warning}");
        assert!(warning.contains("visible to anyone who can read the object; use addHeadersFromSecret"), "{warning}");
        assert!(!warning.contains("s3cr3t-value"), "{warning}");
    }
    for name in ["X-Request-Id", "Accept", "X-Tenant", "User-Agent"] {
        accepts(&entry_plain_headers(json!({ name: "v" })));
    }
    // Secret-backed headers are where credentials belong.
    accepts(&entry_secret_headers(vec![secret_header("X-Auth-Token", "api", "token")]));
}

#[test]
fn entry_header_secret_ref() {
    let item = |r: Value| entry_secret_headers(vec![json!({ "headerName": "X-Api-Key", "valueSecretRef": r })]);
    let base = "spec.headerForward.addHeadersFromSecret[0].valueSecretRef";
    let name = "spec.headerForward.addHeadersFromSecret[0].valueSecretRef.name";
    let key = "spec.headerForward.addHeadersFromSecret[0].valueSecretRef.key";
    table(vec![
        ("valid", item(json!({ "name": "api-credentials", "key": "api-key" })), Accept),
        ("same namespace", item(json!({ "name": "api", "key": "k", "namespace": NS })), Accept),
        ("absent", item(Value::Null), DenyAs("entry.header.secret-ref", base, "FieldValueRequired")),
        ("empty name", item(json!({ "name": "", "key": "k" })), DenyAs("ref.name", name, "FieldValueRequired")),
        ("bad name", item(json!({ "name": "API", "key": "k" })), DenyAs("ref.name", name, "FieldValueInvalid")),
        ("empty key", item(json!({ "name": "api", "key": "" })), DenyAs("ref.name", key, "FieldValueRequired")),
        ("bad key", item(json!({ "name": "api", "key": "a:b" })), DenyAs("ref.name", key, "FieldValueInvalid")),
        (
            "other namespace",
            item(json!({ "name": "api", "key": "k", "namespace": "kube-system" })),
            DenyAs("ref.cross-namespace", &format!("{base}.namespace"), "FieldValueForbidden"),
        ),
    ]);
}

#[test]
fn entry_reports_every_violation() {
    let obj = entry(json!({
        "remoteUrl": "http://user:pw@127.0.0.1/",
        "transport": "stdio",
        "groupRef": { "name": "Tools", "namespace": "team-b" },
        "headerForward": { "addPlaintextHeaders": { "Host": "x", "X-Id": "a\nb" } },
    }));
    let outcome = Req::create(&obj).validate();
    let mut rules = outcome.causes().iter().map(|c| c.rule()).collect::<Vec<_>>();
    rules.sort();
    assert_eq!(
        rules,
        [
            "entry.header.restricted",
            "entry.header.value",
            "entry.transport",
            "entry.url.blocked-host",
            "entry.url.credentials",
            "ref.cross-namespace",
            "ref.name",
        ]
    );
    for cause in outcome.causes() {
        assert!(outcome.message().contains(&format!("{}: {}", cause.field, cause.message)), "{cause:?}");
    }
    outcome.warning("entry.url.plain-http");
}
