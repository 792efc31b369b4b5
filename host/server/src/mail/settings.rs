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
    /// The most bytes of messages being read at once, over all sessions:
    /// past it, a message is refused for now (452) rather than held.
    pub max_buffered_bytes: usize,
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
    /// Where outgoing mail (agents' replies) is handed over; without one,
    /// it waits in the outbox, deferred.
    pub relay: Option<RelayConfig>,
}

/// How the connection to the relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayTls {
    /// Plain SMTP (`smtp://`): only for a relay on this machine or network.
    None,
    /// STARTTLS, required (`smtp+starttls://`).
    StartTls,
    /// TLS from the first byte (`smtps://`).
    Tls,
}

/// The relay (smarthost) that outgoing mail is handed to.
#[derive(Clone, PartialEq, Eq)]
pub struct RelayConfig {
    /// Its host name or address.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// How the connection is protected.
    pub tls: RelayTls,
    /// A user name and password, if the relay wants them.
    pub credentials: Option<(String, String)>,
    /// A certificate (PEM) to trust besides the usual roots, for a relay
    /// with a private authority.
    pub root_cert: Option<PathBuf>,
}

impl std::fmt::Debug for RelayConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("user", &self.credentials.as_ref().map(|(user, _)| user))
            .field("root_cert", &self.root_cert)
            .finish()
    }
}

impl RelayConfig {
    /// Parses `smtp://[user:password@]host[:port]`, `smtp+starttls://…`
    /// or `smtps://…`; the ports default to 25, 587 and 465.
    pub fn parse(url: &str) -> Result<RelayConfig, String> {
        let refuse = |why: &str| Err(format!("invalid relay \"{}\": {why}", redact(url)));
        let (scheme, rest) = match url.split_once("://") {
            Some(parts) => parts,
            None => return refuse("give a URL such as smtp+starttls://user:password@mail.example.com:587"),
        };
        let (tls, default_port) = match scheme {
            "smtp" => (RelayTls::None, 25),
            "smtp+starttls" => (RelayTls::StartTls, 587),
            "smtps" => (RelayTls::Tls, 465),
            _ => return refuse("the scheme must be smtp, smtp+starttls or smtps"),
        };
        let rest = rest.trim_end_matches('/');
        let (userinfo, hostport) = match rest.rsplit_once('@') {
            Some((userinfo, hostport)) => (Some(userinfo), hostport),
            None => (None, rest),
        };
        let credentials = match userinfo {
            Some(info) => match info.split_once(':') {
                Some((user, password)) if !user.is_empty() => Some((percent_decode(user), percent_decode(password))),
                _ => return refuse("credentials are user:password"),
            },
            None => None,
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((host, port)) => match port.parse::<u16>() {
                Ok(port) if port > 0 => (host, port),
                _ => return refuse("the port must be a number from 1 to 65535"),
            },
            None => (hostport, default_port),
        };
        if host.is_empty() || host.contains(['/', '?', '#', ' ']) {
            return refuse("no host");
        }
        Ok(RelayConfig { host: host.to_owned(), port, tls, credentials, root_cert: None })
    }
}

/// A relay URL with its password hidden, for errors and logs.
fn redact(url: &str) -> String {
    match (url.split_once("://"), url.rsplit_once('@')) {
        (Some((scheme, rest)), Some((_, hostport))) if rest.contains('@') => {
            let user = rest.split([':', '@']).next().unwrap_or("");
            format!("{scheme}://{user}:***@{hostport}")
        }
        _ => url.to_owned(),
    }
}

/// Decodes `%XX` escapes, as a password with `@` or `:` in a URL needs.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) =
                (bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Default for SmtpConfig {
    /// No listener (the command line's default is 127.0.0.1:2525), 25 MB
    /// messages and 256 MiB of them being read at once, 100 recipients, 5 minutes idle,
    /// 30 minutes a session, 20 sessions per client and 1,000 in all; a
    /// failed message is tried again after 1, 2, 4, … minutes, 10 times.
    fn default() -> Self {
        SmtpConfig {
            listen: SmtpListen::Off,
            hostname: String::new(),
            max_message_bytes: 25 * 1000 * 1000,
            max_recipients: 100,
            max_buffered_bytes: 256 * 1024 * 1024,
            idle_timeout: Duration::from_secs(300),
            session_timeout: Duration::from_secs(1800),
            max_sessions_per_client: 20,
            max_sessions: 1000,
            tls: None,
            retry_base: Duration::from_secs(60),
            retry_poll: Duration::from_secs(5),
            max_attempts: 10,
            relay: None,
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
    fn relay_urls_name_the_protection_and_hide_the_password() {
        let relay = RelayConfig::parse("smtp+starttls://bot%40x:p%3Ass@mail.example.com").expect("relay");
        assert_eq!((relay.host.as_str(), relay.port, relay.tls), ("mail.example.com", 587, RelayTls::StartTls));
        assert_eq!(relay.credentials, Some(("bot@x".to_owned(), "p:ss".to_owned())));
        assert!(!format!("{relay:?}").contains("p:ss"));
        assert_eq!(RelayConfig::parse("smtps://mx:2465").expect("relay").port, 2465);
        assert_eq!(RelayConfig::parse("smtp://127.0.0.1:2526").expect("relay").tls, RelayTls::None);
        let refused = RelayConfig::parse("http://u:hunter2@x").expect_err("scheme");
        assert!(refused.contains("scheme") && !refused.contains("hunter2"), "{refused}");
        assert!(RelayConfig::parse("smtp://x:99999").is_err());
    }

    #[test]
    fn the_listen_setting_is_off_or_an_address() {
        assert!(matches!(SmtpListen::parse("OFF"), Ok(SmtpListen::Off)));
        assert!(matches!(SmtpListen::parse("0.0.0.0:25"), Ok(SmtpListen::Addr(a)) if a.port() == 25));
        let refused = SmtpListen::parse("localhost").expect_err("no port");
        assert!(refused.contains("\"localhost\""), "{refused}");
    }
}
