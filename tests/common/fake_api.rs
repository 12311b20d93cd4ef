//! A small in-memory Kubernetes API server for tests: objects by path, the verbs kube-rs clients
//! use (GET, POST, PUT, PATCH with JSON Patch / merge / apply, DELETE), and a log of every call so
//! tests can assert the exact sequence of API requests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode};
use kube::client::Body;
use serde_json::{Value, json};

/// One request the client made.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: String,
    /// Path without the query string.
    pub path: String,
    pub query: String,
    pub content_type: String,
    pub body: Value,
}

#[derive(Default)]
struct State {
    objects: BTreeMap<String, Value>,
    calls: Vec<Call>,
    next_version: u64,
    /// Paths whose next GET answers 404 although the object exists (to stage races).
    hidden_once: Vec<String>,
}

/// The fake server; clone freely, all clones share the store.
#[derive(Clone, Default)]
pub struct FakeApi {
    state: Arc<Mutex<State>>,
}

impl FakeApi {
    pub fn new() -> Self {
        FakeApi::default()
    }

    /// A kube client talking to this fake.
    pub fn client(&self) -> kube::Client {
        let api = self.clone();
        let service = tower::service_fn(move |request: Request<Body>| {
            let api = api.clone();
            async move { Ok::<_, Infallible>(api.handle(request).await) }
        });
        kube::Client::new(service, "default")
    }

    /// Stores `object` at `path` (an object URL such as `/api/v1/namespaces/ns/secrets/name`).
    pub fn put(&self, path: &str, mut object: Value) {
        let mut state = self.state.lock().expect("lock");
        state.next_version += 1;
        object["metadata"]["resourceVersion"] = json!(state.next_version.to_string());
        state.objects.insert(path.to_string(), object);
    }

    /// The next GET of `path` answers 404, as if another writer had not created it yet.
    pub fn hide_next_get(&self, path: &str) {
        self.state.lock().expect("lock").hidden_once.push(path.to_string());
    }

    pub fn get(&self, path: &str) -> Option<Value> {
        self.state.lock().expect("lock").objects.get(path).cloned()
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().expect("lock").calls.clone()
    }

    /// `METHOD path` of every call, for sequence assertions.
    pub fn call_lines(&self) -> Vec<String> {
        self.calls().iter().map(|c| format!("{} {}", c.method, c.path)).collect()
    }

    pub fn clear_calls(&self) {
        self.state.lock().expect("lock").calls.clear();
    }

    async fn handle(&self, request: Request<Body>) -> Response<Full<Bytes>> {
        let method = request.method().to_string();
        let path = request.uri().path().to_string();
        let query = request.uri().query().unwrap_or_default().to_string();
        let content_type =
            request.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        let bytes = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let mut state = self.state.lock().expect("lock");
        state.calls.push(Call {
            method: method.clone(),
            path: path.clone(),
            query,
            content_type: content_type.clone(),
            body: body.clone(),
        });
        let hidden = method == "GET"
            && state.hidden_once.iter().position(|p| *p == path).map(|i| state.hidden_once.remove(i)).is_some();
        let (status, out) = match method.as_str() {
            "GET" if hidden => not_found(&path),
            "GET" => match state.objects.get(&path) {
                Some(object) => (StatusCode::OK, object.clone()),
                None => not_found(&path),
            },
            "POST" => {
                let name = body["metadata"]["name"].as_str().unwrap_or_default();
                let target = format!("{path}/{name}");
                if state.objects.contains_key(&target) {
                    (StatusCode::CONFLICT, status_body(409, "AlreadyExists", &format!("{name} already exists")))
                } else {
                    store(&mut state, target, body)
                }
            }
            "PUT" => {
                let current = state.objects.get(&path).map(|o| o["metadata"]["resourceVersion"].clone());
                match current {
                    None => not_found(&path),
                    Some(rv) if body["metadata"]["resourceVersion"] != rv => {
                        (StatusCode::CONFLICT, status_body(409, "Conflict", "the object has been modified"))
                    }
                    Some(_) => store(&mut state, path, body),
                }
            }
            "PATCH" => patch(&mut state, path, &content_type, body),
            "DELETE" => match state.objects.remove(&path) {
                Some(object) => (StatusCode::OK, object),
                None => not_found(&path),
            },
            _ => (StatusCode::METHOD_NOT_ALLOWED, status_body(405, "MethodNotAllowed", "unsupported")),
        };
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(serde_json::to_vec(&out).unwrap_or_default())))
            .expect("response")
    }
}

fn store(state: &mut State, path: String, mut object: Value) -> (StatusCode, Value) {
    state.next_version += 1;
    object["metadata"]["resourceVersion"] = json!(state.next_version.to_string());
    state.objects.insert(path, object.clone());
    (StatusCode::OK, object)
}

fn patch(state: &mut State, path: String, content_type: &str, body: Value) -> (StatusCode, Value) {
    let apply = content_type.starts_with("application/apply-patch");
    let mut object = match state.objects.get(&path) {
        Some(o) => o.clone(),
        None if apply => json!({}),
        None => return not_found(&path),
    };
    if content_type.starts_with("application/json-patch") {
        let Ok(ops) = serde_json::from_value::<json_patch::Patch>(body) else {
            return (StatusCode::BAD_REQUEST, status_body(400, "BadRequest", "bad JSON patch"));
        };
        if json_patch::patch(&mut object, &ops).is_err() {
            return (StatusCode::UNPROCESSABLE_ENTITY, status_body(422, "Invalid", "patch does not apply"));
        }
    } else if apply {
        apply_merge(&mut object, &body);
    } else {
        json_patch::merge(&mut object, &body);
    }
    store(state, path, object)
}

/// Server-side apply, approximately: objects merge field by field, lists of named objects merge
/// by `name` (list-map semantics), everything else is replaced.
fn apply_merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                apply_merge(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (Value::Array(t), Value::Array(p)) if p.iter().all(|i| i.get("name").is_some()) && !t.is_empty() => {
            for item in p {
                match t.iter_mut().find(|e| e.get("name") == item.get("name")) {
                    Some(existing) => apply_merge(existing, item),
                    None => t.push(item.clone()),
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

fn not_found(path: &str) -> (StatusCode, Value) {
    (StatusCode::NOT_FOUND, status_body(404, "NotFound", &format!("{path} not found")))
}

fn status_body(code: u16, reason: &str, message: &str) -> Value {
    json!({ "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code })
}
