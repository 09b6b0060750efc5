//! The admin REST API under `/api/v1`: JSON over HTTPS with bearer tokens, covering what
//! `yubin admin` does for domains, accounts, aliases, quotas, service limits and the queue.
//! docs/api.md is the guide, `crates/web/openapi.json` the contract (served at
//! `/api/v1/openapi.json`, the one route without a token).
//!
//! Implementation notes:
//! - Handlers call `MailStore` directly, as the CLI does; they share no code with the CLI's
//!   text output. Store errors become HTTP statuses in one place (`errors`), and every
//!   rejection axum itself produces (bad JSON, bad path parameter, unknown route, wrong method,
//!   body over [`MAX_BODY`]) comes out in the same `{"error": {...}}` shape.
//! - A `PATCH` that changes several fields makes one store write per field; a failure part-way
//!   leaves the earlier fields changed, and the error says which one failed.
//! - Only the TLS listener serves these routes; the plain one answers 403 (see `crate::Web`).

mod accounts;
mod aliases;
mod auth;
mod domains;
mod errors;
mod extract;
mod queue;
mod tenants;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use yubin_store::MailStore;

pub use errors::ApiError;

/// The largest request body: far above any real admin request, far below a memory problem.
pub const MAX_BODY: usize = 64 * 1024;

/// The OpenAPI description, as served.
pub const OPENAPI: &str = include_str!("../../openapi.json");

/// The API's routes, mounted at `/api/v1`.
pub fn router(store: MailStore) -> Router {
    let authed = Router::new()
        .merge(domains::routes())
        .merge(tenants::routes())
        .merge(accounts::routes())
        .merge(aliases::routes())
        .merge(queue::routes())
        .route_layer(axum::middleware::from_fn_with_state(
            store.clone(),
            auth::require_token,
        ));
    let api = authed
        .route("/openapi.json", get(openapi))
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY));
    Router::new().nest("/api/v1", api).with_state(store)
}

/// What the plain-HTTP listener answers under `/api`: tokens must not cross the network in
/// the clear, so the API is not served there at all.
pub async fn https_required() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "https_required",
        "the admin API is served over HTTPS only (the [http] listen_tls addresses)",
    )
}

/// 201 with the new resource's `Location` and its JSON.
fn created(location: String, body: impl Serialize) -> Response {
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

async fn unknown_route() -> ApiError {
    ApiError::not_found("no such API endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_openapi_description_is_json_and_names_every_route() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI).expect("openapi.json parses");
        let paths = doc["paths"].as_object().expect("paths");
        for path in [
            "/domains",
            "/domains/{domain}",
            "/domains/{domain}/limits",
            "/tenants",
            "/accounts",
            "/accounts/{address}",
            "/accounts/{address}/limits",
            "/aliases",
            "/aliases/{address}",
            "/queue",
            "/queue/retry",
            "/queue/{id}",
            "/queue/{id}/retry",
            "/openapi.json",
        ] {
            assert!(paths.contains_key(path), "{path} missing from openapi.json");
        }
        assert_eq!(
            paths.len(),
            14,
            "a path in openapi.json the test does not know"
        );
    }
}
