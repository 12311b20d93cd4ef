//! Routes of the webhook listener: `/validate/{plural}`, `/mutate/{plural}` and `/convert`.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::Histogram;
use serde_json::json;
use tower_http::timeout::TimeoutLayer;

use super::Limits;
use crate::admission::engine::Mode;
use crate::admission::review::{self, Reviewed};
use crate::admission::{AdmissionKind, ClusterView, Findings, RemoteUrlPolicy};
use crate::conversion::{self, ObjectTally, ReviewOutcome, ServedVersion};
use crate::metrics::{AdmissionLabels, ConversionLabels, EndpointLabels, FindingLabels, Metrics};

/// Bodies above this size are evaluated on the blocking pool, off the async workers.
const INLINE_BODY_LIMIT: usize = 256 * 1024;

/// What the handlers share. Cloned per webhook worker; the clones count into the same metrics.
#[derive(Clone)]
pub struct WebhookState {
    policy: RemoteUrlPolicy,
    cluster: Arc<dyn ClusterView>,
    metrics: Arc<Metrics>,
    series: AnsweredSeries,
}

impl WebhookState {
    pub fn new(policy: RemoteUrlPolicy, cluster: Arc<dyn ClusterView>, metrics: Arc<Metrics>) -> Self {
        let series = AnsweredSeries::new(&metrics);
        WebhookState { policy, cluster, metrics, series }
    }
}

const MODES: [Mode; 2] = [Mode::Validate, Mode::Mutate];

fn endpoint_label(mode: Mode) -> &'static str {
    match mode {
        Mode::Validate => "validate",
        Mode::Mutate => "mutate",
    }
}

/// How a well-formed review was answered, as the `outcome` label says it.
#[derive(Clone, Copy)]
enum Answer {
    Allowed,
    Denied,
    Patched,
}

impl Answer {
    const ALL: [Answer; 3] = [Answer::Allowed, Answer::Denied, Answer::Patched];

    fn of(reviewed: &Reviewed) -> Answer {
        match (reviewed.summary.allowed, reviewed.summary.patched) {
            (false, _) => Answer::Denied,
            (true, true) => Answer::Patched,
            (true, false) => Answer::Allowed,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Answer::Allowed => "allowed",
            Answer::Denied => "denied",
            Answer::Patched => "patched",
        }
    }
}

/// The series a well-formed review is counted in, looked up once at start: the per-request lookup
/// in a metric family hashes the labels and takes a lock. Indexed in the order of `MODES`,
/// `AdmissionKind::ALL` and `Answer::ALL`, which is the order the enums declare.
#[derive(Clone)]
struct AnsweredSeries {
    /// By mode, kind and answer, all with code 200.
    answered: [[[Counter; Answer::ALL.len()]; AdmissionKind::ALL.len()]; MODES.len()],
    /// By mode.
    durations: [Histogram; MODES.len()],
}

impl AnsweredSeries {
    fn new(metrics: &Metrics) -> Self {
        let answered = MODES.map(|mode| {
            AdmissionKind::ALL.map(|kind| {
                Answer::ALL.map(|answer| {
                    let labels = AdmissionLabels {
                        endpoint: endpoint_label(mode),
                        kind: kind.kind(),
                        outcome: answer.label(),
                        code: 200,
                    };
                    metrics.admission_requests.get_or_create(&labels).clone()
                })
            })
        });
        let durations = MODES.map(|mode| {
            metrics.admission_duration.get_or_create(&EndpointLabels { endpoint: endpoint_label(mode) }).clone()
        });
        AnsweredSeries { answered, durations }
    }

    fn answered(&self, mode: Mode, kind: AdmissionKind, answer: Answer) -> &Counter {
        &self.answered[mode as usize][kind as usize][answer as usize]
    }

    fn duration(&self, mode: Mode) -> &Histogram {
        &self.durations[mode as usize]
    }
}

/// A fixed allowed AdmissionReview: what `/ceiling` answers without looking at the request.
pub const CEILING_RESPONSE: &str = r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"allowed":true,"uid":"00000000-0000-0000-0000-000000000000"}}"#;

/// The webhook routes; `ceiling` adds `POST /ceiling` for the load test (`serve --bench-ceiling`).
pub fn router(state: WebhookState, limits: Limits, ceiling: bool) -> Router {
    // A route per kind, so the handler knows its kind without extracting and matching the path;
    // `{plural}` catches the rest.
    let mut routes = Router::new();
    for kind in AdmissionKind::ALL {
        let validate =
            move |state: Shared, json: DeclaresJson, body: Bytes| admission(state, Mode::Validate, kind, json, body);
        let mutate =
            move |state: Shared, json: DeclaresJson, body: Bytes| admission(state, Mode::Mutate, kind, json, body);
        routes = routes
            .route(&format!("/validate/{}", kind.plural()), post(validate))
            .route(&format!("/mutate/{}", kind.plural()), post(mutate));
    }
    let routes = routes
        .route("/validate/{plural}", post(unknown_plural))
        .route("/mutate/{plural}", post(unknown_plural))
        .route("/convert", post(convert));
    let routes = if ceiling { routes.route("/ceiling", post(fixed_response)) } else { routes };
    routes
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, limits.request_timeout))
        // One reference count per request instead of one per shared part.
        .with_state(Arc::new(state))
}

/// The benchmark ceiling: reads the body through the same extractor and limits as the real
/// handlers, and answers without parsing it.
async fn fixed_response(_body: Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], CEILING_RESPONSE).into_response()
}

fn json_error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "error": message.into() }))).into_response()
}

async fn not_found() -> Response {
    json_error(StatusCode::NOT_FOUND, "no such endpoint; use /validate/{plural}, /mutate/{plural} or /convert")
}

/// Whether the request declares a JSON body (`application/json`, parameters allowed).
pub fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

/// Whether the request declares a JSON body; read in place, where the `HeaderMap` extractor would
/// copy every header.
pub struct DeclaresJson(pub bool);

impl<S: Send + Sync> FromRequestParts<S> for DeclaresJson {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(DeclaresJson(is_json(&parts.headers)))
    }
}

async fn unknown_plural(Path(plural): Path<String>) -> Response {
    json_error(StatusCode::NOT_FOUND, format!("no webhook for resource {plural:?}"))
}

/// The state as the handlers extract it.
type Shared = State<Arc<WebhookState>>;

async fn admission(State(state): Shared, mode: Mode, kind: AdmissionKind, json: DeclaresJson, body: Bytes) -> Response {
    let started = Instant::now();
    let endpoint = endpoint_label(mode);
    if !json.0 {
        return json_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Content-Type must be application/json");
    }
    let result = if body.len() > INLINE_BODY_LIMIT {
        let state = state.clone();
        let joined = tokio::task::spawn_blocking(move || {
            review::handle(&body, kind, mode, &state.policy, state.cluster.as_ref())
        })
        .await;
        match joined {
            Ok(result) => result,
            Err(_) => return json_error(StatusCode::INTERNAL_SERVER_ERROR, "review evaluation failed"),
        }
    } else {
        review::handle(&body, kind, mode, &state.policy, state.cluster.as_ref())
    };
    let (status, body) = match result {
        Ok(reviewed) => {
            record(&state.metrics, endpoint, kind.kind(), &reviewed);
            state.series.answered(mode, kind, Answer::of(&reviewed)).inc();
            (StatusCode::OK, review::encode(&reviewed))
        }
        Err(bad) => {
            tracing::info!(endpoint, kind = kind.kind(), problem = %bad, "rejected a malformed admission review");
            let status = StatusCode::BAD_REQUEST;
            let labels = AdmissionLabels { endpoint, kind: kind.kind(), outcome: "bad_request", code: status.as_u16() };
            state.metrics.admission_requests.get_or_create(&labels).inc();
            (status, bad.encode())
        }
    };
    state.series.duration(mode).observe(started.elapsed().as_secs_f64());
    json_response(status, body)
}

async fn convert(State(state): Shared, json: DeclaresJson, body: Bytes) -> Response {
    if !json.0 {
        return json_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Content-Type must be application/json");
    }
    let started = Instant::now();
    // A list at another version can bring hundreds of objects: big batches go to the blocking pool.
    let outcome = if body.len() > INLINE_BODY_LIMIT {
        match tokio::task::spawn_blocking(move || conversion::handle_review(&body)).await {
            Ok(outcome) => outcome,
            Err(_) => return json_error(StatusCode::INTERNAL_SERVER_ERROR, "conversion failed"),
        }
    } else {
        conversion::handle_review(&body)
    };
    state.metrics.conversion_duration.observe(started.elapsed().as_secs_f64());
    match outcome {
        ReviewOutcome::Response(response) => {
            record_conversion(&state.metrics, &response.objects);
            if let Some(message) = &response.failure {
                tracing::info!(message = %message, "conversion failed");
            }
            (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], response.into_body()).into_response()
        }
        ReviewOutcome::BadRequest(problem) => {
            tracing::info!(problem = %problem, "rejected a malformed conversion review");
            json_error(StatusCode::BAD_REQUEST, problem)
        }
    }
}

fn record_conversion(metrics: &Metrics, objects: &[ObjectTally]) {
    for tally in objects {
        let kind = tally.kind.map_or("unknown", |k| k.as_str());
        let direction = match (tally.from, tally.to) {
            (Some(from), to) if from == to => "unchanged",
            (Some(ServedVersion::V1alpha1), _) => "v1alpha1->v1beta1",
            (Some(ServedVersion::V1beta1), _) => "v1beta1->v1alpha1",
            (None, _) => "unknown",
        };
        let result = if tally.ok { "success" } else { "failure" };
        metrics.conversion_objects.get_or_create(&ConversionLabels { kind, direction, result }).inc();
    }
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The rule ids of findings, formatted only when a log event is actually written (an admitted
/// review is logged at debug level, off by default, on the hot path).
struct RuleIds<'a>(&'a Findings);

impl std::fmt::Debug for RuleIds<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.iter().map(|finding| finding.rule)).finish()
    }
}

/// Logs the decision and counts its findings.
fn record(metrics: &Metrics, endpoint: &'static str, kind: &'static str, reviewed: &Reviewed) {
    let summary = &reviewed.summary;
    for finding in summary.findings.iter() {
        let outcome = if finding.is_denial() { "denied" } else { "warned" };
        metrics.admission_findings.get_or_create(&FindingLabels { rule: finding.rule, outcome }).inc();
    }
    let rules = RuleIds(&summary.findings);
    if summary.allowed {
        tracing::debug!(endpoint, kind, uid = %summary.uid, operation = %summary.operation, namespace = %summary.namespace,
            name = %summary.name, patched = summary.patched, ?rules, "admitted");
    } else {
        tracing::info!(endpoint, kind, uid = %summary.uid, operation = %summary.operation, namespace = %summary.namespace,
            name = %summary.name, ?rules, "denied");
    }
}
