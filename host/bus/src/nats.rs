//! The bus of several servers: core NATS subjects, with a gap reported to
//! every subscription after a reconnect.

use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use tokio::sync::{broadcast, mpsc};

use crate::subject::check;
use crate::{Bus, BusError, Event, SUBSCRIPTION_BUFFER, Subscription};

/// A bus on a NATS server. The client reconnects by itself, forever, with
/// a growing delay; subscriptions are renewed on the new connection, and
/// each is told [`Event::Gap`], since messages published meanwhile were
/// not delivered to it.
#[derive(Debug, Clone)]
pub struct NatsBus {
    client: async_nats::Client,
    reconnected: broadcast::Sender<()>,
}

impl NatsBus {
    /// Connects to the NATS server at `url` (such as `nats://127.0.0.1:4222`).
    /// The first connection must succeed within 10 s: a server that starts
    /// without its bus would not hear the others.
    pub async fn connect(url: &str) -> Result<NatsBus, BusError> {
        let (reconnected, _) = broadcast::channel(16);
        let on_event = reconnected.clone();
        let client = async_nats::ConnectOptions::new()
            .name("switchboard")
            .connection_timeout(Duration::from_secs(10))
            .max_reconnects(None)
            .reconnect_delay_callback(|attempts| Duration::from_millis((50 * attempts as u64).min(2000)))
            .event_callback(move |event| {
                let on_event = on_event.clone();
                async move {
                    match event {
                        async_nats::Event::Connected => {
                            tracing::info!("bus connected");
                            let _ = on_event.send(());
                        }
                        async_nats::Event::Disconnected => tracing::warn!("bus disconnected; reconnecting"),
                        other => tracing::warn!(event = %other, "bus event"),
                    }
                }
            })
            .connect(url)
            .await
            .map_err(|e| BusError::Unavailable(format!("cannot connect to NATS: {e}")))?;
        Ok(NatsBus { client, reconnected })
    }
}

#[async_trait]
impl Bus for NatsBus {
    async fn publish(&self, subject: &str, payload: Vec<u8>) -> Result<(), BusError> {
        check(subject, false)?;
        self.client
            .publish(subject.to_owned(), payload.into())
            .await
            .map_err(|e| BusError::Unavailable(format!("cannot publish on \"{subject}\": {e}")))
    }

    async fn subscribe(&self, pattern: &str) -> Result<Subscription, BusError> {
        check(pattern, true)?;
        let mut messages = self
            .client
            .subscribe(pattern.to_owned())
            .await
            .map_err(|e| BusError::Unavailable(format!("cannot subscribe to \"{pattern}\": {e}")))?;
        // A round trip to the server: once it answers, it has the
        // subscription, so a message published after this returns is heard.
        self.client
            .flush()
            .await
            .map_err(|e| BusError::Unavailable(format!("cannot subscribe to \"{pattern}\": {e}")))?;
        let mut reconnected = self.reconnected.subscribe();
        let (events, receiver) = mpsc::channel(SUBSCRIPTION_BUFFER);
        tokio::spawn(async move {
            loop {
                let event = tokio::select! {
                    message = messages.next() => match message {
                        Some(m) => Event::Message { subject: m.subject.to_string(), payload: m.payload.to_vec() },
                        None => return,
                    },
                    signal = reconnected.recv() => match signal {
                        Ok(()) | Err(broadcast::error::RecvError::Lagged(_)) => Event::Gap,
                        Err(broadcast::error::RecvError::Closed) => return,
                    },
                };
                if events.send(event).await.is_err() {
                    return;
                }
            }
        });
        Ok(Subscription { events: receiver })
    }
}
