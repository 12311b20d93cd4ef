//! A strict JSON reader for serde, used by the direct admission path
//! ([`direct`](crate::admission::direct)) in place of `serde_json`'s; conversion's text path
//! ([`raw`](crate::conversion)) reads with its checking functions ([`skip_value`], [`object_end`]).
//! It finds the end of a string sixteen bytes at a time and skips the members nobody reads
//! without calling a visitor per token, which together halve what reading a review costs. The
//! types the direct path reads most decode themselves from it ([`Read`]) without serde's visitor
//! protocol; the rest through serde.
//!
//! It accepts a document only if `serde_json::from_str::<serde_json::Value>` accepts it (strict
//! JSON, no control characters or lone surrogates in strings, numbers in `f64` range, nesting well
//! inside `serde_json`'s limit), and it makes the same visitor calls `serde_json` makes for what it
//! accepts: strings without escapes are borrowed (`visit_borrowed_str`), numbers are handed to
//! `serde_json` itself. Where it is stricter than `serde_json` (structs written as arrays, enums
//! written as objects, 128-bit integers, numeric map keys, very deep nesting) it fails, and the
//! direct path leaves the review to the `Value`-based path, so answers never change.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor};

/// Nesting deeper than this is left to `serde_json` (whose limit is 127 levels).
const MAX_DEPTH: u32 = 100;

/// Why the reader did not read a document; the caller falls back to `serde_json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

pub(crate) type Result<T> = std::result::Result<T, Error>;

#[cold]
#[inline(never)]
fn fail<T>(what: &str, at: usize) -> Result<T> {
    Err(Error(format!("{what} at byte {at}")))
}

/// Reads a `T` from the whole of `text` through its `Deserialize`.
#[cfg(test)]
pub(crate) fn from_str<'de, T: de::Deserialize<'de>>(text: &'de str) -> Result<T> {
    whole(text, |reader| T::deserialize(reader))
}

/// Reads a `T` from the whole of `text` (surrounding whitespace allowed).
pub(crate) fn read_str<'de, T: Read<'de>>(text: &'de str) -> Result<T> {
    whole(text, T::read)
}

fn whole<'de, T>(text: &'de str, read: impl FnOnce(&mut Reader<'de>) -> Result<T>) -> Result<T> {
    let mut reader = Reader::new(text);
    let value = read(&mut reader)?;
    match reader.peek() {
        None => Ok(value),
        Some(_) => fail("trailing characters", reader.pos),
    }
}

/// A value this reader decodes by itself instead of through serde's visitor protocol, which costs
/// a few calls and a `Result` of the value being built per token (without link-time optimisation
/// about a fifth of what decoding a typical review's object costs; with it, less). `read` must give
/// exactly the value the type's `Deserialize` gives for a `serde_json::Value` of the same text, or
/// fail: the direct path then leaves the review to the `Value`-based path. Types without their own
/// reader read through `Deserialize` ([`read_by_serde!`]).
pub(crate) trait Read<'de>: Sized {
    fn read(reader: &mut Reader<'de>) -> Result<Self>;
}

/// Implements [`Read`] through `Deserialize` (this reader is a serde `Deserializer`) for types that
/// have no reader of their own.
macro_rules! read_by_serde {
    ($($ty:ty),* $(,)?) => {$(
        impl<'de> $crate::json::Read<'de> for $ty {
            fn read(reader: &mut $crate::json::Reader<'de>) -> $crate::json::Result<Self> {
                serde::Deserialize::deserialize(reader)
            }
        }
    )*};
}
pub(crate) use read_by_serde;

/// The JSON keys a [`read_struct!`] reader knows, for tests that compare them with a schema.
#[cfg(test)]
pub(crate) trait Keys {
    const KEYS: &'static [&'static str];
}

/// Asserts that `R`'s reader knows exactly the properties of `S`'s schema (the type it reads as).
#[cfg(test)]
pub(crate) fn assert_keys_match<R: Keys, S: schemars::JsonSchema>() {
    use std::collections::BTreeSet;
    let schema = crate::api::schema::structural_schema_for::<S>();
    let properties = schema["properties"].as_object().expect("an object schema");
    let from_schema: BTreeSet<&str> = properties.keys().map(String::as_str).collect();
    let read: BTreeSet<&str> = R::KEYS.iter().copied().collect();
    assert_eq!(read, from_schema, "{}", std::any::type_name::<R>());
    assert_eq!(read.len(), R::KEYS.len(), "a key listed twice in {}", std::any::type_name::<R>());
}

/// Implements [`Read`] for a struct whose members are read from the listed keys: `optional` fields
/// are `Option`s (absent or `null` is `None`), `required` ones fail when absent, as `Deserialize`
/// does. Every field must be listed (the struct is built with all of them), under the key its
/// `Deserialize` reads. A key not listed is checked ([`Reader::skip`]) and dropped; a repeated key
/// keeps its last value, as in a `Value`. With generics, `[impl parameters] 'de, Type<..> {..}`,
/// where `'de` is the lifetime of the document.
macro_rules! read_struct {
    ([$($generics:tt)*] $de:lifetime, $ty:ty {
        optional { $($key:literal => $field:ident),* $(,)? }
        $(required { $($rkey:literal => $rfield:ident),* $(,)? })?
    }) => {
        impl<$($generics)*> $crate::json::Read<$de> for $ty {
            fn read(reader: &mut $crate::json::Reader<$de>) -> $crate::json::Result<Self> {
                // Built in place (a struct literal from locals costs a copy of the whole struct);
                // a required field holds its type's default until read, and a flag of its name
                // says whether it was.
                let mut out = Self { $($field: None,)* $($($rfield: Default::default(),)*)? };
                $($(let mut $rfield = false;)*)?
                let mut members = reader.object()?;
                while let Some(key) = members.next_key(reader)? {
                    match &*key {
                        $($key => out.$field = $crate::json::Read::read(reader)?,)*
                        $($($rkey => {
                            out.$rfield = $crate::json::Read::read(reader)?;
                            $rfield = true;
                        })*)?
                        _ => reader.skip()?,
                    }
                }
                $($(if !$rfield {
                    return Err(<$crate::json::Error as serde::de::Error>::missing_field($rkey));
                })*)?
                Ok(out)
            }
        }

        #[cfg(test)]
        impl<$($generics)*> $crate::json::Keys for $ty {
            const KEYS: &'static [&'static str] = &[$($key,)* $($($rkey,)*)?];
        }
    };
    ($ty:ident { $($members:tt)* }) => {
        $crate::json::read_struct!(['de] 'de, $ty { $($members)* });
    };
}
pub(crate) use read_struct;

/// Borrowed from the document unless it has escapes.
impl<'de> Read<'de> for Cow<'de, str> {
    fn read(reader: &mut Reader<'de>) -> Result<Self> {
        reader.string_value()
    }
}

impl<'de> Read<'de> for String {
    fn read(reader: &mut Reader<'de>) -> Result<Self> {
        reader.string_value().map(Cow::into_owned)
    }
}

/// Up to 24 bytes in line, so the short names and keys of a spec cost no allocation.
impl<'de> Read<'de> for compact_str::CompactString {
    fn read(reader: &mut Reader<'de>) -> Result<Self> {
        reader.string_value().map(Self::from)
    }
}

impl<'de> Read<'de> for bool {
    fn read(reader: &mut Reader<'de>) -> Result<Self> {
        match reader.peek() {
            Some(b't') => reader.literal(b"true").map(|()| true),
            Some(b'f') => reader.literal(b"false").map(|()| false),
            _ => fail("expected a boolean", reader.pos),
        }
    }
}

/// A plain integer of up to 18 digits (which always fits) is read here; any other number exactly as
/// `serde_json` reads it into an `i64`, which refuses fractions, exponents, `-0` (a float to
/// `serde_json`) and integers out of range.
impl<'de> Read<'de> for i64 {
    fn read(reader: &mut Reader<'de>) -> Result<Self> {
        if let Some(b'-' | b'0'..=b'9') = reader.peek() {
            let start = reader.pos;
            let token = reader.number_token()?;
            let digits = token.strip_prefix('-').unwrap_or(token);
            if digits.len() <= 18 && token != "-0" && digits.bytes().all(|b| b.is_ascii_digit()) {
                return token.parse().map_err(|_| Error(format!("invalid integer at byte {start}")));
            }
            reader.pos = start;
        }
        de::Deserialize::deserialize(reader)
    }
}

/// `null` is `None`, as serde reads an `Option`.
impl<'de, T: Read<'de>> Read<'de> for Option<T> {
    fn read(reader: &mut Reader<'de>) -> Result<Self> {
        match reader.peek() {
            Some(b'n') => reader.literal(b"null").map(|()| None),
            _ => T::read(reader).map(Some),
        }
    }
}

/// A value read with its text as the document has it (from its first byte to its last), for rules
/// that look in that text for parts the value's type does not hold ([`child`]).
pub(crate) struct Spanned<'de, T> {
    pub(crate) value: T,
    pub(crate) text: &'de str,
    /// Where each member's key starts in `text` and where its value lies, noted as they were read
    /// when the value is an object read through serde (the readers of [`read_struct!`] do not note
    /// them); `None` otherwise.
    pub(crate) members: Option<Vec<(usize, Range<usize>)>>,
}

impl<'de, T: Read<'de>> Read<'de> for Spanned<'de, T> {
    fn read(reader: &mut Reader<'de>) -> Result<Self> {
        reader.peek();
        let start = reader.pos;
        // The object's members are one level down.
        let noting = Notes { depth: reader.depth.wrapping_sub(1), ..Notes::default() };
        let outer = std::mem::replace(&mut reader.notes, noting);
        let value = T::read(reader);
        let notes = std::mem::replace(&mut reader.notes, outer);
        let value = value?;
        let members = notes.used.then(|| {
            let shift = |at: usize| at - start;
            notes.members.into_iter().map(|(key, value)| (shift(key), shift(value.start)..shift(value.end))).collect()
        });
        // A value starts and ends with an ASCII byte, so both ends are character boundaries.
        match reader.text.get(start..reader.pos) {
            Some(text) => Ok(Spanned { value, text, members }),
            None => fail("a value that does not end on a character boundary", reader.pos),
        }
    }
}

/// The members of the object at one level of nesting, noted as serde reads them (for [`Spanned`]).
struct Notes {
    /// The reader's [`Reader::depth`] inside that object; `u32::MAX` when nothing is noted.
    depth: u32,
    /// Whether an object at that level was read through serde.
    used: bool,
    /// Where the current member's key starts.
    key: usize,
    /// Each member's key start and value.
    members: Vec<(usize, Range<usize>)>,
}

impl Default for Notes {
    fn default() -> Self {
        Notes { depth: u32::MAX, used: false, key: 0, members: Vec::new() }
    }
}

/// The key of the member whose key starts at `at` in `text` (already checked as JSON).
pub(crate) fn key_at(text: &str, at: usize) -> Option<Cow<'_, str>> {
    let mut reader = Reader::new(text);
    reader.pos = at;
    reader.string().ok()
}

/// Calls `each` with the key and where the value lies in `text` of every member of the JSON object
/// `text` (already checked as JSON), in order; `None` when `text` is not a JSON object.
pub(crate) fn members<'t>(text: &'t str, mut each: impl FnMut(Cow<'t, str>, Range<usize>)) -> Option<()> {
    let mut reader = Reader::new(text);
    if reader.peek()? != b'{' {
        return None;
    }
    let mut members = reader.object().ok()?;
    while let Some(key) = members.next_key(&mut reader).ok()? {
        each(key, skipped(&mut reader)?);
    }
    Some(())
}

/// The text of the member `key` of the JSON object `text` (the last one where the key repeats, as
/// in a `Value`), or, with `in_arrays`, of the element at index `key` of the JSON array `text`
/// (already checked as JSON); `None` when there is none or `text` is neither.
pub(crate) fn child<'t>(text: &'t str, key: &str, in_arrays: bool) -> Option<&'t str> {
    let mut reader = Reader::new(text);
    match reader.peek()? {
        b'{' => {
            let mut found = None;
            members(text, |name, value| {
                if name == key {
                    found = Some(value);
                }
            })?;
            text.get(found?)
        }
        b'[' if in_arrays => {
            let wanted = key.parse::<usize>().ok()?;
            reader.enter().ok()?;
            let mut first = true;
            for i in 0.. {
                if !reader.next_entry(&mut first, b']').ok()? {
                    break;
                }
                let element = skipped(&mut reader)?;
                if i == wanted {
                    return text.get(element);
                }
            }
            None
        }
        _ => None,
    }
}

/// Where the value at the reader lies, in text already checked as JSON; the reader moves past it.
fn skipped(reader: &mut Reader) -> Option<Range<usize>> {
    reader.peek();
    let start = reader.pos;
    reader.pos = checked_value_end(reader.bytes(), start);
    (reader.pos > start).then_some(start..reader.pos)
}

/// Where the value starting at `at` ends, in text already checked as JSON: strings and brackets
/// are followed, nothing is checked (a third of what [`skip_value`] costs on a spec).
fn checked_value_end(bytes: &[u8], at: usize) -> usize {
    match bytes.get(at) {
        Some(b'"') => checked_string_end(bytes, at + 1),
        Some(b'{' | b'[') => {
            let mut depth = 1usize;
            let mut at = at + 1;
            while let Some(&b) = bytes.get(at) {
                match b {
                    b'"' => {
                        at = checked_string_end(bytes, at + 1);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return at + 1;
                        }
                    }
                    _ => {}
                }
                at += 1;
            }
            at
        }
        _ => {
            let mut at = at;
            while !matches!(bytes.get(at), None | Some(b',' | b'}' | b']' | b' ' | b'\n' | b'\t' | b'\r')) {
                at += 1;
            }
            at
        }
    }
}

/// Past the closing quote of the string whose text starts at `at`, in text already checked as JSON.
fn checked_string_end(bytes: &[u8], mut at: usize) -> usize {
    loop {
        at = string_stop_short(bytes, at);
        match bytes.get(at) {
            Some(b'"') => return at + 1,
            // An escape's second byte may be a quote or a backslash; the rest of `\u` ones are not.
            Some(b'\\') => at += 2,
            Some(_) => at += 1,
            None => return at,
        }
    }
}

impl<'de, T: Read<'de>> Read<'de> for Box<T> {
    fn read(reader: &mut Reader<'de>) -> Result<Self> {
        T::read(reader).map(Box::new)
    }
}

impl<'de, T: Read<'de>> Read<'de> for Vec<T> {
    fn read(reader: &mut Reader<'de>) -> Result<Self> {
        match reader.peek() {
            Some(b'[') => reader.enter()?,
            _ => return fail("expected an array", reader.pos),
        }
        let mut out = Vec::new();
        let mut first = true;
        while reader.next_entry(&mut first, b']')? {
            out.push(T::read(reader)?);
        }
        reader.leave(b']')?;
        Ok(out)
    }
}

/// A repeated key keeps its last value, as serde's map visitor (and a `Value`) does.
impl<'de, K: From<Cow<'de, str>> + Ord, T: Read<'de>> Read<'de> for std::collections::BTreeMap<K, T> {
    fn read(reader: &mut Reader<'de>) -> Result<Self> {
        let mut out = std::collections::BTreeMap::new();
        let mut members = reader.object()?;
        while let Some(key) = members.next_key(reader)? {
            let value = T::read(reader)?;
            out.insert(K::from(key), value);
        }
        Ok(out)
    }
}

/// The members of an object being read by a [`Read`]: [`Reader::object`] enters it,
/// [`ObjectMembers::next_key`] gives each key (the reader is then at its value, which the caller
/// must read or [`Reader::skip`]) and leaves the object after the last.
pub(crate) struct ObjectMembers {
    first: bool,
}

impl ObjectMembers {
    /// The next key, or `None` after the last member.
    #[inline]
    pub(crate) fn next_key<'de>(&mut self, reader: &mut Reader<'de>) -> Result<Option<Cow<'de, str>>> {
        // Compact JSON, as the API server sends it: the comma (after the first member), a key
        // without escapes and the colon, one after the other, or the object's end. Anything else
        // (whitespace, escapes, errors) is read by `next_key_slowly`.
        let bytes = reader.bytes();
        let mut at = reader.pos;
        match bytes.get(at) {
            Some(b',') if !self.first => at += 1,
            Some(b'"') if self.first => {}
            Some(b'}') => {
                reader.depth += 1;
                reader.pos = at + 1;
                return Ok(None);
            }
            _ => return self.next_key_slowly(reader),
        }
        if bytes.get(at) == Some(&b'"') {
            let stop = string_stop_short(bytes, at + 1);
            if bytes.get(stop) == Some(&b'"') && bytes.get(stop + 1) == Some(&b':') {
                // SAFETY: `at` and `stop` hold quotes (ASCII), so `at + 1` and `stop` are character
                // boundaries of `text`, and `at < stop`.
                let key = unsafe { reader.text.get_unchecked(at + 1..stop) };
                self.first = false;
                reader.pos = stop + 2;
                return Ok(Some(Cow::Borrowed(key)));
            }
        }
        self.next_key_slowly(reader)
    }

    /// [`ObjectMembers::next_key`] for any JSON.
    #[inline(never)]
    fn next_key_slowly<'de>(&mut self, reader: &mut Reader<'de>) -> Result<Option<Cow<'de, str>>> {
        if !reader.next_entry(&mut self.first, b'}')? {
            reader.leave(b'}')?;
            return Ok(None);
        }
        if reader.peek() != Some(b'"') {
            return fail("expected a key", reader.pos);
        }
        let key = reader.string()?;
        reader.expect(b':', "expected ':'")?;
        Ok(Some(key))
    }
}

/// Index of the first `"`, `\` or control character (U+0000 to U+001F) at or after `from`, or the
/// length of `bytes` if there is none.
#[inline]
pub(crate) fn string_stop(bytes: &[u8], from: usize) -> usize {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        // SAFETY: the function needs SSE2, which this build targets (the `cfg` above; SSE2 is
        // part of every x86-64 CPU).
        unsafe { string_stop_sse2(bytes, from) }
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        string_stop_words(bytes, from)
    }
}

/// [`string_stop`] with the first thirty-two bytes looked at in line, as two sixteen-byte windows
/// (the second only when the first has no stop), which settles most keys and values without a call.
#[inline(always)]
fn string_stop_short(bytes: &[u8], from: usize) -> usize {
    if let Some(chunk) = bytes.get(from..).and_then(|rest| rest.first_chunk::<32>())
        && let ([low, high], []) = chunk.as_chunks::<16>()
    {
        return match stops_in_chunk(low) {
            0 => match stops_in_chunk(high) {
                0 => string_stop(bytes, from + 32),
                found => from + 16 + found.trailing_zeros() as usize,
            },
            found => from + found.trailing_zeros() as usize,
        };
    }
    string_stop(bytes, from)
}

/// A bit per byte of `chunk` that is a string stop (`"`, `\\` or a control character).
#[inline(always)]
fn stops_in_chunk(chunk: &[u8; 16]) -> u32 {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        use std::arch::x86_64::{
            _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
        };
        // SAFETY: `chunk` is sixteen readable bytes and the load has no alignment requirement; SSE2
        // is part of every x86-64 CPU (the `cfg` above).
        unsafe {
            let v = _mm_loadu_si128(chunk.as_ptr().cast());
            let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
            let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
            // Unsigned v <= 0x1f exactly where min(v, 0x1f) == v.
            let control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
            _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control)) as u32
        }
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        chunk.iter().enumerate().filter(|(_, b)| is_string_stop(**b)).fold(0, |bits, (i, _)| bits | 1 << i)
    }
}

/// [`string_stop`] sixteen bytes at a time.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[target_feature(enable = "sse2")]
fn string_stop_sse2(bytes: &[u8], from: usize) -> usize {
    let mut at = from;
    while let Some(chunk) = bytes.get(at..).and_then(|rest| rest.first_chunk::<16>()) {
        match stops_in_chunk(chunk) {
            0 => at += 16,
            found => return at + found.trailing_zeros() as usize,
        }
    }
    string_stop_words(bytes, at)
}

/// [`string_stop`] eight bytes at a time: a byte is found where subtracting one from it (or 0x20
/// from it, for control characters) borrows from its top bit, which can flag bytes above the
/// first hit but never below it.
fn string_stop_words(bytes: &[u8], from: usize) -> usize {
    const ONES: u64 = u64::MAX / 255;
    const TOPS: u64 = ONES << 7;
    let mut at = from;
    while let Some(chunk) = bytes.get(at..).and_then(|rest| rest.first_chunk::<8>()) {
        let word = u64::from_le_bytes(*chunk);
        let quote = word ^ (ONES * u64::from(b'"'));
        let backslash = word ^ (ONES * u64::from(b'\\'));
        let found = (quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | (word.wrapping_sub(ONES * 0x20) & !word);
        let found = found & TOPS;
        if found != 0 {
            return at + found.trailing_zeros() as usize / 8;
        }
        at += 8;
    }
    string_stop_bytewise(bytes, at)
}

fn is_string_stop(b: u8) -> bool {
    b == b'"' || b == b'\\' || b < 0x20
}

fn string_stop_bytewise(bytes: &[u8], from: usize) -> usize {
    bytes.get(from..).and_then(|rest| rest.iter().position(|&b| is_string_stop(b))).map_or(bytes.len(), |i| from + i)
}

fn hex4(bytes: &[u8], at: usize) -> Option<u16> {
    let digits = bytes.get(at..at + 4)?;
    let mut n = 0u16;
    for &d in digits {
        n = n * 16 + (d as char).to_digit(16)? as u16;
    }
    Some(n)
}

/// The character a two-byte escape (a backslash and `b`) stands for, if `b` makes one.
#[inline(always)]
fn simple_escape(b: u8) -> Option<char> {
    Some(match b {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        _ => return None,
    })
}

/// The escape sequence at `at` (which holds the backslash): the character and the length.
fn escape(bytes: &[u8], at: usize) -> Result<(char, usize)> {
    let next = bytes.get(at + 1).copied();
    if let Some(simple) = next.and_then(simple_escape) {
        return Ok((simple, 2));
    }
    match next {
        Some(b'u') => {
            let Some(first) = hex4(bytes, at + 2) else { return fail("invalid \\u escape", at) };
            match first {
                0xD800..=0xDBFF => {
                    let second = (bytes.get(at + 6..at + 8) == Some(b"\\u"))
                        .then(|| hex4(bytes, at + 8))
                        .flatten()
                        .filter(|n| (0xDC00..=0xDFFF).contains(n));
                    let Some(second) = second else { return fail("lone surrogate in \\u escape", at) };
                    let code = 0x10000 + ((u32::from(first) - 0xD800) << 10) + (u32::from(second) - 0xDC00);
                    match char::from_u32(code) {
                        Some(ch) => Ok((ch, 12)),
                        None => fail("invalid \\u escape", at),
                    }
                }
                0xDC00..=0xDFFF => fail("lone surrogate in \\u escape", at),
                n => match char::from_u32(u32::from(n)) {
                    Some(ch) => Ok((ch, 6)),
                    None => fail("invalid \\u escape", at),
                },
            }
        }
        _ => fail("invalid escape", at),
    }
}

/// The end of the number starting at `start`, checked against the JSON grammar, or where it is not
/// a number.
fn number_end(bytes: &[u8], start: usize) -> Skip {
    let digits = |at: &mut usize| {
        let from = *at;
        while bytes.get(*at).is_some_and(u8::is_ascii_digit) {
            *at += 1;
        }
        *at > from
    };
    let mut at = start;
    if bytes.get(at) == Some(&b'-') {
        at += 1;
    }
    match bytes.get(at) {
        Some(b'0') => at += 1,
        Some(b'1'..=b'9') => {
            digits(&mut at);
        }
        _ => return Err(at),
    }
    if bytes.get(at) == Some(&b'.') {
        at += 1;
        if !digits(&mut at) {
            return Err(at);
        }
    }
    if matches!(bytes.get(at), Some(b'e' | b'E')) {
        at += 1;
        if matches!(bytes.get(at), Some(b'+' | b'-')) {
            at += 1;
        }
        if !digits(&mut at) {
            return Err(at);
        }
    }
    Ok(at)
}

/// Where a value checked by [`skip_value`] ends (`Ok`), or where it fails to be JSON (`Err`): plain
/// positions, so that the skipping functions return in registers. Why it failed is not needed (the
/// caller leaves the document to `serde_json`).
pub(crate) type Skip = std::result::Result<usize, usize>;

/// Checks the value at `at` (after any whitespace) as strictly as a `Value` parse reads it, with at
/// most `depth` levels of nesting, without building anything.
pub(crate) fn skip_value(bytes: &[u8], at: usize, depth: u32) -> Skip {
    let at = past_whitespace(bytes, at);
    match bytes.get(at) {
        Some(b'"') => skip_str(bytes, at),
        // Written out rather than through `container_end`: the in-line cases below cost 0.2k
        // instructions per typical review more inside its closure.
        Some(b'{') if depth > 0 => {
            let mut at = past_whitespace(bytes, at + 1);
            if bytes.get(at) == Some(&b'}') {
                return Ok(at + 1);
            }
            loop {
                if bytes.get(at) != Some(&b'"') {
                    return Err(at);
                }
                at = past_whitespace(bytes, skip_str(bytes, at)?);
                if bytes.get(at) != Some(&b':') {
                    return Err(at);
                }
                // The commonest member values (`managedFields[].fieldsV1` is mostly keys with `{}`
                // values, most of the rest strings) without a call.
                at = match bytes.get(at + 1) {
                    Some(b'"') => skip_str(bytes, at + 1)?,
                    Some(b'{') if bytes.get(at + 2) == Some(&b'}') && depth > 1 => at + 3,
                    _ => skip_value(bytes, at + 1, depth - 1)?,
                };
                at = past_whitespace(bytes, at);
                match bytes.get(at) {
                    Some(b',') => at = past_whitespace(bytes, at + 1),
                    Some(b'}') => return Ok(at + 1),
                    _ => return Err(at),
                }
            }
        }
        // Strings, the commonest elements, without a call.
        Some(b'[') => container_end(bytes, at, depth, b']', |at, depth| match bytes.get(at) {
            Some(b'"') => skip_str(bytes, at),
            _ => skip_value(bytes, at, depth),
        }),
        _ => skip_scalar(bytes, at),
    }
}

/// Checks the object or array whose opening bracket is at `at`, with at most `depth` levels of
/// nesting: `item` checks each member or element (where it starts, after any whitespace, and the
/// nesting left for it) and returns where it ends; `close` is the closing bracket.
#[inline(always)]
fn container_end(bytes: &[u8], at: usize, depth: u32, close: u8, mut item: impl FnMut(usize, u32) -> Skip) -> Skip {
    if depth == 0 {
        return Err(at);
    }
    let mut at = past_whitespace(bytes, at + 1);
    if bytes.get(at) == Some(&close) {
        return Ok(at + 1);
    }
    loop {
        at = past_whitespace(bytes, item(at, depth - 1)?);
        match bytes.get(at) {
            Some(b',') => at = past_whitespace(bytes, at + 1),
            Some(&b) if b == close => return Ok(at + 1),
            _ => return Err(at),
        }
    }
}

/// `at`, or past the JSON whitespace there.
#[inline(always)]
pub(crate) fn past_whitespace(bytes: &[u8], at: usize) -> usize {
    match bytes.get(at) {
        // Every JSON whitespace byte is at most a space, and the API server sends compact JSON.
        Some(&b) if b > b' ' => at,
        _ => past_whitespace_slowly(bytes, at),
    }
}

#[cold]
#[inline(never)]
fn past_whitespace_slowly(bytes: &[u8], mut at: usize) -> usize {
    while matches!(bytes.get(at), Some(b' ' | b'\n' | b'\t' | b'\r')) {
        at += 1;
    }
    at
}

/// Checks the string whose opening quote is at `at`.
#[inline]
fn skip_str(bytes: &[u8], at: usize) -> Skip {
    let stop = string_stop_short(bytes, at + 1);
    if bytes.get(stop) == Some(&b'"') { Ok(stop + 1) } else { skip_str_escaped(bytes, stop) }
}

/// [`skip_str`] from `at`, the first backslash or other stop of the string. Not cold: an object
/// applied with client-side `kubectl apply` carries itself as one escaped string in an annotation.
#[inline(never)]
fn skip_str_escaped(bytes: &[u8], mut at: usize) -> Skip {
    loop {
        match bytes.get(at) {
            Some(b'"') => return Ok(at + 1),
            // The two-byte escapes in line; `\u` ones through `escape`.
            Some(b'\\') => match bytes.get(at + 1).copied().and_then(simple_escape) {
                Some(_) => at += 2,
                None => at += escape(bytes, at).map_err(|_| at)?.1,
            },
            _ => return Err(at),
        }
        at = string_stop_short(bytes, at);
    }
}

/// The end of `word` if it is at `at`.
fn literal_end(bytes: &[u8], at: usize, word: &[u8]) -> Skip {
    match bytes.get(at..at + word.len()) {
        Some(found) if found == word => Ok(at + word.len()),
        _ => Err(at),
    }
}

/// Checks the literal or number at `at` (anything else fails).
#[inline(never)]
fn skip_scalar(bytes: &[u8], at: usize) -> Skip {
    match bytes.get(at) {
        Some(b't') => literal_end(bytes, at, b"true"),
        Some(b'f') => literal_end(bytes, at, b"false"),
        Some(b'n') => literal_end(bytes, at, b"null"),
        Some(b'-' | b'0'..=b'9') => {
            let end = number_end(bytes, at)?;
            let token = &bytes[at..end];
            let plain = token.len() <= 18 && !token.iter().any(|b| matches!(b, b'.' | b'e' | b'E'));
            if plain || serde_json::from_slice::<serde_json::Value>(token).is_ok() { Ok(end) } else { Err(at) }
        }
        _ => Err(at),
    }
}

/// Checks the string at `at` (after any whitespace).
pub(crate) fn string_end(bytes: &[u8], at: usize) -> Skip {
    let at = past_whitespace(bytes, at);
    if bytes.get(at) == Some(&b'"') { skip_str(bytes, at) } else { Err(at) }
}

/// The text of the string at `at` (after any whitespace) and where it ends, for a string without
/// escapes (one with escapes fails: its text would need decoding).
pub(crate) fn plain_string(bytes: &[u8], at: usize) -> std::result::Result<(&[u8], usize), usize> {
    let at = past_whitespace(bytes, at);
    if bytes.get(at) != Some(&b'"') {
        return Err(at);
    }
    let stop = string_stop_short(bytes, at + 1);
    match bytes.get(stop) {
        Some(b'"') => Ok((&bytes[at + 1..stop], stop + 1)),
        _ => Err(stop),
    }
}

/// Whether the value at `at` (after any whitespace) is `null`, and where it ends if it is.
pub(crate) fn null_end(bytes: &[u8], at: usize) -> Option<usize> {
    let at = past_whitespace(bytes, at);
    literal_end(bytes, at, b"null").ok()
}

/// Checks the object at `at` (after any whitespace) with at most `depth` levels of nesting, as
/// [`skip_value`] does, except that each member's value is checked by `value(key, at, depth)`
/// (the key's text, where the value starts, the nesting left for it), which returns where the
/// value ends. Keys with escapes fail: their text would need decoding to be compared.
pub(crate) fn object_end(
    bytes: &[u8],
    at: usize,
    depth: u32,
    mut value: impl FnMut(&[u8], usize, u32) -> Skip,
) -> Skip {
    let at = past_whitespace(bytes, at);
    if bytes.get(at) != Some(&b'{') {
        return Err(at);
    }
    container_end(bytes, at, depth, b'}', |at, depth| {
        let (key, key_end) = plain_string(bytes, at)?;
        let at = past_whitespace(bytes, key_end);
        if bytes.get(at) != Some(&b':') {
            return Err(at);
        }
        value(key, at + 1, depth)
    })
}

/// Checks the array at `at` (after any whitespace) with at most `depth` levels of nesting, as
/// [`skip_value`] does, except that each element is checked by `element(at, depth)`, which
/// returns where it ends.
pub(crate) fn array_end(bytes: &[u8], at: usize, depth: u32, element: impl FnMut(usize, u32) -> Skip) -> Skip {
    let at = past_whitespace(bytes, at);
    if bytes.get(at) != Some(&b'[') {
        return Err(at);
    }
    container_end(bytes, at, depth, b']', element)
}

/// The reader: `text` is the whole document, `pos` the next byte to read.
pub(crate) struct Reader<'de> {
    text: &'de str,
    pos: usize,
    /// Levels of nesting still allowed.
    depth: u32,
    notes: Notes,
}

impl<'de> Reader<'de> {
    fn new(text: &'de str) -> Self {
        Reader { text, pos: 0, depth: MAX_DEPTH, notes: Notes::default() }
    }

    fn bytes(&self) -> &'de [u8] {
        self.text.as_bytes()
    }

    /// The next byte that is not JSON whitespace, not consumed (the whitespace is).
    #[inline]
    fn peek(&mut self) -> Option<u8> {
        // Every JSON whitespace byte is at most a space; the API server sends compact JSON, so
        // the next byte is nearly always the token itself. (Not `past_whitespace`: writing `pos`
        // back on every peek costs 1.8k instructions per typical review.)
        match self.bytes().get(self.pos) {
            Some(&b) if b > b' ' => Some(b),
            _ => self.peek_past_whitespace(),
        }
    }

    #[cold]
    #[inline(never)]
    fn peek_past_whitespace(&mut self) -> Option<u8> {
        self.pos = past_whitespace_slowly(self.bytes(), self.pos);
        self.bytes().get(self.pos).copied()
    }

    /// Moves past what a checking function (`skip_value`, `number_end`, …) read, or fails with
    /// `what` where it found something else.
    fn move_to(&mut self, checked: Skip, what: &str) -> Result<()> {
        match checked {
            Ok(end) => {
                self.pos = end;
                Ok(())
            }
            Err(at) => fail(what, at),
        }
    }

    /// Consumes `b` after whitespace, or fails with `what`.
    fn expect(&mut self, b: u8, what: &str) -> Result<()> {
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            fail(what, self.pos)
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<()> {
        self.move_to(literal_end(self.bytes(), self.pos, word), "invalid literal")
    }

    /// Enters an array or object (one more level of nesting).
    fn enter(&mut self) -> Result<()> {
        if self.depth == 0 {
            return fail("nesting too deep", self.pos);
        }
        self.depth -= 1;
        self.pos += 1;
        Ok(())
    }

    fn leave(&mut self, close: u8) -> Result<()> {
        self.depth += 1;
        self.expect(close, "expected the end of the array or object")
    }

    /// Reads the string whose opening quote is at `pos`, checking it as `serde_json` does: the
    /// text borrowed from the document when it has no escapes, else decoded.
    #[inline]
    fn string(&mut self) -> Result<Cow<'de, str>> {
        let bytes = self.bytes();
        if bytes.get(self.pos) != Some(&b'"') {
            return fail("expected a string", self.pos);
        }
        let start = self.pos + 1;
        let stop = string_stop_short(bytes, start);
        if bytes.get(stop) == Some(&b'"') {
            self.pos = stop + 1;
            // SAFETY: `start - 1` and `stop` hold quotes (ASCII, checked above), so `start` and
            // `stop` are character boundaries of `text`, and `start <= stop`.
            return Ok(Cow::Borrowed(unsafe { self.text.get_unchecked(start..stop) }));
        }
        self.string_with_escapes(start, stop)
    }

    /// The string value next (after any whitespace), as [`Reader::string`] reads it. In line, so
    /// that each string type's reader costs no call more than the `Cow` one in builds without
    /// link-time optimisation.
    #[inline(always)]
    fn string_value(&mut self) -> Result<Cow<'de, str>> {
        self.peek();
        self.string()
    }

    /// Checks and skips the string whose opening quote is at `pos`: [`Reader::string`] without
    /// building its result.
    #[inline]
    fn skip_string(&mut self) -> Result<()> {
        self.move_to(skip_str(self.bytes(), self.pos), "invalid string")
    }

    /// [`Reader::string`] from `at`, the first backslash or other stop of the string at `start`.
    #[cold]
    #[inline(never)]
    fn string_with_escapes(&mut self, start: usize, mut at: usize) -> Result<Cow<'de, str>> {
        let bytes = self.bytes();
        let mut decoded = String::new();
        let mut copied = start;
        loop {
            match bytes.get(at) {
                Some(b'"') => {
                    self.pos = at + 1;
                    decoded.push_str(&self.text[copied..at]);
                    return Ok(Cow::Owned(decoded));
                }
                Some(b'\\') => {
                    let (ch, len) = escape(bytes, at)?;
                    decoded.push_str(&self.text[copied..at]);
                    decoded.push(ch);
                    at += len;
                    copied = at;
                }
                Some(_) => return fail("control character in a string", at),
                None => return fail("unterminated string", at),
            }
            at = string_stop(bytes, at);
        }
    }

    /// The text of the number at `pos`, checked against the JSON grammar and consumed.
    fn number_token(&mut self) -> Result<&'de str> {
        let start = self.pos;
        self.move_to(number_end(self.bytes(), start), "invalid number")?;
        Ok(&self.text[start..self.pos])
    }

    /// Hands the number at `pos` to `serde_json`, so it is read exactly as there.
    fn number<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value> {
        let token = self.number_token()?;
        let mut de = serde_json::Deserializer::from_str(token);
        let value = de.deserialize_any(visitor).map_err(|e| Error(e.to_string()))?;
        de.end().map_err(|e| Error(e.to_string()))?;
        Ok(value)
    }

    /// Enters the object at the next token, for a [`Read`] to go through its members.
    pub(crate) fn object(&mut self) -> Result<ObjectMembers> {
        match self.peek() {
            Some(b'{') => self.enter().map(|()| ObjectMembers { first: true }),
            _ => fail("expected an object", self.pos),
        }
    }

    /// Checks and skips the value at the next token with `end`, a checking function like
    /// [`skip_value`] (where the value at a position ends, with the nesting allowed there).
    pub(crate) fn skip_checked(&mut self, end: impl FnOnce(&[u8], usize, u32) -> Skip) -> Result<()> {
        self.move_to(end(self.bytes(), self.pos, self.depth), "not of the expected shape")
    }

    /// Checks and skips one value, as strictly as a `Value` parse reads it ([`skip_value`]).
    pub(crate) fn skip(&mut self) -> Result<()> {
        self.move_to(skip_value(self.bytes(), self.pos, self.depth), "invalid JSON in a value read without keeping it")
    }

    fn visit_string<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value> {
        match self.string()? {
            Cow::Borrowed(s) => visitor.visit_borrowed_str(s),
            Cow::Owned(s) => visitor.visit_str(&s),
        }
    }

    fn visit_seq<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value> {
        self.enter()?;
        let value = visitor.visit_seq(Elements { reader: self, first: true })?;
        self.leave(b']')?;
        Ok(value)
    }

    fn visit_map<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value> {
        self.enter()?;
        let noted = self.depth == self.notes.depth;
        self.notes.used |= noted;
        let value = visitor.visit_map(Members { reader: self, first: true, noted })?;
        self.leave(b'}')?;
        Ok(value)
    }
}

impl<'de> Deserializer<'de> for &mut Reader<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.peek() {
            Some(b'"') => self.visit_string(visitor),
            Some(b'{') => self.visit_map(visitor),
            Some(b'[') => self.visit_seq(visitor),
            Some(b't') => self.literal(b"true").and_then(|()| visitor.visit_bool(true)),
            Some(b'f') => self.literal(b"false").and_then(|()| visitor.visit_bool(false)),
            Some(b'n') => self.literal(b"null").and_then(|()| visitor.visit_unit()),
            Some(b'-' | b'0'..=b'9') => self.number(visitor),
            _ => fail("expected a value", self.pos),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.peek() {
            Some(b't' | b'f') => self.deserialize_any(visitor),
            _ => fail("expected a boolean", self.pos),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.peek() {
            Some(b'"') => self.visit_string(visitor),
            _ => fail("expected a string", self.pos),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.peek() {
            Some(b'n') => self.literal(b"null").and_then(|()| visitor.visit_none()),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.peek() {
            Some(b'n') => self.deserialize_any(visitor),
            _ => fail("expected null", self.pos),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.peek() {
            Some(b'[') => self.visit_seq(visitor),
            _ => fail("expected an array", self.pos),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.peek() {
            Some(b'{') => self.visit_map(visitor),
            _ => fail("expected an object", self.pos),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        // Unit variants only (a string); a variant with data is left to serde_json.
        match self.peek() {
            Some(b'"') => match self.string()? {
                Cow::Borrowed(s) => visitor.visit_enum(de::value::BorrowedStrDeserializer::new(s)),
                Cow::Owned(s) => visitor.visit_enum(s.into_deserializer()),
            },
            _ => fail("expected a unit variant", self.pos),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.skip()?;
        visitor.visit_unit()
    }

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_number(visitor)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_number(visitor)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_number(visitor)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_number(visitor)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_number(visitor)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_number(visitor)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_number(visitor)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_number(visitor)
    }
    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_number(visitor)
    }
    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_number(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value> {
        fail("bytes are left to serde_json", self.pos)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value> {
        fail("bytes are left to serde_json", self.pos)
    }
}

impl<'de> Reader<'de> {
    /// A number where one is expected (128-bit integers are not read: serde_json reads them its
    /// own way).
    fn deserialize_number<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value> {
        match self.peek() {
            Some(b'-' | b'0'..=b'9') => self.number(visitor),
            _ => fail("expected a number", self.pos),
        }
    }

    /// Before an array's element or an object's member: `false` at `close`, the end; otherwise
    /// consumes the comma before it (none before the first) and returns `true`.
    #[inline]
    fn next_entry(&mut self, first: &mut bool, close: u8) -> Result<bool> {
        match self.peek() {
            Some(b) if b == close => return Ok(false),
            Some(b',') if !*first => self.pos += 1,
            _ if *first => {}
            _ => return fail("expected ',' or the end of the array or object", self.pos),
        }
        *first = false;
        Ok(true)
    }
}

/// The elements of an array being read.
struct Elements<'r, 'de> {
    reader: &'r mut Reader<'de>,
    first: bool,
}

impl<'de> SeqAccess<'de> for Elements<'_, 'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        if !self.reader.next_entry(&mut self.first, b']')? {
            return Ok(None);
        }
        seed.deserialize(&mut *self.reader).map(Some)
    }
}

/// The members of an object being read.
struct Members<'r, 'de> {
    reader: &'r mut Reader<'de>,
    first: bool,
    /// Whether its members are noted ([`Notes`]).
    noted: bool,
}

impl<'de> MapAccess<'de> for Members<'_, 'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        if !self.reader.next_entry(&mut self.first, b'}')? {
            return Ok(None);
        }
        if self.reader.peek() != Some(b'"') {
            return fail("expected a key", self.reader.pos);
        }
        if self.noted {
            self.reader.notes.key = self.reader.pos;
        }
        seed.deserialize(Key(&mut *self.reader)).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        self.reader.expect(b':', "expected ':'")?;
        if !self.noted {
            return seed.deserialize(&mut *self.reader);
        }
        self.reader.peek();
        let start = self.reader.pos;
        let value = seed.deserialize(&mut *self.reader)?;
        let notes = &mut self.reader.notes;
        notes.members.push((notes.key, start..self.reader.pos));
        Ok(value)
    }
}

/// An object key (at its opening quote): read as a string whatever is asked for.
struct Key<'r, 'de>(&'r mut Reader<'de>);

impl<'de> Deserializer<'de> for Key<'_, 'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.0.visit_string(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.0.skip_string()?;
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use pretty_assertions::assert_eq;
    use serde_json::Value;

    use super::*;

    /// Whatever this reader accepts, `serde_json` accepts as the same `Value`.
    fn agrees(text: &str) -> bool {
        let ours = from_str::<Value>(text);
        let theirs = serde_json::from_str::<Value>(text);
        match (&ours, &theirs) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{text:?}"),
            (Ok(_), Err(e)) => panic!("{text:?} read here but serde_json says {e}"),
            (Err(_), _) => {}
        }
        // Skipping accepts exactly what reading accepts.
        assert_eq!(from_str::<de::IgnoredAny>(text).is_ok(), ours.is_ok(), "skip {text:?}");
        // The shape helpers, checking each member or element as skipping does, accept what
        // skipping accepts (objects whose keys have no escapes).
        let bytes = text.as_bytes();
        let whole = |end: Skip| end.is_ok_and(|end| past_whitespace(bytes, end) == bytes.len());
        let skipped = whole(skip_value(bytes, 0, MAX_DEPTH));
        let composed = whole(object_end(bytes, 0, MAX_DEPTH, |_, at, depth| skip_value(bytes, at, depth)))
            || whole(array_end(bytes, 0, MAX_DEPTH, |at, depth| skip_value(bytes, at, depth)));
        assert!(!composed || skipped, "shape {text:?}");
        let container = matches!(bytes.get(past_whitespace(bytes, 0)), Some(b'{' | b'['));
        assert!(!skipped || !container || text.contains('\\') || composed, "shape {text:?}");
        // The `Read` readers give what `Deserialize` gives from a `Value` parse, or fail.
        if let Ok(read) = read_str::<Sample>(text) {
            let theirs = serde_json::from_str::<Value>(text).and_then(serde_json::from_value::<Sample>);
            assert_eq!(Some(read), theirs.ok(), "{text:?}");
        }
        ours.is_ok()
    }

    #[test]
    fn the_sample_reads_through_the_readers() {
        let read = read_str::<Sample>(SAMPLE).expect("the sample");
        assert_eq!(read.o.map(|o| o.len()), Some(2));
        assert!(agrees(SAMPLE));
    }

    /// [`SAMPLE`]'s members through the `Read` readers.
    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Sample {
        a: Option<Vec<Value>>,
        s: Option<String>,
        o: Option<BTreeMap<String, Value>>,
        n: Option<Value>,
    }

    read_struct!(Sample { optional { "a" => a, "s" => s, "o" => o, "n" => n } });

    #[test]
    fn reads_what_serde_json_reads() {
        for text in [
            r#"{"a":[1,-2,3.5,-0,0.0,1e3,1E-3,12345678901234567890,-9223372036854775808,true,false,null],"b":{}}"#,
            " \t\n\r{ \"k\" : [ ] , \"l\" : \"v\" } \n",
            r#"["\"\\\/\b\f\n\r\t","\u00e9\u0000","\ud83d\ude00","caf\u00e9 ok","é日本語"]"#,
            r#"{"a":1,"a":2}"#,
            r#""a string long enough to take more than one sixteen-byte step, with a \" quote at the end""#,
            "1e308",
            "123456789012345678901234567890",
            "0.1e-400",
        ] {
            assert!(agrees(text), "{text:?} should be read");
        }
    }

    #[test]
    fn refuses_what_serde_json_refuses() {
        for text in [
            "",
            "{",
            "[1,]",
            r#"{"a":1,}"#,
            r#"{"a" 1}"#,
            r#"{1:2}"#,
            "[1 2]",
            "01",
            "1.",
            ".5",
            "-",
            "1e",
            "1e400",
            "-1e400",
            "tru",
            "nul",
            "\"\u{1}\"",
            "\"a\tb\"",
            r#""\x""#,
            r#""\u12""#,
            r#""\ud800""#,
            r#""\udc00""#,
            r#""\ud800\u0041""#,
            "\"unterminated",
            "[] []",
            "{}x",
        ] {
            assert!(!agrees(text), "{text:?} should be refused");
        }
        let deep = format!("{}{}", "[".repeat(110), "]".repeat(110));
        assert!(!agrees(&deep));
        let shallow = format!("{}{}", "[".repeat(90), "]".repeat(90));
        assert!(agrees(&shallow));
    }

    /// Keys around the in-line case of [`ObjectMembers::next_key`] (compact JSON, a key without
    /// escapes, the comma and colon next to it) and just outside it.
    #[test]
    fn object_keys_in_line_and_not() {
        for text in [
            "{}",
            " { } ",
            r#"{"s":"x"}"#,
            r#"{"s":"x","a":[]}"#,
            r#"{"s":"x" ,"a":[]}"#,
            r#"{"s":"x", "a":[]}"#,
            r#"{"s" :"x"}"#,
            r#"{ "s":"x"}"#,
            r#"{"s":"x"} "#,
            r#"{"":1,"s":"x"}"#,
            r#"{"abcdefghijklmno":1,"s":"x"}"#,
            r#"{"abcdefghijklmnop":1,"s":"x"}"#,
            r#"{"abcdefghijklmnopq":1,"s":"x"}"#,
            r#"{"\u0073":"x"}"#,
            r#"{"é日本語":1,"s":"x"}"#,
            r#"{"o":{"k":{}},"s":"x"}"#,
        ] {
            assert!(agrees(text), "{text:?} should be read");
            assert!(read_str::<Sample>(text).is_ok(), "{text:?} should be read as a Sample");
        }
        for text in [
            r#"{,"s":"x"}"#,
            r#"{"s":"x",}"#,
            r#"{"s":"x""a":[]}"#,
            r#"{"s":"x",,"a":[]}"#,
            r#"{"s""x"}"#,
            r#"{"s"}"#,
            r#"{"s":}"#,
            r#"{"s"#,
            r#"{"s":"x""#,
            "{\"s\u{1}\":\"x\"}",
            r#"{s:"x"}"#,
        ] {
            assert!(!agrees(text), "{text:?} should be refused");
            assert!(read_str::<Sample>(text).is_err(), "{text:?} should be refused as a Sample");
        }
    }

    #[test]
    fn strings_without_escapes_are_borrowed() {
        let text = r#"["plain","esc\naped"]"#;
        let (plain, escaped): (&str, String) = from_str(text).expect("strings");
        assert_eq!((plain, escaped.as_str()), ("plain", "esc\naped"));
        // An escaped string cannot be borrowed.
        assert!(from_str::<(&str, &str)>(text).is_err());
    }

    #[test]
    fn typed_values_read_as_serde_json_reads_them() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        #[serde(rename_all = "camelCase")]
        struct Sample {
            name: String,
            count: Option<i32>,
            ratio: f64,
            tags: Vec<String>,
            mode: Mode,
            #[serde(default)]
            missing: Option<bool>,
        }
        #[derive(serde::Deserialize, Debug, PartialEq)]
        enum Mode {
            Fast,
        }
        let text = r#"{"name":"a\u0062c","count":null,"ratio":0.30000000000000004,"tags":["x"],"mode":"Fast","extra":{"deep":[1,{"x":"\ud83d\ude00"}]}}"#;
        let ours: Sample = from_str(text).expect("sample");
        assert_eq!(ours, serde_json::from_str::<Sample>(text).expect("sample"));
        // An out-of-range count fails in both.
        assert!(from_str::<Sample>(&text.replace("null", "3000000000")).is_err());
        assert!(serde_json::from_str::<Sample>(&text.replace("null", "3000000000")).is_err());
    }

    #[test]
    fn integers_read_as_serde_json_reads_them_from_a_value() {
        let tokens = [
            "0",
            "-0",
            "7",
            "-7",
            "123456789012345678",
            "-123456789012345678",
            "999999999999999999",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "18446744073709551616",
            "1.0",
            "1e3",
            "-0.0",
            "1E0",
            "00",
            "-",
            "01",
            "\"1\"",
            "true",
            "null",
        ];
        for token in tokens {
            let (ours, theirs) = integer_both_ways(token);
            assert_eq!(ours, theirs, "{token}");
        }
    }

    /// `token` read as an `i64` here, and by `serde_json` through a `Value`.
    fn integer_both_ways(token: &str) -> (Option<i64>, Option<i64>) {
        let theirs = serde_json::from_str::<Value>(token).ok().and_then(|v| serde_json::from_value::<i64>(v).ok());
        (read_str::<i64>(token).ok(), theirs)
    }

    proptest::proptest! {
        #[test]
        fn generated_integers_read_as_serde_json_reads_them(n in proptest::num::i64::ANY, digits in "-?[0-9]{1,21}") {
            for token in [n.to_string(), digits] {
                let (ours, theirs) = integer_both_ways(&token);
                proptest::prop_assert_eq!(ours, theirs, "{}", token);
            }
        }
    }

    #[test]
    fn the_wide_scans_stop_where_the_bytewise_one_does() {
        let mut text = Vec::new();
        for i in 0..300u32 {
            text.push(match i % 37 {
                0 => b'"',
                5 => b'\\',
                11 => 0x1f,
                17 => 0x7f,
                23 => 0x80,
                29 => b' ',
                _ => b'a' + (i % 26) as u8,
            });
        }
        for from in 0..text.len() {
            let expected = string_stop_bytewise(&text, from);
            assert_eq!(string_stop(&text, from), expected, "from {from}");
            assert_eq!(string_stop_words(&text, from), expected, "from {from}");
            assert_eq!(string_stop_short(&text, from), expected, "from {from}");
        }
        assert_eq!(string_stop(b"abc", 3), 3);
        assert_eq!(string_stop(b"abc", 7), 3);
    }

    /// A JSON document with every kind of token, escapes and numbers at the edges of their types.
    const SAMPLE: &str = r#"{"a":[1,-2,3.5e-7,18446744073709551615,-9223372036854775808,0,true,false,null],"s":"x\"y\\z\/\u00e9\ud83d\ude00 plain text long enough","o":{"k:{\"n\":\"v\"}":{},"e":[]},"n":-0.0}"#;

    proptest::proptest! {
        /// Damaged documents: whatever is read here is read the same by serde_json.
        #[test]
        fn damaged_documents_are_never_read_differently(
            edits in proptest::collection::vec(
                (0..SAMPLE.len(), proptest::sample::select(vec![
                    "", "\"", "\\", "{", "}", "[", "]", ",", ":", "0", "-", "e", ".", "1e999", "\\u", "d800",
                    "\u{1}", " ", "\n", "n", "é",
                ])),
                1..4,
            ),
            cut in proptest::bool::ANY,
        ) {
            let mut text = SAMPLE.to_string();
            for (at, insert) in edits {
                let at = (0..=at.min(text.len())).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
                let end = (at + usize::from(cut)).min(text.len());
                let end = (end..=text.len()).find(|i| text.is_char_boundary(*i)).unwrap_or(text.len());
                text.replace_range(at..end, insert);
            }
            agrees(&text);
        }

        /// Any JSON value serde_json writes, compact or pretty, is read back the same.
        #[test]
        fn written_documents_are_read_back(value in any_json(), pretty in proptest::bool::ANY) {
            let text = if pretty {
                serde_json::to_string_pretty(&value)
            } else {
                serde_json::to_string(&value)
            }.expect("json");
            proptest::prop_assert!(agrees(&text), "{}", text);
        }
    }

    fn any_json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
            "\\PC{0,12}".prop_map(Value::String),
            "[\u{0}-\u{1f}\"\\\\a]{0,6}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 5, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                proptest::collection::btree_map("\\PC{0,6}", inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }
}
