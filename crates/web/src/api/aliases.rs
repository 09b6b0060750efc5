//! `/aliases`: aliases and catch-alls (`@domain`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use yubin_store::MailStore;

use super::created;
use super::errors::ApiError;
use super::extract::{Body, Path, Query};

/// An alias: mail to `address` goes to every target.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Alias {
    address: String,
    targets: Vec<String>,
}

pub fn routes() -> Router<MailStore> {
    use axum::routing::get;
    Router::new()
        .route("/aliases", get(list).post(create))
        .route("/aliases/{address}", get(show).delete(remove))
}

fn domain_of(address: &str) -> &str {
    address.rsplit_once('@').map_or(address, |(_, d)| d)
}

async fn list(State(store): State<MailStore>, query: Query) -> Result<Json<Vec<Alias>>, ApiError> {
    let domain = query.get("domain");
    if let Some(d) = domain {
        store.domain(d)?;
    }
    Ok(Json(
        store
            .list_aliases(domain)?
            .into_iter()
            .map(|(address, targets)| Alias { address, targets })
            .collect(),
    ))
}

async fn find(store: &MailStore, address: &str) -> Result<Alias, ApiError> {
    let wanted = address.to_lowercase();
    store
        .list_aliases(Some(domain_of(address)))?
        .into_iter()
        .find(|(a, _)| a.to_lowercase() == wanted)
        .map(|(address, targets)| Alias { address, targets })
        .ok_or_else(|| ApiError::not_found(format!("no such alias: {address}")))
}

async fn create(
    State(store): State<MailStore>,
    Body(new): Body<Alias>,
) -> Result<Response, ApiError> {
    // Well-formed but self-contradictory: 409 like the other conflicts, not the 400 of bad
    // input (the store refuses it as invalid).
    if new
        .targets
        .iter()
        .any(|t| t.trim().eq_ignore_ascii_case(&new.address))
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("alias {} must not point to itself", new.address),
        ));
    }
    let address = store.add_alias(&new.address, &new.targets).await?;
    let alias = find(&store, &address).await?;
    Ok(created(format!("/api/v1/aliases/{address}"), alias))
}

async fn show(
    State(store): State<MailStore>,
    Path(address): Path<String>,
) -> Result<Json<Alias>, ApiError> {
    Ok(Json(find(&store, &address).await?))
}

async fn remove(
    State(store): State<MailStore>,
    Path(address): Path<String>,
) -> Result<Response, ApiError> {
    store.remove_alias(&address).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
