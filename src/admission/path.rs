//! Field paths in the Kubernetes style (`spec.list[2].name`, `spec.map[key]`) and lookups of the
//! JSON value a path names, used by ratcheting.

use serde_json::Value;

/// Appends a field name: `spec` + `remoteUrl` → `spec.remoteUrl`.
///
/// Paths are built for every field a rule looks at, found or not, so they are put together by
/// hand: through `format!` they were a fifth of a VirtualMCPServer review.
pub fn field(parent: &str, name: &str) -> String {
    if parent.is_empty() { name.to_owned() } else { joined(parent, ".", name, "") }
}

/// Appends a list index: `spec.items` + 2 → `spec.items[2]`.
pub fn index(parent: &str, i: usize) -> String {
    joined(parent, "[", itoa::Buffer::new().format(i), "]")
}

/// Appends a map key: `spec.headers` + `X-Id` → `spec.headers[X-Id]`.
pub fn key(parent: &str, k: &str) -> String {
    joined(parent, "[", k, "]")
}

fn joined(parent: &str, open: &str, part: &str, close: &str) -> String {
    let mut path = String::with_capacity(parent.len() + open.len() + part.len() + close.len());
    for piece in [parent, open, part, close] {
        path.push_str(piece);
    }
    path
}

enum Segment<'a> {
    Name(&'a str),
    Bracket(&'a str),
}

fn segments(path: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(inner) = rest.strip_prefix('[') {
            let end = inner.find(']').unwrap_or(inner.len());
            out.push(Segment::Bracket(&inner[..end]));
            rest = inner.get(end + 1..).unwrap_or("");
        } else {
            let rest_trimmed = rest.strip_prefix('.').unwrap_or(rest);
            let end = rest_trimmed.find(['.', '[']).unwrap_or(rest_trimmed.len());
            out.push(Segment::Name(&rest_trimmed[..end]));
            rest = &rest_trimmed[end..];
        }
    }
    out
}

/// The value at `path` in `root`, or `None` when any step is absent.
pub fn lookup<'v>(root: &'v Value, path: &str) -> Option<&'v Value> {
    segments(path).into_iter().try_fold(root, |node, segment| match (segment, node) {
        (Segment::Name(name), Value::Object(map)) => map.get(name),
        (Segment::Bracket(k), Value::Array(items)) => k.parse::<usize>().ok().and_then(|i| items.get(i)),
        (Segment::Bracket(k), Value::Object(map)) => map.get(k),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_are_built_in_kubernetes_style() {
        let p = index(&field(&field("spec", "headerForward"), "addHeadersFromSecret"), 1);
        assert_eq!(field(&p, "headerName"), "spec.headerForward.addHeadersFromSecret[1].headerName");
        assert_eq!(key("spec.h", "X-Id"), "spec.h[X-Id]");
        assert_eq!(field("", "spec"), "spec");
        for i in [0, 7, 10, 99, 1234, usize::MAX] {
            assert_eq!(index("spec.items", i), format!("spec.items[{i}]"));
        }
    }

    #[test]
    fn lookup_follows_names_indices_and_keys() {
        let doc = json!({"spec": {"list": [{"name": "a"}, {"name": "b"}], "map": {"x.y": 1}}});
        assert_eq!(lookup(&doc, "spec.list[1].name"), Some(&json!("b")));
        assert_eq!(lookup(&doc, "spec.map[x.y]"), Some(&json!(1)));
        assert_eq!(lookup(&doc, "spec.list[5].name"), None);
        assert_eq!(lookup(&doc, "spec.missing.deeper"), None);
        assert_eq!(lookup(&doc, "spec"), doc.get("spec"));
    }
}
