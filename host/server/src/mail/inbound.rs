//! Inbound mail: recipients resolved to teams, each accepted message kept
//! as a job before its plugin runs, and messages whose plugin failed tried
//! again by the host until they pass or are given up on.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use jiff::SignedDuration;
use sha2::{Digest, Sha256};
use switchboard_core::Installation;
use switchboard_runtime::{InboundMail, MailOutcome, Runtime};
use switchboard_store::{Job, JobDraft, JobOutcome, Lease, Stores};
use tokio::sync::watch;

use super::payload;
use super::settings::SmtpConfig;
use crate::clock::Clock;
use crate::secret_key::SecretKey;

/// The queue of accepted messages.
pub const MAIL_IN_QUEUE: &str = "mail-in";

/// How long the session that accepted a message holds it while its plugin
/// runs: a plugin call's longest time, and room to record the outcome.
const HOLD: SignedDuration = SignedDuration::from_secs(60);

/// A recipient that reaches a team.
#[derive(Debug, Clone)]
pub struct Recipient {
    /// The address, lowercase, as the client gave it.
    pub address: String,
    /// The team's slug.
    pub team: String,
}

/// Why a recipient is refused: the SMTP answer.
#[derive(Debug)]
pub struct Refusal {
    /// The reply code.
    pub code: u16,
    /// The enhanced status code.
    pub status: &'static str,
    /// The text.
    pub text: String,
}

/// A complete message's envelope.
pub struct Envelope {
    /// The reverse path; empty for `<>`.
    pub mail_from: String,
    /// The accepted recipients.
    pub recipients: Vec<Recipient>,
    /// The client's address.
    pub client: IpAddr,
    /// Its EHLO or HELO name.
    pub helo: String,
}

/// What became of a complete message.
pub enum Delivered {
    /// Kept and handled; the receipt of each team's copy.
    Accepted(Vec<u64>),
    /// Not handled now (the reason is safe to show the client); where it
    /// was kept, the host tries again itself.
    Deferred(String),
}

/// Everything inbound mail needs from the server.
pub struct Inbound {
    pub(crate) stores: Stores,
    pub(crate) runtime: Runtime,
    pub(crate) secret_key: Arc<SecretKey>,
    pub(crate) clock: Arc<dyn Clock>,
    /// The alias domain, lowercase.
    pub(crate) domain: String,
    /// This server's name as a lease holder.
    pub(crate) holder: String,
    pub(crate) config: SmtpConfig,
}

impl super::session::Mailroom for Inbound {
    fn recipient(&self, address: &str) -> impl Future<Output = Result<Recipient, Refusal>> + Send {
        Inbound::recipient(self, address)
    }

    fn deliver(&self, envelope: Envelope, raw: Vec<u8>) -> impl Future<Output = Delivered> + Send {
        Inbound::deliver(self, envelope, raw)
    }
}

impl Inbound {
    /// Resolves `RCPT TO`: an alias of the mail domain, with an optional
    /// `+anything` after the local part, of a team with a mail channel.
    pub async fn recipient(&self, address: &str) -> Result<Recipient, Refusal> {
        let refuse = |code, status, text: String| Err(Refusal { code, status, text });
        let address = address.trim().to_lowercase();
        let Some((local, domain)) = address.rsplit_once('@') else {
            return refuse(501, "5.1.3", format!("\"{address}\" is not an address"));
        };
        if domain.trim_end_matches('.') != self.domain {
            return refuse(
                550,
                "5.7.1",
                format!("relaying denied: this server receives mail for @{} only", self.domain),
            );
        }
        let alias = local.split('+').next().unwrap_or(local);
        let team = match self.stores.teams.team_by_alias(alias).await {
            Ok(Some(team)) => team,
            Ok(None) => return refuse(550, "5.1.1", format!("<{address}>: no such mailbox here")),
            Err(e) => {
                tracing::error!(error = %e, "cannot look up a recipient");
                return refuse(451, "4.3.0", "cannot look up recipients now; try again later".into());
            }
        };
        match self.mail_installation(&team.slug).await {
            Ok(Some(_)) => Ok(Recipient { address, team: team.slug }),
            Ok(None) => refuse(550, "5.1.1", format!("<{address}>: this team receives no e-mail")),
            Err(e) => {
                tracing::error!(error = %e, "cannot look up a team's mail channel");
                refuse(451, "4.3.0", "cannot look up recipients now; try again later".into())
            }
        }
    }

    /// The team's enabled channel that receives e-mail, if any.
    async fn mail_installation(&self, slug: &str) -> Result<Option<Installation>, switchboard_store::StoreError> {
        let installations = self.stores.plugins.installations(slug).await?;
        Ok(installations.into_iter().find(|i| self.runtime.handles_mail(&i.plugin)))
    }

    /// Keeps a complete message, one copy per team it reaches, and hands
    /// each to the team's channel. It is accepted only when every copy is
    /// on disk and handled; a copy that is kept but failed is tried again
    /// by the host, and a client's retry of the same message finds it kept.
    pub async fn deliver(&self, envelope: Envelope, raw: Vec<u8>) -> Delivered {
        let mut teams: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in &envelope.recipients {
            teams.entry(r.team.clone()).or_default().push(r.address.clone());
        }
        let raw = Arc::new(raw);
        let digest = {
            let raw = Arc::clone(&raw);
            match tokio::task::spawn_blocking(move || hex::encode(Sha256::digest(&*raw))).await {
                Ok(digest) => digest,
                Err(_) => return Delivered::Deferred("the message could not be kept".into()),
            }
        };
        let mut receipts = Vec::new();
        for (team, rcpt_to) in teams {
            let header = payload::Header {
                team: team.clone(),
                mail_from: envelope.mail_from.clone(),
                rcpt_to,
                client: envelope.client.to_string(),
                helo: envelope.helo.clone(),
            };
            match self.accept(&team, &digest, header, &raw).await {
                Ok(receipt) => receipts.push(receipt),
                Err(why) => return Delivered::Deferred(why),
            }
        }
        Delivered::Accepted(receipts)
    }

    /// Keeps one team's copy, held by this server, then runs its plugin.
    async fn accept(&self, team: &str, digest: &str, header: payload::Header, raw: &[u8]) -> Result<u64, String> {
        let now = self.clock.now();
        let draft = JobDraft {
            queue: MAIL_IN_QUEUE.into(),
            // The same bytes to the same team are the same message: a
            // client that retries after a lost answer finds it kept.
            key: format!("{team}/{digest}"),
            payload: payload::encode(&header, raw),
            due_at: now,
            held_by: Some(Lease { holder: self.holder.clone(), until: now + HOLD }),
        };
        let kept = match self.stores.jobs.enqueue_job(draft, now).await {
            Ok(pending) => pending.durable().await,
            Err(e) => Err(e),
        };
        let got = match kept {
            Ok(got) => got,
            Err(e) => {
                tracing::error!(error = %e, team, "cannot keep an inbound message");
                return Err("the message could not be kept".into());
            }
        };
        if !got.created {
            return Ok(got.record.id);
        }
        let job = got.record;
        match self.run(&job).await {
            Ok(outcome) => {
                tracing::info!(team, receipt = job.id, outcome = ?outcome, "mail handled");
                self.finish(&job, JobOutcome::Done).await;
                Ok(job.id)
            }
            Err(why) => {
                tracing::warn!(team, receipt = job.id, reason = %why, "mail kept for another try");
                let at = self.clock.now() + self.backoff(job.attempts);
                self.finish(&job, JobOutcome::Retry { at, reason: why }).await;
                Err(format!("team \"{team}\" cannot take the message now; it is kept as receipt {}", job.id))
            }
        }
    }

    /// Hands a kept message to its team's channel. The error is for
    /// admins: it names the plugin's failure.
    async fn run(&self, job: &Job) -> Result<MailOutcome, String> {
        let (header, raw) = payload::decode(&job.payload).map_err(|e| format!("the kept copy is unreadable: {e}"))?;
        let installation = match self.mail_installation(&header.team).await {
            Ok(Some(i)) => i,
            Ok(None) => return Err(format!("team \"{}\" has no e-mail channel enabled", header.team)),
            Err(e) => return Err(format!("cannot look up the team's mail channel: {e}")),
        };
        let secrets = self.secret_key.secrets_of(&installation).map_err(|e| e.to_string())?;
        let mail = InboundMail {
            envelope: switchboard_runtime::Envelope {
                mail_from: header.mail_from,
                rcpt_to: header.rcpt_to,
                client_addr: header.client,
                helo: header.helo,
            },
            raw: raw.to_vec(),
            received_at: job.created_at,
            receipt: job.id,
        };
        self.runtime.handle_mail(&installation, &secrets, mail).await.map_err(|e| e.to_string())
    }

    /// Records a job's end; a lost lease means another server has it.
    async fn finish(&self, job: &Job, outcome: JobOutcome) {
        let finished = self.stores.jobs.finish_job(job.id, &self.holder, outcome, self.clock.now()).await;
        if let Err(e) = finished {
            tracing::warn!(receipt = job.id, error = %e, "cannot record how a mail went");
        }
    }

    fn backoff(&self, attempts: u32) -> SignedDuration {
        crate::job_worker::backoff(self.config.retry_base, attempts)
    }

    /// Tries kept messages whose plugin failed again, when they are due,
    /// until `stop`. A message that fails `max_attempts` times is given up
    /// on and listed for admins.
    pub async fn retry_until(self: Arc<Self>, stop: watch::Receiver<bool>) {
        let queue = crate::job_worker::Queue {
            name: MAIL_IN_QUEUE,
            holder: self.holder.clone(),
            lease: HOLD,
            poll: self.config.retry_poll,
            batch: 16,
            early: false,
        };
        let (jobs, clock) = (Arc::clone(&self.stores.jobs), Arc::clone(&self.clock));
        // Kept mail is retried on its schedule; nothing wakes this queue.
        let wake = Arc::new(tokio::sync::Notify::new());
        crate::job_worker::work(queue, jobs, clock, stop, wake, move |job, _claimed_on_disk| {
            let this = Arc::clone(&self);
            async move {
                match this.run(&job).await {
                    Ok(_) => JobOutcome::Done,
                    Err(why) if job.attempts >= this.config.max_attempts => {
                        tracing::error!(receipt = job.id, reason = %why, "giving up on a mail");
                        JobOutcome::Failed(why)
                    }
                    Err(why) => JobOutcome::Retry { at: this.clock.now() + this.backoff(job.attempts), reason: why },
                }
            }
        })
        .await;
    }
}
