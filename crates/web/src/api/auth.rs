//! Bearer-token authentication (RFC 6750 §2.1: `Authorization: Bearer <token>`).
//!
//! The token's SHA-256 is looked up in the store (see `yubin_store`'s token module), so a token
//! made or revoked with `yubin admin token` takes effect on the next request, on every node.
//! Every refusal is 401 with `WWW-Authenticate: Bearer`; the message says what was wrong with
//! the header but never echoes the token.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use yubin_store::{MailStore, api_token_hash};

use super::errors::ApiError;

/// Lets the request through when it carries a stored token; logs changes with the token's name.
pub async fn require_token(State(store): State<MailStore>, req: Request, next: Next) -> Response {
    let token = match bearer(&req) {
        Ok(token) => token,
        Err(e) => return e.into_response(),
    };
    let name = match store.api_token_by_hash(&api_token_hash(token)) {
        Ok(Some(found)) => found.name,
        Ok(None) => {
            return ApiError::unauthorized("unknown or revoked API token").into_response();
        }
        Err(e) => return ApiError::from(e).into_response(),
    };
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let response = next.run(req).await;
    if method != axum::http::Method::GET {
        tracing::info!(token = %name, %method, %path, status = response.status().as_u16(), "admin API");
    }
    response
}

fn bearer(req: &Request) -> Result<&str, ApiError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("missing Authorization: Bearer header"))?;
    let value = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("the Authorization header is not ASCII"))?;
    let (scheme, token) = value.split_once(' ').ok_or_else(|| {
        ApiError::unauthorized("the Authorization header is not 'Bearer <token>'")
    })?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::unauthorized(
            "the Authorization scheme must be Bearer",
        ));
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(ApiError::unauthorized("the bearer token is empty"));
    }
    Ok(token)
}
