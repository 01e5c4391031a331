//! What a run does: its profiles ([`profile`]), the calibration of this machine's floor
//! ([`calibrate`]), the run ([`runner`]) and its settings ([`options`]), the steps of every scenario on every target as
//! interleaved trials ([`sweep`]), the knee search ([`knee`]), the fault scenarios ([`faults`]),
//! scaling ([`scaling`]), links past one machine ([`links`]), what TLS costs ([`tls`]), the
//! cross-check against outside drivers ([`crosscheck`]), the ingestion sinks ([`ingest`]), and
//! the progress shown while it runs ([`progress`]).

pub mod calibrate;
pub mod crosscheck;
pub mod faults;
pub mod flame;
pub mod ingest;
pub mod knee;
pub mod links;
pub mod named;
pub mod options;
pub mod profile;
pub mod progress;
pub mod runner;
pub mod scaling;
pub mod sweep;
pub mod tls;
