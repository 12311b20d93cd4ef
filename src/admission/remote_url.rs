//! The remote-URL policy: which hosts an MCPServerEntry may point at.
//!
//! Decisions are made on the host as WHATWG parsing normalises it, so that encodings such as
//! `0x7f.1`, `2130706433`, `[::ffff:127.0.0.1]` or `localhost.` cannot slip past.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use compact_str::CompactString;
use ipnet::IpNet;
use url::{Host, Url};

/// Ranges no entry may target: this host, link-local (cloud metadata), multicast, reserved.
const BLOCKED_V4: [&str; 5] = ["0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "240.0.0.0/4"];
const BLOCKED_V6: [&str; 4] = ["::/128", "::1/128", "fe80::/10", "ff00::/8"];
/// Ranges an entry may target only with `allowPrivateEndpoint: true`.
const PRIVATE_V4: [&str; 4] = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"];
const PRIVATE_V6: [&str; 1] = ["fc00::/7"];
/// Names of the cluster's own API server, this host and cloud metadata services.
const BLOCKED_NAMES: [&str; 6] = [
    "localhost",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
    "metadata.google.internal",
    "metadata",
];

/// The API server's Service name; under the cluster domain it is blocked too, whatever the domain.
const CLUSTER_API_SERVICE: &str = "kubernetes.default.svc";

fn nets(cidrs: &[&str]) -> Vec<IpNet> {
    cidrs.iter().filter_map(|c| c.parse().ok()).collect()
}

/// Operator-tunable policy (`--remote-url-*` flags) on top of the built-in ranges.
#[derive(Clone, Debug)]
pub struct RemoteUrlPolicy {
    blocked: Vec<IpNet>,
    private: Vec<IpNet>,
    /// Extra ranges that are always denied.
    pub deny_cidrs: Vec<IpNet>,
    /// Ranges allowed even though they are private (never overrides the blocked ranges).
    pub allow_cidrs: Vec<IpNet>,
    /// Extra host names (and their subdomains) that are always denied.
    pub deny_hosts: Vec<String>,
    /// The cluster's DNS domain: `*.<domain>` counts as private.
    pub cluster_domain: String,
}

impl Default for RemoteUrlPolicy {
    fn default() -> Self {
        RemoteUrlPolicy::new(Vec::new(), Vec::new(), Vec::new(), "cluster.local")
    }
}

/// How the policy judges one host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostVerdict {
    Allowed,
    /// Never allowed; the text says which range or name matched.
    Blocked(String),
    /// Allowed only with `allowPrivateEndpoint`; the text says which range or name matched.
    Private(String),
}

impl RemoteUrlPolicy {
    pub fn new(deny_cidrs: Vec<IpNet>, allow_cidrs: Vec<IpNet>, deny_hosts: Vec<String>, cluster_domain: &str) -> Self {
        let mut blocked = nets(&BLOCKED_V4);
        blocked.extend(nets(&BLOCKED_V6));
        let mut private = nets(&PRIVATE_V4);
        private.extend(nets(&PRIVATE_V6));
        RemoteUrlPolicy {
            blocked,
            private,
            deny_cidrs,
            allow_cidrs,
            deny_hosts: deny_hosts.into_iter().map(|h| normalize_name(&h).into_owned()).collect(),
            cluster_domain: normalize_name(cluster_domain).into_owned(),
        }
    }

    /// Judges a parsed URL host.
    pub fn judge(&self, host: &Host<&str>) -> HostVerdict {
        match host {
            Host::Domain(name) => self.judge_name(name),
            Host::Ipv4(ip) => self.judge_ip(IpAddr::V4(*ip)),
            Host::Ipv6(ip) => match embedded_ipv4(ip) {
                Some(v4) => match self.judge_ip(IpAddr::V4(v4)) {
                    HostVerdict::Allowed => self.judge_ip(IpAddr::V6(*ip)),
                    HostVerdict::Blocked(why) => HostVerdict::Blocked(format!("{why} (embedded IPv4 {v4})")),
                    HostVerdict::Private(why) => HostVerdict::Private(format!("{why} (embedded IPv4 {v4})")),
                },
                None => self.judge_ip(IpAddr::V6(*ip)),
            },
        }
    }

    fn judge_ip(&self, ip: IpAddr) -> HostVerdict {
        if let Some(net) = self.blocked.iter().find(|n| n.contains(&ip)) {
            return HostVerdict::Blocked(format!("is in blocked range {net}"));
        }
        if let Some(net) = self.deny_cidrs.iter().find(|n| n.contains(&ip)) {
            return HostVerdict::Blocked(format!("is in denied range {net}"));
        }
        if self.allow_cidrs.iter().any(|n| n.contains(&ip)) {
            return HostVerdict::Allowed;
        }
        match self.private.iter().find(|n| n.contains(&ip)) {
            Some(net) => HostVerdict::Private(format!("is in private range {net}")),
            None => HostVerdict::Allowed,
        }
    }

    fn judge_name(&self, raw: &str) -> HostVerdict {
        let name = normalize_name(raw);
        let name = name.as_ref();
        let blocked = |matched: &str| HostVerdict::Blocked(format!("is a blocked name ({matched})"));
        if let Some(builtin) = BLOCKED_NAMES.iter().find(|b| name_matches(name, b)) {
            return blocked(builtin);
        }
        if is_cluster_api(name, &self.cluster_domain) {
            return blocked(&format!("{CLUSTER_API_SERVICE}.{}", self.cluster_domain));
        }
        if let Some(denied) = self.deny_hosts.iter().find(|b| name_matches(name, b)) {
            return blocked(denied);
        }
        if name_matches(name, &self.cluster_domain) {
            return HostVerdict::Private(format!("is a cluster-internal name (*.{})", self.cluster_domain));
        }
        HostVerdict::Allowed
    }
}

/// Lower case, without a trailing dot; borrowed when already so (URL hosts are lower-cased).
fn normalize_name(name: &str) -> Cow<'_, str> {
    let trimmed = name.trim_end_matches('.');
    if trimmed.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(trimmed.to_ascii_lowercase())
    } else {
        Cow::Borrowed(trimmed)
    }
}

/// `name` is the API server's in-cluster name `kubernetes.default.svc.<domain>` or a subdomain.
fn is_cluster_api(name: &str, cluster_domain: &str) -> bool {
    name.strip_suffix(cluster_domain)
        .and_then(|rest| rest.strip_suffix('.'))
        .is_some_and(|rest| name_matches(rest, CLUSTER_API_SERVICE))
}

/// `name` equals `suffix` or is a subdomain of it.
fn name_matches(name: &str, suffix: &str) -> bool {
    !suffix.is_empty() && (name == suffix || name.strip_suffix(suffix).is_some_and(|rest| rest.ends_with('.')))
}

/// The IPv4 address carried by an IPv4-mapped, IPv4-compatible or NAT64 (`64:ff9b::/96`) address.
fn embedded_ipv4(ip: &Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let tail = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    let mapped = s[..5] == [0; 5] && s[5] == 0xffff;
    // `::` and `::1` are judged as IPv6 themselves.
    let compatible = s[..6] == [0; 6] && (s[6] != 0 || s[7] > 1);
    let nat64 = s[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
    (mapped || compatible || nat64).then_some(tail)
}

/// Problems with a `remoteUrl`, in the order they are reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UrlProblem {
    /// Not usable at all (scheme, syntax, length, characters); the text explains.
    Syntax(String),
    /// Contains user-info.
    Credentials,
    Blocked(String),
    Private(String),
}

/// What the policy says about one remote URL.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UrlReport {
    pub problems: Vec<UrlProblem>,
    /// Host as parsed, for messages (never the whole URL, which may carry credentials).
    pub host: Option<CompactString>,
    pub plain_http: bool,
    pub has_fragment: bool,
}

pub const MAX_URL_LEN: usize = 2048;

/// Evaluates `raw` against the syntax rules and `policy`.
pub fn inspect(raw: &str, policy: &RemoteUrlPolicy) -> UrlReport {
    if !(raw.starts_with("http://") || raw.starts_with("https://")) {
        return syntax("must start with http:// or https:// (lower case)");
    }
    if super::more_chars_than(raw, MAX_URL_LEN) {
        return syntax(&format!("must be at most {MAX_URL_LEN} characters"));
    }
    let bad_char = if raw.is_ascii() {
        // The ASCII whitespace and control characters, as `char::is_whitespace`/`is_control` say.
        raw.bytes().any(|b| b == b' ' || b.is_ascii_control())
    } else {
        raw.chars().any(|c| c.is_whitespace() || c.is_control())
    };
    if bad_char {
        return syntax("must not contain whitespace or control characters");
    }
    if let Some(plain) = PlainUrl::read(raw) {
        let mut report = UrlReport {
            host: Some(plain.host.into()),
            plain_http: plain.http,
            has_fragment: plain.has_fragment,
            ..UrlReport::default()
        };
        judge_into(&mut report, policy, &Host::Domain(plain.host));
        return report;
    }
    parsed(raw, policy)
}

/// The report on a URL that is not usable at all.
fn syntax(msg: &str) -> UrlReport {
    UrlReport { problems: vec![UrlProblem::Syntax(msg.to_string())], ..UrlReport::default() }
}

/// [`inspect`] past its character checks, with the WHATWG parser.
fn parsed(raw: &str, policy: &RemoteUrlPolicy) -> UrlReport {
    let url = match Url::parse(raw) {
        Ok(url) => url,
        Err(err) => return syntax(&format!("is not a valid absolute URL ({err})")),
    };
    let Some(host) = url.host().filter(|h| !matches!(h, Host::Domain(""))) else {
        return syntax("must name a host");
    };
    let mut report = UrlReport {
        // The host as the URL serializes it (brackets around IPv6), without formatting it again.
        host: url.host_str().map(CompactString::from),
        plain_http: url.scheme() == "http",
        has_fragment: url.fragment().is_some(),
        ..UrlReport::default()
    };
    if has_user_info(raw) || !url.username().is_empty() || url.password().is_some() {
        report.problems.push(UrlProblem::Credentials);
    }
    judge_into(&mut report, policy, &host);
    report
}

fn judge_into(report: &mut UrlReport, policy: &RemoteUrlPolicy, host: &Host<&str>) {
    match policy.judge(host) {
        HostVerdict::Allowed => {}
        HostVerdict::Blocked(why) => report.problems.push(UrlProblem::Blocked(why)),
        HostVerdict::Private(why) => report.problems.push(UrlProblem::Private(why)),
    }
}

/// A URL of the shape nearly every remote URL has, read without the WHATWG parser: `http://` or
/// `https://`, a lower-case DNS name (labels of letters, digits and inner hyphens, the last one
/// starting with a letter, so not an IPv4 address in any notation), an optional port, then
/// anything. For such a URL the parser's host is exactly the name as written (nothing to lower-case,
/// percent-decode or map), the rest of the URL cannot fail to parse, and there is no user-info; any
/// other URL is left to the parser.
struct PlainUrl<'a> {
    host: &'a str,
    http: bool,
    has_fragment: bool,
}

impl<'a> PlainUrl<'a> {
    fn read(raw: &'a str) -> Option<Self> {
        let (http, rest) = match raw.strip_prefix("https://") {
            Some(rest) => (false, rest),
            None => (true, raw.strip_prefix("http://")?),
        };
        let bytes = rest.as_bytes();
        let host_len =
            bytes.iter().position(|b| !matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.')).unwrap_or(bytes.len());
        let (host, after) = rest.split_at(host_len);
        let after = match after.strip_prefix(':') {
            Some(port) => {
                let digits = port.bytes().take_while(u8::is_ascii_digit).count();
                let value: u32 = port.get(..digits).filter(|d| (1..=5).contains(&d.len()))?.parse().ok()?;
                (value <= u32::from(u16::MAX)).then_some(&port[digits..])?
            }
            None => after,
        };
        if !(after.is_empty() || after.starts_with(['/', '?', '#', '\\'])) || host.len() > 253 {
            return None;
        }
        // One pass over the labels (the host's bytes are already known to be `[a-z0-9.-]`): the
        // DNS-1123 label rules, at most 63 bytes, no `xn--` or other reserved `??--` prefix.
        let plain_label = |label: &str| {
            let b = label.as_bytes();
            (1..=63).contains(&b.len())
                && b[0] != b'-'
                && b[b.len() - 1] != b'-'
                && b.get(2..4) != Some(b"--".as_slice())
        };
        let last = host.rsplit('.').next()?;
        let plain = host.split('.').all(plain_label) && last.as_bytes()[0].is_ascii_lowercase();
        plain.then(|| PlainUrl { host, http, has_fragment: after.contains('#') })
    }
}

/// Whether the authority part of `raw` (which starts with its scheme, as `inspect` checked) carries
/// user-info (even an empty `@`, which the parsed URL does not show).
fn has_user_info(raw: &str) -> bool {
    let after_scheme = ["https://", "http://"].iter().find_map(|scheme| raw.strip_prefix(scheme)).unwrap_or(raw);
    let authority_end = after_scheme.find(['/', '?', '#', '\\']).unwrap_or(after_scheme.len());
    after_scheme[..authority_end].contains('@')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(url: &str) -> Vec<UrlProblem> {
        inspect(url, &RemoteUrlPolicy::default()).problems
    }

    fn blocked(url: &str) -> bool {
        verdict(url).iter().any(|p| matches!(p, UrlProblem::Blocked(_)))
    }

    fn private(url: &str) -> bool {
        verdict(url).iter().any(|p| matches!(p, UrlProblem::Private(_)))
    }

    #[test]
    fn loopback_in_any_encoding_is_blocked() {
        for url in [
            "http://127.0.0.1/",
            "http://127.1/",
            "http://0x7f.1/",
            "http://2130706433/",
            "http://017700000001/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://[64:ff9b::127.0.0.1]/",
            "http://[::127.0.0.1]/",
            "http://localhost/",
            "http://LOCALHOST./",
            "http://api.localhost/",
            "http://local%68ost/",
            "http://0.0.0.0/",
            "http://[::]/",
        ] {
            assert!(blocked(url), "{url} should be blocked: {:?}", verdict(url));
        }
    }

    #[test]
    fn metadata_link_local_multicast_and_api_server_are_blocked() {
        for url in [
            "http://169.254.169.254/latest/meta-data",
            "http://metadata.google.internal/",
            "http://metadata/",
            "http://kubernetes.default/",
            "https://kubernetes.default.svc/",
            "https://kubernetes.default.svc.cluster.local/",
            "http://224.0.0.1/",
            "http://239.255.255.250/",
            "http://255.255.255.255/",
            "http://240.0.0.1/",
            "http://[fe80::1]/",
            "http://[ff02::1]/",
        ] {
            assert!(blocked(url), "{url}");
        }
    }

    #[test]
    fn range_boundaries() {
        assert!(!blocked("http://126.255.255.255/") && blocked("http://127.0.0.0/"));
        assert!(blocked("http://127.255.255.255/") && !blocked("http://128.0.0.0/"));
        assert!(
            !blocked("http://169.253.255.255/") && blocked("http://169.254.0.0/") && !blocked("http://169.255.0.0/")
        );
        assert!(!blocked("http://223.255.255.255/") && blocked("http://224.0.0.0/"));
        assert!(!private("http://9.255.255.255/") && private("http://10.0.0.0/") && !private("http://11.0.0.0/"));
        assert!(
            !private("http://172.15.255.255/") && private("http://172.16.0.0/") && private("http://172.31.255.255/")
        );
        assert!(!private("http://172.32.0.0/"));
        assert!(private("http://192.168.0.1/") && !private("http://192.169.0.1/"));
        assert!(
            !private("http://100.63.255.255/") && private("http://100.64.0.0/") && private("http://100.127.255.255/")
        );
        assert!(!private("http://100.128.0.0/"));
        assert!(private("http://[fd00::1]/") && private("http://[fc00::]/") && !private("http://[fe00::1]/"));
        assert!(private("http://[::ffff:10.0.0.1]/"));
    }

    #[test]
    fn cluster_names_are_private_but_short_service_names_are_allowed() {
        assert!(private("http://svc.ns.svc.cluster.local/"));
        assert!(private("http://cluster.local./"));
        assert!(verdict("http://my-svc.my-ns.svc:8080/mcp").is_empty());
        assert!(verdict("https://mcp.example.com/sse").is_empty());
        assert!(verdict("https://notlocalhost.example/").is_empty());
        assert!(verdict("https://localhost.example.com/").is_empty());
    }

    #[test]
    fn syntax_and_credentials() {
        for bad in [
            "HTTPS://example.com",
            "ftp://x",
            "https//x",
            "http://",
            "http://exa mple.com",
            "http://a\u{7}b",
            "http://a\u{b}b",
            "http://a\u{7f}b",
            "http://exa\u{3000}mple.com",
            "https://ex\u{85}ample.com",
        ] {
            assert!(matches!(verdict(bad).first(), Some(UrlProblem::Syntax(_))), "{bad:?}");
        }
        // The length limit counts characters, not bytes.
        let wide = format!("https://example.com/{}", "é".repeat(MAX_URL_LEN - 20));
        assert!(verdict(&wide).is_empty());
        assert!(matches!(verdict(&format!("{wide}é")).first(), Some(UrlProblem::Syntax(_))));
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert!(matches!(verdict(&long).first(), Some(UrlProblem::Syntax(_))));
        let exact = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN - 20));
        assert_eq!(exact.len(), MAX_URL_LEN);
        assert!(verdict(&exact).is_empty());
        assert_eq!(verdict("https://user:pass@example.com/"), vec![UrlProblem::Credentials]);
        assert_eq!(verdict("https://user@example.com/"), vec![UrlProblem::Credentials]);
        assert_eq!(
            verdict("https:///user:pass@example.com/"),
            vec![UrlProblem::Credentials],
            "WHATWG skips extra slashes"
        );
        assert!(verdict("https://example.com/?q=a@b").is_empty());
    }

    #[test]
    fn operator_policy_widens_and_narrows() {
        let policy = RemoteUrlPolicy::new(
            vec!["203.0.113.0/24".parse().unwrap()],
            vec!["10.1.0.0/16".parse().unwrap(), "127.0.0.0/8".parse().unwrap()],
            vec!["internal.example".into()],
            "corp.local",
        );
        let problems = |u: &str| inspect(u, &policy).problems;
        assert!(matches!(problems("http://203.0.113.9/")[..], [UrlProblem::Blocked(_)]));
        assert!(problems("http://10.1.2.3/").is_empty());
        assert!(matches!(problems("http://10.2.0.1/")[..], [UrlProblem::Private(_)]));
        assert!(matches!(problems("http://127.0.0.1/")[..], [UrlProblem::Blocked(_)]), "allow never beats loopback");
        assert!(matches!(problems("http://a.internal.example/")[..], [UrlProblem::Blocked(_)]));
        assert!(matches!(problems("http://x.corp.local/")[..], [UrlProblem::Private(_)]));
        assert!(matches!(problems("http://kubernetes.default.svc.corp.local/")[..], [UrlProblem::Blocked(_)]));
        assert_eq!(
            problems("https://API.Kubernetes.Default.SVC.corp.local./"),
            [UrlProblem::Blocked("is a blocked name (kubernetes.default.svc.corp.local)".into())],
            "a subdomain of the API server's name, whatever its case and trailing dot"
        );
        assert_eq!(
            problems("http://notkubernetes.default.svc.corp.local/"),
            [UrlProblem::Private("is a cluster-internal name (*.corp.local)".into())]
        );
        assert!(!is_cluster_api("kubernetes.default.svc.corp.local", ""), "no domain, no in-cluster name");
    }

    #[test]
    fn report_says_which_range_matched() {
        let report = inspect("http://127.0.0.1:8080/", &RemoteUrlPolicy::default());
        assert_eq!(report.problems, vec![UrlProblem::Blocked("is in blocked range 127.0.0.0/8".into())]);
        assert_eq!(report.host.as_deref(), Some("127.0.0.1"));
        assert!(report.plain_http);
        // Hosts are named as parsed: normalised, IPv6 in brackets.
        let host = |url: &str| inspect(url, &RemoteUrlPolicy::default()).host;
        assert_eq!(host("http://[0:0::1]/").as_deref(), Some("[::1]"));
        assert_eq!(host("http://0x7f.1/").as_deref(), Some("127.0.0.1"));
        assert_eq!(host("https://EXAMPLE.com./x").as_deref(), Some("example.com."));
    }

    /// Reports as [`inspect`] makes them, and as the WHATWG parser alone makes them.
    fn both_ways(url: &str) -> (UrlReport, UrlReport) {
        let policy = RemoteUrlPolicy::default();
        (inspect(url, &policy), parsed(url, &policy))
    }

    #[test]
    fn plain_urls_are_read_as_the_parser_reads_them() {
        let plain = [
            "https://mcp.github.example.com/v1/mcp",
            "http://my-svc.my-ns.svc:8080/mcp",
            "https://a1.b-2.example:443?x#y",
            "https://example.com#",
            "http://x.y\\path",
            "https://metadata/",
            "https://kubernetes.default.svc.cluster.local",
            "https://host.example:0080/",
            "http://sub.cluster.local/",
        ];
        for url in plain {
            assert!(PlainUrl::read(url).is_some(), "{url} should be read without the parser");
            let (fast, slow) = both_ways(url);
            assert_eq!(fast, slow, "{url}");
        }
        let unusual = [
            "https://xn--nxasmq6b.example/",
            "https://ab--cd.example/",
            "https://-a.example/",
            "https://a-.example/",
            "https://a..example/",
            "https://.example/",
            "https://example./",
            "https://Example.com/",
            "https://1.2.3.4/",
            "https://example.0x7f/",
            "https://example.123/",
            "https://user@example.com/",
            "https://user:pw@example.com/",
            "https://@example.com/",
            "https://example.com:/",
            "https://example.com:65536/",
            "https://example.com:8a/",
            "https://example.com:80@evil.example/",
            "https://exa_mple.com/",
            "https://local%68ost/",
            "https:///example.com/",
            "https://[::1]/",
            "https://",
        ];
        for url in unusual {
            assert!(PlainUrl::read(url).is_none(), "{url} should be left to the parser");
        }
    }

    proptest::proptest! {
        /// URLs built from the pieces the plain reader looks at: whenever it reads one, the parser
        /// reads it the same.
        #[test]
        fn the_plain_reader_agrees_with_the_parser(
            scheme in proptest::sample::select(vec!["http://", "https://"]),
            labels in proptest::collection::vec(
                proptest::sample::select(vec![
                    "a", "mcp", "x-1", "0", "42", "0x7f", "z9", "xn--a", "ab--c", "-a", "b-", "", "A", "a_b",
                    "%61", "localhost", "svc", "\u{e4}", "metadata",
                ]),
                1..5,
            ),
            port in proptest::sample::select(vec!["", ":", ":0", ":80", ":0443", ":65535", ":65536", ":123456", ":8a"]),
            rest in proptest::collection::vec(
                proptest::sample::select(vec!["/", "?", "#", "\\", "a", "@", ":", "%", ".", "[", "]"]),
                0..6,
            ),
        ) {
            let url = format!("{scheme}{}{port}{}", labels.join("."), rest.concat());
            let (fast, slow) = both_ways(&url);
            proptest::prop_assert_eq!(fast, slow, "{}", url);
        }
    }
}
