//! A ConversionReview answered from its text: what conversion does not change is copied as written
//! instead of being parsed into `Value`s and serialized again.
//!
//! Converting an object changes its `apiVersion` and, for MCPServerEntry and VirtualMCPServer,
//! `spec` and `metadata.annotations`. Only those are parsed (`spec` only when the conversion can
//! touch it: always up to `v1beta1`, down to `v1alpha1` only when the object carries a conversion
//! record); the rest of the object (`status`, `metadata.managedFields`, …) is checked as strictly as
//! a `Value` parse would read it and copied. Members are written in key order, as the `Value` path
//! writes them, so the answers differ only in the whitespace and number spelling of the copied
//! parts, which stay as the API server wrote them.
//!
//! Anything else (a body that is not a well-formed review, a key written with escapes or given
//! twice, nesting deeper than [`MAX_DEPTH`], an object that does not convert) is left to the
//! `Value` path, so failures are answered by one implementation only.

use serde_json::{Map, Value};

use super::review::{REVIEW_API_VERSION, REVIEW_KIND};
use super::{ANNOTATION, Kind, ObjectTally, ServedVersion, convert_in_place};
use crate::json::{Skip, array_end, object_end, past_whitespace, plain_string, skip_value};

/// Nesting this path reads, from the top of the body: inside `serde_json`'s limit, so that the
/// `Value` path reads everything this one does.
const MAX_DEPTH: u32 = 100;

/// A member of an object: its key and its value as written.
type Member<'a> = (&'a str, &'a str);

/// The response body and the tallies for `body`, or `None` when the `Value` path is to answer.
pub(super) fn answer(body: &[u8]) -> Option<(Vec<u8>, Vec<ObjectTally>)> {
    let text = simdutf8::basic::from_utf8(body).ok()?;
    let request = read_review(text)?;
    let to = ServedVersion::from_api_version(request.desired).ok()?;
    let mut out = Vec::with_capacity(body.len() + 256);
    out.extend_from_slice(br#"{"apiVersion":""#);
    out.extend_from_slice(REVIEW_API_VERSION.as_bytes());
    out.extend_from_slice(br#"","kind":""#);
    out.extend_from_slice(REVIEW_KIND.as_bytes());
    out.extend_from_slice(br#"","response":{"convertedObjects":["#);
    let mut tallies = Vec::with_capacity(request.objects.len());
    let mut members = request.members;
    for (index, range) in request.objects.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        tallies.push(convert_object(text, &mut members[range.clone()], to, &mut out)?);
    }
    out.extend_from_slice(br#"],"result":{"status":"Success"},"uid":"#);
    serde_json::to_writer(&mut out, request.uid).ok()?;
    out.extend_from_slice(b"}}");
    Some((out, tallies))
}

/// What the answer needs of the review: every object as its members, all in one list.
struct Request<'a> {
    uid: &'a str,
    desired: &'a str,
    members: Vec<Member<'a>>,
    /// Each object's members in `members`.
    objects: Vec<std::ops::Range<usize>>,
}

/// Reads the review, or `None` if it is not a well-formed one with a uid.
fn read_review(text: &str) -> Option<Request<'_>> {
    let bytes = text.as_bytes();
    let (mut api_version, mut kind, mut request) = (None, None, None);
    let end = object_end(bytes, 0, MAX_DEPTH, |key, at, depth| match key {
        b"apiVersion" => once(&mut api_version, plain(text, at)),
        b"kind" => once(&mut kind, plain(text, at)),
        b"request" => once(&mut request, read_request(text, at, depth)),
        _ => skip_value(bytes, at, depth),
    })
    .ok()?;
    let whole = past_whitespace(bytes, end) == bytes.len();
    let envelope = (api_version == Some(REVIEW_API_VERSION), kind == Some(REVIEW_KIND));
    request.filter(|request| whole && envelope == (true, true) && !request.uid.is_empty())
}

/// Reads the request object at `at`, returning it and where it ends.
fn read_request(text: &str, at: usize, depth: u32) -> Result<(Request<'_>, usize), usize> {
    let bytes = text.as_bytes();
    let (mut uid, mut desired, mut listed) = (None, None, None);
    let (mut members, mut objects) = (Vec::new(), Vec::new());
    let end = object_end(bytes, at, depth, |key, at, depth| match key {
        b"uid" => once(&mut uid, plain(text, at)),
        b"desiredAPIVersion" => once(&mut desired, plain(text, at)),
        b"objects" => once(&mut listed, read_objects(text, at, depth, &mut members, &mut objects).map(|end| ((), end))),
        _ => skip_value(bytes, at, depth),
    })?;
    match (uid, desired, listed) {
        (Some(uid), Some(desired), Some(())) => Ok((Request { uid, desired, members, objects }, end)),
        _ => Err(at),
    }
}

/// Reads the list of objects at `at` into `members` and `objects`.
fn read_objects<'a>(
    text: &'a str,
    at: usize,
    depth: u32,
    members: &mut Vec<Member<'a>>,
    objects: &mut Vec<std::ops::Range<usize>>,
) -> Skip {
    array_end(text.as_bytes(), at, depth, |at, depth| {
        let start = members.len();
        let end = read_members(text, at, depth, members)?;
        objects.push(start..members.len());
        Ok(end)
    })
}

/// Reads the object at `at` as its members, appended to `members`.
fn read_members<'a>(text: &'a str, at: usize, depth: u32, members: &mut Vec<Member<'a>>) -> Skip {
    let bytes = text.as_bytes();
    object_end(bytes, at, depth, |key, at, depth| {
        let end = skip_value(bytes, at, depth)?;
        members.push((within(text, key), &text[past_whitespace(bytes, at)..end]));
        Ok(end)
    })
}

/// Sets `slot` to the value read, or fails if the key was already read (the `Value` path keeps
/// the last, and decides what that means).
fn once<T>(slot: &mut Option<T>, read: Result<(T, usize), usize>) -> Skip {
    let (value, end) = read?;
    match slot {
        Some(_) => Err(end),
        None => {
            *slot = Some(value);
            Ok(end)
        }
    }
}

/// The string without escapes at `at`, and where it ends.
fn plain(text: &str, at: usize) -> Result<(&str, usize), usize> {
    plain_string(text.as_bytes(), at).map(|(found, end)| (within(text, found), end))
}

/// `part`, a slice of `text`'s bytes that starts and ends next to an ASCII byte, as text.
fn within<'a>(text: &'a str, part: &[u8]) -> &'a str {
    let start = offset(text, part);
    &text[start..start + part.len()]
}

/// Where `part`, a slice of `text`'s bytes, starts in `text`.
fn offset(text: &str, part: &[u8]) -> usize {
    part.as_ptr() as usize - text.as_ptr() as usize
}

/// The value of `key` among `members`, sorted by key.
fn member<'a>(members: &[Member<'a>], key: &str) -> Option<&'a str> {
    members.binary_search_by(|(k, _)| (*k).cmp(key)).ok().map(|i| members[i].1)
}

/// Sorts `members` by key; `None` if a key is given twice.
fn sorted(members: &mut [Member<'_>]) -> Option<()> {
    members.sort_unstable_by(|a, b| a.0.cmp(b.0));
    (!members.windows(2).any(|pair| pair[0].0 == pair[1].0)).then_some(())
}

/// Converts the object made of `members` to `to`, writing it to `out`; `None` when the `Value`
/// path is to answer.
fn convert_object(text: &str, members: &mut [Member<'_>], to: ServedVersion, out: &mut Vec<u8>) -> Option<ObjectTally> {
    sorted(members)?;
    let string = |key| serde_json::from_str::<&str>(member(members, key)?).ok();
    let kind = Kind::from_name(string("kind")?)?;
    let from = ServedVersion::from_api_version(string("apiVersion")?).ok()?;
    let tally = ObjectTally { kind: Some(kind), from: Some(from), to, ok: true };
    let api_version = |version: ServedVersion| ("apiVersion".to_owned(), Value::from(version.api_version()));
    let rewritten = from != to && matches!(kind, Kind::MCPServerEntry | Kind::VirtualMCPServer);
    let (metadata, copied_metadata) = match rewritten {
        true => read_metadata(text, member(members, "metadata"))?,
        false => (None, None),
    };
    // Converting down undoes only what a record notes.
    let has_record = metadata.as_ref().and_then(|m| m.get("annotations")?.get(ANNOTATION)).is_some();
    if !rewritten || (to == ServedVersion::V1alpha1 && !has_record) {
        write_object(out, members, &Map::from_iter([api_version(to)]))?;
        return Some(tally);
    }
    let mut object = Map::from_iter([api_version(from), ("kind".to_owned(), Value::from(kind.as_str()))]);
    object.extend(metadata.map(|m| ("metadata".to_owned(), m)));
    if let Some(spec) = member(members, "spec") {
        object.insert("spec".to_owned(), serde_json::from_str(spec).ok()?);
    }
    let mut object = Value::Object(object);
    convert_in_place(&mut object, to).ok()?;
    let Value::Object(object) = object else { return None };
    write_converted(out, members, object, copied_metadata)?;
    Some(tally)
}

/// The `metadata` conversion is to see, and the members to copy around what it sees: of an
/// object only `annotations` is seen (conversion reads and writes nothing else there), anything
/// else whole.
type SeenMetadata<'a> = (Option<Value>, Option<Vec<Member<'a>>>);

fn read_metadata<'a>(text: &'a str, metadata: Option<&'a str>) -> Option<SeenMetadata<'a>> {
    let Some(raw) = metadata else { return Some((None, None)) };
    if !raw.starts_with('{') {
        return Some((Some(serde_json::from_str(raw).ok()?), None));
    }
    let mut members = Vec::new();
    read_members(text, offset(text, raw.as_bytes()), MAX_DEPTH, &mut members).ok()?;
    sorted(&mut members)?;
    let mut seen = Map::new();
    if let Some(annotations) = member(&members, "annotations") {
        seen.insert("annotations".to_owned(), serde_json::from_str(annotations).ok()?);
    }
    members.retain(|(key, _)| *key != "annotations");
    Some((Some(Value::Object(seen)), Some(members)))
}

/// Writes the converted `object` with the members of the original conversion did not see.
fn write_converted(
    out: &mut Vec<u8>,
    members: &[Member<'_>],
    mut object: Map<String, Value>,
    copied_metadata: Option<Vec<Member<'_>>>,
) -> Option<()> {
    let copied = |key: &str| !matches!(key, "apiVersion" | "kind" | "metadata" | "spec");
    let mut kept: Vec<Member<'_>> = members.iter().filter(|(key, _)| copied(key)).copied().collect();
    let metadata;
    if let Some(copied_metadata) = copied_metadata {
        let Some(Value::Object(seen)) = object.remove("metadata") else { return None };
        let mut written = Vec::new();
        write_object(&mut written, &copied_metadata, &seen)?;
        metadata = String::from_utf8(written).ok()?;
        kept.push(("metadata", &metadata));
        kept.sort_unstable_by(|a, b| a.0.cmp(b.0));
    }
    write_object(out, &kept, &object)
}

/// Writes the object made of `copied` (sorted by key) and `parsed` in key order, as a `Value`
/// object serializes; a key in both is written from `parsed`.
fn write_object(out: &mut Vec<u8>, copied: &[Member<'_>], parsed: &Map<String, Value>) -> Option<()> {
    out.push(b'{');
    let mut copied = copied.iter().filter(|(key, _)| !parsed.contains_key(*key)).peekable();
    let mut parsed = parsed.iter().peekable();
    let mut first = true;
    loop {
        let from_copied = match (copied.peek(), parsed.peek()) {
            (Some((a, _)), Some((b, _))) => *a < b.as_str(),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        if !std::mem::take(&mut first) {
            out.push(b',');
        }
        if from_copied {
            let (key, value) = copied.next()?;
            // Keys read here have no escapes: written as they came.
            out.push(b'"');
            out.extend_from_slice(key.as_bytes());
            out.extend_from_slice(b"\":");
            out.extend_from_slice(value.as_bytes());
        } else {
            let (key, value) = parsed.next()?;
            serde_json::to_writer(&mut *out, key).ok()?;
            out.push(b':');
            serde_json::to_writer(&mut *out, value).ok()?;
        }
    }
    out.push(b'}');
    Some(())
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;
    use serde_json::json;

    use super::*;
    use crate::conversion::review::{ReviewOutcome, handle_review_as_value};

    const V1ALPHA1: &str = "toolhive.stacklok.dev/v1alpha1";
    const V1BETA1: &str = "toolhive.stacklok.dev/v1beta1";

    fn review(desired: &str, objects: Value) -> String {
        json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "ConversionReview",
            "request": {"uid": "u-1", "desiredAPIVersion": desired, "objects": objects},
        })
        .to_string()
    }

    /// The answer of the `Value` path to `body`, as JSON, and its tallies.
    fn as_value(body: &str) -> Option<(Value, Vec<ObjectTally>)> {
        match handle_review_as_value(body.as_bytes()) {
            ReviewOutcome::Response(response) => Some((response.review(), response.objects)),
            ReviewOutcome::BadRequest(_) => None,
        }
    }

    /// Asserts that this path answers `body`, as the `Value` path does, and returns the answer.
    fn answered_from_text(body: &str) -> String {
        let (answer, tallies) = answer(body.as_bytes()).unwrap_or_else(|| panic!("left to the Value path: {body}"));
        let text = String::from_utf8(answer).expect("UTF-8");
        let parsed: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(Some((parsed, tallies)), as_value(body), "{body}");
        text
    }

    fn entry(api_version: &str, spec: Value) -> Value {
        json!({"apiVersion": api_version, "kind": "MCPServerEntry", "metadata": {"name": "e", "namespace": "team"}, "spec": spec})
    }

    fn vmcp(api_version: &str, metadata: Value, spec: Value) -> Value {
        json!({"apiVersion": api_version, "kind": "VirtualMCPServer", "metadata": metadata, "spec": spec})
    }

    #[test]
    fn every_fixture_that_converts_is_answered_from_its_text() {
        let mut answered = 0;
        for entry in std::fs::read_dir("webhooks/conversion").expect("fixtures") {
            let path = entry.expect("fixture").path();
            if !path.to_string_lossy().ends_with(".request.json") {
                continue;
            }
            let body = std::fs::read_to_string(&path).expect("fixture");
            let (value_answer, _) = as_value(&body).expect("fixtures are reviews");
            if value_answer["response"]["result"]["status"] == "Success" {
                answered_from_text(&body);
                answered += 1;
            } else {
                assert_eq!(answer(body.as_bytes()), None, "{}", path.display());
            }
        }
        assert!(answered >= 3, "{answered}");
    }

    #[test]
    fn both_directions_and_every_kind_are_answered_from_the_text() {
        let record = json!({"annotations": {ANNOTATION: r#"{"incomingAuth":"absent"}"#, "team": "a"}, "name": "v"});
        let objects = json!([
            entry(V1ALPHA1, json!({"remoteURL": "https://a", "groupRef": "g"})),
            entry(V1BETA1, json!({"remoteUrl": "https://a", "groupRef": {"name": "g"}})),
            vmcp(
                V1ALPHA1,
                json!({"name": "v", "managedFields": [{"manager": "m"}]}),
                json!({"config": {"groupRef": "g"}})
            ),
            vmcp(V1BETA1, record, json!({"groupRef": {"name": "g"}, "incomingAuth": {"type": "anonymous"}})),
            vmcp(V1BETA1, json!({"name": "w"}), json!({"groupRef": {"name": "g"}})),
            vmcp(
                V1ALPHA1,
                json!("not a map"),
                json!({"groupRef": {"name": "g"}, "incomingAuth": {"type": "anonymous"}})
            ),
            json!({"apiVersion": V1ALPHA1, "kind": "MCPGroup", "metadata": {"name": "g"}, "status": {"phase": "Ready"}}),
            json!({"apiVersion": V1BETA1, "kind": "MCPRegistry"}),
        ]);
        for desired in [V1ALPHA1, V1BETA1] {
            answered_from_text(&review(desired, objects.clone()));
        }
        answered_from_text(&review(V1BETA1, json!([])));
    }

    #[test]
    fn what_conversion_does_not_change_is_copied_as_written() {
        let body = format!(
            r#"{{"apiVersion":"apiextensions.k8s.io/v1","kind":"ConversionReview","request":{{"uid":"u-é","desiredAPIVersion":"{V1BETA1}","objects":[
              {{ "kind" : "VirtualMCPServer", "apiVersion": "{V1ALPHA1}",
                 "status": {{"observedGeneration": 1.0e1, "message": "caf\u00e9 \"ok\""}},
                 "metadata": {{"name": "v", "managedFields": [ {{"fieldsV1": {{"f:spec": {{}}}}}} ]}},
                 "spec": {{"config": {{"groupRef": "g"}}}} }} ]}}}}"#
        );
        let text = answered_from_text(&body);
        assert!(text.contains(r#""status":{"observedGeneration": 1.0e1, "message": "caf\u00e9 \"ok\""}"#), "{text}");
        assert!(text.contains(r#""managedFields":[ {"fieldsV1": {"f:spec": {}}} ]"#), "{text}");
        assert!(text.contains(r#""uid":"u-é""#), "{text}");
    }

    #[test]
    fn what_this_path_does_not_read_is_left_to_the_value_path() {
        let deep = format!("{}1{}", "[".repeat(120), "]".repeat(120));
        let group = |extra: &str| json!([{"kind": "MCPGroup", "apiVersion": V1ALPHA1, "x": extra}]);
        let entry = json!([entry(V1ALPHA1, json!({"remoteURL": "https://a"}))]);
        let broken = json!([vmcp(V1BETA1, json!({"annotations": {ANNOTATION: "{"}}), json!({}))]);
        // (what, body, whether the `Value` path converts it)
        let cases = [
            ("a key with an escape", review(V1BETA1, group("")).replace(r#""kind""#, r#""kin\u0064""#), true),
            (
                "a key given twice",
                review(V1BETA1, json!([])).replace(r#""uid":"u-1""#, r#""uid":"u-0","uid":"u-1""#),
                true,
            ),
            ("an object's key given twice", review(V1BETA1, entry).replace(r#""spec":"#, r#""spec":{},"spec":"#), true),
            ("nesting deeper than the limit", review(V1BETA1, group("DEEP")).replace(r#""DEEP""#, &deep), true),
            ("an object that is not one", review(V1BETA1, json!([[]])), false),
            ("an unknown kind", review(V1BETA1, json!([{"kind": "Pod", "apiVersion": V1ALPHA1}])), false),
            ("an unknown version", review("v1", json!([])), false),
            ("a broken record", review(V1ALPHA1, broken), false),
            ("another review", review(V1BETA1, json!([])).replace("ConversionReview", "AdmissionReview"), false),
            ("an empty uid", review(V1BETA1, json!([])).replace("u-1", ""), false),
            ("text after the review", review(V1BETA1, json!([])) + "x", false),
            ("a number out of range", review(V1BETA1, group("BIG")).replace(r#""BIG""#, "1e400"), false),
        ];
        for (what, body, converts) in cases {
            assert_eq!(answer(body.as_bytes()), None, "{what}: {body}");
            let converted =
                as_value(&body).is_some_and(|(answer, _)| answer["response"]["result"]["status"] == "Success");
            assert_eq!(converted, converts, "{what}: {body}");
        }
    }
}
