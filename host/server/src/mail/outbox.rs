//! The sender: mail that plugins queued in the outbox, handed to the
//! relay with lettre. Each message is a job, claimed under a lease so that
//! one of several servers sends it; temporary refusals are tried again
//! with backoff, and the thread entry shows how it went.

use std::sync::Arc;
use std::time::Duration;

use jiff::SignedDuration;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use switchboard_core::{Delivery, DeliveryState};
use switchboard_runtime::{MAIL_OUT_QUEUE, OutboxMail};
use switchboard_store::{Job, JobOutcome, Stores};
use tokio::sync::watch;

use super::settings::{RelayConfig, RelayTls, SmtpConfig};
use crate::clock::Clock;
use crate::job_worker::{Queue, backoff, work};

/// How long a sender holds a message: longer than a relay conversation.
const LEASE: SignedDuration = SignedDuration::from_secs(120);

/// How long one relay conversation may take.
const RELAY_TIMEOUT: Duration = Duration::from_secs(60);

/// Why the relay settings cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("cannot use the mail relay {host}: {reason}")]
pub struct RelayError {
    host: String,
    reason: String,
}

/// Builds the transport to the relay once; lettre pools its connections.
pub(crate) fn transport(relay: &RelayConfig) -> Result<AsyncSmtpTransport<Tokio1Executor>, RelayError> {
    let fail = |reason: String| RelayError { host: relay.host.clone(), reason };
    let mut tls = TlsParameters::builder(relay.host.clone());
    if let Some(path) = &relay.root_cert {
        let pem = std::fs::read(path).map_err(|e| fail(format!("cannot read \"{}\": {e}", path.display())))?;
        tls = tls.add_root_certificate(Certificate::from_pem(&pem).map_err(|e| fail(e.to_string()))?);
    }
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(relay.host.clone()).port(relay.port);
    builder = match relay.tls {
        RelayTls::None => builder.tls(Tls::None),
        RelayTls::StartTls => builder.tls(Tls::Required(tls.build_rustls().map_err(|e| fail(e.to_string()))?)),
        RelayTls::Tls => builder.tls(Tls::Wrapper(tls.build_rustls().map_err(|e| fail(e.to_string()))?)),
    };
    if let Some((user, password)) = &relay.credentials {
        builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
    }
    Ok(builder.timeout(Some(RELAY_TIMEOUT)).build())
}

/// How one attempt went.
enum Sent {
    Yes(String),
    Later(String),
    Never(String),
}

/// What the sender needs.
pub(crate) struct Outbox {
    pub(crate) stores: Stores,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) holder: String,
    pub(crate) config: SmtpConfig,
    pub(crate) transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    /// Wakes the sender: mail was queued on this server.
    pub(crate) wake: Arc<tokio::sync::Notify>,
}

impl Outbox {
    async fn send(&self, mail: &OutboxMail) -> Sent {
        let Some(transport) = &self.transport else {
            return Sent::Later("no mail relay is configured (--relay)".into());
        };
        let from = match mail.from.parse() {
            Ok(from) => from,
            Err(e) => return Sent::Never(format!("sender \"{}\": {e}", mail.from)),
        };
        let to: Result<Vec<lettre::Address>, _> = mail.to.iter().map(|a| a.parse()).collect();
        let envelope =
            to.map_err(|e| e.to_string()).and_then(|to| Envelope::new(Some(from), to).map_err(|e| e.to_string()));
        let envelope = match envelope {
            Ok(envelope) => envelope,
            Err(e) => return Sent::Never(format!("the envelope is not valid: {e}")),
        };
        match transport.send_raw(&envelope, &mail.raw).await {
            Ok(answer) => {
                let text = answer.message().next().unwrap_or("");
                Sent::Yes(format!("the relay answered {} {text}", answer.code()))
            }
            Err(e) if e.is_permanent() => Sent::Never(format!("the relay refused it: {e}")),
            Err(e) => Sent::Later(format!("the relay could not take it now: {e}")),
        }
    }

    /// Records on the thread entry how its delivery stands.
    async fn note(&self, mail: &OutboxMail, state: DeliveryState, detail: &str) {
        let delivery = Delivery::new(state, detail, self.clock.now());
        if let Err(e) = self.stores.tickets.set_delivery(mail.ticket, mail.entry, delivery).await {
            tracing::warn!(ticket = mail.ticket, entry = mail.entry, error = %e, "cannot record a mail's delivery");
        }
    }

    async fn handle(&self, job: &Job) -> JobOutcome {
        let mail = match OutboxMail::decode(&job.payload) {
            Ok(mail) => mail,
            Err(why) => return JobOutcome::Failed(format!("the queued mail is unreadable: {why}")),
        };
        match self.send(&mail).await {
            Sent::Yes(detail) => {
                self.note(&mail, DeliveryState::Sent, &detail).await;
                JobOutcome::Done
            }
            Sent::Never(why) => {
                self.note(&mail, DeliveryState::Failed, &why).await;
                JobOutcome::Failed(why)
            }
            Sent::Later(why) if job.attempts >= self.config.max_attempts => {
                let why = format!("{why}; gave up after {} attempts", job.attempts);
                self.note(&mail, DeliveryState::Failed, &why).await;
                JobOutcome::Failed(why)
            }
            Sent::Later(why) => {
                self.note(&mail, DeliveryState::Deferred, &why).await;
                JobOutcome::Retry { at: self.clock.now() + backoff(self.config.retry_base, job.attempts), reason: why }
            }
        }
    }

    /// Sends queued mail until `stop`.
    pub(crate) async fn run_until(self: Arc<Self>, stop: watch::Receiver<bool>) {
        let queue = Queue {
            name: MAIL_OUT_QUEUE,
            holder: self.holder.clone(),
            lease: LEASE,
            poll: self.config.retry_poll,
            batch: 32,
            early: false,
        };
        let (jobs, clock, wake) = (Arc::clone(&self.stores.jobs), Arc::clone(&self.clock), Arc::clone(&self.wake));
        work(queue, jobs, clock, stop, wake, move |job, _claimed_on_disk| {
            let this = Arc::clone(&self);
            async move { this.handle(&job).await }
        })
        .await;
    }
}
