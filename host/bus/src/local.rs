//! The bus of one server: a broadcast channel in the process.

use async_trait::async_trait;
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc};

use crate::subject::{check, matches};
use crate::{Bus, BusError, Event, SUBSCRIPTION_BUFFER, Subscription};

/// The in-process bus: every subscription of this process hears every
/// message published in it, and nothing else.
#[derive(Debug, Clone)]
pub struct LocalBus {
    sender: broadcast::Sender<(Arc<str>, Arc<[u8]>)>,
}

impl Default for LocalBus {
    fn default() -> Self {
        LocalBus { sender: broadcast::channel(SUBSCRIPTION_BUFFER).0 }
    }
}

impl LocalBus {
    /// A bus with no subscriptions yet.
    pub fn new() -> Self {
        LocalBus::default()
    }
}

#[async_trait]
impl Bus for LocalBus {
    async fn publish(&self, subject: &str, payload: Vec<u8>) -> Result<(), BusError> {
        check(subject, false)?;
        // No subscription is not an error: nobody needed to hear it.
        let _ = self.sender.send((subject.into(), payload.into()));
        Ok(())
    }

    async fn subscribe(&self, pattern: &str) -> Result<Subscription, BusError> {
        check(pattern, true)?;
        let mut messages = self.sender.subscribe();
        let (events, receiver) = mpsc::channel(SUBSCRIPTION_BUFFER);
        let pattern = pattern.to_owned();
        tokio::spawn(async move {
            loop {
                let event = match messages.recv().await {
                    Ok((subject, _)) if !matches(&pattern, &subject) => continue,
                    Ok((subject, payload)) => {
                        Event::Message { subject: subject.to_string(), payload: payload.to_vec() }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => Event::Gap,
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                if events.send(event).await.is_err() {
                    return;
                }
            }
        });
        Ok(Subscription { events: receiver })
    }
}
