//! `checkout-core`: the transport-agnostic heart of the checkout harness.
//!
//! Six services (orders, payments, inventory, fiscal, logistics, catalog) written once: their
//! rules ([`services`]), the traits through which each calls the next ([`ports`]), their SQLite
//! stores with group commit ([`store`]), the simulation knobs ([`sim`]), the seed's data generator
//! ([`datagen`]) and importer ([`seed_import`]), the cross-database [`audit`], and the in-process
//! [`wiring`] that connects them with no transport at all, and the chain's [`tls`] material. No
//! transport crate is a dependency (rustls only makes the TLS configurations the transports use).
#![warn(missing_docs)]

pub mod admission;
pub mod audit;
pub mod coalesce;
pub mod codes;
pub mod datagen;
#[cfg(feature = "testkit")]
pub mod deploy_check;
pub mod error;
pub mod ingest;
pub mod metrics;
pub mod model;
pub mod node;
#[cfg(feature = "cli")]
pub mod node_cli;
pub mod ports;
pub mod seed_import;
pub mod services;
pub mod signal_files;
pub mod sim;
pub mod store;
#[cfg(feature = "cli")]
pub mod telemetry;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod tls;
pub mod topology;
pub mod wiring;

pub use error::{ServiceError, ServiceResult};
pub use model::*;
pub use ports::*;
pub use services::ServiceEnv;
pub use sim::Simulation;
pub use topology::ServiceName;
