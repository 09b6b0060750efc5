//! `/queue`: the outbound queue: list, show, retry now, remove without delivering.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::Serialize;
use yubin_store::{MailStore, QueuedMessage};

use super::errors::ApiError;
use super::extract::Path;

/// A queued message; times are seconds since the Unix epoch.
#[derive(Debug, Serialize)]
struct Queued {
    id: u64,
    /// Envelope sender; empty for the null sender.
    from: String,
    size: u64,
    /// The submitting account's id, if it came through submission.
    account_id: Option<u64>,
    created: i64,
    next_attempt: i64,
    attempts: u32,
    delay_warned: bool,
    recipients: Vec<Recipient>,
}

#[derive(Debug, Serialize)]
struct Recipient {
    address: String,
    /// `pending`, `delivered` or `failed`.
    status: &'static str,
    attempts: u32,
    last_attempt: Option<i64>,
    last_reply: Option<String>,
}

impl From<QueuedMessage> for Queued {
    fn from(m: QueuedMessage) -> Self {
        Self {
            id: m.id,
            from: m.from,
            size: m.size,
            account_id: m.account,
            created: m.created,
            next_attempt: m.next_attempt,
            attempts: m.attempts,
            delay_warned: m.delay_warned,
            recipients: m
                .recipients
                .into_iter()
                .map(|r| Recipient {
                    address: r.address,
                    status: r.status.as_str(),
                    attempts: r.attempts,
                    last_attempt: r.last_attempt,
                    last_reply: r.last_reply,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize)]
struct RetryAll {
    /// Messages whose next attempt was moved to now.
    moved: usize,
    /// Messages in the queue, all due now.
    queued: usize,
}

pub fn routes() -> Router<MailStore> {
    use axum::routing::{get, post};
    Router::new()
        .route("/queue", get(list))
        .route("/queue/retry", post(retry_all))
        .route("/queue/{id}", get(show).delete(remove))
        .route("/queue/{id}/retry", post(retry))
}

fn not_queued(id: u64) -> ApiError {
    ApiError::not_found(format!("no queued message {id}"))
}

async fn list(State(store): State<MailStore>) -> Result<Json<Vec<Queued>>, ApiError> {
    Ok(Json(
        store.queue_list()?.into_iter().map(Queued::from).collect(),
    ))
}

async fn show(
    State(store): State<MailStore>,
    Path(id): Path<u64>,
) -> Result<Json<Queued>, ApiError> {
    let m = store.queued(id)?.ok_or_else(|| not_queued(id))?;
    Ok(Json(m.into()))
}

async fn retry(
    State(store): State<MailStore>,
    Path(id): Path<u64>,
) -> Result<Json<Queued>, ApiError> {
    store.queue_retry(Some(id)).await?;
    // The runner may have delivered it in between.
    let m = store.queued(id)?.ok_or_else(|| not_queued(id))?;
    Ok(Json(m.into()))
}

async fn retry_all(State(store): State<MailStore>) -> Result<Json<RetryAll>, ApiError> {
    let moved = store.queue_retry(None).await?;
    let queued = store.queue_list()?.len();
    Ok(Json(RetryAll { moved, queued }))
}

async fn remove(State(store): State<MailStore>, Path(id): Path<u64>) -> Result<Response, ApiError> {
    if !store.queue_remove(id).await? {
        return Err(not_queued(id));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
