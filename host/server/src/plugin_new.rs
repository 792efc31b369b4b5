//! `switchboard plugin new`: a ready plugin project, so that an integrator's
//! first hour goes into their plugin, not into setting one up. The project
//! builds for `wasm32-wasip2` and installs unchanged; its logic sits in a
//! plain function with a test, as the SDK advises.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// The kind of plugin to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// Customers reach a team through it (a public HTTP route).
    Channel,
    /// It acts on a ticket when run.
    Robot,
}

/// The lock files of the examples, so that a new project builds with the
/// dependency versions the examples are tested with.
const CHANNEL_LOCK: &str = include_str!("../../../examples/hello-channel/Cargo.lock");
const ROBOT_LOCK: &str = include_str!("../../../examples/hello-robot/Cargo.lock");

/// The SDK of the source tree this binary was built from.
fn default_sdk() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sdk")
}

/// Writes the project `name` of `kind` into `dir` (default `./<name>`).
pub fn run(kind: Kind, name: &str, dir: Option<PathBuf>, sdk: Option<PathBuf>) -> anyhow::Result<()> {
    switchboard_core::validate_plugin_id(name).map_err(|e| anyhow::anyhow!("{e}"))?;
    let dir = dir.unwrap_or_else(|| PathBuf::from(name));
    if dir.exists() && dir.read_dir().map(|mut d| d.next().is_some()).unwrap_or(true) {
        bail!("\"{}\" exists and is not empty; choose another --dir", dir.display());
    }
    let sdk = sdk.unwrap_or_else(default_sdk);
    let sdk = sdk.canonicalize().with_context(|| {
        format!("no SDK at \"{}\"; pass --sdk <path to the sdk folder of a Switchboard checkout>", sdk.display())
    })?;
    if !sdk.join("Cargo.toml").is_file() {
        bail!("\"{}\" is not the SDK: it has no Cargo.toml", sdk.display());
    }
    let wit = switchboard_runtime::SUPPORTED_WIT.last().copied().unwrap_or("0.1.0");
    let fill = |template: &str| {
        template
            .replace("{name}", name)
            .replace("{crate}", &name.replace('-', "_"))
            .replace("{sdk}", &sdk.display().to_string())
            .replace("{wit}", wit)
            .replace(
                "{kind}",
                match kind {
                    Kind::Channel => "channel",
                    Kind::Robot => "robot",
                },
            )
    };
    let (lib, manifest, lock, readme) = match kind {
        Kind::Channel => (CHANNEL_LIB, CHANNEL_MANIFEST, CHANNEL_LOCK, CHANNEL_README),
        Kind::Robot => (ROBOT_LIB, ROBOT_MANIFEST, ROBOT_LOCK, ROBOT_README),
    };
    let lock = lock.replace(
        match kind {
            Kind::Channel => "name = \"hello-channel\"",
            Kind::Robot => "name = \"hello-robot\"",
        },
        &format!("name = \"{name}\""),
    );
    let files: [(&str, String); 6] = [
        ("Cargo.toml", fill(CARGO_TOML)),
        ("Cargo.lock", lock),
        ("plugin.toml", fill(manifest)),
        ("src/lib.rs", fill(lib)),
        ("README.md", fill(readme)),
        (".gitignore", "/target\n".to_owned()),
    ];
    std::fs::create_dir_all(dir.join("src")).with_context(|| format!("cannot create \"{}\"", dir.display()))?;
    for (file, text) in files {
        let path = dir.join(file);
        std::fs::write(&path, text).with_context(|| format!("cannot write \"{}\"", path.display()))?;
    }
    println!("made the {} \"{name}\" in {}", fill("{kind}"), dir.display());
    println!("next: cd {} && cargo test && cargo build --target wasm32-wasip2 --release", dir.display());
    println!("then: see README.md there to install it and open a first ticket");
    Ok(())
}

const CARGO_TOML: &str = r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
publish = false

# A plugin is its own workspace: build it from this directory with
# `cargo build --target wasm32-wasip2 --release`.
[workspace]

[lib]
crate-type = ["cdylib"]

[dependencies]
serde = { version = "1", features = ["derive"] }
serde_json = "1"
switchboard-sdk = { path = "{sdk}", features = ["{kind}"] }

[profile.release]
opt-level = "s"
lto = true
strip = true
codegen-units = 1
"#;

const CHANNEL_MANIFEST: &str = r#"# What Switchboard reads when this plugin is installed; every key is
# described in docs/plugin-toml.md of Switchboard.
id = "{name}"
name = "{name}"
version = "0.1.0"
kind = "channel"
vendor = "Your name"
wit = "{wit}"
capabilities = ["tickets"]

[settings_schema]
type = "object"
additionalProperties = false

[settings_schema.properties.title_prefix]
type = "string"
description = "Put in front of every ticket title"
"#;

const CHANNEL_LIB: &str = r##"//! {name}: a Switchboard channel. `POST /c/<team>/{name}/` with a JSON
//! body `{"title": "…", "description": "…"}` opens a ticket.

use serde::Deserialize;
use switchboard_sdk::host::tickets;
use switchboard_sdk::http::{Request, Response};
use switchboard_sdk::types::NewTicket;
use switchboard_sdk::{Channel, Info, PluginError};

/// The installation's settings, as `plugin.toml`'s schema describes them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Put in front of every ticket title.
    #[serde(default)]
    pub title_prefix: String,
}

/// What a customer posts.
#[derive(Debug, Deserialize)]
pub struct Submission {
    /// The ticket's title.
    pub title: String,
    /// What the customer asks.
    #[serde(default)]
    pub description: String,
}

/// The ticket a request opens, or why it cannot. Plain logic, tested below
/// without a server.
pub fn ticket_for(settings: &Settings, request: &Request) -> Result<NewTicket, String> {
    let submission: Submission = request.json()?;
    if submission.title.trim().is_empty() {
        return Err("title: must not be empty".into());
    }
    Ok(NewTicket {
        title: format!("{}{}", settings.title_prefix, submission.title.trim()),
        description: submission.description,
        priority: None,
        contact: None,
        external_key: None,
    })
}

struct Plugin;

impl Channel for Plugin {
    type Settings = Settings;

    fn describe() -> Info {
        Info::new("{name}", "Opens a ticket from a POSTed JSON body")
    }

    fn handle_http(settings: Settings, request: Request) -> Result<Response, PluginError> {
        if request.method != "POST" {
            return Ok(Response::text(405, "POST a JSON body with a title\n").with_header("allow", "POST"));
        }
        match ticket_for(&settings, &request) {
            Ok(ticket) => {
                let ticket = tickets::create(&ticket)?;
                Ok(Response::json(201, &serde_json::json!({"ticket": ticket.id})))
            }
            Err(why) => Ok(Response::json(422, &serde_json::json!({"error": why}))),
        }
    }
}

switchboard_sdk::export_channel!(Plugin);

#[cfg(test)]
mod tests {
    use super::*;

    fn post(body: &str) -> Request {
        Request {
            method: "POST".into(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.as_bytes().to_vec(),
            ..Request::default()
        }
    }

    #[test]
    fn a_title_makes_a_ticket() {
        let settings = Settings { title_prefix: "[web] ".into() };
        let ticket = ticket_for(&settings, &post(r#"{"title": "Help"}"#)).expect("ticket");
        assert_eq!(ticket.title, "[web] Help");
        assert!(ticket_for(&settings, &post(r#"{"title": " "}"#)).is_err());
    }

    /// The whole request, host calls included, against the SDK's fake host.
    #[test]
    fn a_post_opens_a_ticket() {
        let host = switchboard_sdk::testing::FakeHost::start();
        let response = Plugin::handle_http(Settings::default(), post(r#"{"title": "Help"}"#)).expect("handled");
        assert_eq!(response.status, 201);
        assert_eq!(host.tickets()[0].title, "Help");
    }
}
"##;

const CHANNEL_README: &str = r#"# {name}

A Switchboard channel made by `switchboard plugin new`.

```sh
cargo test                                             # the logic, natively
cargo build --target wasm32-wasip2 --release           # the component
switchboard plugin install --manifest plugin.toml \
    --component target/wasm32-wasip2/release/{crate}.wasm
switchboard plugin enable {name} --team <team> --grant tickets
curl -X POST http://127.0.0.1:8080/c/<team>/{name}/ \
    -H 'content-type: application/json' -d '{"title": "My first ticket"}'
```
"#;

const ROBOT_MANIFEST: &str = r#"# What Switchboard reads when this plugin is installed; every key is
# described in docs/plugin-toml.md of Switchboard.
id = "{name}"
name = "{name}"
version = "0.1.0"
kind = "robot"
vendor = "Your name"
wit = "{wit}"
capabilities = ["tickets"]

[settings_schema]
type = "object"
additionalProperties = false

[settings_schema.properties.note]
type = "string"
maxLength = 1000
description = "The note to add; {ticket} is replaced by the ticket's number"
"#;

const ROBOT_LIB: &str = r#"//! {name}: a Switchboard robot. Run on a ticket, it adds an internal note.

use serde::Deserialize;
use switchboard_sdk::host::tickets;
use switchboard_sdk::types::MessageKind;
use switchboard_sdk::{Info, Outcome, Robot, RunContext};

/// The installation's settings, as `plugin.toml`'s schema describes them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The note to add.
    #[serde(default = "default_note")]
    pub note: String,
}

fn default_note() -> String {
    "{name} ran on ticket {ticket}".into()
}

/// The note for a ticket. Plain logic, tested below without a server.
pub fn note_for(settings: &Settings, ticket: u64) -> String {
    settings.note.replace("{ticket}", &ticket.to_string())
}

struct Plugin;

impl Robot for Plugin {
    type Settings = Settings;

    fn describe() -> Info {
        Info::new("{name}", "Adds a note to the ticket")
    }

    fn run(settings: Settings, context: RunContext) -> Outcome {
        let note = note_for(&settings, context.ticket.id);
        match tickets::append_message(context.ticket.id, MessageKind::Note, &note) {
            Ok(_) => Outcome::Done,
            Err(e) => Outcome::Failed(e),
        }
    }
}

switchboard_sdk::export_robot!(Plugin);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_note_names_the_ticket() {
        let settings = Settings { note: default_note() };
        assert_eq!(note_for(&settings, 7), "{name} ran on ticket 7");
    }

    /// A run, host calls included, against the SDK's fake host.
    #[test]
    fn a_run_adds_the_note() {
        use switchboard_sdk::types::NewTicket;
        let host = switchboard_sdk::testing::FakeHost::start();
        let ticket = tickets::create(&NewTicket {
            title: "Help".into(),
            description: String::new(),
            priority: None,
            contact: None,
            external_key: None,
        })
        .expect("ticket");
        let context = switchboard_sdk::testing::run_context(ticket);
        assert!(matches!(Plugin::run(Settings { note: default_note() }, context), Outcome::Done));
        assert_eq!(host.messages(1)[0].body, "{name} ran on ticket 1");
    }
}
"#;

const ROBOT_README: &str = r#"# {name}

A Switchboard robot made by `switchboard plugin new`.

```sh
cargo test                                             # the logic, natively
cargo build --target wasm32-wasip2 --release           # the component
switchboard plugin install --manifest plugin.toml \
    --component target/wasm32-wasip2/release/{crate}.wasm
switchboard plugin enable {name} --team <team> --grant tickets
curl -X POST http://127.0.0.1:8080/api/tickets/<ticket>/robots/{name} \
    -H "authorization: Bearer $SWITCHBOARD_TOKEN"
```
"#;
