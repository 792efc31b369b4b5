//! Keeping a compiler process out of the way of serving.
//!
//! `SCHED_IDLE` alone is not enough on the virtual machines we run on: a
//! thread that only ever gets the CPU no one else wants still costs the
//! server's requests about as much throughput as it takes CPU (measured
//! with a spinning loop at `SCHED_IDLE` beside 16 clients: 0.7x requests/s,
//! while the server's CPU per request did not change; the requests wait
//! longer to be scheduled). So the server watches its own CPU time and
//! stops the compiler (`SIGSTOP`) for every window in which it served
//! anything, letting it go on (`SIGCONT`) in quiet windows. So that an
//! install under constant load still ends, the compiler runs at least one
//! window in [`FLOOR`]: about 5% of one core, the share below which the
//! route's figures in `benches/install_load.rs` stay within their noise.
//! The measurements are in `benches/README.md` ("Installing while
//! serving").

use std::process::{Child, ExitStatus};
use std::time::Duration;

/// How often the server decides whether its compiler may run.
const WINDOW: Duration = Duration::from_millis(25);

/// The CPU the server may use in a window and still count as quiet: its
/// own background threads (the epoch ticker, the store's flusher) use far
/// less, and one request far more.
const QUIET_CPU: Duration = Duration::from_micros(2_500);

/// The compiler runs at least one window in this many.
const FLOOR: u32 = 20;

/// Waits for a compiler process, stopping it while the server is busy.
/// Where the process cannot be signalled it simply runs.
pub(crate) fn wait_yielding(child: &mut Child) -> std::io::Result<ExitStatus> {
    let pid = i32::try_from(child.id()).ok().and_then(rustix::process::Pid::from_raw);
    let mut last = own_cpu();
    let (mut stopped, mut stopped_windows) = (false, 0u32);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => {
                // Not left behind stopped: a compiler no one waits for ends.
                let _ = child.kill();
                return Err(e);
            }
        }
        std::thread::sleep(WINDOW);
        let now = own_cpu();
        let busy = now.saturating_sub(last) > QUIET_CPU;
        last = now;
        let run = !busy || stopped_windows + 1 >= FLOOR;
        stopped_windows = if run { 0 } else { stopped_windows + 1 };
        if run == stopped {
            let Some(pid) = pid else { continue };
            let signal = if run { rustix::process::Signal::CONT } else { rustix::process::Signal::STOP };
            if rustix::process::kill_process(pid, signal).is_ok() {
                stopped = !run;
            }
        }
    };
    Ok(status)
}

/// The CPU time of this whole process (every thread; not its children).
fn own_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(u64::try_from(t.tv_sec).unwrap_or(0), u32::try_from(t.tv_nsec).unwrap_or(0))
}

/// Makes the calling process end when the process that started it does, so
/// that a compiler stopped by a server that then died does not linger.
pub(crate) fn die_with_parent() {
    if let Err(e) = rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL)) {
        eprintln!("cannot tie the compiler to the server: {e}");
    }
}
