//! Compiling off the serving path. A large component (a Python or
//! JavaScript plugin is 12-18 MB) takes cranelift a minute; meanwhile the
//! server must answer as fast as ever.
//!
//! So the server compiles in a process of its own (its own binary, run as
//! a compiler: [`run_compiler_process`]), whose threads run under Linux's
//! `SCHED_IDLE` policy on half the cores, and which the server stops while
//! it is busy (`compile_governor.rs`, which says why idle priority alone
//! is not enough). A process, because a process can be stopped and resumed
//! from outside, at any point of cranelift's work. Without a compiler
//! program configured (a library user, a test) the compile runs on a
//! thread of its own at the same priority, not held. The measurements are
//! in `benches/README.md` ("Installing while serving").

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Once;

use switchboard_core::Manifest;

use wasmtime::Engine;
use wasmtime::component::Component;

use crate::RuntimeError;
use crate::cache::{Cache, engine_key, write_synced};
use crate::engine::{Prepared, Runtime, engine_config};

/// The exit status of a compiler process whose input is not a valid
/// component; its standard error then holds the reason.
const EXIT_INVALID: u8 = 3;

/// The most of a compiler process's standard error kept for a message.
const MAX_STDERR: u64 = 64 * 1024;

/// A program that compiles components in a process of its own: normally
/// the server's own binary with its compiler subcommand.
#[derive(Debug, Clone)]
pub struct CompilerProcess {
    /// The executable.
    pub program: PathBuf,
    /// The arguments that make it a compiler; the runtime appends
    /// `--engine KEY --out PATH` and, with the pooling allocator,
    /// `--pooling`, and writes the component to its standard input.
    pub args: Vec<String>,
}

/// Compiles `wasm` with the compiler process into the cache, and loads it.
pub(crate) fn compile_in_child(
    compiler: &CompilerProcess,
    cache: &Cache,
    engine: &Engine,
    pooling: bool,
    plugin: &str,
    sha256: &str,
    wasm: &[u8],
) -> Result<Component, RuntimeError> {
    let out = cache.temporary_path(sha256);
    let mut command = Command::new(&compiler.program);
    command.args(&compiler.args).arg("--engine").arg(cache.engine_key()).arg("--out").arg(&out);
    if pooling {
        command.arg("--pooling");
    }
    let program = compiler.program.display();
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| RuntimeError::Engine(format!("cannot start the compiler \"{program}\": {e}")))?;
    // A compiler that refuses its arguments exits without reading; its
    // reason, on standard error, says more than the broken pipe would.
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(wasm);
    }
    // Read its standard error on the side, so that a chatty compiler
    // never blocks on a full pipe while this waits for it.
    let stderr = child.stderr.take().map(|err| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = err.take(MAX_STDERR).read_to_string(&mut text);
            text
        })
    });
    let status = crate::compile_governor::wait_yielding(&mut child)
        .map_err(|e| RuntimeError::Engine(format!("the compiler \"{program}\" was lost: {e}")))?;
    let stderr = stderr.and_then(|reader| reader.join().ok()).unwrap_or_default();
    let reason = stderr.trim().to_owned();
    if status.success() {
        tracing::info!(plugin, compiler_pid = child.id(), "compiled in a compiler process");
        return cache.adopt(engine, sha256, &out);
    }
    let _ = std::fs::remove_file(&out);
    if status.code() == Some(i32::from(EXIT_INVALID)) {
        return Err(RuntimeError::InvalidComponent { plugin: plugin.to_owned(), reason });
    }
    Err(RuntimeError::Engine(format!("the compiler \"{program}\" failed ({status}): {reason}")))
}

/// The compiler process: reads a component from standard input, compiles
/// it for an engine configured as the runtime's (`pooling` as the runtime
/// found it), and writes the precompiled bytes, synced, to `out`. Refuses
/// when its engine's key is not `engine`: the runtime could not load what
/// it would write. Prints any failure to standard error.
pub fn run_compiler_process(pooling: bool, engine: &str, out: &Path) -> ExitCode {
    crate::compile_governor::die_with_parent();
    lower_priority();
    nice_compile_workers();
    let fail = |code: u8, message: String| {
        eprintln!("{message}");
        ExitCode::from(code)
    };
    let compiler = match Engine::new(&engine_config(pooling, crate::engine::DEFAULT_MAX_INSTANCES)) {
        Ok(compiler) => compiler,
        Err(e) => return fail(1, format!("cannot configure the compiler: {e:#}")),
    };
    let own = engine_key(&compiler);
    if own != engine {
        return fail(1, format!("this compiler makes code for engine \"{own}\", not \"{engine}\""));
    }
    let mut wasm = Vec::new();
    if let Err(e) = std::io::stdin().lock().read_to_end(&mut wasm) {
        return fail(1, format!("cannot read the component: {e}"));
    }
    let compiled = match compiler.precompile_component(&wasm) {
        Ok(compiled) => compiled,
        Err(e) => return fail(EXIT_INVALID, format!("{e:#}")),
    };
    match write_synced(out, &compiled) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(1, format!("cannot write \"{}\": {e}", out.display())),
    }
}

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
