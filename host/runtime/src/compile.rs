//! Compiling off the serving path. A large component (a Python or
//! JavaScript plugin is 12-18 MB) takes cranelift a minute; meanwhile the
//! server must answer as fast as ever. So every compile runs on a thread
//! of its own, and on wasmtime's parallel compile workers (rayon's global
//! pool, which nothing else here uses, sized to half the cores so that the
//! other half keep their caches for requests), all under Linux's
//! `SCHED_IDLE` policy: they run only when no other thread of the machine
//! wants the CPU. Measured with `benches/install_load.rs`, 16 clients on
//! another plugin's route while the 18.6 MB Python example installs
//! (medians of 3): with two workers the route kept 0.87 of its requests/s
//! and its p99 grew 1.87 times; with one, 0.85 and 1.26 times, the install
//! taking 26 s instead of 20. At nice 19 instead of `SCHED_IDLE` (an 11.6 MB
//! synthetic component) the route had kept 0.67 and 2.6 times. On a
//! machine busy all the time an install takes long: the customers'
//! requests come first.

use std::sync::Once;

use switchboard_core::Manifest;

use crate::RuntimeError;
use crate::engine::{Prepared, Runtime};

/// Puts the calling thread under `SCHED_IDLE` (Linux; elsewhere this does
/// nothing). A thread may always lower its own priority.
pub(crate) fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        use thread_priority::unix::{
            NormalThreadSchedulePolicy, ThreadSchedulePolicy, set_thread_priority_and_policy, thread_native_id,
        };
        let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
        if let Err(e) = set_thread_priority_and_policy(thread_native_id(), thread_priority::ThreadPriority::Min, idle) {
            tracing::warn!(error = ?e, "cannot lower the priority of a compile thread");
        }
    }
}

/// Starts rayon's global pool, which wasmtime's parallel compilation uses,
/// with every worker at the compile niceness. Once per process; a pool
/// someone else started first is left as it is.
pub(crate) fn nice_compile_workers() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let built = rayon::ThreadPoolBuilder::new()
            .num_threads((cores / 2).max(1))
            .thread_name(|i| format!("wasm-compile-{i}"))
            .start_handler(|_| lower_priority())
            .build_global();
        if let Err(e) = built {
            tracing::warn!(error = %e, "compile workers run at normal priority");
        }
    });
}

impl Runtime {
    /// [`Runtime::prepare`] on a thread of its own at the lowest priority,
    /// so that compiling never holds up a request. Gives the component back
    /// with the outcome.
    pub async fn prepare_in_background(
        &self,
        manifest: Manifest,
        wasm: Vec<u8>,
    ) -> (Vec<u8>, Result<Prepared, RuntimeError>) {
        let (send, receive) = tokio::sync::oneshot::channel();
        let runtime = self.clone();
        let spawned = std::thread::Builder::new().name(format!("compile-{}", manifest.id)).spawn(move || {
            lower_priority();
            let prepared = runtime.prepare(&manifest, &wasm);
            let _ = send.send((wasm, prepared));
        });
        if let Err(e) = spawned {
            return (Vec::new(), Err(RuntimeError::Engine(format!("cannot start a compile thread: {e}"))));
        }
        receive.await.unwrap_or_else(|_| {
            (Vec::new(), Err(RuntimeError::Engine("the compile thread ended without an answer".into())))
        })
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    use thread_priority::unix::{NormalThreadSchedulePolicy, ThreadSchedulePolicy, thread_schedule_policy};

    fn policy() -> ThreadSchedulePolicy {
        thread_schedule_policy().expect("sched_getscheduler")
    }

    #[test]
    fn compile_threads_run_only_when_the_cpu_is_idle() {
        let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
        let before = policy();
        nice_compile_workers();
        let workers = rayon::broadcast(|_| policy());
        assert!(!workers.is_empty());
        assert!(workers.iter().all(|&p| p == idle), "{workers:?}");
        let own = std::thread::spawn(|| {
            lower_priority();
            policy()
        });
        assert_eq!(own.join().expect("thread"), idle);
        assert_eq!(policy(), before, "only compile threads are lowered");
    }
}
