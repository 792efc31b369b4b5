//! Agents' replies handed to the channel that opened the ticket: the
//! reply's job is written with the reply, and a worker on some server asks
//! the channel to deliver it.

use std::sync::Arc;

use jiff::SignedDuration;
use switchboard_core::{Delivery, DeliveryState};
use switchboard_runtime::{REPLY_OUT_QUEUE, ReplyInput, ReplyJob, Runtime};
use switchboard_store::{DeliveryJob, Job, JobOutcome, StoreError, Stores};
use tokio::sync::watch;

use super::settings::SmtpConfig;
use crate::clock::Clock;
use crate::job_worker::{Queue, backoff, work};
use crate::secret_key::SecretKey;
use crate::state::AppState;

/// How long a worker holds a reply while its channel runs.
const LEASE: SignedDuration = SignedDuration::from_secs(60);

/// Whether a reply on ticket `id` is delivered by a channel: the ticket's
/// origin is a plugin enabled for its team that delivers replies.
pub(crate) async fn delivers_replies(state: &AppState, id: u64) -> Result<bool, StoreError> {
    let ticket = state.stores.tickets.ticket(id).await?;
    if !state.runtime.delivers_replies(&ticket.origin) {
        return Ok(false);
    }
    match state.stores.plugins.installation(&ticket.team, &ticket.origin).await {
        Ok(_) => Ok(true),
        Err(StoreError::NotEnabled { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The job that hands reply `m` of ticket `ticket` to the channel that
/// opened it.
pub(crate) fn reply_job(ticket: u64) -> DeliveryJob {
    ReplyJob::delivery(ticket, None)
}

/// What the reply worker needs.
pub(crate) struct Replies {
    pub(crate) stores: Stores,
    pub(crate) runtime: Runtime,
    pub(crate) secret_key: Arc<SecretKey>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) domain: String,
    pub(crate) holder: String,
    pub(crate) config: SmtpConfig,
    /// Wakes this server's reply worker (a reply was written here).
    pub(crate) wake: Arc<tokio::sync::Notify>,
    /// Wakes this server's sender (a reply's mail was queued here).
    pub(crate) outbox: Arc<tokio::sync::Notify>,
}

impl Replies {
    /// Hands one reply to its channel; the error is for the thread.
    async fn deliver(&self, job: &Job) -> Result<(u64, u64), (Option<(u64, u64)>, String)> {
        let payload: ReplyJob =
            serde_json::from_slice(&job.payload).map_err(|e| (None, format!("the job is unreadable: {e}")))?;
        let ids = (payload.ticket, payload.message);
        let fail = |why: String| (Some(ids), why);
        let ticket = self.stores.tickets.ticket(payload.ticket).await.map_err(|e| fail(e.to_string()))?;
        let team = self.stores.teams.team(&ticket.team).await.map_err(|e| fail(e.to_string()))?;
        let channel = payload.via.as_deref().unwrap_or(&ticket.origin);
        let installation = self
            .stores
            .plugins
            .installation(&ticket.team, channel)
            .await
            .map_err(|e| fail(format!("the channel \"{channel}\" that delivers it is not available: {e}")))?;
        let thread = self.stores.tickets.messages(payload.ticket).await.map_err(|e| fail(e.to_string()))?;
        let message = thread
            .into_iter()
            .find(|m| m.id == payload.message)
            .ok_or_else(|| fail(format!("ticket {} has no message {}", payload.ticket, payload.message)))?;
        let contact = match ticket.contact {
            Some(id) => Some(self.stores.contacts.contact(id).await.map_err(|e| fail(e.to_string()))?),
            None => None,
        };
        let secrets = self.secret_key.secrets_of(&installation).map_err(|e| fail(e.to_string()))?;
        let team_address = format!("{}@{}", team.alias, self.domain);
        let input = ReplyInput { ticket, team, contact, message, team_address };
        self.runtime.deliver_reply(&installation, &secrets, input).await.map_err(|e| fail(e.to_string()))?;
        // A chat channel delivers before it returns, durably: by posting in
        // the conversation, or by handing the reply to its provider, which
        // it may have reported already (with the provider's id, kept), or
        // even reported on further. (A mail channel's reply is sent when
        // the outbox hands its mail to the relay.)
        if self.runtime.runs_chat(&installation.plugin) {
            let sent = Delivery::new(DeliveryState::Sent, "handed to the channel", self.clock.now());
            let recorded =
                self.stores.tickets.report_entry_delivery(ids.0, ids.1, sent).await.map_err(|e| fail(e.to_string()))?;
            recorded.durable().await.map_err(|e| fail(e.to_string()))?;
        }
        Ok(ids)
    }

    /// Records on the reply why its delivery is deferred or failed.
    async fn note(&self, ids: (u64, u64), state: DeliveryState, why: &str) {
        let delivery = Delivery::new(state, &format!("the channel could not deliver it: {why}"), self.clock.now());
        if let Err(e) = self.stores.tickets.set_delivery(ids.0, ids.1, delivery).await {
            tracing::warn!(ticket = ids.0, message = ids.1, error = %e, "cannot record a reply's delivery");
        }
    }

    /// Works the reply queue until `stop`.
    pub(crate) async fn run_until(self: Arc<Self>, stop: watch::Receiver<bool>) {
        let queue = Queue {
            name: REPLY_OUT_QUEUE,
            holder: self.holder.clone(),
            lease: LEASE,
            poll: self.config.retry_poll,
            batch: 16,
            early: false,
        };
        let (jobs, clock, wake) = (Arc::clone(&self.stores.jobs), Arc::clone(&self.clock), Arc::clone(&self.wake));
        work(queue, jobs, clock, stop, wake, move |job, _claimed_on_disk| {
            let this = Arc::clone(&self);
            async move {
                match this.deliver(&job).await {
                    Ok(_) => {
                        this.outbox.notify_one();
                        JobOutcome::Done
                    }
                    Err((ids, why)) if job.attempts >= this.config.max_attempts => {
                        if let Some(ids) = ids {
                            this.note(ids, DeliveryState::Failed, &why).await;
                        }
                        JobOutcome::Failed(why)
                    }
                    Err((ids, why)) => {
                        if let Some(ids) = ids {
                            this.note(ids, DeliveryState::Deferred, &why).await;
                        }
                        let at = this.clock.now() + backoff(this.config.retry_base, job.attempts);
                        JobOutcome::Retry { at, reason: why }
                    }
                }
            }
        })
        .await;
    }
}
