//! Switchboard's domain rules as plain Rust.
//!
//! This crate knows teams, stages, tickets, priorities, SLA policies,
//! contacts, messages and users. It does no I/O: it never reads the clock,
//! never allocates ids and never touches a disk or a socket. Callers pass
//! the current time and fresh ids in, which keeps every rule deterministic
//! and testable on its own.

mod address;
mod attachment;
mod contact;
mod conversation;
mod error;
mod inbound;
mod message;
mod plugin;
mod presence;
mod priority;
mod rate;
mod session;
mod sla;
mod slug;
mod stage;
mod stage_robots;
mod team;
mod text;
mod ticket;
mod transcript;
mod trigger;
mod user;

pub use address::{normalize_email, normalize_mailbox, normalize_phone};
pub use attachment::{
    Attachment, AttachmentContent, AttachmentDraft, MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS, check_attachments,
};
pub use contact::{Company, Contact, ContactDraft, Email, Phone, PointKind};
pub use conversation::{
    ChatMessage, Conversation, ConversationChange, ConversationDraft, ConversationId, ConversationOrigin,
    ConversationState, Expect, MAX_CHAT_MESSAGE_LEN, MAX_CHOICE_LEN, MAX_CHOICES, Speaker,
};
pub use error::CoreError;
pub use inbound::{ChatDelivery, ChatDeliveryState, InboundDraft, MAX_INBOUND_KEY_LEN};
pub use message::{Author, Delivery, DeliveryState, Message, MessageDraft, MessageKind};
pub use plugin::{
    Capability, Installation, Limits, Manifest, PluginKind, PluginRecord, PublicLimits, parse_version,
    validate_plugin_id,
};
pub use presence::{ONLINE_FOR, Presence};
pub use priority::Priority;
pub use rate::{KeyedBuckets, TokenBucket};
pub use session::{MAX_SESSION_LABEL, SESSION_LASTS, Session};
pub use sla::{MAX_SLA_HOURS, MIN_SLA_HOURS, Sla, SlaPolicy, SlaPolicyDraft, SlaStatus};
pub use slug::{MAX_SLUG_LEN, slugify, validate_local_part, validate_slug};
pub use stage::{Stage, StageId};
pub use stage_robots::{
    MAX_ROBOT_DELAY_SECONDS, MAX_ROBOT_SETTINGS_LEN, MAX_STAGE_ROBOTS, StageRobot, check_stage_robots,
};
pub use team::{Team, TeamDraft};
pub use text::{MAX_NAME_LEN, clean_name, is_bidi_control, line_problem};
pub use ticket::{
    Assignee, MAX_KEYS_PER_CALL, MAX_THREAD_KEYS, Ticket, TicketChange, TicketDraft, TicketId, TicketSortKey,
    check_external_key, check_external_keys,
};
pub use transcript::{MAX_TRANSCRIPT_LEN, chat_title, transcript};
pub use trigger::{MAX_AUTO_MOVES, MAX_TRIGGERS, Trigger, TriggerEvent, Triggered, WEB_FORM_ORIGIN};
pub use user::{MAX_TEAMS, Role, User, UserId};

/// A point in time, always passed in by the caller.
pub use jiff::Timestamp;

/// Where a ticket or message came from, such as `api`, `email` or a plugin id.
pub type Origin = String;
