//! Robots on stages: the settings a stage gives a robot, and the worker
//! that runs the robot runs a stage entry enqueued (see
//! `switchboard_store::robot_runs`).

pub(crate) mod settings;
pub(crate) mod templates;
pub(crate) mod worker;
