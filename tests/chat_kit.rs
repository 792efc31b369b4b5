//! Websocket clients for the chat tests: a visitor and an operator, each
//! on a real websocket to a running server.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for a frame.
pub const WAIT: Duration = Duration::from_secs(10);

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A websocket that reads JSON frames, keeping those a test skipped over.
pub struct Client {
    socket: Socket,
    kept: VecDeque<Value>,
    next_ref: u64,
}

/// The `ws://` address of a path on a server whose base is `http://…`.
pub fn ws_url(base: &str, path: &str) -> String {
    format!("{}{path}", base.replacen("http://", "ws://", 1))
}

impl Client {
    /// Connects a visitor to a team's chat channel.
    pub async fn visitor(base: &str, team: &str) -> Client {
        let (socket, _) = tokio_tungstenite::connect_async(ws_url(base, &format!("/c/{team}/live-chat/ws")))
            .await
            .expect("visitor connects");
        Client { socket, kept: VecDeque::new(), next_ref: 0 }
    }

    /// Connects a visitor through a proxy that says the visitor is at
    /// `addr` (`X-Forwarded-For`).
    pub async fn visitor_from(base: &str, team: &str, addr: &str) -> Client {
        let mut request = ws_url(base, &format!("/c/{team}/live-chat/ws")).into_client_request().expect("request");
        request.headers_mut().insert("x-forwarded-for", addr.parse().expect("header"));
        let (socket, _) = tokio_tungstenite::connect_async(request).await.expect("visitor connects");
        Client { socket, kept: VecDeque::new(), next_ref: 0 }
    }

    /// Connects an operator with their token in the Authorization header.
    pub async fn operator(base: &str, token: &str) -> Client {
        let mut request = ws_url(base, "/api/operator/ws").into_client_request().expect("request");
        request.headers_mut().insert("authorization", format!("Bearer {token}").parse().expect("header"));
        let (socket, _) = tokio_tungstenite::connect_async(request).await.expect("operator connects");
        Client { socket, kept: VecDeque::new(), next_ref: 0 }
    }

    /// Sends a JSON frame.
    pub async fn send(&mut self, frame: Value) {
        self.socket.send(Message::Text(frame.to_string().into())).await.expect("send");
    }

    /// Sends raw text.
    pub async fn send_text(&mut self, text: String) -> Result<(), tokio_tungstenite::tungstenite::Error> {
        self.socket.send(Message::Text(text.into())).await
    }

    /// The next frame from the socket (not the kept ones).
    async fn read(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(WAIT, self.socket.next()).await.expect("a frame in time");
            match message.expect("the socket is open").expect("a frame") {
                Message::Text(text) => return serde_json::from_str(&text).expect("JSON frame"),
                Message::Close(frame) => panic!("closed: {frame:?}"),
                _ => continue,
            }
        }
    }

    /// The first frame, kept or new, that `wanted` accepts; the others
    /// are kept for later.
    pub async fn next_where(&mut self, wanted: impl Fn(&Value) -> bool) -> Value {
        if let Some(at) = self.kept.iter().position(&wanted) {
            return self.kept.remove(at).expect("kept");
        }
        loop {
            let frame = self.read().await;
            if wanted(&frame) {
                return frame;
            }
            self.kept.push_back(frame);
        }
    }

    /// The next frame of this type.
    pub async fn next_of(&mut self, kind: &str) -> Value {
        self.next_where(|f| f["type"] == kind).await
    }

    /// The next message frame of a conversation.
    pub async fn message_in(&mut self, conversation: u64) -> Value {
        self.next_where(|f| f["type"] == "message" && f["conversation"] == conversation).await
    }

    /// Message frames up to and including the first that `last` accepts.
    pub async fn messages_until(&mut self, last: impl Fn(&Value) -> bool) -> Vec<Value> {
        let mut got = Vec::new();
        loop {
            let m = self.next_of("message").await;
            let done = last(&m);
            got.push(m);
            if done {
                return got;
            }
        }
    }

    /// How the server closed the socket: code and reason.
    pub async fn closed(&mut self) -> (u16, String) {
        loop {
            let message = tokio::time::timeout(WAIT, self.socket.next()).await.expect("a close in time");
            match message {
                Some(Ok(Message::Close(Some(CloseFrame { code, reason })))) => {
                    return (code.into(), reason.to_string());
                }
                Some(Ok(Message::Close(None))) | None => return (1005, String::new()),
                Some(Ok(_)) => continue,
                Some(Err(e)) => panic!("the socket failed instead of closing: {e}"),
            }
        }
    }

    /// Sends an operator request with a fresh `ref` and returns its answer
    /// (`ok` or `error`).
    pub async fn request(&mut self, mut frame: Value) -> Value {
        self.next_ref += 1;
        let reference = format!("r{}", self.next_ref);
        frame["ref"] = json!(reference);
        self.send(frame).await;
        self.next_where(|f| (f["type"] == "ok" || f["type"] == "error") && f["ref"] == reference.as_str()).await
    }

    /// Like [`Client::request`], expecting `ok`.
    pub async fn ok(&mut self, frame: Value) -> Value {
        let answer = self.request(frame.clone()).await;
        assert_eq!(answer["type"], "ok", "{frame} was answered {answer}");
        answer
    }

    /// Opens a conversation as a visitor; returns the welcome frame.
    pub async fn start(&mut self, channel: &str, page_url: &str, language: &str) -> Value {
        self.send(json!({"type": "start", "channel": channel, "page_url": page_url, "language": language})).await;
        self.next_of("welcome").await
    }

    /// Says something as a visitor and waits for its number.
    pub async fn say(&mut self, body: &str) -> u64 {
        self.send(json!({"type": "say", "body": body})).await;
        let answer = self.next_where(|f| f["type"] == "ok" || f["type"] == "error").await;
        answer["seq"].as_u64().unwrap_or_else(|| panic!("\"{body}\" was refused: {answer}"))
    }

    /// The bodies of the bot's messages among `frames`.
    pub fn bot_lines(frames: &[Value]) -> Vec<String> {
        frames
            .iter()
            .filter(|f| f["speaker"]["type"] == "bot")
            .filter_map(|f| f["body"].as_str().map(str::to_owned))
            .collect()
    }
}
