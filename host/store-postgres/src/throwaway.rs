//! A private, throwaway PostgreSQL server for tests and benchmarks: its own
//! data directory in a temporary folder, its own free loopback port, and
//! stopped when dropped. Nothing here depends on a server someone else
//! started.
//!
//! PostgreSQL refuses to run as root, so when the tests run as root (as CI
//! does) the server runs as the `postgres` account Debian's package
//! creates, through `setpriv`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running PostgreSQL server that is deleted when dropped.
#[derive(Debug)]
pub struct TempPostgres {
    child: Child,
    reaper: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    databases: std::sync::atomic::AtomicU32,
}

/// Where Debian keeps the server's programs: the newest major version.
fn bin_dir() -> Result<PathBuf, String> {
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .map_err(|e| format!("PostgreSQL is not installed ({}: {e}); run scripts/setup.sh", root.display()))?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, bin)| bin.join("postgres").exists())
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).ok_or_else(|| format!("no PostgreSQL server under {}", root.display()))
}

/// Whether this process runs as root, which PostgreSQL refuses.
fn is_root() -> bool {
    std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0).unwrap_or(false)
}

/// A command that runs `program` as an account PostgreSQL accepts.
fn as_server_user(program: &Path) -> Command {
    if is_root() {
        // `setpriv` changes user and then runs the program in its own
        // process (unlike `runuser`, which stays as its parent), so that
        // the pid this keeps is the server's own.
        let mut command = Command::new("setpriv");
        command.args(["--reuid=postgres", "--regid=postgres", "--clear-groups", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

/// A free loopback port, as the kernel hands one out.
fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| format!("no free port: {e}"))
}

impl TempPostgres {
    /// Makes a data directory and starts a server on it, waiting until it
    /// accepts connections.
    pub fn start() -> Result<TempPostgres, String> {
        let bin = bin_dir()?;
        let dir = tempfile::Builder::new().prefix("switchboard-pg-").tempdir().map_err(|e| e.to_string())?;
        if is_root() {
            let status = Command::new("chown").arg("-R").arg("postgres:").arg(dir.path()).status();
            if !status.is_ok_and(|s| s.success()) {
                return Err(format!("cannot hand {} to the postgres account", dir.path().display()));
            }
        }
        let data = dir.path().join("data");
        let output = as_server_user(&bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", "switchboard", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"])
            .output()
            .map_err(|e| format!("cannot run initdb: {e}"))?;
        if !output.status.success() {
            return Err(format!("initdb failed: {}", String::from_utf8_lossy(&output.stderr)));
        }
        let port = free_port()?;
        let child = as_server_user(&bin.join("postgres"))
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", dir.path().display()))
            .args(["-c", "shared_buffers=32MB", "-c", "max_connections=200", "-c", "fsync=on"])
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(dir.path().join("server.log")).map_err(|e| format!("cannot make a log: {e}"))?,
            ))
            .spawn()
            .map_err(|e| format!("cannot start postgres: {e}"))?;
        let reaper = reaper(child.id(), dir.path());
        let server = TempPostgres { child, reaper, port, dir, databases: 0.into() };
        server.wait_ready()?;
        Ok(server)
    }

    fn wait_ready(&self) -> Result<(), String> {
        let pg_isready = bin_dir()?.join("pg_isready");
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                // The port opens a moment before the server accepts
                // sessions; `pg_isready` says when it does.
                let ready = Command::new(&pg_isready)
                    .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "switchboard", "-d", "postgres"])
                    .stdout(Stdio::null())
                    .status();
                if ready.is_ok_and(|s| s.success()) {
                    return Ok(());
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let log = std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
        Err(format!("postgres did not start within 30 s: {log}"))
    }

    /// A server shared by every caller in this process, started by the
    /// first. It lives as long as the process: when the process ends (or
    /// is killed), the reaper started with it stops it and removes its
    /// directory. Tests that each need an empty database take one with
    /// [`TempPostgres::new_database`] instead of paying for a server each.
    pub fn shared() -> Result<&'static TempPostgres, String> {
        static SHARED: std::sync::OnceLock<TempPostgres> = std::sync::OnceLock::new();
        static STARTING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _one_at_a_time = STARTING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(server) = SHARED.get() {
            return Ok(server);
        }
        let server = TempPostgres::start()?;
        Ok(SHARED.get_or_init(|| server))
    }

    /// The URL of database `name` on this server.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://switchboard@127.0.0.1:{}/{name}", self.port)
    }

    /// Makes a new, empty database and returns its URL.
    pub fn new_database(&self) -> Result<String, String> {
        let n = self.databases.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("switchboard_{n}");
        let status = Command::new(bin_dir()?.join("createdb"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "switchboard", &name])
            .status()
            .map_err(|e| format!("cannot run createdb: {e}"))?;
        if !status.success() {
            return Err(format!("createdb {name} failed"));
        }
        Ok(self.url(&name))
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's log so far, for a failing test to show.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }
}

/// A watcher that stops the server and removes its directory once this
/// process is gone, however it ended: a test binary killed mid-run, or a
/// server kept for the whole process (see [`TempPostgres::shared`]), whose
/// `Drop` never runs.
fn reaper(server: u32, dir: &Path) -> Option<Child> {
    let script = format!(
        "while kill -0 {parent} 2>/dev/null; do sleep 0.5; done; kill -INT {server} 2>/dev/null; \
         for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 {server} 2>/dev/null || break; sleep 0.5; done; \
         kill -KILL {server} 2>/dev/null; rm -rf '{dir}'",
        parent = std::process::id(),
        dir = dir.display(),
    );
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        if let Some(mut reaper) = self.reaper.take() {
            let _ = reaper.kill();
            let _ = reaper.wait();
        }
        // SIGINT is PostgreSQL's fast shutdown.
        let _ = Command::new("kill").args(["-INT", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
