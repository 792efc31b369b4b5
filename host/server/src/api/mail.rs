//! `/api/teams/{slug}/mail/failed`: messages the team's e-mail channel
//! failed on until the host gave up, kept whole, to look at and run again.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use switchboard_store::{Job, JobState};
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Admin, Path};
use crate::json::Json;
use crate::mail::MAIL_IN_QUEUE;
use crate::mail::payload;
use crate::state::AppState;

/// The most failed messages one listing shows.
const MAX_LISTED: usize = 500;

/// A message the host gave up on.
#[derive(Debug, Serialize, ToSchema)]
pub struct FailedMail {
    /// Its receipt: the id the SMTP answer named.
    pub receipt: u64,
    /// When it was accepted, RFC 3339.
    pub received_at: String,
    /// The envelope sender; empty for `<>`.
    pub mail_from: String,
    /// Its recipients at the team.
    pub rcpt_to: Vec<String>,
    /// The sending client's address.
    pub client: String,
    /// Its size in bytes.
    pub size: usize,
    /// How many times the channel was given it.
    pub attempts: u32,
    /// Why the last attempt failed.
    pub reason: String,
}

/// Where a message run again stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct Rerun {
    /// Its receipt.
    pub receipt: u64,
    /// `pending`: the host hands it to the channel again shortly.
    pub state: String,
}

fn failed_mail(job: &Job) -> Option<FailedMail> {
    let JobState::Failed(reason) = &job.state else {
        return None;
    };
    let (header, raw) = payload::decode(&job.payload).ok()?;
    Some(FailedMail {
        receipt: job.id,
        received_at: job.created_at.to_string(),
        mail_from: header.mail_from,
        rcpt_to: header.rcpt_to,
        client: header.client,
        size: raw.len(),
        attempts: job.attempts,
        reason: reason.clone(),
    })
}

/// Lists the messages the team's e-mail channel failed on, oldest key
/// first, at most 500.
#[utoipa::path(get, path = "/teams/{slug}/mail/failed", tag = "teams",
    params(("slug" = String, Path, description = "team slug")),
    responses((status = 200, body = Vec<FailedMail>), (status = 403, description = "the caller is not an admin", body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_failed_mail(
    State(state): State<AppState>,
    _admin: Admin,
    Path(slug): Path<String>,
) -> ApiResult<Json<Vec<FailedMail>>> {
    state.stores.teams.team(&slug).await?;
    let jobs = state.stores.jobs.failed_jobs(MAIL_IN_QUEUE, &format!("{slug}/"), MAX_LISTED).await?;
    Ok(Json(jobs.iter().filter_map(failed_mail).collect()))
}

/// Hands a failed message to the team's e-mail channel again.
#[utoipa::path(post, path = "/teams/{slug}/mail/failed/{receipt}/retry", tag = "teams",
    params(("slug" = String, Path, description = "team slug"), ("receipt" = u64, Path, description = "the message's receipt")),
    responses((status = 202, body = Rerun), (status = 403, description = "the caller is not an admin", body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "the message has not failed", body = ErrorBody)))]
pub async fn retry_failed_mail(
    State(state): State<AppState>,
    _admin: Admin,
    Path((slug, receipt)): Path<(String, u64)>,
) -> ApiResult<(StatusCode, Json<Rerun>)> {
    state.stores.teams.team(&slug).await?;
    let missing = || ApiError::not_found(format!("team \"{slug}\" has no kept message with receipt {receipt}"));
    let job = match state.stores.jobs.job(receipt).await {
        Ok(job) => job,
        Err(switchboard_store::StoreError::UnknownJob(_)) => return Err(missing()),
        Err(e) => return Err(e.into()),
    };
    if job.queue != MAIL_IN_QUEUE || !job.key.starts_with(&format!("{slug}/")) {
        return Err(missing());
    }
    state.stores.jobs.rerun_job(receipt, state.clock.now()).await?.durable().await?;
    Ok((StatusCode::ACCEPTED, Json(Rerun { receipt, state: "pending".into() })))
}
