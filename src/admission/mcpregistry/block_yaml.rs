//! Block YAML read line by line: the part of YAML that configuration files are mostly written in
//! (block mappings and sequences whose keys are plain names and whose scalars fit on their line).
//!
//! The config check needs every scalar of `spec.configYAML` with its place. Through `serde_norway`
//! (libyaml's scanner, then a YAML `Value`) a 200-byte config took two thirds of an MCPRegistry
//! review, some 450 instructions per byte; saphyr-parser's events alone take 250. This reader
//! takes a few thousand for the whole config, and only for documents it is sure of: anything
//! else (flow collections, anchors, aliases, tags, block scalars, quoted or multi-line keys,
//! scalars with comments or continued on the next line, escapes, tabs, non-ASCII text, duplicate
//! keys, document markers) returns `None`, and the caller parses the text in full. Its tests
//! compare both on generated documents.

/// Where one block's node starts in the path buffer, and what the block has seen.
struct Block {
    /// The column of its keys or dashes.
    indent: usize,
    sequence: bool,
    /// The length of the block's own path in the path buffer.
    path: usize,
    /// Where its keys start in the key list (a mapping's, for duplicates).
    keys: usize,
    items: usize,
}

/// A key or a dash with nothing after it on its line: its value is the block below, or null.
struct Open<'a> {
    /// The column of the mapping or sequence the node belongs to.
    indent: usize,
    in_mapping: bool,
    key: Option<&'a str>,
}

/// One line's content after its indentation.
enum Line<'a> {
    /// `- rest`.
    Item(&'a str),
    /// `key: rest`.
    Entry(&'a str, &'a str),
}

/// More nesting than this is left to the full parser (its own limit is 128).
const MAX_DEPTH: usize = 64;
/// libyaml refuses keys of 1024 characters and more; this reader leaves long ones to it.
const MAX_KEY: usize = 128;
/// Duplicates are looked for by comparing each key with those before it: a mapping with more keys
/// is left to the parser, whose cost per key does not grow with their number.
const MAX_KEYS: usize = 64;

/// Calls `scalar(path, key, value)` for every scalar of the document in document order: `path` is
/// its place (`sources[0].git.repository`), `key` its key when it is a mapping's value, `value`
/// its text, or `None` for null and the booleans. `None` when the text is outside what this reader
/// reads; the calls made until then are to be discarded.
pub(super) fn scalars<'a>(text: &'a str, mut scalar: impl FnMut(&str, Option<&'a str>, Option<&'a str>)) -> Option<()> {
    if !text.bytes().all(|b| b == b'\n' || (b' '..=b'~').contains(&b)) {
        return None;
    }
    let mut reader = Reader { blocks: Vec::new(), keys: Vec::new(), path: String::with_capacity(64) };
    reader.open_block(0, false)?;
    let mut open: Option<Open> = None;
    let mut any = false;
    for raw in text.split('\n') {
        let content = raw.trim_start_matches(' ');
        if content.trim_end_matches(' ').is_empty() || content.starts_with('#') {
            continue;
        }
        any = true;
        let indent = raw.len() - content.len();
        let line = line(content)?;
        if let Some(node) = open.take() {
            let item = matches!(line, Line::Item(_));
            if indent > node.indent || (node.in_mapping && item && indent == node.indent) {
                reader.open_block(indent, item)?;
            } else {
                scalar(&reader.path, node.key, None);
            }
        }
        while reader.blocks.last()?.indent > indent {
            reader.close_block();
        }
        open = match line {
            Line::Item(rest) => reader.item(indent, content.len() - rest.len(), rest, &mut scalar)?,
            Line::Entry(key, rest) => {
                let top = reader.blocks.last()?;
                // A sequence at its mapping's own column (`key:` then `- a`) ends at the next key.
                if top.sequence && top.indent == indent {
                    reader.close_block();
                }
                reader.entry(indent, key, rest, &mut scalar)?
            }
        };
    }
    if let Some(node) = open {
        scalar(&reader.path, node.key, None);
    }
    // A document of blanks and comments is one null scalar to the parser: left to it.
    any.then_some(())
}

/// The blocks open at the current line, the keys of the open mappings, and the path of the node
/// last read.
struct Reader<'a> {
    blocks: Vec<Block>,
    keys: Vec<&'a str>,
    path: String,
}

impl<'a> Reader<'a> {
    /// Opens a block at column `indent` for the node whose path is the current one.
    fn open_block(&mut self, indent: usize, sequence: bool) -> Option<()> {
        if self.blocks.len() == MAX_DEPTH {
            return None;
        }
        let block = Block { indent, sequence, path: self.path.len(), keys: self.keys.len(), items: 0 };
        self.blocks.push(block);
        Some(())
    }

    fn close_block(&mut self) {
        if let Some(block) = self.blocks.pop() {
            self.keys.truncate(block.keys);
        }
    }

    /// A sequence item in the sequence at `indent`; `offset` is where `rest` starts in the line.
    fn item(
        &mut self,
        indent: usize,
        offset: usize,
        rest: &'a str,
        scalar: &mut impl FnMut(&str, Option<&'a str>, Option<&'a str>),
    ) -> Option<Option<Open<'a>>> {
        let top = self.blocks.last_mut().filter(|top| top.sequence && top.indent == indent)?;
        self.path.truncate(top.path);
        self.path.push('[');
        self.path.push_str(itoa::Buffer::new().format(top.items));
        self.path.push(']');
        top.items += 1;
        let value = rest.trim_start_matches(' ');
        if value.trim_end_matches(' ').is_empty() {
            return Some(Some(Open { indent, in_mapping: false, key: None }));
        }
        if let Some((key, after)) = key_of(value) {
            // `- key: …` starts a mapping whose keys are at the column of this first one.
            let column = indent + offset + (rest.len() - value.len());
            self.open_block(column, false)?;
            return self.entry(column, key, after, scalar);
        }
        scalar(&self.path, None, resolve(value)?);
        Some(None)
    }

    /// A key of the mapping at `indent` and what follows its colon.
    fn entry(
        &mut self,
        indent: usize,
        key: &'a str,
        rest: &'a str,
        scalar: &mut impl FnMut(&str, Option<&'a str>, Option<&'a str>),
    ) -> Option<Option<Open<'a>>> {
        let top = self.blocks.last().filter(|top| !top.sequence && top.indent == indent)?;
        let siblings = &self.keys[top.keys..];
        if siblings.len() == MAX_KEYS || siblings.contains(&key) {
            return None;
        }
        self.path.truncate(top.path);
        self.keys.push(key);
        if !self.path.is_empty() {
            self.path.push('.');
        }
        self.path.push_str(key);
        let value = rest.trim_start_matches(' ');
        if value.trim_end_matches(' ').is_empty() {
            return Some(Some(Open { indent, in_mapping: true, key: Some(key) }));
        }
        scalar(&self.path, Some(key), resolve(value)?);
        Some(None)
    }
}

/// What a line holds: an item, a key, or (`None`) anything this reader leaves to the parser.
fn line(content: &str) -> Option<Line<'_>> {
    if let Some(rest) = content.strip_prefix('-').filter(|rest| rest.is_empty() || rest.starts_with(' ')) {
        return Some(Line::Item(rest));
    }
    let (key, rest) = key_of(content)?;
    Some(Line::Entry(key, rest))
}

/// `name:` at the start of `content`, a plain name that YAML reads as a string, and what follows
/// the colon (empty, or starting with a space).
fn key_of(content: &str) -> Option<(&str, &str)> {
    let bytes = content.as_bytes();
    if !bytes.first()?.is_ascii_alphabetic() {
        return None;
    }
    let end = bytes.iter().position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')))?;
    let (key, rest) = content.split_at(end);
    let rest = rest.strip_prefix(':')?;
    let string = key.len() <= MAX_KEY && plain(key).is_some();
    (string && (rest.is_empty() || rest.starts_with(' '))).then_some((key, rest))
}

/// The text of the one-line scalar `value` (`Some(None)` for null and the booleans), or `None`
/// when it is more than a plain or quoted scalar without escapes.
fn resolve(value: &str) -> Option<Option<&str>> {
    let value = value.trim_end_matches(' ');
    let first = *value.as_bytes().first()?;
    if first == b'"' || first == b'\'' {
        let quote = first as char;
        let inner = value[1..].strip_suffix(quote)?;
        let escapes = inner.contains(quote) || (quote == '"' && inner.contains('\\'));
        return (!escapes).then_some(Some(inner));
    }
    // Indicators cannot start a plain scalar; `-` can when a character follows it.
    let indicator = b"-?:,[]{}#&*!|>%@`".contains(&first);
    let signed = first == b'-' && value.len() > 1 && value.as_bytes()[1] != b' ';
    if (indicator && !signed) || !plain_to_the_end(value.as_bytes()) {
        return None;
    }
    Some(plain(value))
}

/// Whether a plain scalar runs to the end of `text`: no comment (` #`) and no mapping colon (`: `,
/// or `:` last) stops it. One pass instead of three substring searches, each with its own set-up.
fn plain_to_the_end(text: &[u8]) -> bool {
    text.iter().enumerate().all(|(i, b)| match b {
        b'#' => i == 0 || text[i - 1] != b' ',
        b':' => text.get(i + 1).is_some_and(|next| *next != b' '),
        _ => true,
    })
}

/// A plain scalar as YAML's core schema reads it: `None` for null and the booleans.
fn plain(text: &str) -> Option<&str> {
    match text {
        "~" | "null" | "Null" | "NULL" | "true" | "True" | "TRUE" | "false" | "False" | "FALSE" => None,
        _ => Some(text),
    }
}
