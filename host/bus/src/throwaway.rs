//! A private, throwaway `nats-server` (with JetStream, as production runs
//! it) for tests and benchmarks: its own store directory, its own free
//! loopback port, stopped when dropped or when the process ends.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running NATS server that is stopped when dropped.
#[derive(Debug)]
pub struct TempNats {
    child: Option<Child>,
    reaper: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
}

impl TempNats {
    /// Starts a server on a free port and waits until it accepts clients.
    pub fn start() -> Result<TempNats, String> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
        let port = listener.local_addr().map_err(|e| format!("no free port: {e}"))?.port();
        drop(listener);
        let dir = tempfile::Builder::new().prefix("switchboard-nats-").tempdir().map_err(|e| e.to_string())?;
        let mut server = TempNats { child: None, reaper: None, port, dir };
        server.resume()?;
        Ok(server)
    }

    /// Stops the server at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut reaper) = self.reaper.take() {
            let _ = reaper.kill();
            let _ = reaper.wait();
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and store directory.
    pub fn resume(&mut self) -> Result<(), String> {
        let program = ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .ok_or("nats-server is not installed; run scripts/setup.sh")?;
        let child = Command::new(program)
            .args(["-js", "-a", "127.0.0.1", "-p", &self.port.to_string(), "-sd"])
            .arg(self.dir.path().join("jetstream"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start nats-server: {e}"))?;
        let script = format!(
            "while kill -0 {parent} 2>/dev/null; do sleep 0.5; done; kill -KILL {server} 2>/dev/null",
            parent = std::process::id(),
            server = child.id(),
        );
        self.reaper = Command::new("sh").arg("-c").arg(script).stdin(Stdio::null()).spawn().ok();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!("nats-server did not listen on port {} within 20 s", self.port))
    }

    /// The URL clients connect to.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

impl Drop for TempNats {
    fn drop(&mut self) {
        self.kill();
    }
}
