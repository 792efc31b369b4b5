//! How long a call's guest has really been running, for its CPU budget.
//!
//! Wall time since the call started is not it: at every epoch tick the
//! guest yields so other requests can run on the thread, and on a busy
//! server it may then wait a long time before tokio polls it again. Time
//! spent waiting in host calls (a durable write, an outbound request) is
//! not the guest's either. So the clock runs only while the call's future
//! is being polled and no host call is in progress.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

#[derive(Debug)]
struct State {
    guest: Duration,
    since: Instant,
    polling: bool,
    in_host: bool,
}

impl State {
    /// Adds the time since the last switch if the guest was running.
    fn settle(&mut self, now: Instant) {
        if self.polling && !self.in_host {
            self.guest += now.saturating_duration_since(self.since);
        }
        self.since = now;
    }
}

/// A call's guest clock, shared by the future that runs the call and the
/// host state the imports and the epoch callback see.
#[derive(Debug, Clone)]
pub(crate) struct GuestClock(Arc<Mutex<State>>);

impl GuestClock {
    /// A stopped clock at zero.
    pub(crate) fn new() -> Self {
        GuestClock(Arc::new(Mutex::new(State {
            guest: Duration::ZERO,
            since: Instant::now(),
            polling: false,
            in_host: false,
        })))
    }

    fn switch(&self, change: impl FnOnce(&mut State)) {
        let mut state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        state.settle(Instant::now());
        change(&mut state);
    }

    /// A host import starts: its time is not the guest's.
    pub(crate) fn host_begin(&self) {
        self.switch(|s| s.in_host = true);
    }

    /// A host import returns to the guest.
    pub(crate) fn host_end(&self) {
        self.switch(|s| s.in_host = false);
    }

    /// The guest's running time so far.
    pub(crate) fn guest_time(&self) -> Duration {
        let mut state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        state.settle(Instant::now());
        state.guest
    }

    /// Runs `future` with the clock counting only while it is polled.
    pub(crate) fn meter<F: Future + Unpin>(&self, future: F) -> Metered<F> {
        Metered { future, clock: self.clone() }
    }
}

/// A future whose polls run the guest clock.
pub(crate) struct Metered<F> {
    future: F,
    clock: GuestClock,
}

impl<F: Future + Unpin> Future for Metered<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.clock.switch(|s| s.polling = true);
        let out = Pin::new(&mut self.future).poll(cx);
        self.clock.switch(|s| s.polling = false);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_polls_but_not_waits_or_host_calls() {
        let clock = GuestClock::new();
        let inner = clock.clone();
        let work = Box::pin(async move {
            std::thread::sleep(Duration::from_millis(30)); // the guest computing
            tokio::time::sleep(Duration::from_millis(100)).await; // not polled meanwhile
            inner.host_begin();
            std::thread::sleep(Duration::from_millis(100)); // a host call's own work
            inner.host_end();
        });
        clock.meter(work).await;
        let used = clock.guest_time();
        assert!(used >= Duration::from_millis(30) && used < Duration::from_millis(90), "{used:?}");
    }
}
