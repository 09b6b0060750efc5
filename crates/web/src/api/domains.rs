//! `/domains`: hosted domains (tenants), their quotas and service limits.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use yubin_store::{DomainInfo, MailStore, ServiceLimits};

use super::created;
use super::errors::ApiError;
use super::extract::{Body, Path, Query, optional_object};

/// A domain as the API shows it.
#[derive(Debug, Serialize)]
pub struct Domain {
    name: String,
    /// Bytes for all its accounts together; 0 = unlimited.
    quota: u64,
    /// 0 = unlimited.
    max_accounts: u64,
    created: i64,
    accounts: u64,
    used: u64,
    limits: ServiceLimits,
}

impl Domain {
    /// The normalized name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl From<DomainInfo> for Domain {
    fn from(d: DomainInfo) -> Self {
        Self {
            name: d.name,
            quota: d.record.quota,
            max_accounts: d.record.max_accounts,
            created: d.record.created,
            accounts: d.accounts,
            used: d.used,
            limits: d.record.limits,
        }
    }
}

/// `POST /domains`, and the domain part of `POST /tenants`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewDomain {
    pub name: String,
    #[serde(default)]
    pub quota: u64,
    #[serde(default)]
    pub max_accounts: u64,
    #[serde(default, deserialize_with = "optional_object")]
    pub limits: Option<ServiceLimits>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DomainChange {
    quota: Option<u64>,
    max_accounts: Option<u64>,
}

pub fn routes() -> Router<MailStore> {
    use axum::routing::get;
    Router::new()
        .route("/domains", get(list).post(create))
        .route("/domains/{domain}", get(show).patch(change).delete(remove))
        .route("/domains/{domain}/limits", get(limits).put(set_limits))
}

async fn list(State(store): State<MailStore>) -> Result<Json<Vec<Domain>>, ApiError> {
    let mut out = Vec::new();
    for name in store.list_domains()? {
        match store.domain(&name) {
            Ok(d) => out.push(d.into()),
            // Removed between the listing and this read.
            Err(e) if e.kind() == yubin_store::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Json(out))
}

/// Adds the domain and its limits; removes it again if the limits cannot be stored, so a
/// failed call leaves nothing behind.
pub async fn add(store: &MailStore, new: NewDomain) -> Result<Domain, ApiError> {
    let name = store
        .add_domain(&new.name, new.quota, new.max_accounts)
        .await?;
    if let Some(limits) = new.limits
        && let Err(e) = store.set_tenant_limits(&name, limits).await
    {
        let _ = store.remove_domain(&name, true).await;
        return Err(e.into());
    }
    Ok(store.domain(&name)?.into())
}

async fn create(
    State(store): State<MailStore>,
    Body(new): Body<NewDomain>,
) -> Result<Response, ApiError> {
    let domain = add(&store, new).await?;
    Ok(created(format!("/api/v1/domains/{}", domain.name), domain))
}

async fn show(
    State(store): State<MailStore>,
    Path(name): Path<String>,
) -> Result<Json<Domain>, ApiError> {
    Ok(Json(store.domain(&name)?.into()))
}

async fn change(
    State(store): State<MailStore>,
    Path(name): Path<String>,
    Body(change): Body<DomainChange>,
) -> Result<Json<Domain>, ApiError> {
    let now = store.domain(&name)?;
    store
        .set_domain_limits(
            &now.name,
            change.quota.unwrap_or(now.record.quota),
            change.max_accounts.unwrap_or(now.record.max_accounts),
        )
        .await?;
    Ok(Json(store.domain(&now.name)?.into()))
}

async fn remove(
    State(store): State<MailStore>,
    Path(name): Path<String>,
    query: Query,
) -> Result<Response, ApiError> {
    let force = query.flag("force")?;
    store.remove_domain(&name, force).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn limits(
    State(store): State<MailStore>,
    Path(name): Path<String>,
) -> Result<Json<ServiceLimits>, ApiError> {
    Ok(Json(store.domain(&name)?.record.limits))
}

async fn set_limits(
    State(store): State<MailStore>,
    Path(name): Path<String>,
    Body(limits): Body<ServiceLimits>,
) -> Result<Json<ServiceLimits>, ApiError> {
    store.set_tenant_limits(&name, limits).await?;
    Ok(Json(store.domain(&name)?.record.limits))
}
