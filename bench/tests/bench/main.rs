//! The bench crate's integration tests: the conformance suite every wiring must pass, the
//! supervisor that runs the stacks as separate processes, the run's calibration, and the shop's
//! client.

mod calibration;
mod client;
mod conformance;
mod observability;
mod remote;
mod supervisor;
