//! What the bench measures: stacks run as one OS process per service ([`supervisor`]), and the
//! targets — in-process or networked — driven through the same ports ([`target`]); and, for a
//! busy-machine run, a CPU hog beside them ([`hog`]); idle cores that poll rather than halt while
//! the run measures ([`idle`]); a layer-4 balancer ([`balancer`]) and a
//! stand-in span collector ([`otlp_sink`]) for the scaling and observability measurements.

pub mod balancer;
pub mod hog;
pub mod idle;
pub mod link;
pub mod node_cmd;
pub mod otlp_sink;
pub mod owed;
pub mod sink;
pub mod supervisor;
pub mod target;
mod timer;
