//! Integration tests of the core through the in-process wiring, on real SQLite files in temp dirs.

mod harness;

mod audit;
mod bad_input;
mod checkout;
mod concurrency;
mod datagen;
mod deploy;
mod faults;
mod ingest;
mod store;
mod tls;
