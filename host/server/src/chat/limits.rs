//! Caps on what one chat connection may send: the size of a frame and how
//! many frames a second.

use std::time::{Duration, Instant};

/// Caps on one connection.
#[derive(Debug, Clone, Copy)]
pub struct ChatLimits {
    /// The largest frame, in bytes.
    pub max_frame_bytes: usize,
    /// Frames a second a connection may send on average.
    pub frames_per_second: u32,
    /// Frames a connection may send at once above the average.
    pub burst: u32,
    /// Frames a second an operator's connection may send on average: an
    /// operator follows many conversations at once, and is known.
    pub operator_frames_per_second: u32,
    /// Frames an operator's connection may send at once.
    pub operator_burst: u32,
    /// How long a new connection has to send its first frame.
    pub first_frame_within: Duration,
}

impl Default for ChatLimits {
    /// 16 KiB frames (a message of 4,000 characters of four bytes each,
    /// and room for the rest), 5 a second with bursts of 20 for visitors,
    /// 50 a second with bursts of 2,000 for operators, 10 seconds to say
    /// hello.
    fn default() -> Self {
        ChatLimits {
            max_frame_bytes: 16 * 1024,
            frames_per_second: 5,
            burst: 20,
            operator_frames_per_second: 50,
            operator_burst: 2_000,
            first_frame_within: Duration::from_secs(10),
        }
    }
}

/// A token bucket for one connection's frames.
pub(crate) struct FrameBucket {
    tokens: f64,
    rate: f64,
    burst: f64,
    last: Instant,
}

impl FrameBucket {
    /// A full bucket for a visitor's connection.
    pub(crate) fn new(limits: &ChatLimits, now: Instant) -> Self {
        FrameBucket::with(limits.frames_per_second, limits.burst, now)
    }

    /// A full bucket for an operator's connection.
    pub(crate) fn operator(limits: &ChatLimits, now: Instant) -> Self {
        FrameBucket::with(limits.operator_frames_per_second, limits.operator_burst, now)
    }

    fn with(rate: u32, burst: u32, now: Instant) -> Self {
        let burst = f64::from(burst.max(1));
        FrameBucket { tokens: burst, rate: f64::from(rate), burst, last: now }
    }

    /// Takes one frame's token; false when the connection is over its rate.
    pub(crate) fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_rate_holds() {
        let limits = ChatLimits { frames_per_second: 5, burst: 3, ..ChatLimits::default() };
        let start = Instant::now();
        let mut bucket = FrameBucket::new(&limits, start);
        assert!((0..3).all(|_| bucket.take(start)));
        assert!(!bucket.take(start), "the burst is spent");
        assert!(bucket.take(start + Duration::from_millis(200)), "one more after a fifth of a second");
        assert!(!bucket.take(start + Duration::from_millis(210)));
    }
}
