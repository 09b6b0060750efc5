//! `POST /tenants`: a new domain and its first account in one call.
//!
//! The store has no single transaction for both, so the domain is added first and removed
//! again (with `force`, taking whatever was added meanwhile) if the account cannot be; the
//! inputs are checked before anything is written, so that undo is the rare path. Both writes
//! are durable when the call returns: the account can log in at once.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use yubin_store::{MailStore, ServiceLimits};

use super::accounts::{self, Account, NewAccount};
use super::created;
use super::domains::{self, Domain, NewDomain};
use super::errors::ApiError;
use super::extract::{Body, object, optional_object};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTenant {
    domain: String,
    #[serde(default)]
    quota: u64,
    #[serde(default)]
    max_accounts: u64,
    #[serde(default, deserialize_with = "optional_object")]
    limits: Option<ServiceLimits>,
    #[serde(deserialize_with = "object")]
    account: FirstAccount,
}

/// `address` is a full address in the new domain, or only its local part.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FirstAccount {
    address: String,
    password: String,
    #[serde(default)]
    quota: u64,
}

#[derive(Debug, Serialize)]
struct Tenant {
    domain: Domain,
    account: Account,
}

pub fn routes() -> Router<MailStore> {
    Router::new().route("/tenants", axum::routing::post(create))
}

async fn create(
    State(store): State<MailStore>,
    Body(new): Body<NewTenant>,
) -> Result<Response, ApiError> {
    let domain_name = new.domain.trim_end_matches('.').to_lowercase();
    let address = match new.account.address.rsplit_once('@') {
        None => format!("{}@{domain_name}", new.account.address),
        Some((_, d)) if d.trim_end_matches('.').eq_ignore_ascii_case(&domain_name) => {
            new.account.address.clone()
        }
        Some(_) => {
            return Err(ApiError::invalid(format!(
                "the first account {} is not in the domain {}",
                new.account.address, new.domain
            )));
        }
    };
    if new.account.password.is_empty() {
        return Err(ApiError::invalid("the password must not be empty"));
    }
    let domain = domains::add(
        &store,
        NewDomain {
            name: new.domain,
            quota: new.quota,
            max_accounts: new.max_accounts,
            limits: new.limits,
        },
    )
    .await?;
    let first = NewAccount {
        address,
        password: new.account.password,
        quota: new.account.quota,
    };
    let account = match accounts::add(&store, &first).await {
        Ok(a) => a,
        Err(e) => {
            if let Err(undo) = store.remove_domain(domain.name(), true).await {
                tracing::error!(domain = domain.name(), error = %undo,
                    "could not remove the domain of a failed tenant provisioning");
            }
            return Err(e);
        }
    };
    let domain: Domain = store.domain(domain.name())?.into();
    Ok(created(
        format!("/api/v1/domains/{}", domain.name()),
        Tenant { domain, account },
    ))
}
