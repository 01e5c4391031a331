//! The bench crate's integration tests: the conformance suite every wiring must pass, the
//! supervisor that runs the stacks as separate processes, and the run's calibration.

mod calibration;
mod conformance;
mod supervisor;
