//! The SMTP listener: accepts connections under a per-client and a total
//! cap, and runs each session, upgrading it to TLS on STARTTLS.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::inbound::Inbound;
use super::session::{self, Ended, Peer};
use super::settings::{SmtpListen, TlsFiles};

/// Why the SMTP listener could not start.
#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    /// The address could not be bound.
    #[error("cannot listen for SMTP on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// The certificate or key for STARTTLS could not be used.
    #[error("cannot use the SMTP certificate \"{path}\": {reason}")]
    Tls {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// Sessions held now, per client address and in all.
#[derive(Default)]
struct Sessions {
    per_client: HashMap<IpAddr, usize>,
    total: usize,
}

/// A session's place under the caps, given back when it ends.
struct Slot {
    sessions: Arc<Mutex<Sessions>>,
    client: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        sessions.total = sessions.total.saturating_sub(1);
        if let Some(n) = sessions.per_client.get_mut(&self.client) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                sessions.per_client.remove(&self.client);
            }
        }
    }
}

fn load_tls(files: &TlsFiles) -> Result<TlsAcceptor, SmtpError> {
    let fail = |path: &std::path::Path, reason: String| SmtpError::Tls { path: path.display().to_string(), reason };
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|e| fail(&files.cert, e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(&files.cert, e.to_string()))?;
    if certs.is_empty() {
        return Err(fail(&files.cert, "no certificate in the file".into()));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| fail(&files.key, e.to_string()))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| fail(&files.cert, e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| fail(&files.cert, e.to_string()))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Starts the listener and the retry of kept messages, if SMTP is on.
/// Both run until `stop`; the listener's address comes back for the log.
pub(crate) async fn start(
    inbound: Arc<Inbound>,
    stop: watch::Receiver<bool>,
) -> Result<Option<(SocketAddr, Vec<JoinHandle<()>>)>, SmtpError> {
    let listener = match &inbound.config.listen {
        SmtpListen::Off => return Ok(None),
        SmtpListen::Addr(addr) => {
            TcpListener::bind(addr).await.map_err(|source| SmtpError::Bind { addr: addr.to_string(), source })?
        }
        SmtpListen::Bound(std) => {
            let bind = |source| SmtpError::Bind { addr: format!("{:?}", std.local_addr().ok()), source };
            let std = std.try_clone().map_err(bind)?;
            std.set_nonblocking(true).map_err(bind)?;
            TcpListener::from_std(std).map_err(bind)?
        }
    };
    let tls = inbound.config.tls.as_ref().map(load_tls).transpose()?;
    let addr = listener.local_addr().map_err(|source| SmtpError::Bind { addr: "?".into(), source })?;
    let retry = tokio::spawn(Arc::clone(&inbound).retry_until(stop.clone()));
    let accept = tokio::spawn(accept_until(listener, inbound, tls, stop));
    Ok(Some((addr, vec![accept, retry])))
}

async fn accept_until(
    listener: TcpListener,
    inbound: Arc<Inbound>,
    tls: Option<TlsAcceptor>,
    mut stop: watch::Receiver<bool>,
) {
    let sessions = Arc::new(Mutex::new(Sessions::default()));
    // The messages all sessions are reading share one budget, in KiB.
    let budget = Arc::new(tokio::sync::Semaphore::new(inbound.config.max_buffered_bytes.div_ceil(1024)));
    let mut running = tokio::task::JoinSet::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot accept an SMTP connection");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        while running.try_join_next().is_some() {}
        let slot = {
            let mut held = sessions.lock().unwrap_or_else(|p| p.into_inner());
            let mine = held.per_client.get(&peer.ip()).copied().unwrap_or(0);
            let config = &inbound.config;
            if mine >= config.max_sessions_per_client || held.total >= config.max_sessions {
                None
            } else {
                *held.per_client.entry(peer.ip()).or_default() += 1;
                held.total += 1;
                Some(Slot { sessions: Arc::clone(&sessions), client: peer.ip() })
            }
        };
        let Some(slot) = slot else {
            running.spawn(turn_away(stream));
            continue;
        };
        let (inbound, budget) = (Arc::clone(&inbound), Arc::clone(&budget));
        let tls = tls.clone();
        running.spawn(async move {
            serve_session(stream, peer, &inbound, &budget, tls).await;
            drop(slot);
        });
    }
    // Sessions in progress finish their current message: their answers say
    // whether it was kept, so they are not cut off mid-delivery.
    while running.join_next().await.is_some() {}
}

/// Answers a client over its caps and closes.
async fn turn_away(mut stream: TcpStream) {
    use tokio::io::AsyncWriteExt;
    let _ = stream.write_all(b"421 4.7.0 too many connections from your address; try again later\r\n").await;
    let _ = stream.shutdown().await;
}

async fn serve_session(
    stream: TcpStream,
    peer: SocketAddr,
    inbound: &Inbound,
    budget: &tokio::sync::Semaphore,
    tls: Option<TlsAcceptor>,
) {
    let _ = stream.set_nodelay(true);
    let started = Instant::now();
    let hostname =
        if inbound.config.hostname.is_empty() { inbound.domain.clone() } else { inbound.config.hostname.clone() };
    let mut facts = Peer { addr: peer.ip(), tls: false, can_start_tls: tls.is_some() };
    let ended = session::run(stream, &inbound.config, inbound, budget, &facts, &hostname, started).await;
    let Ended::StartTls(stream) = ended else {
        return;
    };
    let Some(acceptor) = tls else {
        return;
    };
    let handshake = tokio::time::timeout(inbound.config.idle_timeout, acceptor.accept(stream)).await;
    let stream = match handshake {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => {
            tracing::debug!(client = %peer, error = %e, "an SMTP client's TLS handshake failed");
            return;
        }
        Err(_) => return,
    };
    facts.tls = true;
    // After STARTTLS the session starts over (RFC 3207): the client says
    // EHLO again, and nothing from before counts.
    let _ = session::run(stream, &inbound.config, inbound, budget, &facts, &hostname, started).await;
}
