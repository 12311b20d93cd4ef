//! Shared reference rules: `ref.name` (names and keys are well-formed) and `ref.cross-namespace`
//! (references never leave the object's namespace).

use super::Context;
use super::finding::{Findings, Reason};
use super::path::field;

pub const REF_NAME: &str = "ref.name";
pub const REF_CROSS_NAMESPACE: &str = "ref.cross-namespace";

/// Why `name` is not a DNS-1123 subdomain, if it is not.
pub fn dns1123_subdomain_problem(name: &str) -> Option<String> {
    if is_dns1123_subdomain(name) { None } else { subdomain_problem_by_rule(name) }
}

/// [`dns1123_subdomain_problem`] rule by rule, for the message.
fn subdomain_problem_by_rule(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("must not be empty".into());
    }
    if name.len() > 253 {
        return Some(format!("must be at most 253 characters (has {})", name.len()));
    }
    if name.contains('/') {
        return Some("must be a plain name; cross-namespace references are not allowed".into());
    }
    let labels_ok = name.split('.').all(|label| {
        !label.is_empty()
            && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    });
    (!labels_ok).then(|| {
        "must be a valid DNS-1123 subdomain (lowercase letters, digits, '-' and '.', starting and ending with an alphanumeric)"
            .into()
    })
}

/// Whether `name` is a DNS-1123 subdomain, in one pass over its bytes: at most 253 of lower-case
/// letters, digits, `-` and `.`, starting and ending with a letter or digit, with no `.` next to
/// another `.` or a `-` (every label non-empty, starting and ending with a letter or digit).
fn is_dns1123_subdomain(name: &str) -> bool {
    let bytes = name.as_bytes();
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else { return false };
    let mut prev = b'.';
    let ok = bytes.iter().all(|&b| {
        let fits = match b {
            b'a'..=b'z' | b'0'..=b'9' => true,
            b'-' => prev != b'.',
            b'.' => prev != b'.' && prev != b'-',
            _ => false,
        };
        prev = b;
        fits
    });
    ok && bytes.len() <= 253 && first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric()
}

/// Why `name` is not a DNS-1123 label (volume and container names), if it is not.
pub fn dns1123_label_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("must not be empty".into());
    }
    if name.len() > 63 {
        return Some(format!("must be at most 63 characters (has {})", name.len()));
    }
    let ok = name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    (!ok).then(|| {
        "must be a DNS-1123 label (lowercase letters, digits and '-', starting and ending with an alphanumeric)".into()
    })
}

/// Whether `name` is a DNS-1035 label of at most `max` characters (Service names).
pub fn dns1035_label_problem(name: &str, max: usize) -> Option<String> {
    if name.len() > max {
        return Some(format!("must be at most {max} characters (has {})", name.len()));
    }
    let ok = name.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.ends_with('-');
    (!ok).then(|| {
        "must be a DNS-1035 label (lowercase letters, digits and '-', starting with a letter, ending with an alphanumeric)"
            .into()
    })
}

/// Why `key` is not a valid Secret/ConfigMap key, if it is not.
pub fn data_key_problem(key: &str) -> Option<String> {
    if key.is_empty() {
        return Some("must not be empty".into());
    }
    if key.len() > 253 {
        return Some(format!("must be at most 253 characters (has {})", key.len()));
    }
    let ok = key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
    if !ok {
        return Some("must consist of alphanumerics, '-', '_' or '.'".into());
    }
    (key == "." || key == "..").then(|| "must not be '.' or '..'".into())
}

/// Checks a reference's name: `path` is the name field.
pub fn check_name(name: &str, path: &str, out: &mut Findings) {
    check_name_at(name, || path.to_string(), out);
}

/// [`check_name`] with a field path that is built only for a finding.
pub fn check_name_at(name: &str, path: impl FnOnce() -> String, out: &mut Findings) {
    if let Some(problem) = dns1123_subdomain_problem(name) {
        let reason = if name.is_empty() { Reason::Required } else { Reason::Invalid };
        let reason = if name.contains('/') { Reason::Forbidden } else { reason };
        out.deny(REF_NAME, path(), reason, format!("name {problem}"));
    }
}

/// Checks a name that a kind's own rule requires to be set (its row says "non-empty"): absent or
/// empty is that rule's finding, malformed is `ref.name`'s.
pub fn check_required_name(rule: &'static str, what: &str, name: Option<&str>, path: &str, out: &mut Findings) {
    match name {
        None | Some("") => out.deny(rule, path, Reason::Required, format!("{what} is required")),
        Some(name) => check_name(name, path, out),
    }
}

/// Like `check_required_name`, for a Secret or ConfigMap key.
pub fn check_required_key(rule: &'static str, what: &str, key: &str, path: &str, out: &mut Findings) {
    if key.is_empty() {
        out.deny(rule, path, Reason::Required, format!("{what} is required"));
    } else {
        check_key(key, path, out);
    }
}

/// Checks a Secret or ConfigMap key: `path` is the key field.
pub fn check_key(key: &str, path: &str, out: &mut Findings) {
    check_key_at(key, || path.to_string(), out);
}

/// [`check_key`] with a field path that is built only for a finding.
pub fn check_key_at(key: &str, path: impl FnOnce() -> String, out: &mut Findings) {
    if let Some(problem) = data_key_problem(key) {
        let reason = if key.is_empty() { Reason::Required } else { Reason::Invalid };
        out.deny(REF_NAME, path(), reason, format!("key {problem}"));
    }
}

/// Checks an optional `namespace` of a reference at `ref_path` to an object of kind `target`.
pub fn check_namespace(namespace: Option<&str>, ref_path: &str, target: &str, ctx: &Context, out: &mut Findings) {
    // An empty namespace means "unset", as everywhere in Kubernetes.
    if let Some(ns) = namespace.filter(|ns| !ns.is_empty())
        && ns != ctx.namespace
    {
        out.deny(
            REF_CROSS_NAMESPACE,
            field(ref_path, "namespace"),
            Reason::Forbidden,
            format!(
                "cross-namespace references are not allowed; the {target} must be in namespace \"{}\"",
                ctx.namespace
            ),
        );
    }
}

/// Checks a name-and-namespace reference at `ref_path`.
pub fn check_ref(name: &str, namespace: Option<&str>, ref_path: &str, target: &str, ctx: &Context, out: &mut Findings) {
    check_name_at(name, || field(ref_path, "name"), out);
    check_namespace(namespace, ref_path, target, ctx, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_one_pass_subdomain_check_agrees_with_the_rules() {
        let alphabet = ['a', 'z', '0', '9', '-', '.', '/', 'A', '_', 'é'];
        let mut names = vec![String::new()];
        let mut valid = 0;
        for _ in 0..5 {
            names = names.iter().flat_map(|n| alphabet.iter().map(move |c| format!("{n}{c}"))).collect();
            for name in &names {
                let fast = is_dns1123_subdomain(name);
                assert_eq!(fast, subdomain_problem_by_rule(name).is_none(), "{name:?}");
                valid += usize::from(fast);
            }
        }
        assert!(valid > 1000, "only {valid} valid names were tried");
        for name in
            ["a".repeat(253), "a".repeat(254), format!("{}.b", "a".repeat(251)), format!("{}.b", "a".repeat(252))]
        {
            assert_eq!(is_dns1123_subdomain(&name), subdomain_problem_by_rule(&name).is_none(), "{}", name.len());
        }
        assert!(!is_dns1123_subdomain(""));
    }

    #[test]
    fn subdomain_names() {
        for ok in ["a", "my-group", "a.b-c.d", "0abc", &"a".repeat(253)] {
            assert_eq!(dns1123_subdomain_problem(ok), None, "{ok}");
        }
        for bad in ["", "A", "-a", "a-", "a..b", "a_b", "a b", &"a".repeat(254), "ns/name", "a.", ".a"] {
            assert!(dns1123_subdomain_problem(bad).is_some(), "{bad}");
        }
        assert!(dns1123_subdomain_problem("team-b/group").unwrap().contains("cross-namespace"));
    }

    #[test]
    fn data_keys() {
        for ok in ["ca.crt", ".pgpass", "A_b-c.d", &"k".repeat(253)] {
            assert_eq!(data_key_problem(ok), None, "{ok}");
        }
        for bad in ["", "a/b", "a b", "ä", ".", "..", &"k".repeat(254)] {
            assert!(data_key_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn dns1035_labels() {
        assert_eq!(dns1035_label_problem("vmcp-1", 58), None);
        assert_eq!(dns1035_label_problem(&"a".repeat(58), 58), None);
        for bad in ["1abc", "a.b", "A", "a-", "", &"a".repeat(59)] {
            assert!(dns1035_label_problem(bad, 58).is_some(), "{bad}");
        }
    }
}
