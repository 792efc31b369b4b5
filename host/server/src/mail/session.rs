//! One SMTP session: commands parsed by `smtp-proto`, answers batched so
//! that a pipelining client gets them in one write, the message collected
//! under the size cap, and every limit checked before the work it guards.

use std::net::IpAddr;
use std::time::Duration;

use smtp_proto::request::receiver::{DataReceiver, DummyDataReceiver};
use smtp_proto::{Error as ProtoError, Request};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

use super::inbound::{Delivered, Envelope, Recipient, Refusal};
use super::settings::SmtpConfig;

/// Where a session's recipients are checked and its messages go: the
/// server's inbound path, or a stand-in (the fuzz target's).
pub(crate) trait Mailroom: Send + Sync {
    /// Resolves `RCPT TO`, or says how to refuse it.
    fn recipient(&self, address: &str) -> impl Future<Output = Result<Recipient, Refusal>> + Send;
    /// Keeps and hands over a complete message.
    fn deliver(&self, envelope: Envelope, raw: Vec<u8>) -> impl Future<Output = Delivered> + Send;
}

/// How a session loop ended.
pub(crate) enum Ended<S> {
    /// The client quit, timed out or broke the protocol; the connection
    /// closes.
    Closed,
    /// The client asked for TLS and was told to go ahead: the caller wraps
    /// the stream and runs a fresh session over it.
    StartTls(S),
}

/// What the session knows that outlives one message.
pub(crate) struct Peer {
    /// The client's address.
    pub(crate) addr: IpAddr,
    /// Whether the connection is encrypted already.
    pub(crate) tls: bool,
    /// Whether STARTTLS can be offered.
    pub(crate) can_start_tls: bool,
}

/// A message being put together.
#[derive(Default)]
struct Transaction {
    mail_from: Option<String>,
    recipients: Vec<Recipient>,
}

/// The state of one session.
struct Session<'a, M> {
    config: &'a SmtpConfig,
    inbound: &'a M,
    peer: &'a Peer,
    hostname: &'a str,
    helo: Option<String>,
    tx: Transaction,
    out: Vec<u8>,
}

/// What reading the next bytes gave.
enum Read {
    Bytes(usize),
    Closed,
    TimedOut,
}

async fn read_some<S: AsyncRead + Unpin>(stream: &mut S, buf: &mut [u8], idle: Duration, end: Instant) -> Read {
    let deadline = (Instant::now() + idle).min(end);
    match tokio::time::timeout_at(deadline, stream.read(buf)).await {
        Ok(Ok(0)) | Ok(Err(_)) => Read::Closed,
        Ok(Ok(n)) => Read::Bytes(n),
        Err(_) => Read::TimedOut,
    }
}

/// The longest command line taken, with its line end.
const MAX_LINE: usize = 2048;

/// What the session does with the bytes that come next.
enum Mode {
    /// Commands.
    Command,
    /// A message, until the line with a single dot.
    Data(DataReceiver, Vec<u8>),
    /// The rest of a message that cannot be taken: read and dropped until
    /// its end, then refused for this reason.
    Discard(DummyDataReceiver, Refused),
}

/// Why a message is dropped while it is read.
#[derive(Clone, Copy)]
enum Refused {
    /// It is over the size cap.
    Size,
    /// The messages being read at once fill the server's budget for them.
    Room,
}

/// What a command asks the session loop to do.
enum Next {
    Continue,
    Data,
    StartTls,
    Quit,
}

/// Runs a session over `stream` until it ends. The greeting is sent only
/// on a new connection, not after STARTTLS.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn run<S: AsyncRead + AsyncWrite + Unpin, M: Mailroom>(
    mut stream: S,
    config: &SmtpConfig,
    inbound: &M,
    budget: &Semaphore,
    peer: &Peer,
    hostname: &str,
    started: Instant,
) -> Ended<S> {
    let end = started + config.session_timeout;
    let mut session =
        Session { config, inbound, peer, hostname, helo: None, tx: Transaction::default(), out: Vec::new() };
    if !peer.tls {
        session.reply(220, "", &format!("{hostname} Switchboard ESMTP ready"));
    }
    // The command line being read, and whether it went over the cap (then
    // the rest of it is dropped and refused once it ends).
    let (mut line, mut overlong) = (Vec::new(), false);
    let mut mode = Mode::Command;
    // The share of the server's budget for messages being read that this
    // session's message holds, in KiB; given back when the message ends.
    let mut held: Option<SemaphorePermit<'_>> = None;
    let mut pending: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        if pending.is_empty() {
            // Every answer to what came so far goes out before waiting for
            // more: a pipelining client gets a batch in one write.
            if flush(&mut stream, &mut session.out).await.is_err() {
                return Ended::Closed;
            }
            match read_some(&mut stream, &mut chunk, config.idle_timeout, end).await {
                Read::Bytes(n) => pending.extend_from_slice(&chunk[..n]),
                Read::Closed => return Ended::Closed,
                Read::TimedOut => {
                    session.reply(421, "4.4.2", "idle or session time is over; closing");
                    let _ = flush(&mut stream, &mut session.out).await;
                    return Ended::Closed;
                }
            }
        }
        let input = std::mem::take(&mut pending);
        let mut bytes = input.iter();
        match mode {
            Mode::Command => loop {
                // Lines are framed here, under a cap of their own, and each
                // complete line is parsed by smtp-proto: its own cap only
                // holds for a line that spans reads.
                let rest = bytes.as_slice();
                let Some(end) = rest.iter().position(|b| *b == b'\n') else {
                    if line.len() + rest.len() > MAX_LINE {
                        overlong = true;
                        line.clear();
                    } else if !overlong {
                        line.extend_from_slice(rest);
                    }
                    bytes = [].iter();
                    break;
                };
                bytes = rest[end + 1..].iter();
                if overlong || line.len() + end + 1 > MAX_LINE {
                    overlong = false;
                    line.clear();
                    session.reply(500, "5.5.2", &format!("line too long; the most is {MAX_LINE} bytes"));
                    continue;
                }
                line.extend_from_slice(&rest[..=end]);
                let parsed = Request::parse(&mut line.iter()).map(|r| r.into_owned());
                line.clear();
                let request = match parsed {
                    Ok(request) => request,
                    Err(e) => {
                        session.refuse(&e);
                        continue;
                    }
                };
                match session.handle(request).await {
                    Next::Continue => {}
                    Next::Quit => {
                        let _ = flush(&mut stream, &mut session.out).await;
                        return Ended::Closed;
                    }
                    Next::StartTls => {
                        // Whatever the client pipelined after STARTTLS came
                        // in the clear: it is dropped, not obeyed (the
                        // command injection of CVE-2011-0411).
                        if flush(&mut stream, &mut session.out).await.is_err() {
                            return Ended::Closed;
                        }
                        return Ended::StartTls(stream);
                    }
                    Next::Data => {
                        mode = Mode::Data(DataReceiver::new(), Vec::new());
                        break;
                    }
                }
            },
            Mode::Data(ref mut data, ref mut message) => {
                let done = data.ingest(&mut bytes, message);
                // Checked before the rest is kept: memory stays bounded by
                // the cap per message, and by the budget for all of them.
                let refused = if message.len() > config.max_message_bytes {
                    Some(Refused::Size)
                } else if !reserve(budget, &mut held, message.len()) {
                    Some(Refused::Room)
                } else {
                    None
                };
                if let Some(why) = refused.filter(|_| !done) {
                    mode = Mode::Discard(DummyDataReceiver::new_data(data), why);
                    held = None;
                } else if done {
                    let message = std::mem::take(message);
                    mode = Mode::Command;
                    match refused {
                        None => session.finish_message(message).await,
                        Some(why) => session.refuse_message(why),
                    }
                    held = None;
                }
            }
            Mode::Discard(ref mut discard, why) => {
                if discard.ingest(&mut bytes) {
                    mode = Mode::Command;
                    session.refuse_message(why);
                }
            }
        }
        pending.extend_from_slice(bytes.as_slice());
    }
}

impl<M: Mailroom> Session<'_, M> {
    /// Queues an answer. A multi-line answer has its lines in `text`,
    /// separated by newlines.
    fn reply(&mut self, code: u16, status: &str, text: &str) {
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let sep = if i + 1 == lines.len() { ' ' } else { '-' };
            let status = if status.is_empty() { String::new() } else { format!("{status} ") };
            self.out.extend_from_slice(format!("{code}{sep}{status}{line}\r\n").as_bytes());
        }
    }

    /// Answers a line the parser refused.
    fn refuse(&mut self, error: &ProtoError) {
        match error {
            ProtoError::UnknownCommand => self.reply(500, "5.5.1", "command not recognized"),
            ProtoError::ResponseTooLong => self.reply(500, "5.5.2", "line too long; the most is 4096 bytes"),
            ProtoError::InvalidSenderAddress => self.reply(501, "5.1.7", "the sender address is not valid"),
            ProtoError::InvalidRecipientAddress => self.reply(501, "5.1.3", "the recipient address is not valid"),
            ProtoError::SyntaxError { syntax } => self.reply(501, "5.5.4", &format!("syntax: {syntax}")),
            ProtoError::InvalidParameter { param } => {
                self.reply(501, "5.5.4", &format!("invalid value for parameter {param}"))
            }
            ProtoError::UnsupportedParameter { param } => {
                let param: String = param.chars().filter(|c| c.is_ascii_graphic()).take(40).collect();
                self.reply(555, "5.5.4", &format!("parameter {param} is not supported"))
            }
            ProtoError::NeedsMoreData { .. } | ProtoError::InvalidResponse { .. } => {
                self.reply(500, "5.5.2", "syntax error")
            }
        }
    }

    async fn handle(&mut self, request: Request<String>) -> Next {
        match request {
            Request::Ehlo { host } => {
                self.helo = Some(host);
                self.tx = Transaction::default();
                let mut lines = vec![format!("{} greets you", self.hostname)];
                lines.push("PIPELINING".into());
                lines.push("8BITMIME".into());
                lines.push("ENHANCEDSTATUSCODES".into());
                lines.push(format!("SIZE {}", self.config.max_message_bytes));
                if self.peer.can_start_tls && !self.peer.tls {
                    lines.push("STARTTLS".into());
                }
                self.reply(250, "", &lines.join("\n"));
            }
            Request::Helo { host } | Request::Lhlo { host } => {
                self.helo = Some(host);
                self.tx = Transaction::default();
                let hostname = self.hostname.to_owned();
                self.reply(250, "", &hostname);
            }
            Request::StartTls => {
                if !self.peer.can_start_tls || self.peer.tls {
                    self.reply(502, "5.5.1", "STARTTLS is not offered here");
                } else {
                    self.reply(220, "2.0.0", "ready to start TLS");
                    return Next::StartTls;
                }
            }
            Request::Mail { from } => self.mail(from.address, from.size),
            Request::Rcpt { to } => self.rcpt(to.address).await,
            Request::Data => return self.data(),
            Request::Rset => {
                self.tx = Transaction::default();
                self.reply(250, "2.0.0", "reset");
            }
            Request::Noop { .. } => self.reply(250, "2.0.0", "OK"),
            Request::Quit => {
                self.reply(221, "2.0.0", "bye");
                return Next::Quit;
            }
            Request::Vrfy { .. } | Request::Expn { .. } => {
                self.reply(502, "5.5.1", "VRFY and EXPN are refused: addresses are not disclosed")
            }
            Request::Help { .. } => self.reply(214, "2.0.0", "see RFC 5321"),
            Request::Bdat { .. } => self.reply(502, "5.5.1", "BDAT is not offered; use DATA"),
            Request::Auth { .. } => self.reply(502, "5.5.1", "AUTH is not offered: this server only receives mail"),
            Request::Etrn { .. } | Request::Atrn { .. } | Request::Burl { .. } => {
                self.reply(502, "5.5.1", "command not implemented")
            }
        }
        Next::Continue
    }

    fn mail(&mut self, from: String, size: usize) {
        if self.helo.is_none() {
            return self.reply(503, "5.5.1", "send EHLO or HELO first");
        }
        if self.tx.mail_from.is_some() {
            return self.reply(503, "5.5.1", "MAIL was given already; RSET to start over");
        }
        let max = self.config.max_message_bytes;
        if size > max {
            return self.reply(552, "5.3.4", &format!("a message of {size} bytes is over the size limit of {max}"));
        }
        self.tx.mail_from = Some(from);
        self.reply(250, "2.1.0", "sender OK");
    }

    async fn rcpt(&mut self, to: String) {
        if self.tx.mail_from.is_none() {
            return self.reply(503, "5.5.1", "MAIL comes before RCPT");
        }
        if self.tx.recipients.len() >= self.config.max_recipients {
            let max = self.config.max_recipients;
            return self.reply(452, "4.5.3", &format!("too many recipients; the most is {max} per message"));
        }
        match self.inbound.recipient(&to).await {
            Ok(recipient) => {
                self.tx.recipients.push(recipient);
                self.reply(250, "2.1.5", "recipient OK");
            }
            Err(refusal) => self.reply(refusal.code, refusal.status, &refusal.text),
        }
    }

    fn data(&mut self) -> Next {
        if self.tx.mail_from.is_none() {
            self.reply(503, "5.5.1", "MAIL comes before DATA");
            return Next::Continue;
        }
        if self.tx.recipients.is_empty() {
            self.reply(554, "5.5.1", "no valid recipients");
            return Next::Continue;
        }
        self.reply(354, "", "end the message with a line holding a single dot");
        Next::Data
    }

    /// Answers a message that was dropped while it was read.
    fn refuse_message(&mut self, why: Refused) {
        self.tx = Transaction::default();
        match why {
            Refused::Size => {
                let max = self.config.max_message_bytes;
                self.reply(552, "5.3.4", &format!("the message is over the size limit of {max} bytes"))
            }
            Refused::Room => self.reply(452, "4.3.1", "the server has no room for the message now; try again later"),
        }
    }

    /// Keeps a complete message and hands it to its teams' channels; the
    /// answer says whether it is on disk and handled.
    async fn finish_message(&mut self, message: Vec<u8>) {
        let tx = std::mem::take(&mut self.tx);
        let envelope = Envelope {
            mail_from: tx.mail_from.unwrap_or_default(),
            recipients: tx.recipients,
            client: self.peer.addr,
            helo: self.helo.clone().unwrap_or_default(),
        };
        match self.inbound.deliver(envelope, message).await {
            Delivered::Accepted(receipts) => {
                let receipts: Vec<String> = receipts.iter().map(u64::to_string).collect();
                self.reply(250, "2.0.0", &format!("accepted as receipt {}", receipts.join(", ")));
            }
            Delivered::Deferred(why) => self.reply(451, "4.3.0", &format!("{why}; try again later")),
        }
    }
}

/// Makes `held` cover `bytes` of the budget (in KiB permits); false when
/// the budget has no room for the rest now.
fn reserve<'a>(budget: &'a Semaphore, held: &mut Option<SemaphorePermit<'a>>, bytes: usize) -> bool {
    let need = u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX);
    let have = held.as_ref().map_or(0, |p| u32::try_from(p.num_permits()).unwrap_or(u32::MAX));
    if need <= have {
        return true;
    }
    match budget.try_acquire_many(need - have) {
        Ok(more) => {
            match held {
                Some(permit) => permit.merge(more),
                None => *held = Some(more),
            }
            true
        }
        Err(_) => false,
    }
}

/// Writes the queued answers.
async fn flush<S: AsyncWrite + Unpin>(stream: &mut S, out: &mut Vec<u8>) -> std::io::Result<()> {
    if out.is_empty() {
        return Ok(());
    }
    let result = stream.write_all(out).await;
    out.clear();
    result?;
    stream.flush().await
}
