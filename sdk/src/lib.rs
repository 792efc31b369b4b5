//! Write Switchboard plugins in Rust.
//!
//! A plugin is a WebAssembly component that Switchboard runs in a sandbox.
//! A **channel** brings customers in: it answers HTTP requests on its public
//! route and opens tickets. A **robot** acts on a ticket. Pick the kind with
//! a cargo feature (`channel` or `robot`), implement [`Channel`] or
//! [`Robot`], and export it with [`export_channel!`] or [`export_robot!`]:
//!
//! ```ignore
//! use switchboard_sdk::{Channel, Info, PluginError, http::{Request, Response}};
//!
//! struct Hello;
//!
//! impl Channel for Hello {
//!     type Settings = serde_json::Value;
//!     fn describe() -> Info { Info::new("Hello", "Says hello") }
//!     fn handle_http(_: Self::Settings, _: Request) -> Result<Response, PluginError> {
//!         Ok(Response::text(200, "hello"))
//!     }
//! }
//!
//! switchboard_sdk::export_channel!(Hello);
//! ```
//!
//! A channel that also receives the team's e-mail enables the feature
//! `mail` and implements [`MailChannel`] too (see the `mail` module); a
//! live chat channel enables `chat` and implements [`ChatChannel`] (see
//! the `chat` module).
//!
//! A robot that runs on team stages enables `stage` and implements
//! [`StageRobot`] too (see the `stage` module).
//!
//! Build with `cargo build --target wasm32-wasip2 --release`. Host calls
//! ([`host`]) reach Switchboard in WebAssembly; under plain `cargo test`
//! they reach a fake host ([`testing::FakeHost`]) that keeps tickets,
//! storage, rate limits, canned HTTP answers and secrets, so a plugin's
//! whole logic tests natively.

#[cfg(all(feature = "mail", feature = "chat"))]
compile_error!("enable one of the features `mail` and `chat`, not both: each is a world of its own");
#[cfg(all(feature = "channel", feature = "robot"))]
compile_error!("enable one of the features `channel` and `robot`, not both: a component is one kind of plugin");
#[cfg(not(any(feature = "channel", feature = "robot")))]
compile_error!("enable the feature `channel` or `robot` to say which kind of plugin this is");

pub mod bindings;
#[cfg(feature = "channel")]
mod channel;
#[cfg(feature = "chat")]
pub mod chat;
pub mod compose;
mod error;
pub mod host;
pub mod http;
mod info;
pub mod lang;
#[cfg(feature = "mail")]
pub mod mail;
#[cfg(feature = "robot")]
mod robot;
pub mod settings;
#[cfg(feature = "stage")]
pub mod stage;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;
#[cfg(all(feature = "chat", not(target_arch = "wasm32")))]
mod testing_chat;

#[cfg(feature = "channel")]
pub use channel::Channel;
#[cfg(feature = "chat")]
pub use chat::ChatChannel;
pub use error::PluginError;
pub use info::Info;
#[cfg(feature = "mail")]
pub use mail::MailChannel;
#[cfg(feature = "robot")]
pub use robot::{Outcome, Robot, RunContext, TeamRef};
#[cfg(feature = "stage")]
pub use stage::StageRobot;

/// The WIT types plugins see: tickets, contacts, messages, priorities.
pub mod types {
    pub use crate::bindings::switchboard::plugin::types::{
        AttachmentContent, Company, Contact, ContactInfo, DroppedFile, Email, Message, MessageKind, NewAttachment,
        NewEntry, NewTicket, Phone, PointKind, Priority, Ticket,
    };
}

/// Glue used by the export macros; not part of the API.
#[doc(hidden)]
pub mod __glue {
    #[cfg(feature = "channel")]
    pub use crate::channel::glue as channel;
    #[cfg(feature = "chat")]
    pub use crate::chat::glue as chat;
    #[cfg(feature = "mail")]
    pub use crate::mail::glue as mail;
    #[cfg(feature = "robot")]
    pub use crate::robot::glue as robot;
    #[cfg(feature = "stage")]
    pub use crate::stage::glue as stage;
}
