//! A relay started by a test: it speaks enough SMTP for lettre, in the
//! clear, with STARTTLS or over TLS from the first byte, takes AUTH PLAIN
//! and LOGIN (and keeps what it was given), keeps every message it
//! accepts, and answers the end of each message with the code the test
//! sets (250, 451 or 550).

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

/// How the relay secures its sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkTls {
    /// In the clear (`smtp://`).
    None,
    /// In the clear until the client asks for STARTTLS (`smtp+starttls://`).
    StartTls,
    /// TLS from the first byte (`smtps://`).
    Wrapper,
}

/// What every session of one relay shares.
#[derive(Default)]
struct Shared {
    answer: AtomicU16,
    received: Mutex<Vec<Vec<u8>>>,
    /// The base64 arguments of each AUTH, in order, and whether the
    /// session was encrypted when it authenticated.
    logins: Mutex<Vec<(Vec<String>, bool)>>,
    /// Whether each accepted message came over TLS.
    encrypted: Mutex<Vec<bool>>,
}

/// A running relay.
pub struct Sink {
    /// Where it listens.
    pub addr: SocketAddr,
    tls: SinkTls,
    /// Its certificate (for 127.0.0.1), when it speaks TLS.
    pub cert_pem: Option<String>,
    shared: Arc<Shared>,
}

impl Sink {
    /// A relay in the clear.
    pub async fn start() -> Sink {
        Sink::start_with(SinkTls::None).await
    }

    /// A relay that secures its sessions as `tls` says, with a throwaway
    /// certificate for 127.0.0.1.
    pub async fn start_with(tls: SinkTls) -> Sink {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind sink");
        let addr = listener.local_addr().expect("sink addr");
        let shared = Arc::new(Shared { answer: AtomicU16::new(250), ..Shared::default() });
        let (acceptor, cert_pem) = match tls {
            SinkTls::None => (None, None),
            SinkTls::StartTls | SinkTls::Wrapper => {
                let (acceptor, pem) = acceptor();
                (Some(acceptor), Some(pem))
            }
        };
        let state = Arc::clone(&shared);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (state, acceptor) = (Arc::clone(&state), acceptor.clone());
                tokio::spawn(async move {
                    match (tls, acceptor) {
                        (SinkTls::Wrapper, Some(acceptor)) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                session(stream, true, false, true, &state).await;
                            }
                        }
                        (SinkTls::StartTls, Some(acceptor)) => {
                            if let Some(stream) = session(stream, true, true, false, &state).await
                                && let Ok(stream) = acceptor.accept(stream).await
                            {
                                session(stream, false, false, true, &state).await;
                            }
                        }
                        _ => {
                            session(stream, true, false, false, &state).await;
                        }
                    }
                });
            }
        });
        Sink { addr, tls, cert_pem, shared }
    }

    /// Sets the code the end of each message is answered with.
    pub fn answer_with(&self, code: u16) {
        self.shared.answer.store(code, Ordering::SeqCst);
    }

    /// The relay setting that reaches it, with `credentials` if any; its
    /// certificate written into `dir` as the trusted root.
    pub fn relay_in(&self, dir: &std::path::Path, credentials: Option<&str>) -> switchboard_server::RelayConfig {
        let scheme = match self.tls {
            SinkTls::None => "smtp",
            SinkTls::StartTls => "smtp+starttls",
            SinkTls::Wrapper => "smtps",
        };
        let user = credentials.map(|c| format!("{c}@")).unwrap_or_default();
        let mut relay =
            switchboard_server::RelayConfig::parse(&format!("{scheme}://{user}{}", self.addr)).expect("relay");
        if let Some(pem) = &self.cert_pem {
            let path = dir.join("relay-root.pem");
            std::fs::write(&path, pem).expect("write root");
            relay.root_cert = Some(path);
        }
        relay
    }

    /// The relay setting that reaches it in the clear.
    pub fn relay(&self) -> switchboard_server::RelayConfig {
        assert_eq!(self.tls, SinkTls::None, "a TLS relay needs its root: use relay_in");
        switchboard_server::RelayConfig::parse(&format!("smtp://{}", self.addr)).expect("relay")
    }

    /// The messages it accepted, as received.
    pub fn received(&self) -> Vec<Vec<u8>> {
        self.shared.received.lock().expect("received").clone()
    }

    /// The arguments of each AUTH and whether it came over TLS.
    pub fn logins(&self) -> Vec<(Vec<String>, bool)> {
        self.shared.logins.lock().expect("logins").clone()
    }

    /// Whether each accepted message came over TLS.
    pub fn encrypted(&self) -> Vec<bool> {
        self.shared.encrypted.lock().expect("encrypted").clone()
    }
}

/// A TLS acceptor with a throwaway certificate for 127.0.0.1, and that
/// certificate in PEM.
fn acceptor() -> (TlsAcceptor, String) {
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).expect("certificate");
    let der = rustls::pki_types::CertificateDer::from(cert.cert.der().to_vec());
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.key_pair.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocols")
        .with_no_client_auth()
        .with_single_cert(vec![der], key)
        .expect("server config");
    (TlsAcceptor::from(Arc::new(config)), cert.cert.pem())
}

/// One session on `stream`. Returns the stream when the client asked for
/// STARTTLS (offered when `starttls`), for the caller to secure and go on.
async fn session<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    greet: bool,
    starttls: bool,
    encrypted: bool,
    state: &Shared,
) -> Option<S> {
    let mut s = BufReader::new(stream);
    if greet {
        s.get_mut().write_all(b"220 sink.example ESMTP\r\n").await.ok()?;
    }
    let mut line = String::new();
    loop {
        line.clear();
        if s.read_line(&mut line).await.unwrap_or(0) == 0 {
            return None;
        }
        let words: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
        let verb = words.first().map(|w| w.to_ascii_uppercase()).unwrap_or_default();
        let reply: Vec<u8> = match verb.as_str() {
            "EHLO" | "HELO" => {
                let tls = if starttls { "250-STARTTLS\r\n" } else { "" };
                format!("250-sink.example\r\n{tls}250 AUTH PLAIN LOGIN\r\n").into_bytes()
            }
            "STARTTLS" if starttls => {
                s.get_mut().write_all(b"220 2.0.0 go ahead\r\n").await.ok()?;
                return Some(s.into_inner());
            }
            "AUTH" => {
                let mut given: Vec<String> = words[1..].to_vec();
                if given.first().is_some_and(|m| m.eq_ignore_ascii_case("LOGIN")) {
                    // The user and the password come on lines of their own.
                    for prompt in ["334 VXNlcm5hbWU6\r\n", "334 UGFzc3dvcmQ6\r\n"] {
                        s.get_mut().write_all(prompt.as_bytes()).await.ok()?;
                        let mut answer = String::new();
                        s.read_line(&mut answer).await.ok()?;
                        given.push(answer.trim().to_owned());
                    }
                }
                state.logins.lock().expect("logins").push((given, encrypted));
                b"235 2.7.0 ok\r\n".to_vec()
            }
            "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 2.0.0 ok\r\n".to_vec(),
            "QUIT" => {
                let _ = s.get_mut().write_all(b"221 2.0.0 bye\r\n").await;
                return None;
            }
            "DATA" => {
                s.get_mut().write_all(b"354 go ahead\r\n").await.ok()?;
                let mut data = Vec::new();
                loop {
                    let mut l = Vec::new();
                    if s.read_until(b'\n', &mut l).await.unwrap_or(0) == 0 {
                        return None;
                    }
                    if l == b".\r\n" {
                        break;
                    }
                    data.extend_from_slice(l.strip_prefix(b".").unwrap_or(&l));
                }
                let code = state.answer.load(Ordering::SeqCst);
                if code == 250 {
                    state.received.lock().expect("received").push(data);
                    state.encrypted.lock().expect("encrypted").push(encrypted);
                }
                let status = match code {
                    250 => "2.0.0",
                    c if c < 500 => "4.3.0",
                    _ => "5.1.1",
                };
                format!("{code} {status} answer of the test relay\r\n").into_bytes()
            }
            _ => b"502 5.5.1 not here\r\n".to_vec(),
        };
        s.get_mut().write_all(&reply).await.ok()?;
    }
}
