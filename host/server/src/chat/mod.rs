//! Live chat over websockets: visitors on `/c/{team}/{plugin}/ws` (no
//! account, a conversation token), operators on `/api/operator/ws` (their
//! bearer token). The conversations live in the store and reach every
//! server through the hub; the channel plugin is asked at each event what
//! happens next; its timers run from the job queue.

mod countries;
mod events;
mod frames;
mod limits;
pub(crate) mod operator;
mod timers;
mod visitor;

use std::sync::Arc;

pub use countries::{CountryDb, CountryError};
pub use limits::ChatLimits;
pub(crate) use timers::run_timers;
pub(crate) use visitor::visitor_socket;

use switchboard_chat::Hub;
use tokio::sync::watch;

/// What the chat sockets share.
pub struct Chat {
    /// The conversation hub.
    pub hub: Hub,
    /// The country database, if one is configured.
    pub countries: Option<Arc<CountryDb>>,
    /// Caps on frames and their rate.
    pub limits: ChatLimits,
    /// Becomes true when the server shuts down: sockets close.
    pub stopping: watch::Receiver<bool>,
}

/// A hub failure as a client sees it: the store's refusal, or a hidden
/// internal error.
pub(crate) fn chat_error(e: switchboard_chat::ChatError) -> crate::error::ApiError {
    match e {
        switchboard_chat::ChatError::Store(e) => e.into(),
        switchboard_chat::ChatError::Bus(e) => crate::error::ApiError::internal(&e),
    }
}

/// How long a closing socket waits for the client's close frame.
const CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Sends a close frame, then reads (and drops) what the client still sends
/// until its own close frame, for a moment at most. Dropping the
/// connection at once would reset it while the client is still sending,
/// and the client would never read why it was closed.
pub(crate) async fn close_gracefully(socket: &mut axum::extract::ws::WebSocket, frame: axum::extract::ws::CloseFrame) {
    use axum::extract::ws::Message;
    if socket.send(Message::Close(Some(frame))).await.is_err() {
        return;
    }
    let _ = tokio::time::timeout(CLOSE_WAIT, async {
        while let Some(Ok(message)) = socket.recv().await {
            if matches!(message, Message::Close(_)) {
                return;
            }
        }
    })
    .await;
}

/// Close codes the sockets end with, besides the standard ones.
pub(crate) mod close {
    /// The first frame did not come, or was not a start or resume.
    pub const PROTOCOL: u16 = 1002;
    /// A frame over the size cap.
    pub const TOO_BIG: u16 = 1009;
    /// Too many frames, or a frame that breaks the rules.
    pub const POLICY: u16 = 1008;
    /// The server is going away.
    pub const GOING_AWAY: u16 = 1001;
    /// The token names no conversation of this channel.
    pub const UNKNOWN_CONVERSATION: u16 = 4404;
}
