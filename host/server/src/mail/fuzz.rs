//! The SMTP session under arbitrary input, for the fuzz target in
//! `fuzz/` and for the tests here: whatever a client sends, the session
//! ends without panicking, within its limits, and every line it writes
//! is a well-formed reply.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::inbound::{Delivered, Envelope, Recipient, Refusal};
use super::session::{self, Mailroom, Peer};
use super::settings::SmtpConfig;

/// A mailroom with one team, `care`, that takes every other message.
struct Stub;

impl Mailroom for Stub {
    async fn recipient(&self, address: &str) -> Result<Recipient, Refusal> {
        if address.to_ascii_lowercase().starts_with("care") {
            Ok(Recipient { address: address.to_owned(), team: "care".into() })
        } else {
            Err(Refusal { code: 550, status: "5.1.1", text: "no such mailbox".into() })
        }
    }

    async fn deliver(&self, _envelope: Envelope, raw: Vec<u8>) -> Delivered {
        if raw.len().is_multiple_of(2) { Delivered::Accepted(vec![1]) } else { Delivered::Deferred("not now".into()) }
    }
}

/// Runs one session over `data`, sent in two pieces split where its first
/// byte says, and checks the replies. Panics on a malformed reply.
pub fn smtp_session(data: &[u8]) {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_time().build() else {
        return;
    };
    runtime.block_on(async {
        let (mut client, server) = tokio::io::duplex(16 * 1024);
        let config = SmtpConfig {
            max_message_bytes: 2048,
            max_recipients: 4,
            idle_timeout: Duration::from_secs(5),
            session_timeout: Duration::from_secs(10),
            ..SmtpConfig::default()
        };
        let peer = Peer { addr: IpAddr::V4(Ipv4Addr::LOCALHOST), tls: false, can_start_tls: true };
        let split = data.first().map_or(0, |b| usize::from(*b) % (data.len() + 1));
        let serve = async {
            let budget = tokio::sync::Semaphore::new(3);
            let _ =
                session::run(server, &config, &Stub, &budget, &peer, "fuzz.example", tokio::time::Instant::now()).await;
        };
        let talk = async {
            let (mut read, mut write) = tokio::io::split(&mut client);
            let send = async {
                let _ = write.write_all(&data[..split]).await;
                let _ = write.write_all(&data[split..]).await;
                let _ = write.shutdown().await;
            };
            let mut replies = Vec::new();
            let receive = read.read_to_end(&mut replies);
            let (_, _) = tokio::join!(send, receive);
            replies
        };
        let ((), replies) = tokio::join!(serve, talk);
        for line in replies.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let ok = line.len() >= 5
                && line[..3].iter().all(u8::is_ascii_digit)
                && (line[3] == b' ' || line[3] == b'-')
                && line.ends_with(b"\r");
            assert!(ok, "malformed reply line {:?}", String::from_utf8_lossy(line));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::smtp_session;

    #[test]
    fn hostile_sessions_end_with_well_formed_replies() {
        let long = format!("MAIL FROM:<{}@x>\r\n", "a".repeat(5000));
        let big =
            format!("EHLO x\r\nMAIL FROM:<a@x>\r\nRCPT TO:<care@x>\r\nDATA\r\n{}\r\n.\r\nQUIT\r\n", "y".repeat(4000));
        let inputs: Vec<&[u8]> = vec![
            b"",
            b"\x00\xff\r\n\r\n",
            b"EHLO x\r\nMAIL FROM:<a@x>\r\nRCPT TO:<care@x>\r\nDATA\r\nhello\r\n.\r\nQUIT\r\n",
            b"EHLO x\r\nSTARTTLS\r\nMAIL FROM:<a@x>\r\n",
            b"DATA\r\nRCPT TO:<x>\r\nMAIL FROM:<>\r\nRCPT TO:<care@x>\r\nRCPT TO:<care@x>\r\nRCPT TO:<care@x>\r\nRCPT TO:<care@x>\r\nRCPT TO:<care@x>\r\n",
            b"HELO x\r\nMAIL FROM:<a@x> SIZE=99999999999999999999\r\nBDAT 10 LAST\r\nAUTH PLAIN AAAA\r\nVRFY root\r\n",
            long.as_bytes(),
            big.as_bytes(),
        ];
        for input in inputs {
            smtp_session(input);
        }
    }
}
