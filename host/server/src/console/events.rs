//! `/console/events/{team}`: a live board's feed, as server-sent events.
//!
//! The feed follows the team's ticket announcements on the bus (see
//! `announce`), reads each ticket announced, and sends its card as an
//! event `card`. A bus that may have dropped announcements sends
//! `reload`, so that the board reads itself again rather than miss a
//! card. The route needs a session or a token like the API, and an
//! agent follows only their own teams.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use switchboard_bus::Event as BusEvent;

use crate::api::board::{card, contact_name};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::Path;
use crate::state::AppState;

/// How often an idle feed sends a comment, so that proxies keep it open
/// and a dead connection is noticed.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The feed of team `slug`'s ticket changes.
pub(crate) async fn feed(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    caller.require_team(&slug)?;
    state.stores.teams.team(&slug).await?;
    let mut subscription = state
        .bus
        .subscribe(&crate::announce::subject(&slug))
        .await
        .map_err(|e| ApiError::unavailable(format!("live updates are unavailable: {e}")))?;
    let stream = async_stream(move |sender| async move {
        // The first event says the feed is live: a board that loaded
        // before it may have missed a change, so it reads itself again.
        if sender.send(Event::default().event("reload").data("live")).await.is_err() {
            return;
        }
        while let Some(event) = subscription.next().await {
            let sent = match event {
                BusEvent::Gap => Event::default().event("reload").data("gap"),
                BusEvent::Message { payload, .. } => {
                    let Some(id) = std::str::from_utf8(&payload).ok().and_then(|p| p.parse().ok()) else { continue };
                    let Ok(ticket) = state.stores.tickets.ticket(id).await else { continue };
                    if ticket.team != slug {
                        continue;
                    }
                    let shown = card(&ticket, contact_name(&state, &ticket).await);
                    match Event::default().event("card").json_data(&shown) {
                        Ok(event) => event,
                        Err(_) => continue,
                    }
                }
            };
            if sender.send(sent).await.is_err() {
                return;
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

/// A stream fed by a task: the task ends when the stream is dropped (the
/// browser went away), because its next send fails.
fn async_stream<F, Fut>(body: F) -> impl Stream<Item = Result<Event, Infallible>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<Event>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (sender, receiver) = tokio::sync::mpsc::channel(64);
    tokio::spawn(body(sender));
    futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|event| (Ok(event), receiver))
    })
}
