//! What the bench measures: stacks run as one OS process per service ([`supervisor`]), and the
//! targets — in-process or networked — driven through the same ports ([`target`]).

pub mod supervisor;
pub mod target;
