//! `log`: guest log lines into `tracing`, tagged with plugin and team.

use crate::bindings::channel::switchboard::plugin::log::{Host, Level};
use crate::host::HostState;

/// The longest log line kept.
const MAX_LOG_LINE: usize = 4096;

impl Host for HostState {
    async fn log(&mut self, level: Level, message: String) {
        let mut message = message;
        if message.len() > MAX_LOG_LINE {
            let mut cut = MAX_LOG_LINE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
        }
        let (plugin, team) = (&self.scope.plugin, &self.scope.team);
        match level {
            Level::Trace => tracing::trace!(plugin = %plugin, team = %team, "{message}"),
            Level::Debug => tracing::debug!(plugin = %plugin, team = %team, "{message}"),
            Level::Info => tracing::info!(plugin = %plugin, team = %team, "{message}"),
            Level::Warn => tracing::warn!(plugin = %plugin, team = %team, "{message}"),
            Level::Error => tracing::error!(plugin = %plugin, team = %team, "{message}"),
        }
    }
}
