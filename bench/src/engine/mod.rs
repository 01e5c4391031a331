//! The load engine: open- and closed-loop drivers with latency from each request's intended start
//! ([`load`]) and the sharded recorder of their completions ([`collect`]), the requests they send ([`workload`]), one measured step with the processes
//! sampled beside it ([`step`]), and what is sampled: CPU and memory from `/proc` ([`procfs`]) and
//! the services' own storage meters ([`meter`]); the networked clients run on a thread of their own
//! ([`driver`]).

pub mod collect;
pub mod driver;
pub mod load;
pub mod meter;
pub mod procfs;
pub mod step;
pub mod trials;
pub mod workload;
