//! The settings of the SMTP listener and of inbound mail.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Where the SMTP listener listens.
#[derive(Debug, Clone)]
pub enum SmtpListen {
    /// No listener (`--smtp off`).
    Off,
    /// Bind this address at start.
    Addr(SocketAddr),
    /// A listener bound already (tests bind port 0 and read the port).
    Bound(Arc<std::net::TcpListener>),
}

/// The certificate that STARTTLS offers.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The certificate chain, PEM.
    pub cert: PathBuf,
    /// Its private key, PEM.
    pub key: PathBuf,
}

/// The SMTP listener's settings and limits.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// Where it listens.
    pub listen: SmtpListen,
    /// The name it greets with; the mail domain when empty.
    pub hostname: String,
    /// The largest message accepted, in bytes (advertised as `SIZE`).
    pub max_message_bytes: usize,
    /// The most recipients of one message.
    pub max_recipients: usize,
    /// How long a client may stay silent.
    pub idle_timeout: Duration,
    /// How long one session may last in all.
    pub session_timeout: Duration,
    /// The most sessions one client address may hold at once.
    pub max_sessions_per_client: usize,
    /// The most sessions at once in all.
    pub max_sessions: usize,
    /// The certificate for STARTTLS; without one, STARTTLS is not offered.
    pub tls: Option<TlsFiles>,
    /// The wait before a failed message is handed to its plugin again;
    /// it doubles with each attempt, up to an hour.
    pub retry_base: Duration,
    /// How often the host looks for stored messages due for another try.
    pub retry_poll: Duration,
    /// After this many attempts a message is given up on, and listed for
    /// admins to run again.
    pub max_attempts: u32,
}

impl Default for SmtpConfig {
    /// No listener (the command line's default is 127.0.0.1:2525), 25 MB
    /// messages, 100 recipients, 5 minutes idle,
    /// 30 minutes a session, 20 sessions per client and 1,000 in all; a
    /// failed message is tried again after 1, 2, 4, … minutes, 10 times.
    fn default() -> Self {
        SmtpConfig {
            listen: SmtpListen::Off,
            hostname: String::new(),
            max_message_bytes: 25 * 1000 * 1000,
            max_recipients: 100,
            idle_timeout: Duration::from_secs(300),
            session_timeout: Duration::from_secs(1800),
            max_sessions_per_client: 20,
            max_sessions: 1000,
            tls: None,
            retry_base: Duration::from_secs(60),
            retry_poll: Duration::from_secs(5),
            max_attempts: 10,
        }
    }
}

impl SmtpListen {
    /// Parses `--smtp`: `off`, or an address and port.
    pub fn parse(text: &str) -> Result<SmtpListen, String> {
        if text.eq_ignore_ascii_case("off") {
            return Ok(SmtpListen::Off);
        }
        text.parse::<SocketAddr>().map(SmtpListen::Addr).map_err(|_| {
            format!("invalid --smtp \"{text}\": give an address and port, such as 127.0.0.1:2525, or \"off\"")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listen_setting_is_off_or_an_address() {
        assert!(matches!(SmtpListen::parse("OFF"), Ok(SmtpListen::Off)));
        assert!(matches!(SmtpListen::parse("0.0.0.0:25"), Ok(SmtpListen::Addr(a)) if a.port() == 25));
        let refused = SmtpListen::parse("localhost").expect_err("no port");
        assert!(refused.contains("\"localhost\""), "{refused}");
    }
}
