//! Certificates in a cluster: the Secret create race, the leader's rotation schedule and caBundle
//! injection (with an injectable clock, against a fake API server), rotation under live TLS
//! traffic, and the SIGTERM drain.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use common::fake_api::FakeApi;
use common::{TestServer, get_plain, post_json};
use hyper::StatusCode;
use mcp_operator::api::crd;
use mcp_operator::certs::generate::{CA_LIFETIME, SERVING_LIFETIME, inspect};
use mcp_operator::certs::maintain::{CertKeeper, Maintenance};
use mcp_operator::certs::rotation::certificates_in;
use mcp_operator::certs::secret::SecretStore;
use mcp_operator::certs::{SwappableResolver, issue_serving};
use mcp_operator::deploy::webhooks::{self, ClientTarget};
use mcp_operator::metrics::Metrics;
use rustls::pki_types::pem::PemObject;

const SECRET: &str = "/api/v1/namespaces/mcp-operator/secrets/mcp-operator-webhook-tls";
const SECRETS: &str = "/api/v1/namespaces/mcp-operator/secrets";

fn hosts() -> Vec<String> {
    vec!["mcp-operator-webhook.mcp-operator.svc".into()]
}

#[tokio::test]
async fn two_replicas_racing_to_create_the_secret_end_up_with_one_ca() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let api = FakeApi::new();
    let first = SecretStore::new(api.client(), "mcp-operator", "mcp-operator-webhook-tls");
    let second = SecretStore::new(api.client(), "mcp-operator", "mcp-operator-webhook-tls");
    let now = SystemTime::now();
    let winner = first.read_or_create(&hosts(), now).await.expect("first");
    // The second replica looked before the first one's create landed, then loses the create race.
    api.hide_next_get(SECRET);
    let loser = second.read_or_create(&hosts(), now).await.expect("second");
    assert_eq!(loser.material, winner.material, "both replicas serve the winner's CA and certificate");
    let posts: Vec<String> = api.call_lines().into_iter().filter(|l| l.starts_with("POST")).collect();
    assert_eq!(posts, vec![format!("POST {SECRETS}"), format!("POST {SECRETS}")], "both tried to create");
    let info = inspect(&winner.material.serving.cert_pem).expect("cert");
    assert_eq!(info.sans, hosts());
}

fn install_webhooks(api: &FakeApi) {
    let target = ClientTarget::Service { namespace: "mcp-operator".into() };
    api.put(
        "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/mcp-operator-validating",
        webhooks::validating(&target, None),
    );
    api.put(
        "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/mcp-operator-mutating",
        webhooks::mutating(&target, None),
    );
    for kind in crd::KINDS {
        api.put(
            &format!("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{}", kind.crd_name()),
            crd::crd(kind),
        );
    }
}

/// Every caBundle the API server would use, decoded.
fn published_bundles(api: &FakeApi) -> Vec<String> {
    let decode = |b: &serde_json::Value| {
        String::from_utf8(
            base64::engine::general_purpose::STANDARD.decode(b.as_str().unwrap_or_default()).expect("b64"),
        )
        .expect("pem")
    };
    let mut out = Vec::new();
    for config in [
        "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/mcp-operator-validating",
        "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/mcp-operator-mutating",
    ] {
        for hook in api.get(config).expect("config")["webhooks"].as_array().expect("webhooks") {
            assert!(hook["rules"].is_array(), "injection keeps the rest of the webhook");
            out.push(decode(&hook["clientConfig"]["caBundle"]));
        }
    }
    for kind in crd::KINDS.into_iter().filter(|k| k.conversion_webhook) {
        let crd = api
            .get(&format!("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{}", kind.crd_name()))
            .expect("crd");
        out.push(decode(&crd["spec"]["conversion"]["webhook"]["clientConfig"]["caBundle"]));
        assert_eq!(crd["spec"]["conversion"]["webhook"]["clientConfig"]["service"]["name"], "mcp-operator-webhook");
    }
    out
}

fn keeper(api: &FakeApi, settle: Duration) -> (Arc<CertKeeper>, Arc<SwappableResolver>) {
    let store = SecretStore::new(api.client(), "mcp-operator", "mcp-operator-webhook-tls");
    let now = SystemTime::now();
    let ca = mcp_operator::certs::generate_ca("placeholder", now, CA_LIFETIME).expect("ca");
    let placeholder = issue_serving(&ca, &hosts(), now, SERVING_LIFETIME).expect("cert");
    let resolver = Arc::new(SwappableResolver::new(&placeholder).expect("resolver"));
    let settings = Maintenance { hosts: hosts(), interval: Duration::from_secs(30), settle, manage_ca_bundle: true };
    let keeper =
        CertKeeper::new(store, api.client(), resolver.clone(), Arc::new(Metrics::new()), settings, placeholder);
    (Arc::new(keeper), resolver)
}

#[tokio::test]
async fn the_leader_rotates_on_schedule_and_keeps_every_ca_bundle_in_step() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let api = FakeApi::new();
    install_webhooks(&api);
    let settle = Duration::from_secs(300);
    let (keeper, _) = keeper(&api, settle);
    let start = SystemTime::now();

    let report = keeper.tick(true, start).await.expect("first pass");
    assert!(report.reloaded, "serves the Secret's certificate");
    assert_eq!(report.injected.len(), 4, "both webhook configurations and two CRDs: {:?}", report.injected);
    let secret = |api: &FakeApi| api.get(SECRET).expect("secret");
    let trust = |api: &FakeApi| {
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(secret(api)["data"]["ca.crt"].as_str().expect("ca"))
                .expect("b64"),
        )
        .expect("pem")
    };
    assert!(published_bundles(&api).iter().all(|b| *b == trust(&api)));

    let quiet = keeper.tick(true, start + Duration::from_secs(60)).await.expect("second pass");
    assert_eq!(quiet, Default::default(), "nothing to do: no writes");

    // A follower never writes.
    api.clear_calls();
    keeper.tick(false, start + SERVING_LIFETIME).await.expect("follower");
    assert!(api.call_lines().iter().all(|l| l.starts_with("GET")), "{:?}", api.call_lines());

    // Serving certificate renewal at two thirds of its lifetime.
    let renewal = start + SERVING_LIFETIME * 2 / 3 + Duration::from_secs(3600);
    let report = keeper.tick(true, renewal).await.expect("renewal");
    assert_eq!(report.step.as_deref(), Some("RenewServing"));
    assert!(report.reloaded);
    assert!(report.injected.is_empty(), "the CA did not change, so no bundle changes");

    // CA rotation: three settled steps, with the old CA trusted until the switch is complete.
    let mut now = start + CA_LIFETIME * 2 / 3 + Duration::from_secs(86_400);
    let old_bundle = trust(&api);
    let report = keeper.tick(true, now).await.expect("introduce");
    assert_eq!(report.step.as_deref(), Some("IntroduceCa"));
    assert!(!report.reloaded, "still serving the old CA's certificate");
    assert_eq!(certificates_in(&trust(&api)), 2);
    assert!(published_bundles(&api).iter().all(|b| certificates_in(b) == 2 && b.contains(old_bundle.trim())));
    assert_eq!(keeper.tick(true, now + settle / 2).await.expect("wait").step, None, "waits for the bundles to settle");
    now += settle;
    let report = keeper.tick(true, now).await.expect("switch");
    assert_eq!(report.step.as_deref(), Some("SwitchToNextCa"));
    assert!(report.reloaded);
    assert_eq!(certificates_in(&trust(&api)), 2, "old CA still trusted while replicas reload");
    now += settle;
    let report = keeper.tick(true, now).await.expect("drop");
    assert_eq!(report.step.as_deref(), Some("DropOldCa"));
    let final_bundle = trust(&api);
    assert_eq!(certificates_in(&final_bundle), 1);
    assert!(!final_bundle.contains(old_bundle.trim()));
    assert!(published_bundles(&api).iter().all(|b| *b == final_bundle));
}

#[tokio::test]
async fn rotating_the_serving_certificate_under_load_fails_no_request() {
    let server = TestServer::start().await;
    let body = std::fs::read("webhooks/admission/mcpserverentries/create-valid.request.json").expect("fixture");
    let failures = Arc::new(AtomicUsize::new(0));
    let successes = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for worker in 0..8 {
        // Half keep one connection alive, half open a new client (new handshakes) every request.
        let (ca, url, body) = (server.ca.clone(), server.url("/validate/mcpserverentries"), body.clone());
        let (failures, successes, stop) = (failures.clone(), successes.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            let shared = common::https_client(&ca, worker % 3 == 0);
            while !stop.load(Ordering::Relaxed) {
                let fresh;
                let client = if worker % 2 == 0 {
                    &shared
                } else {
                    fresh = common::https_client(&ca, false);
                    &fresh
                };
                let (status, response) = post_json(client, &url, &body).await;
                if status == StatusCode::OK && response["response"]["allowed"] == true {
                    successes.fetch_add(1, Ordering::Relaxed);
                } else {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    let mut last = None;
    for _ in 0..20 {
        let next =
            issue_serving(&server.ca, &["localhost".into(), "127.0.0.1".into()], SystemTime::now(), SERVING_LIFETIME)
                .expect("cert");
        server.resolver.swap(&next).expect("swap");
        last = Some(next);
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let served = presented_certificate(&server).await;
    let expected =
        rustls::pki_types::CertificateDer::from_pem_slice(last.expect("swapped").cert_pem.as_bytes()).expect("pem");
    assert_eq!(served, expected.to_vec(), "a new handshake gets the latest certificate");
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.expect("worker");
    }
    assert_eq!(failures.load(Ordering::Relaxed), 0);
    assert!(successes.load(Ordering::Relaxed) > 20, "the load actually ran");
}

/// The leaf certificate a fresh TLS handshake with the server presents.
async fn presented_certificate(server: &TestServer) -> Vec<u8> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from_pem_slice(server.ca.cert_pem.as_bytes()).expect("pem"))
        .expect("root");
    let config = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(server.server.webhook_addr).await.expect("connect");
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let tls = connector.connect(name, tcp).await.expect("handshake");
    tls.get_ref().1.peer_certificates().expect("certs")[0].to_vec()
}

#[tokio::test]
async fn draining_marks_not_ready_keeps_serving_then_closes() {
    let server = TestServer::start().await;
    let client = server.client(false);
    let body = std::fs::read("webhooks/admission/mcpgroups/create-valid.request.json").expect("fixture");
    let url = server.url("/validate/mcpgroups");
    server.server.readiness.start_draining();
    assert_eq!(get_plain(&server.admin_url("/readyz")).await.0, StatusCode::SERVICE_UNAVAILABLE);
    let (status, _) = post_json(&client, &url, &body).await;
    assert_eq!(status, StatusCode::OK, "requests are still served while draining");
    let webhook_addr = server.server.webhook_addr;
    server.server.stop().await;
    assert!(tokio::net::TcpStream::connect(webhook_addr).await.is_err(), "the listener is closed after the drain");
}
