//! What the bench measures: stacks run as one OS process per service ([`supervisor`]), and the
//! targets — in-process or networked — driven through the same ports ([`target`]); and, for a
//! busy-machine run, a CPU hog beside them ([`hog`]).

pub mod balancer;
pub mod hog;
pub mod supervisor;
pub mod target;
