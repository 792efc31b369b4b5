//! Guest stdout and stderr, turned into `tracing` events tagged with the
//! plugin and team, one event per line.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// The longest line kept; the rest of a longer line is dropped.
const MAX_LINE: usize = 4096;

/// Which stream the output came from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Which {
    Stdout,
    Stderr,
}

/// A guest output stream that logs lines.
#[derive(Clone)]
pub(crate) struct GuestOutput {
    which: Which,
    plugin: Arc<str>,
    team: Arc<str>,
    pending: Arc<Mutex<Vec<u8>>>,
}

impl GuestOutput {
    pub(crate) fn new(which: Which, plugin: Arc<str>, team: Arc<str>) -> Self {
        GuestOutput { which, plugin, team, pending: Arc::default() }
    }

    fn emit(&self, line: &[u8]) {
        let text = String::from_utf8_lossy(line);
        let text = text.trim_end_matches('\r');
        match self.which {
            Which::Stdout => {
                tracing::info!(plugin = %self.plugin, team = %self.team, stream = "stdout", "{text}")
            }
            Which::Stderr => {
                tracing::warn!(plugin = %self.plugin, team = %self.team, stream = "stderr", "{text}")
            }
        }
    }

    fn push(&self, bytes: &[u8]) {
        let mut pending = self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for &b in bytes {
            if b == b'\n' {
                self.emit(&pending);
                pending.clear();
            } else if pending.len() < MAX_LINE {
                pending.push(b);
            }
        }
    }

    fn flush_partial(&self) {
        let mut pending = self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !pending.is_empty() {
            self.emit(&pending);
            pending.clear();
        }
    }
}

impl Drop for GuestOutput {
    fn drop(&mut self) {
        // The last clone logs a final line that had no newline.
        if Arc::strong_count(&self.pending) == 1 {
            self.flush_partial();
        }
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[async_trait::async_trait]
impl Pollable for GuestOutput {
    async fn ready(&mut self) {}
}

impl OutputStream for GuestOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 * 1024)
    }
}

impl AsyncWrite for GuestOutput {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.flush_partial();
        Poll::Ready(Ok(()))
    }
}
