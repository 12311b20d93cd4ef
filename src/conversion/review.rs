//! The `apiextensions.k8s.io/v1` ConversionReview, as a pure function from request body to answer.
//!
//! A well-formed review whose objects all convert is answered from its text ([`raw`](super::raw)):
//! only what conversion changes is parsed. Everything else is answered here: the body is parsed
//! loosely (as a `serde_json::Value`, whose parser stops at a nesting depth of 128) so that a review
//! with a malformed object still gets a proper `Failure` answer carrying its uid. Objects are
//! converted in place and moved into the response, so a batch costs one parse, one pass and one
//! serialization.

use serde_json::{Map, Value, json};

use super::{ConversionError, Kind, ServedVersion, convert_in_place, describe};

pub(super) const REVIEW_API_VERSION: &str = "apiextensions.k8s.io/v1";
pub(super) const REVIEW_KIND: &str = "ConversionReview";

/// What to answer a ConversionReview request with.
#[derive(Debug, Clone, PartialEq)]
pub enum ReviewOutcome {
    /// HTTP 200 with a response review whose result is `Success` or `Failure`.
    Response(ReviewResponse),
    /// HTTP 400: the body is not a ConversionReview and carries no readable uid to answer to.
    BadRequest(String),
}

impl ReviewOutcome {
    pub fn status_code(&self) -> u16 {
        match self {
            ReviewOutcome::Response(_) => 200,
            ReviewOutcome::BadRequest(_) => 400,
        }
    }
}

/// A response review and what it did, for metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewResponse {
    /// The `ConversionReview` to send back, serialized.
    body: Vec<u8>,
    /// Why the review failed (`response.result.message`), when it did.
    pub failure: Option<String>,
    /// One entry per object converted, in request order, up to and including the one that failed.
    pub objects: Vec<ObjectTally>,
}

impl ReviewResponse {
    /// Whether `response.result.status` is `Success`.
    pub fn success(&self) -> bool {
        self.failure.is_none()
    }

    /// The response body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The response body, taken out of the response.
    pub fn into_body(self) -> Vec<u8> {
        self.body
    }

    /// The response review as JSON, for tests and tools (the server sends [`body`](Self::body)).
    pub fn review(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the body is serialized JSON")
    }
}

/// How one object of a review fared, labelled by kind and direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectTally {
    /// `None` when the object does not name one of our kinds.
    pub kind: Option<Kind>,
    /// `None` when the object's `apiVersion` is not one we serve.
    pub from: Option<ServedVersion>,
    pub to: ServedVersion,
    pub ok: bool,
}

/// Answers a ConversionReview request body.
pub fn handle_review(body: &[u8]) -> ReviewOutcome {
    match super::raw::answer(body) {
        Some((body, objects)) => ReviewOutcome::Response(ReviewResponse { body, failure: None, objects }),
        None => handle_review_as_value(body),
    }
}

/// Answers any ConversionReview request body, reading it as a `Value`.
pub(super) fn handle_review_as_value(body: &[u8]) -> ReviewOutcome {
    let mut review: Value = match serde_json::from_slice(body) {
        Ok(review) => review,
        Err(e) => return ReviewOutcome::BadRequest(format!("the body is not a JSON {REVIEW_KIND}: {e}")),
    };
    let Some(uid) = review.pointer("/request/uid").and_then(Value::as_str).filter(|uid| !uid.is_empty()) else {
        return ReviewOutcome::BadRequest(why_unanswerable(&review));
    };
    let uid = Value::String(uid.to_owned());
    let mut tallies = Vec::new();
    // Built by hand rather than with `json!`, which would deep-copy every converted object.
    let mut response = Map::from_iter([("uid".to_owned(), uid)]);
    let failure = match convert_request(&mut review, &mut tallies) {
        Ok(converted) => {
            response.insert("convertedObjects".to_owned(), Value::Array(converted));
            response.insert("result".to_owned(), json!({"status": "Success"}));
            None
        }
        Err(message) => {
            response.insert("result".to_owned(), json!({"status": "Failure", "message": message.as_str()}));
            Some(message)
        }
    };
    let review = Map::from_iter([
        ("apiVersion".to_owned(), Value::from(REVIEW_API_VERSION)),
        ("kind".to_owned(), Value::from(REVIEW_KIND)),
        ("response".to_owned(), Value::Object(response)),
    ]);
    let body = serde_json::to_vec(&review).expect("a JSON value with string keys always serializes");
    ReviewOutcome::Response(ReviewResponse { body, failure, objects: tallies })
}

/// Explains why a review without a readable uid cannot be answered.
fn why_unanswerable(review: &Value) -> String {
    if !review.is_object() {
        return format!("the body is not a {REVIEW_KIND}: expected a JSON object");
    }
    if let Err(problem) = check_type(review) {
        return problem;
    }
    match review.get("request") {
        None | Some(Value::Null) => format!("the {REVIEW_KIND} has no request"),
        Some(Value::Object(_)) => format!("the {REVIEW_KIND} request has no uid (a non-empty string)"),
        Some(_) => format!("the {REVIEW_KIND} request is not an object"),
    }
}

fn check_type(review: &Value) -> Result<(), String> {
    let api_version = review.get("apiVersion").and_then(Value::as_str);
    let kind = review.get("kind").and_then(Value::as_str);
    if api_version == Some(REVIEW_API_VERSION) && kind == Some(REVIEW_KIND) {
        return Ok(());
    }
    Err(format!(
        "expected apiVersion {REVIEW_API_VERSION:?} and kind {REVIEW_KIND:?}, got {} and {}",
        describe(review.get("apiVersion")),
        describe(review.get("kind")),
    ))
}

/// Converts the request's objects in place and takes them out of `review`, recording each in
/// `tallies`. Stops at the first object that cannot be converted.
fn convert_request(review: &mut Value, tallies: &mut Vec<ObjectTally>) -> Result<Vec<Value>, String> {
    check_type(review)?;
    let Some(request) = review.get_mut("request").and_then(Value::as_object_mut) else {
        return Err(format!("the {REVIEW_KIND} request is not an object"));
    };
    let desired = match request.get("desiredAPIVersion") {
        Some(Value::String(desired)) => desired,
        other => return Err(format!("request.desiredAPIVersion must be a string, got {}", describe(other))),
    };
    let to = ServedVersion::from_api_version(desired).map_err(|e| format!("request.desiredAPIVersion: {e}"))?;
    let mut objects = match request.get_mut("objects").map(Value::take) {
        Some(Value::Array(objects)) => objects,
        other => return Err(format!("request.objects must be a list, got {}", describe(other.as_ref()))),
    };
    tallies.reserve(objects.len());
    for (index, object) in objects.iter_mut().enumerate() {
        let kind = Kind::of(object);
        let from =
            object.get("apiVersion").and_then(Value::as_str).and_then(|v| ServedVersion::from_api_version(v).ok());
        let result = convert_in_place(object, to);
        tallies.push(ObjectTally { kind, from, to, ok: result.is_ok() });
        if let Err(reason) = result {
            return Err(failure_message(object, index, to, &reason));
        }
    }
    Ok(objects)
}

fn failure_message(object: &Value, index: usize, to: ServedVersion, reason: &ConversionError) -> String {
    let kind = object.get("kind").and_then(Value::as_str).filter(|k| !k.is_empty()).unwrap_or("object");
    let metadata = object.get("metadata");
    let name = metadata.and_then(|m| m.get("name")).and_then(Value::as_str).unwrap_or("<unnamed>");
    let object = match metadata.and_then(|m| m.get("namespace")).and_then(Value::as_str) {
        Some(namespace) => format!("{kind} {namespace}/{name}"),
        None => format!("{kind} {name}"),
    };
    format!("cannot convert {object} (request.objects[{index}]) to {}: {reason}", to.api_version())
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;
    use serde_json::{Value, json};

    use super::*;
    use crate::conversion::ANNOTATION;

    const V1ALPHA1: &str = "toolhive.stacklok.dev/v1alpha1";
    const V1BETA1: &str = "toolhive.stacklok.dev/v1beta1";

    fn object(kind: &str, api_version: &str, name: &str, spec: Value) -> Value {
        json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": "team"}, "spec": spec})
    }

    fn review(desired: &str, objects: Vec<Value>) -> Vec<u8> {
        let review = json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "ConversionReview",
            "request": {"uid": "705ab4f5-6393-11e8-b7cc-42010a800002", "desiredAPIVersion": desired, "objects": objects},
        });
        serde_json::to_vec(&review).unwrap()
    }

    fn response(body: &[u8]) -> ReviewResponse {
        match handle_review(body) {
            ReviewOutcome::Response(response) => response,
            ReviewOutcome::BadRequest(why) => panic!("bad request: {why}"),
        }
    }

    fn bad_request(body: &[u8]) -> String {
        match handle_review(body) {
            ReviewOutcome::BadRequest(why) => why,
            ReviewOutcome::Response(response) => panic!("answered {}", response.review()),
        }
    }

    #[test]
    fn a_mixed_batch_is_converted_in_order_with_the_uid_echoed() {
        let objects = vec![
            object("MCPGroup", V1ALPHA1, "g", json!({"description": "d"})),
            object("MCPServerEntry", V1ALPHA1, "e", json!({"remoteURL": "https://a", "groupRef": "g"})),
            object(
                "VirtualMCPServer",
                V1BETA1,
                "v",
                json!({"groupRef": {"name": "g"}, "incomingAuth": {"type": "anonymous"}}),
            ),
            object("MCPRegistry", V1ALPHA1, "r", json!({})),
            object("VirtualMCPServer", V1ALPHA1, "w", json!({"config": {"groupRef": "g"}})),
        ];
        let response = response(&review(V1BETA1, objects.clone()));
        assert!(response.success());
        let answer = &response.review();
        assert_eq!(answer["apiVersion"], "apiextensions.k8s.io/v1");
        assert_eq!(answer["kind"], "ConversionReview");
        assert_eq!(answer["response"]["uid"], "705ab4f5-6393-11e8-b7cc-42010a800002");
        assert_eq!(answer["response"]["result"], json!({"status": "Success"}));
        let converted = answer["response"]["convertedObjects"].as_array().expect("convertedObjects");
        let names: Vec<_> = converted.iter().map(|o| o["metadata"]["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["g", "e", "v", "r", "w"]);
        assert!(converted.iter().all(|o| o["apiVersion"] == V1BETA1));
        for (converted, original) in converted.iter().zip(&objects) {
            assert_eq!(converted, &crate::conversion::convert(original, V1BETA1).unwrap());
        }
        let tallies: Vec<_> = response.objects.iter().map(|t| (t.kind, t.from, t.to, t.ok)).collect();
        let (alpha, beta) = (Some(ServedVersion::V1alpha1), Some(ServedVersion::V1beta1));
        let to = ServedVersion::V1beta1;
        assert_eq!(
            tallies,
            [
                (Some(Kind::MCPGroup), alpha, to, true),
                (Some(Kind::MCPServerEntry), alpha, to, true),
                (Some(Kind::VirtualMCPServer), beta, to, true),
                (Some(Kind::MCPRegistry), alpha, to, true),
                (Some(Kind::VirtualMCPServer), alpha, to, true),
            ]
        );
    }

    #[test]
    fn every_object_gets_the_desired_api_version() {
        for desired in [V1ALPHA1, V1BETA1] {
            let objects = ["MCPGroup", "MCPServerEntry", "VirtualMCPServer", "MCPRegistry"]
                .iter()
                .flat_map(|kind| [V1ALPHA1, V1BETA1].map(|v| object(kind, v, "x", json!({}))))
                .collect();
            let response = response(&review(desired, objects));
            let converted = response.review()["response"]["convertedObjects"].as_array().unwrap().clone();
            assert_eq!(converted.len(), 8);
            assert!(converted.iter().all(|o| o["apiVersion"] == desired), "{desired}");
        }
    }

    #[test]
    fn an_empty_batch_succeeds() {
        let response = response(&review(V1BETA1, vec![]));
        assert_eq!(response.review()["response"]["convertedObjects"], json!([]));
        assert!(response.success() && response.objects.is_empty());
    }

    #[test]
    fn an_unconvertible_object_fails_the_review_naming_it() {
        let mut broken = object("VirtualMCPServer", V1BETA1, "vmcp-2", json!({}));
        broken["metadata"]["annotations"] = json!({ ANNOTATION: "{oops" });
        let objects =
            vec![object("MCPGroup", V1BETA1, "g", json!({})), broken, object("MCPGroup", V1BETA1, "h", json!({}))];
        let response = response(&review(V1ALPHA1, objects));
        assert!(!response.success());
        let answer = &response.review()["response"];
        assert_eq!(answer["uid"], "705ab4f5-6393-11e8-b7cc-42010a800002");
        assert_eq!(answer.get("convertedObjects"), None);
        assert_eq!(answer["result"]["status"], "Failure");
        let message = answer["result"]["message"].as_str().unwrap();
        assert!(message.starts_with("cannot convert VirtualMCPServer team/vmcp-2 (request.objects[1]) to toolhive.stacklok.dev/v1alpha1: annotation conversion.toolhive.stacklok.dev/v1alpha1 is not a conversion record:"), "{message}");
        let oks: Vec<_> = response.objects.iter().map(|t| t.ok).collect();
        assert_eq!(oks, [true, false]);
    }

    #[test]
    fn failures_name_the_object_and_the_reason() {
        let cases = [
            (
                object("Pod", V1ALPHA1, "p", json!({})),
                "cannot convert Pod team/p (request.objects[0]) to toolhive.stacklok.dev/v1beta1: unknown kind: \"Pod\"; expected MCPGroup, MCPServerEntry, VirtualMCPServer or MCPRegistry",
            ),
            (
                object("MCPGroup", "toolhive.stacklok.dev/v2", "g", json!({})),
                "cannot convert MCPGroup team/g (request.objects[0]) to toolhive.stacklok.dev/v1beta1: unsupported apiVersion: \"toolhive.stacklok.dev/v2\"; expected toolhive.stacklok.dev/v1alpha1 or toolhive.stacklok.dev/v1beta1",
            ),
            (
                json!({"kind": "", "apiVersion": V1ALPHA1, "metadata": {"name": "c"}}),
                "cannot convert object c (request.objects[0]) to toolhive.stacklok.dev/v1beta1: unknown kind: \"\"; expected MCPGroup, MCPServerEntry, VirtualMCPServer or MCPRegistry",
            ),
            (
                json!("text"),
                "cannot convert object <unnamed> (request.objects[0]) to toolhive.stacklok.dev/v1beta1: the object is not a JSON object",
            ),
        ];
        for (object, expected) in cases {
            let response = response(&review(V1BETA1, vec![object]));
            assert_eq!(response.review()["response"]["result"], json!({"status": "Failure", "message": expected}));
            assert_eq!(response.objects.len(), 1);
            assert!(!response.objects[0].ok);
        }
    }

    #[test]
    fn a_review_with_a_readable_uid_gets_a_failure_answer() {
        let uid = "u-1";
        let cases = [
            (
                json!({"apiVersion": "apiextensions.k8s.io/v1beta1", "kind": "ConversionReview", "request": {"uid": uid}}),
                "expected apiVersion \"apiextensions.k8s.io/v1\" and kind \"ConversionReview\", got \"apiextensions.k8s.io/v1beta1\" and \"ConversionReview\"",
            ),
            (
                json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview", "request": {"uid": uid, "objects": []}}),
                "request.desiredAPIVersion must be a string, got none",
            ),
            (
                json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview", "request": {"uid": uid, "desiredAPIVersion": "v1", "objects": []}}),
                "request.desiredAPIVersion: unsupported apiVersion: \"v1\"; expected toolhive.stacklok.dev/v1alpha1 or toolhive.stacklok.dev/v1beta1",
            ),
            (
                json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview", "request": {"uid": uid, "desiredAPIVersion": V1BETA1}}),
                "request.objects must be a list, got none",
            ),
            (
                json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview", "request": {"uid": uid, "desiredAPIVersion": V1BETA1, "objects": {}}}),
                "request.objects must be a list, got an object",
            ),
        ];
        for (body, message) in cases {
            let response = response(&serde_json::to_vec(&body).unwrap());
            assert_eq!(
                response.review(),
                json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview", "response": {"uid": uid, "result": {"status": "Failure", "message": message}}}),
            );
            assert!(!response.success() && response.objects.is_empty());
        }
    }

    #[test]
    fn a_body_that_is_not_an_answerable_review_is_a_bad_request() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let deep_object = format!(
            r#"{{"apiVersion":"apiextensions.k8s.io/v1","kind":"ConversionReview","request":{{"uid":"u","desiredAPIVersion":"{V1BETA1}","objects":[{}1{}]}}}}"#,
            "{\"a\":".repeat(200),
            "}".repeat(200)
        );
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"".to_vec(), "the body is not a JSON ConversionReview: EOF while parsing a value at line 1 column 0"),
            (b"{\"apiVersion\":".to_vec(), "the body is not a JSON ConversionReview: EOF while parsing a value at line 1 column 14"),
            (b"\xff\xfe".to_vec(), "the body is not a JSON ConversionReview: expected value at line 1 column 1"),
            (b"[]".to_vec(), "the body is not a ConversionReview: expected a JSON object"),
            (b"{\"kind\":\"AdmissionReview\",\"request\":{}}".to_vec(), "expected apiVersion \"apiextensions.k8s.io/v1\" and kind \"ConversionReview\", got none and \"AdmissionReview\""),
            (b"{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"ConversionReview\"}".to_vec(), "the ConversionReview has no request"),
            (b"{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"ConversionReview\",\"request\":[]}".to_vec(), "the ConversionReview request is not an object"),
            (b"{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"ConversionReview\",\"request\":{\"objects\":[]}}".to_vec(), "the ConversionReview request has no uid (a non-empty string)"),
            (b"{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"ConversionReview\",\"request\":{\"uid\":7}}".to_vec(), "the ConversionReview request has no uid (a non-empty string)"),
            (b"{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"ConversionReview\",\"request\":{\"uid\":\"\"}}".to_vec(), "the ConversionReview request has no uid (a non-empty string)"),
            (deep.into_bytes(), "the body is not a JSON ConversionReview: recursion limit exceeded at line 1 column 128"),
            (deep_object.into_bytes(), "the body is not a JSON ConversionReview: recursion limit exceeded"),
        ];
        for (body, expected) in cases {
            let why = bad_request(&body);
            assert!(why.starts_with(expected), "{why:?} should start with {expected:?}");
            assert_eq!(handle_review(&body).status_code(), 400);
        }
    }

    #[test]
    fn the_body_is_the_serialized_review() {
        let response = response(&review(V1BETA1, vec![object("MCPGroup", V1ALPHA1, "g", json!({}))]));
        let body: Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(body, response.review());
        assert_eq!(ReviewOutcome::Response(response).status_code(), 200);
    }
}
