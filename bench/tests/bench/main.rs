//! The bench crate's integration tests: the conformance suite every wiring must pass, and the
//! supervisor that runs the stacks as separate processes.

mod conformance;
mod supervisor;
