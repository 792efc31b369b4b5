//! Making what sled flushed stable on disk: the blob files it made since
//! the last flush, the directory that names them, and the log's data.
//!
//! sled 0.34 makes its log stable with `sync_file_range`, which flushes
//! neither the disk's write cache nor the file's metadata, and it never
//! syncs blob files (records over a quarter of a segment, 128 KiB by
//! default). The flusher calls [`Syncer::sync`] after every `db.flush()`,
//! before any writer is told its write is durable.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};

/// Makes what sled flushed stable on disk.
pub(crate) struct Syncer {
    /// The log file, opened for syncing.
    log: File,
    blobs: PathBuf,
    /// Blob files already synced.
    synced: HashSet<OsString>,
    /// Tells of files made in the blob directory since it was last read
    /// (see [`BlobWatch`]); without it, the directory is read every time.
    watch: Option<BlobWatch>,
    /// Whether the next sync must read the blob directory whatever the
    /// watch says: the first one, for the blobs made before the watch.
    rescan: bool,
    /// How often the blob directory was read, for tests.
    scans: u64,
}

impl Syncer {
    pub(crate) fn open(dir: &Path) -> std::io::Result<Syncer> {
        // sled creates its files before it returns from `open`; the
        // directory entries themselves are made stable here, once.
        File::open(dir)?.sync_all()?;
        let blobs = dir.join("blobs");
        // The watch starts before the first sync reads the directory, so
        // that no file made in between goes unnoticed.
        let watch = BlobWatch::start(&blobs);
        Ok(Syncer { log: File::open(dir.join("db"))?, blobs, synced: HashSet::new(), watch, rescan: true, scans: 0 })
    }

    /// Syncs blob files written since the last call (and, if there were
    /// any, the directory that names them), then the log's data.
    pub(crate) fn sync(&mut self) -> std::io::Result<()> {
        crate::failpoint::check("sync")?;
        // Every blob of the writes this flush covers was made before the
        // flush began, so its event is queued by now.
        let changed = self.watch.as_mut().is_none_or(BlobWatch::changed);
        if changed || self.rescan {
            self.sync_blobs()?;
            self.rescan = false;
        }
        if cfg!(feature = "measure-without-sync") {
            return Ok(());
        }
        self.log.sync_data()
    }

    /// Syncs the blob files not synced yet and, if there were any, the
    /// directory that names them.
    fn sync_blobs(&mut self) -> std::io::Result<()> {
        self.scans += 1;
        let mut seen = HashSet::new();
        let mut new = false;
        if let Ok(entries) = std::fs::read_dir(&self.blobs) {
            for entry in entries {
                let entry = entry?;
                let name = entry.file_name();
                if !self.synced.contains(&name) {
                    File::open(entry.path())?.sync_all()?;
                    new = true;
                }
                seen.insert(name);
            }
        }
        if new {
            File::open(&self.blobs)?.sync_all()?;
        }
        // Names of blobs sled has since removed are forgotten.
        self.synced = seen;
        Ok(())
    }
}

/// An inotify watch on the blob directory. Reading the directory on every
/// flush cost about as much CPU as sled's own flush (an open, two
/// `getdents` and a close); sled makes a blob only for a record larger
/// than a quarter of a segment, so almost every flush has none, and one
/// `read` that finds no event is enough to know it.
struct BlobWatch {
    #[cfg(target_os = "linux")]
    fd: rustix::fd::OwnedFd,
}

impl BlobWatch {
    /// Starts watching `dir` for files made, written or moved in, or
    /// `None` where that cannot be done (another system, or the user's
    /// inotify limit reached): then every sync reads the directory.
    fn start(dir: &Path) -> Option<BlobWatch> {
        #[cfg(target_os = "linux")]
        {
            use rustix::fs::inotify;
            let fd = inotify::init(inotify::CreateFlags::NONBLOCK | inotify::CreateFlags::CLOEXEC).ok()?;
            let events = inotify::WatchFlags::CREATE
                | inotify::WatchFlags::MOVED_TO
                | inotify::WatchFlags::MODIFY
                | inotify::WatchFlags::CLOSE_WRITE;
            match inotify::add_watch(&fd, dir, events) {
                Ok(_) => Some(BlobWatch { fd }),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot watch the blob directory; it is read at every flush");
                    None
                }
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = dir;
            None
        }
    }

    /// Whether anything happened in the directory since the last call
    /// (a lost event, as after a queue overflow, counts as something).
    fn changed(&mut self) -> bool {
        #[cfg(target_os = "linux")]
        {
            let mut buf = [0u8; 4096];
            let mut changed = false;
            loop {
                match rustix::io::read(&self.fd, &mut buf) {
                    Ok(0) => return changed,
                    Ok(_) => changed = true,
                    Err(rustix::io::Errno::AGAIN) => return changed,
                    Err(rustix::io::Errno::INTR) => {}
                    Err(_) => return true,
                }
            }
        }
        #[cfg(not(target_os = "linux"))]
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_files_are_synced_when_made_and_the_directory_is_read_only_then() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("db"), b"log").expect("log");
        let blobs = dir.path().join("blobs");
        std::fs::create_dir(&blobs).expect("blobs");
        std::fs::write(blobs.join("7"), b"from before").expect("old blob");
        let mut syncer = Syncer::open(dir.path()).expect("open");
        assert!(syncer.watch.is_some(), "the blob directory is watched");
        syncer.sync().expect("sync");
        assert_eq!(syncer.scans, 1, "the first sync reads the directory");
        assert!(syncer.synced.contains(&OsString::from("7")), "a blob from before is synced");
        syncer.sync().expect("sync");
        assert_eq!(syncer.scans, 1, "nothing was made: the directory is not read again");
        std::fs::write(blobs.join("8"), b"new").expect("new blob");
        syncer.sync().expect("sync");
        assert_eq!(syncer.scans, 2, "a new blob is noticed");
        assert!(syncer.synced.contains(&OsString::from("8")), "and synced");
        syncer.sync().expect("sync");
        assert_eq!(syncer.scans, 2);
        // A blob sled removes is forgotten at the next read.
        std::fs::remove_file(blobs.join("7")).expect("remove");
        std::fs::write(blobs.join("9"), b"newer").expect("newer blob");
        syncer.sync().expect("sync");
        assert!(!syncer.synced.contains(&OsString::from("7")));
        assert!(syncer.synced.contains(&OsString::from("9")));
    }
}
