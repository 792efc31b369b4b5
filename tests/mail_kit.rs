//! Shared by the e-mail tests: a server with the e-mail alias channel
//! enabled and its SMTP listener on a port of its own, and SMTP clients on
//! plain sockets, so that a test controls every byte it sends.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use switchboard_server::{Config, SmtpListen};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::support::Server;

/// A server with the shipped plugins, team "Care" (alias `care`) and its
/// e-mail alias channel enabled; SMTP on a port of its own.
pub struct Mail {
    /// The server.
    pub server: Server,
    /// Its SMTP listener.
    pub smtp: SocketAddr,
}

pub async fn mail_server(tweak: impl FnOnce(&mut Config)) -> Mail {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind smtp");
    let smtp = listener.local_addr().expect("smtp addr");
    let server = Server::start_with(|c| {
        c.bundled = switchboard_server::BundledPlugin::shipped();
        c.smtp.listen = SmtpListen::Bound(Arc::new(listener));
        c.smtp.retry_base = Duration::from_millis(100);
        c.smtp.retry_poll = Duration::from_millis(50);
        tweak(c);
    })
    .await;
    server.post("/api/teams", json!({"name": "Care"})).await.expect(201);
    server.enable("care", "email-alias", json!({}), &["tickets"]).await.expect(201);
    Mail { server, smtp }
}

/// One SMTP reply: its code and its lines' text.
#[derive(Debug)]
pub struct Reply {
    /// The reply code.
    pub code: u16,
    /// The text of its lines.
    pub text: String,
}

/// A client on a plain socket, to send exactly the bytes a test needs.
pub struct Client {
    /// The read half.
    pub reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    /// The write half.
    pub writer: tokio::net::tcp::OwnedWriteHalf,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> (Client, Reply) {
        let (read, writer) = TcpStream::connect(addr).await.expect("connect").into_split();
        let mut client = Client { reader: BufReader::new(read), writer };
        let greeting = client.reply().await;
        (client, greeting)
    }

    pub async fn write(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).await.expect("write");
    }

    /// Reads one reply, all of its lines.
    pub async fn reply(&mut self) -> Reply {
        let mut text = String::new();
        loop {
            let mut line = String::new();
            let read = tokio::time::timeout(Duration::from_secs(30), self.reader.read_line(&mut line)).await;
            let n = read.expect("a reply in time").expect("read");
            assert!(n > 0, "the server closed the connection; so far: {text}");
            text.push_str(&line[4.min(line.len())..]);
            if line.as_bytes().get(3) != Some(&b'-') {
                return Reply { code: line[..3].parse().expect("a reply code"), text };
            }
        }
    }

    pub async fn command(&mut self, line: &str) -> Reply {
        self.write(format!("{line}\r\n").as_bytes()).await;
        self.reply().await
    }

    /// Sends one message and returns the answer to its end of data.
    pub async fn send(&mut self, from: &str, to: &[&str], message: &str) -> Reply {
        let mail = self.command(&format!("MAIL FROM:<{from}>")).await;
        assert_eq!(mail.code, 250, "{mail:?}");
        for rcpt in to {
            let answer = self.command(&format!("RCPT TO:<{rcpt}>")).await;
            assert_eq!(answer.code, 250, "{rcpt}: {answer:?}");
        }
        assert_eq!(self.command("DATA").await.code, 354);
        self.write(message.replace('\n', "\r\n").as_bytes()).await;
        self.command(".").await
    }
}

/// Sends `message` from `from` to `to` in a session of its own.
pub async fn send(smtp: SocketAddr, from: &str, to: &str, message: &str) -> Reply {
    let (mut c, greeting) = Client::connect(smtp).await;
    assert_eq!(greeting.code, 220, "{greeting:?}");
    assert_eq!(c.command("EHLO client.example").await.code, 250);
    let answer = c.send(from, &[to], message).await;
    c.command("QUIT").await;
    answer
}

/// A ticket's thread, oldest first.
pub async fn thread_of(s: &Server, ticket: u64) -> Vec<Value> {
    let thread = s.get(&format!("/api/tickets/{ticket}/messages")).await.expect(200);
    thread.as_array().cloned().unwrap_or_default()
}

/// The bodies of a ticket's customer messages, in order.
pub async fn customer_bodies(s: &Server, ticket: u64) -> Vec<String> {
    thread_of(s, ticket)
        .await
        .iter()
        .filter(|m| m["kind"] == "customer")
        .filter_map(|m| m["body"].as_str().map(str::to_owned))
        .collect()
}

/// Sends raw bytes as one message, dot-stuffed, in a session of its own.
pub async fn send_raw(smtp: SocketAddr, from: &str, raw: &[u8]) -> Reply {
    let (mut c, _) = Client::connect(smtp).await;
    assert_eq!(c.command("EHLO client.example").await.code, 250);
    assert_eq!(c.command(&format!("MAIL FROM:<{from}>")).await.code, 250);
    assert_eq!(c.command("RCPT TO:<care@help.example.com>").await.code, 250);
    assert_eq!(c.command("DATA").await.code, 354);
    let mut data = Vec::with_capacity(raw.len() + 8);
    for line in raw.split_inclusive(|b| *b == b'\n') {
        if line.first() == Some(&b'.') {
            data.push(b'.');
        }
        data.extend_from_slice(line);
    }
    if !data.ends_with(b"\r\n") {
        data.extend_from_slice(b"\r\n");
    }
    data.extend_from_slice(b".\r\n");
    c.write(&data).await;
    let answer = c.reply().await;
    c.command("QUIT").await;
    answer
}

/// The first mail of Olena's thread.
pub const FIRST: &str = "From: Olena Koval <olena@customer.example>
To: care@help.example.com
Subject: The printer is on fire
Message-ID: <first-1@customer.example>
Date: Tue, 1 Dec 2026 10:00:00 +0200

It started this morning.
";

/// Base64 of `data` (RFC 4648, with padding).
pub fn base64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Base64 in 76-character lines, as mail carries it.
pub fn base64_lines(data: &[u8]) -> String {
    let text = base64(data);
    text.as_bytes().chunks(76).map(|l| String::from_utf8_lossy(l).into_owned()).collect::<Vec<_>>().join("\n")
}
