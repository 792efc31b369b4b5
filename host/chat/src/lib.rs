//! Switchboard's conversation hub: live chat between a website visitor,
//! a chatbot and operators, whichever servers they are connected to.
//!
//! Every message is written through the store first, where it gets its
//! conversation's next sequence number, and only then announced on the
//! bus as a hint ("conversation 7 has message 12"). A connection does not
//! take its messages from the bus: it follows a conversation from the last
//! number it has seen and reads what came after from the store whenever a
//! hint wakes it. So a visitor on one server and an operator on another
//! see the same messages in the same order, a hint that is lost (the bus
//! was down, a reader fell behind) only delays a message until the next
//! hint, the bus's gap report, or the follower's own periodic look, and a
//! client that reconnects with its last number misses nothing.
//!
//! The websockets that carry this to browsers live in the server; this
//! crate knows nothing of HTTP.

mod error;
mod follow;
mod hub;

pub use error::ChatError;
pub use follow::{Follower, TeamEvent, TeamFollower, Update};
pub use hub::Hub;
