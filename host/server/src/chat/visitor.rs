//! A visitor's websocket: opens or resumes one conversation, sends its
//! messages from the last one the visitor saw, and takes the visitor's.
//! A visitor reaches their own conversation only, through the token the
//! welcome frame gave (only its hash is stored).

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::response::{IntoResponse, Response};
use switchboard_core::{Conversation, ConversationDraft, ConversationOrigin, ConversationState, Expect, Speaker};
use switchboard_runtime::ChatEvent;
use switchboard_store::StoreError;

use super::events::EventQueue;
use super::frames::{ServerFrame, VisitorFrame};
use super::limits::FrameBucket;
use super::{Chat, close};
use crate::auth::{generate_token, hash_token};
use crate::client_addr::client_addr;
use crate::error::ApiError;
use crate::extract::Path;
use crate::state::AppState;

/// `/c/{team}/{plugin}/ws`: a visitor's socket for a chat channel. Any
/// other request, or a plugin that does not run conversations, goes to the
/// plugin's own route like every path below it.
pub(crate) async fn visitor_socket(
    State(state): State<AppState>,
    Path((team, plugin)): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let upgrade = WebSocketUpgrade::from_request_parts(&mut parts, &state).await;
    let Ok(upgrade) = upgrade.map_err(drop).and_then(|u| state.runtime.runs_chat(&plugin).then_some(u).ok_or(()))
    else {
        let request = Request::from_parts(parts, body);
        return crate::public::handle(State(state), team, plugin, "/ws".into(), ConnectInfo(peer), request).await;
    };
    let client = client_addr(peer.ip(), &parts.headers, &state.trusted_proxies);
    let installation = match state.stores.plugins.installation(&team, &plugin).await {
        Ok(i) => i,
        Err(StoreError::NotEnabled { .. } | StoreError::UnknownTeam(_)) => {
            if let Err(wait) = state.public_limiter.check_unknown(client, Instant::now()) {
                return ApiError::too_many_requests(wait).into_response();
            }
            return ApiError::not_found(format!("no channel \"{plugin}\" is enabled for team \"{team}\""))
                .into_response();
        }
        Err(e) => return ApiError::from(e).into_response(),
    };
    // Opening a socket counts as a request on the channel's public route.
    if let Err(wait) = state.public_limiter.check(client, &installation, Instant::now()) {
        return ApiError::too_many_requests(wait).into_response();
    }
    let limits = state.chat.limits;
    upgrade
        .max_message_size(limits.max_frame_bytes * 4)
        .max_frame_size(limits.max_frame_bytes * 4)
        .read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .on_upgrade(move |socket| async move {
            Visitor { state, team, plugin, client, socket }.run().await;
        })
}

/// One visitor's connection.
struct Visitor {
    state: AppState,
    team: String,
    plugin: String,
    client: IpAddr,
    socket: WebSocket,
}

/// Why a connection ends, with the close frame it sends.
struct Ending(u16, String);

impl Visitor {
    async fn run(mut self) {
        let ending = match self.converse().await {
            Ok(()) => return,
            Err(ending) => ending,
        };
        let frame = CloseFrame { code: ending.0, reason: ending.1.into() };
        super::close_gracefully(&mut self.socket, frame).await;
    }

    async fn send(&mut self, frame: &ServerFrame) -> Result<(), Ending> {
        // A failed send means the visitor is gone.
        self.socket.send(Message::Text(frame.text().into())).await.map_err(|_| Ending(close::GOING_AWAY, String::new()))
    }

    /// The next frame the visitor sent, checked against the caps; `None`
    /// when the visitor closed the connection.
    async fn receive(&mut self, bucket: &mut FrameBucket) -> Result<Option<VisitorFrame>, Ending> {
        loop {
            let Some(Ok(message)) = self.socket.recv().await else { return Ok(None) };
            let text = match message {
                Message::Text(text) => text,
                Message::Binary(_) => return Err(Ending(close::PROTOCOL, "frames are JSON text".into())),
                Message::Close(_) => return Ok(None),
                Message::Ping(_) | Message::Pong(_) => continue,
            };
            let limits = &self.state.chat.limits;
            if text.len() > limits.max_frame_bytes {
                return Err(Ending(
                    close::TOO_BIG,
                    format!("a frame may have at most {} bytes", limits.max_frame_bytes),
                ));
            }
            if !bucket.take(Instant::now()) {
                let why = format!("too many frames: at most {} a second", limits.frames_per_second);
                return Err(Ending(close::POLICY, why));
            }
            return serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| Ending(close::PROTOCOL, format!("unreadable frame: {e}").chars().take(120).collect()));
        }
    }

    async fn converse(&mut self) -> Result<(), Ending> {
        let mut bucket = FrameBucket::new(&self.state.chat.limits, Instant::now());
        let within = self.state.chat.limits.first_frame_within;
        let first = match tokio::time::timeout(within, self.receive(&mut bucket)).await {
            Ok(first) => first?,
            Err(_) => return Err(Ending(close::PROTOCOL, "send a start or resume frame first".into())),
        };
        let events = EventQueue::start(self.state.clone());
        let (conversation, after) = match first {
            None => return Ok(()),
            Some(VisitorFrame::Start { channel, page_url, language }) => {
                let (conversation, token) = self.open(channel, page_url, language).await?;
                self.send(&ServerFrame::Welcome { conversation: conversation.id, token, state: conversation.state })
                    .await?;
                events.push(conversation.id, ChatEvent::VisitorJoined).await;
                (conversation, 0)
            }
            Some(VisitorFrame::Resume { token, after }) => {
                let conversation = self.resume(&token).await?;
                let frame = ServerFrame::Resumed {
                    conversation: conversation.id,
                    state: conversation.state,
                    ticket: conversation.ticket,
                };
                self.send(&frame).await?;
                (conversation, after)
            }
            Some(VisitorFrame::Say { .. }) => {
                return Err(Ending(close::PROTOCOL, "send a start or resume frame first".into()));
            }
        };
        let id = conversation.id;
        // Whether the bot may still have the conversation: its plugin hears
        // the visitor's messages only then, and a conversation that left
        // the bot never goes back to it. So once this connection has seen
        // it leave, it stops handing the messages over (and saves a read
        // of the conversation each).
        let mut with_bot = conversation.state == ConversationState::Bot;
        let mut follower = self.state.chat.hub.follow(id, after);
        let mut stopping = self.state.chat.stopping.clone();
        loop {
            tokio::select! {
                page = follower.next() => {
                    let page = page.map_err(|e| {
                        tracing::error!(conversation = id, error = %e, "cannot read a conversation for its visitor");
                        Ending(1011, "the conversation could not be read".into())
                    })?;
                    let changed = page.iter().any(|m| m.speaker == Speaker::System);
                    for message in &page {
                        self.send(&ServerFrame::message(message)).await?;
                    }
                    if changed && let Ok(now) = self.state.chat.hub.store().conversation(id).await {
                        with_bot = now.state == ConversationState::Bot;
                        self.send(&ServerFrame::State { conversation: id, state: now.state, ticket: now.ticket }).await?;
                    }
                }
                frame = self.receive(&mut bucket) => match frame? {
                    None => return Ok(()),
                    Some(VisitorFrame::Say { body }) => {
                        let now = self.state.clock.now();
                        match self.state.chat.hub.say(id, Speaker::Visitor, &body, Expect::Text, now).await {
                            Ok(said) => {
                                self.send(&ServerFrame::Ok { reference: None, seq: Some(said.seq) }).await?;
                                if with_bot {
                                    events.push(id, ChatEvent::VisitorMessage(said)).await;
                                }
                            }
                            Err(e) => {
                                let error = super::chat_error(e);
                                let frame = ServerFrame::Error { reference: None, error: "refused", detail: error.detail().to_owned() };
                                self.send(&frame).await?;
                            }
                        }
                    }
                    Some(_) => return Err(Ending(close::PROTOCOL, "the conversation is already open".into())),
                },
                _ = stopping.changed() => return Err(Ending(close::GOING_AWAY, "the server is shutting down".into())),
            }
        }
    }

    /// Opens a conversation with a fresh token.
    async fn open(
        &mut self,
        channel: String,
        page_url: Option<String>,
        language: Option<String>,
    ) -> Result<(Conversation, String), Ending> {
        let chat: &Chat = &self.state.chat;
        let country = chat.countries.as_ref().and_then(|db| db.country(self.client));
        let token = generate_token().map_err(|_| Ending(1011, "no token could be made".into()))?;
        let draft = ConversationDraft {
            team: self.team.clone(),
            plugin: self.plugin.clone(),
            channel,
            origin: ConversationOrigin { page_url, country, language },
            with_bot: true,
            token_hash: hash_token(&token),
        };
        match chat.hub.open(draft, self.state.clock.now()).await {
            Ok(conversation) => Ok((conversation, token)),
            Err(e) => {
                let error = super::chat_error(e);
                let reason: String = error.detail().chars().take(120).collect();
                Err(Ending(close::POLICY, reason))
            }
        }
    }

    /// The conversation of a token, if it is one of this channel's.
    async fn resume(&mut self, token: &str) -> Result<Conversation, Ending> {
        let unknown = || Ending(close::UNKNOWN_CONVERSATION, "no conversation has this token".into());
        match self.state.chat.hub.store().conversation_by_token(&hash_token(token)).await {
            Ok(Some(c)) if c.team == self.team && c.plugin == self.plugin => Ok(c),
            Ok(_) => Err(unknown()),
            Err(e) => {
                tracing::error!(error = %e, "cannot look up a conversation token");
                Err(Ending(1011, "the conversation could not be read".into()))
            }
        }
    }
}
