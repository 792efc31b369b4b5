//! An operator's websocket: their teams' conversations as they change,
//! the conversations they follow, and what they say and do. An operator
//! reaches only the teams they work in.
//!
//! Browsers cannot set headers on a websocket, so besides the
//! `Authorization` header the token may come as the subprotocol
//! `bearer.<token>` (offered with `switchboard.operator`, which the server
//! picks), as `/api` checks it for every route.

use std::collections::HashMap;
use std::time::Instant;

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use futures_util::SinkExt;
use switchboard_chat::Update;
use switchboard_core::{ConversationChange, ConversationId, ConversationState, Expect, Speaker, User};
use switchboard_runtime::ChatEvent;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::events::{EventQueue, deliver};
use super::frames::{ConversationOut, OperatorFrame, ServerFrame};
use super::limits::FrameBucket;
use super::{chat_error, close};
use crate::auth::Caller;
use crate::state::AppState;

/// The subprotocol the server picks when a browser offers it.
pub(crate) const SUBPROTOCOL: &str = "switchboard.operator";
/// Frames waiting to go to one operator.
const OUTBOX: usize = 1024;
/// The most waiting frames sent to an operator with one flush.
const FLUSH_EVERY: usize = 64;
/// The most conversations one operator connection follows at once.
const MAX_FOLLOWED: usize = 20_000;
/// The most conversations of each state a team list shows.
const LIST: usize = 100;

/// An operator's socket.
#[utoipa::path(get, path = "/operator/ws", tag = "chat",
    description = "Upgrades to the operator websocket. Frames are JSON; see README, Live chat.",
    responses((status = 101, description = "Switching to the websocket protocol"),
        (status = 400, description = "Not a websocket upgrade", body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody)))]
pub(crate) async fn operator_socket(
    State(state): State<AppState>,
    caller: Caller,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(e) => {
            let detail = format!("this route is a websocket: open it with a websocket client ({})", e.body_text());
            return crate::error::ApiError::bad_request(detail).into_response();
        }
    };
    let limits = state.chat.limits;
    upgrade
        .protocols([SUBPROTOCOL])
        .max_message_size(limits.max_frame_bytes * 4)
        .max_frame_size(limits.max_frame_bytes * 4)
        .on_upgrade(move |socket| async move {
            let (out, outbox) = mpsc::channel(OUTBOX);
            let mut operator =
                Operator { state, user: caller.0, socket, out, followed: HashMap::new(), watched: HashMap::new() };
            let ending = operator.run(outbox).await;
            for (_, task) in operator.followed.drain().chain(operator.watched.drain().map(|(_, t)| (0, t))) {
                task.abort();
            }
            if let Err((code, reason)) = ending {
                super::close_gracefully(&mut operator.socket, CloseFrame { code, reason: reason.into() }).await;
            }
        })
}

/// One operator's connection.
struct Operator {
    state: AppState,
    user: User,
    socket: WebSocket,
    /// Where the tasks that follow conversations and teams put frames.
    out: mpsc::Sender<ServerFrame>,
    followed: HashMap<ConversationId, JoinHandle<()>>,
    watched: HashMap<String, JoinHandle<()>>,
}

type Ending = (u16, String);

/// What a request answers: done (with a message's number), or refused.
type Answer = Result<Option<u64>, (&'static str, String)>;

impl Operator {
    async fn run(&mut self, mut outbox: mpsc::Receiver<ServerFrame>) -> Result<(), Ending> {
        let mut bucket = FrameBucket::operator(&self.state.chat.limits, Instant::now());
        let mut stopping = self.state.chat.stopping.clone();
        let events = EventQueue::start(self.state.clone());
        loop {
            tokio::select! {
                frame = outbox.recv() => {
                    // This connection holds a sender, so the channel stays open.
                    let Some(frame) = frame else { return Ok(()) };
                    self.send_waiting(frame, &mut outbox).await?;
                }
                message = self.socket.recv() => {
                    let Some(Ok(message)) = message else { return Ok(()) };
                    let text = match message {
                        Message::Text(text) => text,
                        Message::Close(_) => return Ok(()),
                        Message::Ping(_) | Message::Pong(_) => continue,
                        Message::Binary(_) => return Err((close::PROTOCOL, "frames are JSON text".into())),
                    };
                    let limits = &self.state.chat.limits;
                    if text.len() > limits.max_frame_bytes {
                        return Err((close::TOO_BIG, format!("a frame may have at most {} bytes", limits.max_frame_bytes)));
                    }
                    if !bucket.take(Instant::now()) {
                        let rate = limits.operator_frames_per_second;
                        return Err((close::POLICY, format!("too many frames: at most {rate} a second")));
                    }
                    let frame = match serde_json::from_str::<OperatorFrame>(&text) {
                        Ok(frame) => frame,
                        Err(e) => {
                            let detail: String = format!("unreadable frame: {e}").chars().take(200).collect();
                            self.send(&ServerFrame::Error { reference: None, error: "bad_frame", detail }).await?;
                            continue;
                        }
                    };
                    self.handle(frame, &events).await?;
                }
                _ = stopping.changed() => return Err((close::GOING_AWAY, "the server is shutting down".into())),
            }
        }
    }

    async fn send(&mut self, frame: &ServerFrame) -> Result<(), Ending> {
        self.socket.send(Message::Text(frame.text().into())).await.map_err(|_| (close::GOING_AWAY, String::new()))
    }

    /// Sends `first` and the frames already waiting behind it (up to
    /// [`FLUSH_EVERY`]) with one flush: an operator following many busy
    /// conversations gets their messages in one write, not one each.
    async fn send_waiting(
        &mut self,
        first: ServerFrame,
        outbox: &mut mpsc::Receiver<ServerFrame>,
    ) -> Result<(), Ending> {
        let gone = |_| (close::GOING_AWAY, String::new());
        self.socket.feed(Message::Text(first.text().into())).await.map_err(gone)?;
        for _ in 1..FLUSH_EVERY {
            let Ok(frame) = outbox.try_recv() else { break };
            self.socket.feed(Message::Text(frame.text().into())).await.map_err(gone)?;
        }
        self.socket.flush().await.map_err(gone)
    }

    async fn handle(&mut self, frame: OperatorFrame, events: &EventQueue) -> Result<(), Ending> {
        let (reference, answer) = match frame {
            OperatorFrame::Online { team, channel, name, reference } => {
                (reference, self.online(&team, &channel, name).await)
            }
            OperatorFrame::Offline { team, channel, reference } => (reference, self.offline(&team, &channel).await),
            OperatorFrame::Watch { team, reference } => (reference, self.watch(team).await),
            OperatorFrame::Join { conversation, reference } => (reference, self.join(conversation, events).await),
            OperatorFrame::Follow { conversation, after, reference } => {
                (reference, self.follow_checked(conversation, after).await)
            }
            OperatorFrame::Say { conversation, body, reference } => {
                (reference, self.say(conversation, &body, events).await)
            }
            OperatorFrame::Leave { conversation, reference } => (reference, self.leave(conversation, events).await),
            OperatorFrame::End { conversation, reference } => (reference, self.end(conversation, events).await),
        };
        let frame = match answer {
            Ok(seq) => ServerFrame::Ok { reference, seq },
            Err((error, detail)) => ServerFrame::Error { reference, error, detail },
        };
        self.send(&frame).await
    }

    /// Refuses a team the operator does not work in.
    fn check_team(&self, team: &str) -> Result<(), (&'static str, String)> {
        if self.user.works_in(team) {
            return Ok(());
        }
        Err(("forbidden", format!("user \"{}\" does not work in team \"{team}\"", self.user.name)))
    }

    /// The conversation, if it is of a team the operator works in; another
    /// team's is "not found", like one that does not exist.
    async fn own(&mut self, id: ConversationId) -> Result<switchboard_core::Conversation, (&'static str, String)> {
        match self.state.chat.hub.store().conversation(id).await {
            Ok(c) if self.user.works_in(&c.team) => Ok(c),
            Ok(_) | Err(switchboard_store::StoreError::UnknownConversation(_)) => {
                Err(("not_found", format!("unknown conversation {id}")))
            }
            Err(e) => Err(refused(e.into())),
        }
    }

    async fn online(&mut self, team: &str, channel: &str, name: Option<String>) -> Answer {
        self.check_team(team)?;
        let name = name.filter(|n| !n.trim().is_empty()).unwrap_or_else(|| self.user.name.clone());
        let presence = &self.state.stores.presence;
        let beat = presence.heartbeat(team, channel, self.user.id, &name, self.state.clock.now()).await;
        beat.map_err(|e| refused(e.into()))?.durable().await.map_err(|e| refused(e.into()))?;
        Ok(None)
    }

    async fn offline(&mut self, team: &str, channel: &str) -> Answer {
        self.check_team(team)?;
        let left = self.state.stores.presence.leave_channel(team, channel, self.user.id).await;
        left.map_err(|e| refused(e.into()))?.durable().await.map_err(|e| refused(e.into()))?;
        Ok(None)
    }

    /// Sends the team's lists, then each change, until the connection ends.
    async fn watch(&mut self, team: String) -> Answer {
        self.check_team(&team)?;
        if self.watched.contains_key(&team) {
            return Ok(None);
        }
        let mut follower = self.state.chat.hub.follow_team(&team);
        let (state, out, slug) = (self.state.clone(), self.out.clone(), team.clone());
        let task = tokio::spawn(async move {
            let mut event = switchboard_chat::TeamEvent::Resync;
            loop {
                let frame = match event {
                    switchboard_chat::TeamEvent::Resync => lists(&state, &slug).await,
                    switchboard_chat::TeamEvent::Changed(id) => match state.chat.hub.store().conversation(id).await {
                        Ok(c) => Some(ServerFrame::Conversation { conversation: (&c).into() }),
                        Err(_) => None,
                    },
                };
                if let Some(frame) = frame
                    && out.send(frame).await.is_err()
                {
                    return;
                }
                event = follower.next().await;
            }
        });
        self.watched.insert(team, task);
        Ok(None)
    }

    /// Follows a conversation after `after`: its messages go out as they
    /// come, from every server, and so do the delivery reports that change
    /// on them afterwards (WhatsApp's ticks).
    fn follow(&mut self, id: ConversationId, after: u64) -> Answer {
        if self.followed.contains_key(&id) {
            return Ok(None);
        }
        if self.followed.len() >= MAX_FOLLOWED {
            return Err(("too_many", format!("a connection follows at most {MAX_FOLLOWED} conversations")));
        }
        let mut follower = self.state.chat.hub.follow_with_deliveries(id, after);
        let out = self.out.clone();
        let task = tokio::spawn(async move {
            while let Ok(update) = follower.next_update().await {
                let frames = match update {
                    Update::Messages(page) => page.iter().map(ServerFrame::message).collect(),
                    Update::Delivery(message) => vec![ServerFrame::delivery(&message)],
                };
                for frame in frames {
                    if out.send(frame).await.is_err() {
                        return;
                    }
                }
            }
        });
        self.followed.insert(id, task);
        Ok(None)
    }

    async fn follow_checked(&mut self, id: ConversationId, after: u64) -> Answer {
        self.own(id).await?;
        self.follow(id, after)
    }

    /// The name the operator has in `channel`: their chat name there if
    /// online, else their user name.
    async fn chat_name(&mut self, team: &str, channel: &str) -> String {
        let now = self.state.clock.now();
        match self.state.stores.presence.online_operators(team, channel, now).await {
            Ok(online) => online.into_iter().find(|p| p.user == self.user.id).map(|p| p.chat_name),
            Err(_) => None,
        }
        .unwrap_or_else(|| self.user.name.clone())
    }

    async fn join(&mut self, id: ConversationId, events: &EventQueue) -> Answer {
        let c = self.own(id).await?;
        let name = self.chat_name(&c.team, &c.channel).await;
        let change = ConversationChange::Join { id: self.user.id, name: name.clone() };
        let changed =
            self.state.chat.hub.change(id, change, self.state.clock.now()).await.map_err(|e| refused(chat_error(e)))?;
        if changed.message.is_some() {
            events.push(id, ChatEvent::OperatorJoined { user: self.user.id, name }).await;
        }
        self.follow(id, 0)
    }

    async fn say(&mut self, id: ConversationId, body: &str, events: &EventQueue) -> Answer {
        let c = self.own(id).await?;
        if let Some(line) = body.trim().strip_prefix('/') {
            let (name, args) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            let name = name.to_ascii_lowercase();
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                return Err(("bad_command", format!("\"/{name}\" is not a command")));
            }
            let by = c.operators.iter().find_map(|o| match o {
                Speaker::Operator { id, name } if *id == self.user.id => Some(name.clone()),
                _ => None,
            });
            let by = by.unwrap_or_else(|| self.user.name.clone());
            let command = ChatEvent::Command { name, args: args.trim().to_owned(), user: self.user.id, by };
            deliver(&self.state, id, command).await.map_err(|detail| ("command_failed", detail))?;
            return Ok(None);
        }
        let Some(speaker) =
            c.operators.iter().find(|o| matches!(o, Speaker::Operator { id, .. } if *id == self.user.id))
        else {
            return Err(("conflict", format!("join conversation {id} before speaking in it")));
        };
        let said = self
            .state
            .chat
            .hub
            .say(id, speaker.clone(), body, Expect::Text, self.state.clock.now())
            .await
            .map_err(|e| refused(chat_error(e)))?;
        events.push(id, ChatEvent::OperatorMessage(said.clone())).await;
        Ok(Some(said.seq))
    }

    async fn leave(&mut self, id: ConversationId, events: &EventQueue) -> Answer {
        let c = self.own(id).await?;
        let name = c.operators.iter().find_map(|o| match o {
            Speaker::Operator { id, name } if *id == self.user.id => Some(name.clone()),
            _ => None,
        });
        let change = ConversationChange::Leave { id: self.user.id };
        let changed =
            self.state.chat.hub.change(id, change, self.state.clock.now()).await.map_err(|e| refused(chat_error(e)))?;
        if let (Some(_), Some(name)) = (changed.message, name) {
            events.push(id, ChatEvent::OperatorLeft { user: self.user.id, name }).await;
        }
        Ok(None)
    }

    async fn end(&mut self, id: ConversationId, events: &EventQueue) -> Answer {
        let c = self.own(id).await?;
        if c.state == ConversationState::Ended {
            return Ok(None);
        }
        self.state
            .chat
            .hub
            .change(id, ConversationChange::End, self.state.clock.now())
            .await
            .map_err(|e| refused(chat_error(e)))?;
        events.push(id, ChatEvent::Ended).await;
        Ok(None)
    }
}

/// An API error as a refused request.
fn refused(e: crate::error::ApiError) -> (&'static str, String) {
    let error = if e.status().is_client_error() { "refused" } else { "internal" };
    (error, e.detail().to_owned())
}

/// A team's lists: waiting (the longest waiting first), with an operator,
/// and with the bot.
async fn lists(state: &AppState, team: &str) -> Option<ServerFrame> {
    let store = state.chat.hub.store();
    let read = |s| store.conversations(team, s, LIST);
    let (waiting, active, bot) = match (
        read(ConversationState::Waiting).await,
        read(ConversationState::WithOperator).await,
        read(ConversationState::Bot).await,
    ) {
        (Ok(w), Ok(a), Ok(b)) => (w, a, b),
        _ => return None,
    };
    let out = |list: Vec<switchboard_core::Conversation>| list.iter().map(ConversationOut::from).collect();
    Some(ServerFrame::Conversations {
        team: team.to_owned(),
        waiting: out(waiting),
        active: out(active),
        bot: out(bot),
    })
}
