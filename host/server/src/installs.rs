//! Installs that run in the background. Compiling a large component takes
//! a minute (see the runtime's `compile`), so `POST /api/plugins` answers
//! at once with an install job, and the admin (or `plugin install`, which
//! polls) follows its phase until it ends with the plugin or the error the
//! upload would have got. Installs run one at a time, in the order they
//! came, so that two uploads of one plugin cannot end in the store with one
//! version and in the runtime with the other.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

/// How many jobs are kept for lookup; older finished ones are forgotten.
const KEPT_JOBS: usize = 100;

/// How many installs may wait for their turn. Each holds its component in
/// memory (up to the upload limit), so the queue is short.
const MAX_WAITING: usize = 8;

/// Where an install is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Waiting for an install before it to finish.
    Queued,
    /// The component is being compiled (at low priority) and checked
    /// against its world.
    Compiling,
    /// The compiled plugin is describing itself, to check its schema.
    Checking,
    /// The plugin is being written to the store.
    Recording,
    /// Installed: `plugin` holds it.
    Installed,
    /// Refused or failed: `error` says why.
    Failed,
}

/// An install job as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InstallJob {
    /// The job's id.
    pub id: String,
    /// The plugin's id, from its manifest.
    pub plugin: String,
    /// The version being installed.
    pub version: String,
    /// The component's size in bytes.
    pub size: u64,
    /// Where the install is.
    pub phase: Phase,
    /// Milliseconds since the upload was accepted (until the end, once it
    /// ended).
    pub elapsed_ms: u64,
    /// The status the upload answers with once done: 201 for a new plugin,
    /// 200 for an upgrade, or the error's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The installed plugin, once installed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub plugin_record: Option<serde_json::Value>,
    /// Why it failed (`{error, detail}`), once failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub error: Option<serde_json::Value>,
}

/// One install's state, shared by the task that runs it and the API.
pub struct Job {
    started: Instant,
    state: Mutex<(InstallJob, Option<Instant>)>,
    done: tokio::sync::watch::Sender<bool>,
}

impl Job {
    /// The job as the API shows it now.
    pub fn view(&self) -> InstallJob {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (mut job, ended) = state.clone();
        let until = ended.unwrap_or_else(Instant::now);
        job.elapsed_ms = u64::try_from(until.duration_since(self.started).as_millis()).unwrap_or(u64::MAX);
        job
    }

    /// Moves the job to `phase`.
    pub fn enter(&self, phase: Phase) {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).0.phase = phase;
    }

    /// Ends the job with the answer the upload gets.
    pub fn finish(&self, status: StatusCode, outcome: Result<serde_json::Value, serde_json::Value>) {
        {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            let (job, ended) = &mut *state;
            job.status = Some(status.as_u16());
            match outcome {
                Ok(plugin) => (job.phase, job.plugin_record) = (Phase::Installed, Some(plugin)),
                Err(error) => (job.phase, job.error) = (Phase::Failed, Some(error)),
            }
            *ended = Some(Instant::now());
        }
        self.done.send_replace(true);
    }

    /// Waits until the job has ended.
    pub async fn ended(&self) {
        let mut done = self.done.subscribe();
        // The sender lives in the job, so waiting cannot fail while the
        // job is borrowed.
        let _ = done.wait_for(|ended| *ended).await;
    }
}

/// The install jobs, newest last, and the lock that runs them one at a time.
#[derive(Default)]
pub struct Installs {
    jobs: Mutex<VecDeque<(String, Arc<Job>)>>,
    /// Held by the job that is installing.
    pub turn: tokio::sync::Mutex<()>,
}

impl Installs {
    /// Registers a new job, queued; refused while [`MAX_WAITING`] installs
    /// have not ended.
    pub fn start(&self, plugin: &str, version: &str, size: u64) -> Result<Arc<Job>, crate::error::ApiError> {
        let mut jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        if jobs.iter().filter(|(_, j)| !*j.done.borrow()).count() >= MAX_WAITING {
            return Err(crate::error::ApiError::busy(
                format!("{MAX_WAITING} plugin installs have not ended yet; retry when one has"),
                5,
            ));
        }
        let id = crate::failures::request_id();
        let view = InstallJob {
            id: id.clone(),
            plugin: plugin.to_owned(),
            version: version.to_owned(),
            size,
            phase: Phase::Queued,
            elapsed_ms: 0,
            status: None,
            plugin_record: None,
            error: None,
        };
        let job = Arc::new(Job { started: Instant::now(), state: Mutex::new((view, None)), done: Default::default() });
        if jobs.len() >= KEPT_JOBS {
            // Forget the oldest job that has ended; running ones stay.
            if let Some(at) = jobs.iter().position(|(_, j)| *j.done.borrow()) {
                jobs.remove(at);
            }
        }
        jobs.push_back((id, Arc::clone(&job)));
        Ok(job)
    }

    /// The job with this id.
    pub fn get(&self, id: &str) -> Option<Arc<Job>> {
        let jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        jobs.iter().find(|(job_id, _)| job_id == id).map(|(_, job)| Arc::clone(job))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_job_moves_through_its_phases_and_old_ended_ones_are_forgotten() {
        let installs = Installs::default();
        let job = installs.start("hook", "1.0.0", 10).expect("room");
        assert_eq!(job.view().phase, Phase::Queued);
        job.enter(Phase::Compiling);
        assert_eq!(job.view().phase, Phase::Compiling);
        job.finish(StatusCode::CREATED, Ok(serde_json::json!({"id": "hook"})));
        job.ended().await;
        let view = installs.get(&job.view().id).expect("kept").view();
        assert_eq!(
            (view.phase, view.status, view.plugin_record),
            (Phase::Installed, Some(201), Some(serde_json::json!({"id": "hook"})))
        );
        for _ in 0..KEPT_JOBS {
            installs.start("other", "1.0.0", 1).expect("room").finish(StatusCode::OK, Ok(serde_json::Value::Null));
        }
        assert!(installs.get(&view.id).is_none(), "the oldest ended job made room");
        assert_eq!(installs.jobs.lock().expect("jobs").len(), KEPT_JOBS);
        let waiting: Vec<_> = (0..MAX_WAITING).map(|_| installs.start("slow", "1.0.0", 1).expect("room")).collect();
        assert!(installs.start("slow", "1.0.0", 1).is_err(), "the queue is full");
        waiting[0].finish(StatusCode::OK, Ok(serde_json::Value::Null));
        assert!(installs.start("slow", "1.0.0", 1).is_ok(), "an ended install makes room");
    }
}
