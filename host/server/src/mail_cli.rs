//! `switchboard mail …`: the mail the host gave up on, listed and run
//! again through the HTTP API, as `plugin` does for plugins.

use clap::Subcommand;

use crate::plugin_cli::{ApiArgs, finish};

#[derive(Subcommand)]
pub enum MailCommand {
    /// List the messages a team's e-mail channel failed on until the host
    /// gave up, with why.
    Failed {
        /// The team's slug.
        #[arg(long)]
        team: String,
    },
    /// Hand a failed message to the team's e-mail channel again.
    Retry {
        /// The team's slug.
        #[arg(long)]
        team: String,
        /// The message's receipt, as `failed` lists it.
        receipt: u64,
    },
}

pub async fn run(api: ApiArgs, command: MailCommand) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let response = match command {
        MailCommand::Failed { team } => {
            api.send(client.get(api.url(&format!("/api/teams/{team}/mail/failed")))).await?
        }
        MailCommand::Retry { team, receipt } => {
            api.send(client.post(api.url(&format!("/api/teams/{team}/mail/failed/{receipt}/retry")))).await?
        }
    };
    finish(response).await
}
