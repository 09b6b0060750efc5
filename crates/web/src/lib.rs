//! Yubin's HTTP side: `/health` (the process is alive), `/ready` (it can do its job: the
//! store answers and the data directory takes writes), `/metrics` (Prometheus text format) and
//! the admin REST API under `/api/v1` ([`api`]).
//!
//! Implementation notes:
//! - axum over HTTP/1.1. The plain listener (`[http] listen`, loopback by default) serves the
//!   probes and scrapes that come from the machine or its orchestrator; under `/api` it only
//!   answers 403 `https_required`, so a bearer token is never sent in the clear to a listener
//!   that would honour it. The TLS listener (`[http] listen_tls`, the server's certificate)
//!   serves the probes and the API ([`tls`]).
//! - /ready answers 503 with a JSON body that says which check failed, so an operator reads the
//!   reason in the load balancer's log; [`probe`] explains the disk check.

pub mod api;
pub mod probe;
pub mod tls;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use serde::{Deserialize, Serialize};
use yubin_server::net::Shutdown;
use yubin_store::MailStore;

use probe::DiskProbe;

/// `[http]` settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Addresses for /health, /ready and /metrics (plain HTTP).
    pub listen: Vec<String>,
    /// Addresses for the admin API (and the same probes) over HTTPS, with the `[tls]`
    /// certificate.
    pub listen_tls: Vec<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: vec!["127.0.0.1:8080".into()],
            listen_tls: vec!["127.0.0.1:8443".into()],
        }
    }
}

/// Renders the process's metrics (the recorder lives in the binary).
pub type MetricsFn = Arc<dyn Fn(&MailStore) -> Option<String> + Send + Sync>;

/// What the handlers share.
#[derive(Clone)]
pub struct Web {
    store: MailStore,
    disk: Arc<DiskProbe>,
    metrics: MetricsFn,
}

impl Web {
    /// The HTTP side over `store`; starts the disk prober for `store`'s data directory.
    pub fn new(store: MailStore, data_dir: std::path::PathBuf, metrics: MetricsFn) -> Self {
        let disk = DiskProbe::new(data_dir);
        disk.spawn();
        Self {
            store,
            disk,
            metrics,
        }
    }

    fn probes(self) -> Router {
        Router::new()
            .route("/health", get(health))
            .route("/ready", get(ready))
            .route("/metrics", get(metrics))
            .with_state(self)
    }

    /// The plain-HTTP routes: the probes, and 403 for the API.
    pub fn router(self) -> Router {
        self.probes()
            .route("/api", any(api::https_required))
            .route("/api/{*rest}", any(api::https_required))
    }

    /// The HTTPS routes: the probes and the admin API.
    pub fn tls_router(self) -> Router {
        let store = self.store.clone();
        self.probes().merge(api::router(store))
    }

    /// Serves [`Web::router`] on `listener` until shutdown starts.
    pub fn serve(self, listener: tokio::net::TcpListener, mut shutdown: Shutdown) {
        let app = self
            .router()
            .into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move { shutdown.wait().await })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "HTTP listener failed");
            }
        });
    }

    /// Serves [`Web::tls_router`] over TLS on `listener` until shutdown starts.
    pub fn serve_tls(
        self,
        listener: tokio::net::TcpListener,
        acceptor: tokio_rustls::TlsAcceptor,
        mut shutdown: Shutdown,
    ) -> std::io::Result<()> {
        let listener = tls::TlsListener::new(listener, acceptor)?;
        let app = self.tls_router();
        tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move { shutdown.wait().await })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "HTTPS listener failed");
            }
        });
        Ok(())
    }
}

async fn health() -> &'static str {
    "ok\n"
}

async fn ready(State(web): State<Web>) -> Response {
    let mut failed = Vec::new();
    if let Err(e) = probe::store_answers(&web.store).await {
        failed.push(serde_json::json!({"check": "store", "error": e}));
    }
    if let Err(e) = web.disk.status() {
        failed.push(serde_json::json!({"check": "data_dir", "error": e}));
    }
    if failed.is_empty() {
        (
            StatusCode::OK,
            axum::Json(serde_json::json!({"ready": true})),
        )
            .into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"ready": false, "failed": failed})),
        )
            .into_response()
    }
}

async fn metrics(State(web): State<Web>) -> Response {
    match (web.metrics)(&web.store) {
        Some(text) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "metrics are not enabled\n").into_response(),
    }
}
