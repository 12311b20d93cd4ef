//! Helpers shared by the integration tests: an in-process server on ephemeral ports with a fresh
//! CA, and an HTTPS client that trusts that CA.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use mcp_operator::admission::{ClusterView, NoCluster, RemoteUrlPolicy};
use mcp_operator::certs::generate::{CA_LIFETIME, SERVING_LIFETIME};
use mcp_operator::certs::{CertBundle, SwappableResolver, generate_ca, issue_serving};
use mcp_operator::metrics::Metrics;
use mcp_operator::server::{self, Limits, Readiness, RunningServer, ServerOptions, tls};

pub struct TestServer {
    pub server: RunningServer,
    pub ca: CertBundle,
    pub resolver: Arc<SwappableResolver>,
    pub metrics: Arc<Metrics>,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(Arc::new(NoCluster), Limits::default()).await
    }

    pub async fn start_with(cluster: Arc<dyn ClusterView>, limits: Limits) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let now = SystemTime::now();
        let ca = generate_ca("test CA", now, CA_LIFETIME).expect("CA");
        let serving =
            issue_serving(&ca, &["localhost".into(), "127.0.0.1".into()], now, SERVING_LIFETIME).expect("cert");
        let resolver = Arc::new(SwappableResolver::new(&serving).expect("resolver"));
        let metrics = Arc::new(Metrics::new());
        let readiness = Arc::new(Readiness::default());
        readiness.set_cert_loaded();
        let localhost: SocketAddr = "127.0.0.1:0".parse().expect("addr");
        let server = server::start(ServerOptions {
            webhook_addr: localhost,
            admin_addr: localhost,
            tls: tls::server_config(resolver.clone()),
            policy: RemoteUrlPolicy::default(),
            cluster,
            metrics: metrics.clone(),
            readiness,
            limits,
            shutdown: Default::default(),
            bench_ceiling: false,
            workers: 2,
        })
        .await
        .expect("server starts");
        TestServer { server, ca, resolver, metrics }
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.server.webhook_addr.port())
    }

    pub fn admin_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.server.admin_addr.port())
    }

    pub fn client(&self, http2_only: bool) -> HttpsClient {
        https_client(&self.ca, http2_only)
    }
}

pub type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// A client trusting only `ca`; `http2_only` negotiates h2 through ALPN.
pub fn https_client(ca: &CertBundle, http2_only: bool) -> HttpsClient {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(ca.cert_pem.as_bytes()) {
        roots.add(cert.expect("CA pem")).expect("add root");
    }
    let config = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
    let builder = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(config).https_only();
    let connector =
        if http2_only { builder.enable_http2().build() } else { builder.enable_http1().enable_http2().build() };
    Client::builder(TokioExecutor::new()).http2_only(http2_only).build(connector)
}

use rustls::pki_types::pem::PemObject;

/// Sends one request and returns status and body.
pub async fn send(
    client: &HttpsClient,
    method: Method,
    url: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, Vec<u8>) {
    let mut request = Request::builder().method(method).uri(url);
    if let Some(ct) = content_type {
        request = request.header("content-type", ct);
    }
    let response =
        client.request(request.body(Full::new(Bytes::from(body))).expect("request")).await.expect("response");
    let status = response.status();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    (status, bytes.to_vec())
}

pub async fn post_json(client: &HttpsClient, url: &str, body: &[u8]) -> (StatusCode, serde_json::Value) {
    let (status, bytes) = send(client, Method::POST, url, Some("application/json"), body.to_vec()).await;
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, value)
}

/// A plain-HTTP GET (for the admin port).
pub async fn get_plain(url: &str) -> (StatusCode, String) {
    let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let response = client.get(url.parse().expect("uri")).await.expect("response");
    let status = response.status();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}
pub mod fake_api;
