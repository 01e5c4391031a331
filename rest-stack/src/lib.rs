//! The checkout's six services over REST: actix-web servers around the core services, reqwest
//! clients implementing the core's port traits for the next hop, OpenAPI documents derived from
//! the handlers' own types, and the one place where domain errors become HTTP answers and back.
//! No business rule lives here.

pub mod client;
pub mod convert;
pub mod echo;
pub mod errors;
pub mod handlers;
pub mod ingest;
mod listen;
pub mod server;
pub mod wire;

pub use client::RestClients;
pub use server::{RestNode, RestOptions, start};
