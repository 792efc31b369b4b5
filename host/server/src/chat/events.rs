//! Asking a conversation's channel plugin what to do about an event. The
//! events of one connection are handed over in order, one at a time, so
//! that a quick second answer does not race the first through the
//! chatbot.

use switchboard_core::{Conversation, ConversationId, ConversationState};
use switchboard_runtime::ChatEvent;
use tokio::sync::mpsc;

use crate::failures::{self, Failure};
use crate::state::AppState;

/// How many events a connection may have waiting.
const QUEUE: usize = 64;

/// Hands an event in conversation `id` to its plugin. A visitor's message
/// goes to the plugin only while the bot has the conversation. A failure
/// is logged, kept with the plugin's recent failures for admins, and its
/// detail returned (an operator is shown why a command failed).
pub(crate) async fn deliver(state: &AppState, id: ConversationId, event: ChatEvent) -> Result<(), String> {
    let conversation = match state.chat.hub.store().conversation(id).await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(conversation = id, error = %e, "cannot read a conversation for its plugin");
            return Err("the conversation could not be read; try again".into());
        }
    };
    if matches!(event, ChatEvent::VisitorMessage(_)) && conversation.state != ConversationState::Bot {
        return Ok(());
    }
    call(state, &conversation, event).await
}

async fn call(state: &AppState, c: &Conversation, event: ChatEvent) -> Result<(), String> {
    let installation = match state.stores.plugins.installation(&c.team, &c.plugin).await {
        Ok(i) => i,
        Err(e) => return Err(format!("the channel \"{}\" is not enabled for team \"{}\": {e}", c.plugin, c.team)),
    };
    let secrets = state.secret_key.secrets_of(&installation).map_err(|e| {
        tracing::error!(plugin = %c.plugin, error = %e, "cannot open a chat channel's secrets");
        "the channel's settings could not be read".to_owned()
    })?;
    match state.runtime.handle_chat(&installation, &secrets, c, event).await {
        Ok(()) => Ok(()),
        Err(e) => {
            let request_id = failures::request_id();
            let detail = e.to_string();
            tracing::warn!(request_id, team = %c.team, plugin = %c.plugin, conversation = c.id, error = %detail, "a chat event failed");
            let failure = Failure {
                at: state.clock.now().to_string(),
                request_id,
                team: c.team.clone(),
                status: 500,
                detail: format!("conversation {}: {detail}", c.id),
            };
            state.failures.record(&c.plugin, failure);
            Err(detail)
        }
    }
}

/// A connection's queue of events, handed over in order by a task of its
/// own that finishes what was queued even after the connection closes.
pub(crate) struct EventQueue {
    sender: mpsc::Sender<(ConversationId, ChatEvent)>,
}

impl EventQueue {
    /// Starts the queue's task.
    pub(crate) fn start(state: AppState) -> EventQueue {
        let (sender, mut receiver) = mpsc::channel::<(ConversationId, ChatEvent)>(QUEUE);
        tokio::spawn(async move {
            while let Some((id, event)) = receiver.recv().await {
                // The failure is recorded by `deliver`; nobody waits here.
                let _ = deliver(&state, id, event).await;
            }
        });
        EventQueue { sender }
    }

    /// Queues an event, waiting while the queue is full.
    pub(crate) async fn push(&self, id: ConversationId, event: ChatEvent) {
        // The task ends only when every sender is gone.
        let _ = self.sender.send((id, event)).await;
    }
}
