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

pub(crate) enum Segment<'a> {
    Name(&'a str),
    Bracket(&'a str),
}

pub(crate) fn segments(path: &str) -> Vec<Segment<'_>> {
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

/// [`lookup`] in the JSON text of a value (a repeated key counts by its last value, as in a
/// `Value`): the text of the value the `steps` of a path lead to, or `None` when any is absent.
pub(crate) fn follow_text<'t>(root: &'t str, steps: &[Segment]) -> Option<&'t str> {
    steps.iter().try_fold(root, |node, segment| match *segment {
        Segment::Name(name) => crate::json::child(node, name, false),
        Segment::Bracket(k) => crate::json::child(node, k, true),
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

    /// `follow_text`'s answer read as a `Value`, next to `lookup`'s in the `Value` of the text.
    fn both_ways(text: &str, path: &str) -> (Option<Value>, Option<Value>) {
        let from_text =
            follow_text(text, &segments(path)).map(|found| serde_json::from_str(found).expect("a whole value"));
        let value: Value = serde_json::from_str(text).expect("json");
        (from_text, lookup(&value, path).cloned())
    }

    #[test]
    fn text_lookup_finds_what_value_lookup_finds() {
        let cases = [
            (r#"{"spec":{"list":[{"name":"a"},{"name":"b"}],"map":{"x.y":1}}}"#, "spec.list[1].name"),
            (r#"{"spec":{"list":[{"name":"a"},{"name":"b"}],"map":{"x.y":1}}}"#, "spec.map[x.y]"),
            (r#"{"spec":{"list":[{"name":"a"}]}}"#, "spec.list[5].name"),
            (r#"{"spec":{"list":[{"name":"a"}]}}"#, "spec.list.0"),
            (r#"{"spec":{"list":[{"name":"a"}]}}"#, "spec.missing.deeper"),
            (r#"{"spec":{"list":[{"name":"a"}]}}"#, ""),
            (r#"{ "a" : [ 1 , { "b" : null } ] , "c" : "d" }"#, "a[1].b"),
            ("{\n  \"a\": {\n    \"b\": [true, false]\n  }\n}", "a.b[1]"),
            (r#"{"a":{"b":1},"a":{"c":2}}"#, "a.b"),
            (r#"{"a":{"b":1},"a":{"c":2}}"#, "a.c"),
            (r#"{"a":1,"a":null}"#, "a"),
            (r#"{"\u0061":{"b\n":"x"}}"#, "a[b\n]"),
            (r#"{"a":"{\"b\":1}"}"#, "a.b"),
            (r#"{"a":{"b":1}}"#, "a.b.c"),
            (r#"[{"a":1}]"#, "[0].a"),
            (r#"[{"a":1}]"#, "[x].a"),
            (r#""text""#, "a"),
            ("7", "[0]"),
        ];
        for (text, path) in cases {
            let (from_text, from_value) = both_ways(text, path);
            assert_eq!(from_text, from_value, "{text} at {path:?}");
        }
    }

    #[test]
    fn the_spec_text_answers_for_paths_under_spec() {
        use crate::admission::{RawObject, SpecText};
        let object = json!({"metadata": {"name": "n"}, "spec": {"a": {"b": null}, "list": [1]}});
        let text = serde_json::to_string(&object["spec"]).expect("json");
        let spec = SpecText::new(&text, None);
        for path in ["spec", "spec.a", "spec.a.b", "spec.list[0]", "spec.list[1]", "spec.b", "spec.a.c"] {
            assert_eq!(RawObject::Spec(&spec).has(path), RawObject::Value(&object).has(path), "{path}");
        }
        // Names that appear only as values, keys written with escapes, and text with escapes elsewhere.
        let object = json!({"spec": {"a": "tokenCache", "b\"c": {"d": [{"e": 1}]}, "f": "x\\y"}});
        let escaped = r#"{"a":"tokenCache","b\"c":{"\u0064":[{"e":1}]},"f":"x\\y","\u0074okenCache":null}"#;
        let value: Value = serde_json::from_str(escaped).expect("json");
        let written = json!({"spec": value});
        let paths = ["spec.tokenCache", "spec.a", "spec[b\"c].d[0].e", "spec[b\"c].d", "spec.f", "spec.x", "spec.d"];
        for (text, object) in
            [(serde_json::to_string(&object["spec"]).expect("json"), &object), (escaped.into(), &written)]
        {
            let scanned = SpecText::new(&text, None);
            let noted = SpecText::new(&text, SpecText::noted_members(&text));
            for (spec, path) in [&scanned, &noted].into_iter().flat_map(|spec| paths.map(|path| (spec, path))) {
                assert_eq!(RawObject::Spec(spec).has(path), RawObject::Value(object).has(path), "{text} at {path}");
            }
        }
        let object = json!({"metadata": {"name": "n"}, "spec": {}});
        let text = "{}".to_string();
        let spec = SpecText::new(&text, None);
        assert!(RawObject::Value(&object).has("metadata.name"));
        assert!(!RawObject::Spec(&spec).has("metadata.name"), "only the spec is at hand");
        assert!(!RawObject::Spec(&spec).has("speca"));
    }

    /// Documents whose keys are few, so that generated paths often lead somewhere.
    fn documents() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![Just(Value::Null), any::<bool>().prop_map(Value::from), (0u32..9).prop_map(Value::from)];
        leaf.prop_recursive(4, 40, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map("[abc]", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn spec_text_lookups_agree_with_value_lookups(
            doc in documents(),
            steps in proptest::collection::vec(proptest::sample::select(vec![".a", ".b", "[c]", "[0]", ".0"]), 0..4),
            escape in proptest::bool::ANY,
        ) {
            use crate::admission::{RawObject, SpecText};
            let mut text = serde_json::to_string(&doc).expect("json");
            if escape {
                // The same document with the key `a` written as `\u0061`.
                text = text.replace(r#""a":"#, r#""\u0061":"#);
            }
            let path = format!("spec{}", steps.concat());
            let object = serde_json::json!({"spec": doc});
            let from_value = RawObject::Value(&object).has(&path);
            let noted = SpecText::noted_members(&text);
            proptest::prop_assert_eq!(noted.is_some(), object["spec"].is_object());
            for spec in [SpecText::new(&text, None), SpecText::new(&text, noted)] {
                proptest::prop_assert_eq!(RawObject::Spec(&spec).has(&path), from_value, "{} at {}", text, path);
            }
        }

        #[test]
        fn text_lookup_agrees_with_value_lookup(
            doc in documents(),
            steps in proptest::collection::vec(proptest::sample::select(vec![".a", ".b", "[c]", "[0]", "[1]", ".0"]), 0..4),
            pretty in proptest::bool::ANY,
        ) {
            let text = if pretty { serde_json::to_string_pretty(&doc) } else { serde_json::to_string(&doc) }.expect("json");
            let path: String = steps.concat();
            let (from_text, from_value) = both_ways(&text, &path);
            proptest::prop_assert_eq!(from_text, from_value, "{} at {}", text, path);
        }
    }
}
