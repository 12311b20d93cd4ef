//! `registry.config.*`: the registry server's `config.yaml`, which the operator stores in a
//! ConfigMap and does not otherwise interpret, must be there, should parse, and should not inline
//! credentials.

use serde_norway::Value as Yaml;

use super::block_yaml;
use crate::admission::finding::{Findings, Reason};
use crate::admission::path::{field, index};
use crate::api::v1beta1::MCPRegistrySpec;

pub(super) fn check_config(spec: &MCPRegistrySpec, out: &mut Findings) {
    let path = "spec.configYAML";
    let Some(text) = spec.config_yaml.as_deref().filter(|t| !t.trim().is_empty()) else {
        out.deny("registry.config.required", path, Reason::Required, "the registry server's config.yaml is required");
        return;
    };
    let found = match credentials(text) {
        Ok(found) => found,
        Err(err) => {
            let at = err.location().map(|l| format!(" (line {}, column {})", l.line(), l.column())).unwrap_or_default();
            out.warn(
                "registry.config.yaml",
                path,
                format!("does not parse as YAML{at}; the registry server will refuse to start"),
            );
            if has_url_credentials(text) { vec!["a URL with user-info".to_string()] } else { Vec::new() }
        }
    };
    for location in found {
        out.warn(
            "registry.config.credentials",
            path,
            format!("{location} appears to inline a credential: ConfigMaps are not secret; mount a Secret and reference its file path"),
        );
    }
}

/// Where `text` appears to inline credentials (their paths, never their values), or why it does
/// not parse as YAML.
fn credentials(text: &str) -> Result<Vec<String>, serde_norway::Error> {
    let mut found = Vec::new();
    let block = block_yaml::scalars(text, |at, key, value| {
        let literal = value.is_some_and(|v| !v.trim().is_empty());
        scalar_credentials(at, key, literal, value, &mut found)
    });
    if block.is_some() {
        return Ok(found);
    }
    parsed_credentials(text)
}

/// [`credentials`] through the full YAML parser, for any document.
fn parsed_credentials(text: &str) -> Result<Vec<String>, serde_norway::Error> {
    // Parsed as YAML values (not JSON ones), so that non-string keys are not mistaken for errors.
    let doc = serde_norway::from_str::<Yaml>(text)?;
    let mut found = Vec::new();
    inlined_credentials(&doc, "", None, &mut found);
    Ok(found)
}

/// Keys whose literal value is a credential, compared lower-case without `-`/`_`. Exact names only
/// (plus the `…password`/`…apikey` suffixes), so `passwordFile`, `tokenPath`, `secretName` or
/// `existingSecret`, which name where a credential lives, are not mistaken for one.
const CREDENTIAL_KEYS: [&str; 12] = [
    "password",
    "passwd",
    "token",
    "secret",
    "clientsecret",
    "apikey",
    "accesstoken",
    "authtoken",
    "bearertoken",
    "refreshtoken",
    "apitoken",
    "privatekey",
];
const CREDENTIAL_SUFFIXES: [&str; 2] = ["password", "apikey"];

fn is_credential_key(key: &str) -> bool {
    // Most keys are settled by their last letter, which no word ends in.
    let last = key.bytes().rev().find(|b| !matches!(b, b'-' | b'_')).map(|b| b.to_ascii_lowercase());
    let words = CREDENTIAL_KEYS.iter().map(|w| (w, true)).chain(CREDENTIAL_SUFFIXES.iter().map(|w| (w, false)));
    words
        .filter(|(word, _)| word.as_bytes().last() == last.as_ref())
        .any(|(word, whole)| normalized_ends_with(key, word, whole))
}

/// Whether `key`, lower-case without `-`/`_`, ends with (or, when `whole`, is) the lower-case
/// `word`. Compared from the end, byte by byte: nothing to allocate for every key of a config.
fn normalized_ends_with(key: &str, word: &str, whole: bool) -> bool {
    let mut rest = key.bytes().rev().filter(|b| !matches!(b, b'-' | b'_')).map(|b| b.to_ascii_lowercase());
    word.bytes().rev().all(|w| rest.next() == Some(w)) && (!whole || rest.next().is_none())
}

/// Whether `text` holds a URL with user-info, such as `postgres://user:pass@db/registry`.
fn has_url_credentials(text: &str) -> bool {
    // Each `:` tried in turn: a substring search costs more to set up than these short values hold.
    let bytes = text.as_bytes();
    (0..bytes.len()).filter(|i| bytes[*i..].starts_with(b"://")).any(|i| {
        let has_scheme = text[..i].chars().next_back().is_some_and(|c| c.is_ascii_alphanumeric());
        let authority = text[i + 3..].split(|c: char| c.is_whitespace() || "/?#\"'`".contains(c)).next();
        has_scheme && authority.is_some_and(|a| a.contains('@'))
    })
}

/// The credential rule for one scalar at `at`, the value of `key` when in a mapping: a literal
/// under a credential key, or text holding a URL with user-info. Shared by both readers.
fn scalar_credentials(at: &str, key: Option<&str>, literal: bool, text: Option<&str>, found: &mut Vec<String>) {
    if literal && key.is_some_and(is_credential_key) {
        found.push(format!("key {at}"));
    } else if text.is_some_and(has_url_credentials) {
        found.push(if at.is_empty() {
            "a URL with user-info".to_string()
        } else {
            format!("a URL with user-info at {at}")
        });
    }
}

fn yaml_key(key: &Yaml) -> String {
    match key {
        Yaml::String(s) => s.clone(),
        Yaml::Number(n) => n.to_string(),
        Yaml::Bool(b) => b.to_string(),
        _ => "?".to_string(),
    }
}

/// A scalar written in the config itself, as opposed to a reference (a mapping) or nothing.
fn is_literal(value: &Yaml) -> bool {
    match value {
        Yaml::String(s) => !s.trim().is_empty(),
        Yaml::Number(_) => true,
        Yaml::Tagged(tagged) => is_literal(&tagged.value),
        _ => false,
    }
}

/// Collects the YAML paths (never the values) of inlined credentials under `node`, the value of
/// `key` when in a mapping.
fn inlined_credentials(node: &Yaml, at: &str, key: Option<&str>, found: &mut Vec<String>) {
    match node {
        Yaml::Mapping(map) => {
            for (k, v) in map {
                let name = yaml_key(k);
                inlined_credentials(v, &field(at, &name), Some(&name), found);
            }
        }
        Yaml::Sequence(items) => {
            items.iter().enumerate().for_each(|(i, v)| inlined_credentials(v, &index(at, i), None, found))
        }
        Yaml::Tagged(tagged) => inlined_credentials(&tagged.value, at, key, found),
        scalar => scalar_credentials(at, key, is_literal(scalar), scalar.as_str(), found),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Every scalar the block reader reads, as (path, literal): `None` when it leaves the text to
    /// the parser.
    fn block_scalars(text: &str) -> Option<Vec<(String, bool)>> {
        let mut seen = Vec::new();
        block_yaml::scalars(text, |at, _, value| {
            seen.push((at.to_string(), value.is_some_and(|v| !v.trim().is_empty())))
        })
        .map(|()| seen)
    }

    /// The same list from the parsed document.
    fn parsed_scalars(node: &Yaml, at: &str, seen: &mut Vec<(String, bool)>) {
        match node {
            Yaml::Mapping(map) => map.iter().for_each(|(k, v)| parsed_scalars(v, &field(at, &yaml_key(k)), seen)),
            Yaml::Sequence(items) => items.iter().enumerate().for_each(|(i, v)| parsed_scalars(v, &index(at, i), seen)),
            _ => seen.push((at.to_string(), is_literal(node))),
        }
    }

    /// Whenever the block reader reads `text`, the parser reads the same scalars at the same
    /// places and finds the same credentials; returns whether the block reader read it.
    fn agrees(text: &str) -> Result<bool, TestCaseError> {
        let Some(block) = block_scalars(text) else { return Ok(false) };
        let doc = serde_norway::from_str::<Yaml>(text);
        prop_assert!(doc.is_ok(), "read here, refused by the parser: {text:?}: {doc:?}");
        let mut parsed = Vec::new();
        if let Ok(doc) = doc {
            parsed_scalars(&doc, "", &mut parsed);
        }
        prop_assert_eq!(&block, &parsed, "{:?}", text);
        let expected = parsed_credentials(text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(credentials(text).ok(), Some(expected), "{:?}", text);
        Ok(true)
    }

    #[test]
    fn block_documents_are_read_without_the_parser() {
        let read = [
            (
                "registryName: toolhive\nsources:\n  - name: git\n    git:\n      repository: https://github.com/org/catalog\n      auth:\n        passwordFile: /secrets/git/token\ndatabase:\n  host: postgres\n  port: 5432\n",
                vec![
                    ("registryName", true),
                    ("sources[0].name", true),
                    ("sources[0].git.repository", true),
                    ("sources[0].git.auth.passwordFile", true),
                    ("database.host", true),
                    ("database.port", true),
                ],
            ),
            // A sequence at its key's own column, null items, keys with nothing, comments, blank lines.
            (
                "# the catalog\na:\n- x\n-\n-   b: 1\n    c:\n\n    d: ~\ne:\n  # note\n  f: 'q'\ng:\n",
                vec![
                    ("a[0]", true),
                    ("a[1]", false),
                    ("a[2].b", true),
                    ("a[2].c", false),
                    ("a[2].d", false),
                    ("e.f", true),
                    ("g", false),
                ],
            ),
            (
                "a:\n  -\n    - 1\n  - \"\"\n  - -x\nflag: false\nempty: '  '\n",
                vec![("a[0][0]", true), ("a[1]", false), ("a[2]", true), ("flag", false), ("empty", false)],
            ),
        ];
        for (text, expected) in read {
            let expected: Vec<(String, bool)> = expected.into_iter().map(|(p, l)| (p.to_string(), l)).collect();
            assert_eq!(block_scalars(text), Some(expected), "{text:?}");
            assert!(matches!(agrees(text), Ok(true)), "{text:?}: {:?}", agrees(text));
        }
    }

    #[test]
    fn everything_else_is_left_to_the_parser() {
        for text in [
            "",
            "# only a comment\n\n",
            "just text\n",
            "- a\n- b\n",
            "  a: 1\n",
            "a: [1, 2]\n",
            "a: {b: 1}\n",
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "a: |\n  text\n",
            "a: >\n  text\n",
            "a: long\n  text\n",
            "a: 1 # note\n",
            "a: \"x\\ty\"\n",
            "a: 'it''s'\n",
            "\"a\": 1\n",
            "a b: 1\n",
            "1: one\n",
            "true: yes\n",
            "a:\tb\n",
            "a: 1\r\n",
            "a: é\n",
            "a: 1\na: 2\n",
            "---\na: 1\n",
            "a: 1\n...\n",
            "a: b: c\n",
            "a: b:\n",
            "a:b\n",
            "a: - b\n",
            "a:\n  - b\n  c: 1\n",
            "a:\n  b: 1\n c: 2\n",
            "- a: 1\n - b\n",
            "a: ?b\n",
            "? a\n: b\n",
        ] {
            assert_eq!(block_scalars(text), None, "{text:?}");
        }
        let keys = |n: usize| (0..n).map(|i| format!("k{i}: v\n")).collect::<String>();
        assert!(block_scalars(&keys(64)).is_some());
        assert_eq!(block_scalars(&keys(65)), None, "a mapping of more than 64 keys");
    }

    #[test]
    fn credential_keys_are_compared_without_case_or_separators() {
        for key in [
            "password",
            "PASSWORD",
            "pass_word",
            "db-password",
            "adminPassword",
            "API_KEY",
            "myApiKey",
            "client_secret",
            "token",
        ] {
            assert!(is_credential_key(key), "{key}");
        }
        for key in
            ["passwordFile", "tokenPath", "secretName", "existingSecret", "tokens", "pass", "", "-_", "passwordü"]
        {
            assert!(!is_credential_key(key), "{key}");
        }
        assert!(is_credential_key("ÜBERpassword"), "a suffix after any characters");
        for word in CREDENTIAL_KEYS.iter().chain(&CREDENTIAL_SUFFIXES) {
            assert!(is_credential_key(word), "{word}: its last letter is one the quick test lets through");
        }
    }

    /// A mapping, sequence or scalar as written in a config.
    #[derive(Debug, Clone)]
    enum Node {
        Scalar(&'static str),
        Map(Vec<(&'static str, Node)>),
        Seq(Vec<Node>),
    }

    const KEYS: [&str; 14] = [
        "password",
        "api_key",
        "clientSecret",
        "passwordFile",
        "name",
        "url",
        "x1",
        "a.b",
        "a-b",
        "token",
        "Secret",
        "dbPassword",
        "tokens",
        "dsn",
    ];
    const SCALARS: [&str; 22] = [
        "hunter2",
        "null",
        "~",
        "true",
        "False",
        "5432",
        "-1",
        "1e3",
        "0x1F",
        "\"\"",
        "\"  \"",
        "'x'",
        "''",
        "\"postgres://u:p@db/x\"",
        "postgres://u:p@db/x",
        "https://github.com/org/repo#readme",
        "a:b",
        "x y",
        "-x",
        "inf",
        ".nan",
        "'a \"b\"'",
    ];

    fn node() -> impl Strategy<Value = Node> {
        let leaf = prop::sample::select(&SCALARS[..]).prop_map(Node::Scalar);
        leaf.prop_recursive(5, 40, 4, |inner| {
            prop_oneof![
                prop::collection::vec((prop::sample::select(&KEYS[..]), inner.clone()), 1..4).prop_map(
                    |mut entries| {
                        let mut seen = Vec::new();
                        entries.retain(|(k, _)| {
                            !seen.contains(k) && {
                                seen.push(*k);
                                true
                            }
                        });
                        Node::Map(entries)
                    }
                ),
                prop::collection::vec(inner, 1..4).prop_map(Node::Seq),
            ]
        })
    }

    /// How a document is laid out: indentation per level, spaces after a dash, and whether a
    /// mapping's sequences sit at the mapping's own column.
    #[derive(Debug, Clone, Copy)]
    struct Layout {
        step: usize,
        gap: usize,
        compact: bool,
    }

    fn render_map(entries: &[(&str, Node)], column: usize, first_inline: bool, layout: Layout, out: &mut String) {
        for (i, (key, value)) in entries.iter().enumerate() {
            if i > 0 || !first_inline {
                out.push_str(&" ".repeat(column));
            }
            out.push_str(key);
            out.push(':');
            match value {
                Node::Scalar(s) => {
                    out.push(' ');
                    out.push_str(s);
                    out.push('\n');
                }
                Node::Map(inner) => {
                    out.push('\n');
                    render_map(inner, column + layout.step, false, layout, out);
                }
                Node::Seq(items) => {
                    out.push('\n');
                    render_seq(items, if layout.compact { column } else { column + layout.step }, layout, out);
                }
            }
        }
    }

    fn render_seq(items: &[Node], column: usize, layout: Layout, out: &mut String) {
        for item in items {
            out.push_str(&" ".repeat(column));
            out.push('-');
            match item {
                Node::Scalar(s) => {
                    out.push_str(&" ".repeat(layout.gap));
                    out.push_str(s);
                    out.push('\n');
                }
                Node::Map(entries) => {
                    out.push_str(&" ".repeat(layout.gap));
                    render_map(entries, column + 1 + layout.gap, true, layout, out);
                }
                Node::Seq(inner) => {
                    out.push('\n');
                    render_seq(inner, column + layout.step, layout, out);
                }
            }
        }
    }

    fn document() -> impl Strategy<Value = String> {
        let entries = prop::collection::vec((prop::sample::select(&KEYS[..]), node()), 1..5);
        (entries, 1..5usize, 1..4usize, any::<bool>()).prop_map(|(mut entries, step, gap, compact)| {
            let mut seen = Vec::new();
            entries.retain(|(k, _)| {
                !seen.contains(k) && {
                    seen.push(*k);
                    true
                }
            });
            let mut out = String::new();
            render_map(&entries, 0, false, Layout { step, gap, compact }, &mut out);
            out
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Documents in block style are read here, and read as the parser reads them.
        #[test]
        fn block_documents_are_read_as_the_parser_reads_them(text in document()) {
            prop_assert!(agrees(&text)?, "left to the parser: {:?}", text);
        }

        /// Damaged documents: whatever is still read here is read as the parser reads it.
        #[test]
        fn damaged_documents_are_never_read_differently(
            text in document(),
            edits in prop::collection::vec(
                (any::<prop::sample::Index>(), prop::sample::select(vec![
                    "", " ", "  ", "\n", ":", "-", "- ", "#", " #", "'", "\"", "[", "{", "&", "*", "!", "|", ">", "?",
                    "\t", "é", "a", "@", "\\", "~", ": ", "\n- ", "\n  ", "\nx: ", ",",
                ])),
                1..4,
            ),
            cut in 0..3usize,
        ) {
            let mut text = text;
            for (at, insert) in edits {
                let at = at.index(text.len() + 1);
                let at = (0..=at).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
                let end = (at + cut).min(text.len());
                let end = (end..=text.len()).find(|i| text.is_char_boundary(*i)).unwrap_or(text.len());
                text.replace_range(at..end, insert);
            }
            agrees(&text)?;
        }
    }
}
