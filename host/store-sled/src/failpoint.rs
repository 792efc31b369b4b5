//! Fault injection for tests: named points where the store can be made to
//! fail as a disk or a bug would, to check that it fails safe.
//!
//! A point is armed by the environment variable `SWITCHBOARD_FAILPOINTS`,
//! read once: a comma-separated list of `name=action`, where the action is
//! `error` (an I/O error, as a full or failing disk gives), `panic`,
//! `delay` (300 ms, as a slow disk takes, then carry on), or `hang` (an
//! hour: a disk that stopped answering). Plain, it fires on every pass;
//! preceded by `N*` it fires once, on pass N+1, such as `sync=50*error`;
//! preceded by `N+*` it fires on every pass after the first N, such as
//! `commit=100+*hang`. The points are `sync` (making a flush stable),
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
    /// Fire after this many passes; or every time.
    after: Option<u64>,
    /// Fire on every pass after `after`, not only the next.
    from_then_on: bool,
    action: Action,
    passes: AtomicU64,
}

fn points() -> &'static [Point] {
    static POINTS: OnceLock<Vec<Point>> = OnceLock::new();
    POINTS.get_or_init(|| parse(&std::env::var("SWITCHBOARD_FAILPOINTS").unwrap_or_default()))
}

/// The points armed by `spec`; items that do not parse arm nothing.
fn parse(spec: &str) -> Vec<Point> {
    spec.split(',')
        .filter_map(|item| {
            let (name, action) = item.trim().split_once('=')?;
            let (after, from_then_on, action) = match action.split_once('*') {
                Some((n, a)) => match n.strip_suffix('+') {
                    Some(n) => (Some(n.parse().ok()?), true, a),
                    None => (Some(n.parse().ok()?), false, a),
                },
                None => (None, false, action),
            };
            let action = match action {
                "error" => Action::Error,
                "panic" => Action::Panic,
                "delay" => Action::Delay,
                "hang" => Action::Hang,
                _ => return None,
            };
            tracing::warn!(point = name, ?action, ?after, from_then_on, "fail point armed");
            Some(Point { name: name.to_owned(), after, from_then_on, action, passes: AtomicU64::new(0) })
        })
        .collect()
}

/// Passes point `name`: an error or a panic if it is armed and due.
pub(crate) fn check(name: &str) -> std::io::Result<()> {
    match points().iter().find(|p| p.name == name) {
        Some(point) => point.pass(),
        None => Ok(()),
    }
}

impl Point {
    /// Counts a pass, and does the action if it is due.
    fn pass(&self) -> std::io::Result<()> {
        let pass = self.passes.fetch_add(1, Ordering::Relaxed);
        let due = match self.after {
            None => true,
            Some(after) if self.from_then_on => pass >= after,
            Some(after) => pass == after,
        };
        if !due {
            return Ok(());
        }
        match self.action {
            Action::Error => Err(std::io::Error::other(format!("fail point \"{}\"", self.name))),
            Action::Panic => panic!("fail point \"{}\"", self.name),
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_fires_once_and_a_count_with_a_plus_from_then_on() {
        let fired = |spec: &str| {
            let points = parse(spec);
            (0..6).filter(|_| points[0].pass().is_err()).count()
        };
        assert_eq!(fired("commit=error"), 6);
        assert_eq!(fired("commit=2*error"), 1);
        assert_eq!(fired("commit=2+*error"), 4);
        let points = parse("sync=1*error");
        let passes: Vec<bool> = (0..3).map(|_| points[0].pass().is_err()).collect();
        assert_eq!(passes, [false, true, false], "N* fires on pass N+1");
    }

    #[test]
    fn items_that_do_not_parse_arm_nothing() {
        assert!(parse("").is_empty());
        assert!(parse("commit").is_empty());
        assert!(parse("commit=explode").is_empty());
        assert!(parse("commit=x*error").is_empty());
        assert!(parse("commit=1+x*error").is_empty());
        assert_eq!(parse("sync=error, commit=3+*hang").len(), 2);
    }
}
