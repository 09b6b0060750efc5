//! `/accounts`: mail accounts, their passwords, quotas, enabled flag and service limits.
//! Password hashes never leave the store.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use yubin_store::{AccountInfo, MailStore, ServiceLimits};

use super::created;
use super::errors::ApiError;
use super::extract::{Body, Path, Query};

/// An account as the API shows it.
#[derive(Debug, Serialize)]
pub struct Account {
    address: String,
    enabled: bool,
    /// Bytes; 0 = unlimited.
    quota: u64,
    used: u64,
    messages: u64,
    created: i64,
    /// Its own overrides.
    limits: ServiceLimits,
    /// Its own over its domain's; what is still null takes the server's `[limits]`.
    effective_limits: ServiceLimits,
}

impl Account {
    /// The account at `address` now.
    pub fn load(store: &MailStore, address: &str) -> Result<Self, ApiError> {
        let info = store.account(address)?;
        let effective = store.account_limits(&info.address)?;
        Ok(Self::from_info(info, effective))
    }

    fn from_info(a: AccountInfo, effective_limits: ServiceLimits) -> Self {
        Self {
            address: a.address,
            enabled: a.record.enabled,
            quota: a.record.quota,
            used: a.used,
            messages: a.messages,
            created: a.record.created,
            limits: a.record.limits,
            effective_limits,
        }
    }
}

/// `POST /accounts`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    pub address: String,
    pub password: String,
    #[serde(default)]
    pub quota: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountChange {
    password: Option<String>,
    quota: Option<u64>,
    enabled: Option<bool>,
}

pub fn routes() -> Router<MailStore> {
    use axum::routing::get;
    Router::new()
        .route("/accounts", get(list).post(create))
        .route(
            "/accounts/{address}",
            get(show).patch(change).delete(remove),
        )
        .route("/accounts/{address}/limits", get(limits).put(set_limits))
}

async fn list(
    State(store): State<MailStore>,
    query: Query,
) -> Result<Json<Vec<Account>>, ApiError> {
    let domain = query.get("domain");
    if let Some(d) = domain {
        // An unknown domain is a 404, not an empty list: the caller most likely mistyped it.
        store.domain(d)?;
    }
    let mut out = Vec::new();
    for address in store.list_accounts(domain)? {
        match Account::load(&store, &address) {
            Ok(a) => out.push(a),
            Err(e) if e.status() == StatusCode::NOT_FOUND => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Json(out))
}

/// Adds the account; the caller checked nothing.
pub async fn add(store: &MailStore, new: &NewAccount) -> Result<Account, ApiError> {
    let address = store
        .add_account(&new.address, &new.password, new.quota)
        .await?;
    Account::load(store, &address)
}

async fn create(
    State(store): State<MailStore>,
    Body(new): Body<NewAccount>,
) -> Result<Response, ApiError> {
    let account = add(&store, &new).await?;
    Ok(created(
        format!("/api/v1/accounts/{}", account.address),
        account,
    ))
}

async fn show(
    State(store): State<MailStore>,
    Path(address): Path<String>,
) -> Result<Json<Account>, ApiError> {
    Ok(Json(Account::load(&store, &address)?))
}

async fn change(
    State(store): State<MailStore>,
    Path(address): Path<String>,
    Body(change): Body<AccountChange>,
) -> Result<Json<Account>, ApiError> {
    let address = store.account(&address)?.address;
    if change.password.as_deref() == Some("") {
        return Err(ApiError::invalid("the password must not be empty"));
    }
    if let Some(password) = &change.password {
        store.set_password(&address, password).await?;
    }
    if let Some(quota) = change.quota {
        store.set_quota(&address, quota).await?;
    }
    if let Some(enabled) = change.enabled {
        store.set_enabled(&address, enabled).await?;
    }
    Ok(Json(Account::load(&store, &address)?))
}

async fn remove(
    State(store): State<MailStore>,
    Path(address): Path<String>,
) -> Result<Response, ApiError> {
    store.remove_account(&address).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn limits(
    State(store): State<MailStore>,
    Path(address): Path<String>,
) -> Result<Json<ServiceLimits>, ApiError> {
    Ok(Json(store.account(&address)?.record.limits))
}

async fn set_limits(
    State(store): State<MailStore>,
    Path(address): Path<String>,
    Body(limits): Body<ServiceLimits>,
) -> Result<Json<ServiceLimits>, ApiError> {
    store.set_account_limits(&address, limits).await?;
    Ok(Json(store.account(&address)?.record.limits))
}
