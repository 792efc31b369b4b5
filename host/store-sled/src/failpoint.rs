//! Fault injection for tests: named points where the store can be made to
//! fail as a disk or a bug would, to check that it fails safe.
//!
//! A point is armed by the environment variable `SWITCHBOARD_FAILPOINTS`,
//! read once: a comma-separated list of `name=action`, where the action is
//! `error` (an I/O error, as a full or failing disk gives), `panic`,
//! `delay` (300 ms, as a slow disk takes, then carry on), or `hang` (an
//! hour: a disk that stopped answering). Plain,
//! it fires on every pass; preceded by `N*` it fires once, on pass N+1, such
//! as `sync=50*error`. The points are `sync` (making a flush stable),
//! `commit` (a transaction) and `writer` (a write on the writer thread).
//! Unarmed, a point costs a look at an empty list.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// What an armed point does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Error,
    Panic,
    Delay,
    Hang,
}

struct Point {
    name: String,
    /// Fire once, after this many passes; or every time.
    after: Option<u64>,
    action: Action,
    passes: AtomicU64,
}

fn points() -> &'static [Point] {
    static POINTS: OnceLock<Vec<Point>> = OnceLock::new();
    POINTS.get_or_init(|| {
        let spec = std::env::var("SWITCHBOARD_FAILPOINTS").unwrap_or_default();
        spec.split(',')
            .filter_map(|item| {
                let (name, action) = item.trim().split_once('=')?;
                let (after, action) = match action.split_once('*') {
                    Some((n, a)) => (Some(n.parse().ok()?), a),
                    None => (None, action),
                };
                let action = match action {
                    "error" => Action::Error,
                    "panic" => Action::Panic,
                    "delay" => Action::Delay,
                    "hang" => Action::Hang,
                    _ => return None,
                };
                tracing::warn!(point = name, ?action, ?after, "fail point armed");
                Some(Point { name: name.to_owned(), after, action, passes: AtomicU64::new(0) })
            })
            .collect()
    })
}

/// Passes point `name`: an error or a panic if it is armed and due.
pub(crate) fn check(name: &str) -> std::io::Result<()> {
    let Some(point) = points().iter().find(|p| p.name == name) else {
        return Ok(());
    };
    let pass = point.passes.fetch_add(1, Ordering::Relaxed);
    if point.after.is_some_and(|after| pass != after) {
        return Ok(());
    }
    match point.action {
        Action::Error => Err(std::io::Error::other(format!("fail point \"{name}\""))),
        Action::Panic => panic!("fail point \"{name}\""),
        Action::Delay => {
            std::thread::sleep(std::time::Duration::from_millis(300));
            Ok(())
        }
        Action::Hang => {
            std::thread::sleep(std::time::Duration::from_secs(3600));
            Ok(())
        }
    }
}
