//! The bench: drives the checkout over gRPC, REST and in-process with identical load, and writes
//! the comparison report. A library so each of its parts can be tested. Grouped by capability:
//! [`engine`] (the load generator and what it samples during a step), [`cluster`] (the service
//! processes and the targets they make), [`scenarios`] (profiles, calibration, the run and its
//! faults, the knee search, scaling, the cross-check), [`stats`] (intervals and significance over
//! trials), [`report`] (everything derived from the results: facts, verdicts, checks, charts,
//! documents, comparison), [`results`] (the one report model) and [`client`] (the shop's client
//! a person uses).

pub mod client;
pub mod cluster;
pub mod engine;
pub mod report;
pub mod results;
pub mod scenarios;
pub mod stats;

use std::collections::BTreeMap;

/// Versions of what is measured: this harness and the transport crates, from `Cargo.lock`.
pub fn versions() -> BTreeMap<String, String> {
    const LOCK: &str = include_str!("../../Cargo.lock");
    const CRATES: [&str; 9] = [
        "tonic",
        "prost",
        "hyper",
        "h2",
        "actix-web",
        "reqwest",
        "rusqlite",
        "libsqlite3-sys",
        "tokio",
    ];
    let mut out = BTreeMap::new();
    out.insert("checkout-harness".into(), env!("CARGO_PKG_VERSION").into());
    let mut name = "";
    for line in LOCK.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = n.trim_matches('"');
        } else if let Some(v) = line.strip_prefix("version = ")
            && CRATES.contains(&name)
        {
            out.entry(name.to_owned())
                .or_insert_with(|| v.trim_matches('"').to_owned());
        }
    }
    if let Ok(o) = std::process::Command::new("rustc")
        .arg("--version")
        .output()
    {
        out.insert(
            "rustc".into(),
            String::from_utf8_lossy(&o.stdout).trim().to_owned(),
        );
    }
    out
}
