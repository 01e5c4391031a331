//! An outside instrument against ours: the same endpoint of each stack driven by wrk (REST over
//! HTTP/1.1), h2load (REST over HTTP/2 and gRPC, with a prebuilt request frame) and our engine,
//! at the same closed-loop concurrency. What should agree is compared: the median at one
//! connection, and the services' CPU per request at 16 (each driver's own CPU beside it, since
//! every driver shares the cores with the services). Each comparison alternates the two drivers
//! over [`ROUNDS`] short rounds (theirs then ours, ours then theirs, …), so the machine's drift
//! falls on both alike, and keeps each figure's median. The catalog listing is driven on every
//! stack; the checkout on REST/1.1 only, through a wrk script that sends our engine's request
//! sequence (h2load sends one fixed body, which the idempotency key would turn into replays).
//! Runs only when the tools are on PATH, and says so otherwise.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use checkout_core::ServiceName;

use super::runner::Session;
use crate::cluster::target::{Target, TargetKind};
use crate::engine::load::Mode;
use crate::engine::step::{StepSpec, TargetInfo, measure_step};
use crate::engine::workload::{Call, CatalogCall, CheckoutCall, Workload};
use crate::results::{CrossRow, Crosscheck, Run};

mod outside;

pub use outside::on_path;
use outside::{their_round, tool};

/// Agreement asked of the two drivers on each compared figure.
pub const AGREEMENT: f64 = 0.15;

/// Concurrencies compared: latency at one, CPU per request at many.
pub const CLIENTS: [usize; 2] = [1, 16];

/// Rounds per comparison, the two drivers alternating which goes first.
pub const ROUNDS: usize = 3;

/// Each driver's load in one round.
pub const ROUND: Duration = Duration::from_secs(1);

/// One driver's measurement, before it is labelled.
struct Measured {
    rps: f64,
    p50_us: f64,
    server_cpu_us: f64,
    driver_cpu_us: f64,
    packets: Option<f64>,
}

impl Measured {
    /// Each figure's median over `rounds` (at least one).
    fn median(rounds: &[Measured]) -> Measured {
        let of = |f: fn(&Measured) -> f64| {
            crate::stats::median(&rounds.iter().map(f).collect::<Vec<_>>())
        };
        let packets: Vec<f64> = rounds.iter().filter_map(|m| m.packets).collect();
        Measured {
            rps: of(|m| m.rps),
            p50_us: of(|m| m.p50_us),
            server_cpu_us: of(|m| m.server_cpu_us),
            driver_cpu_us: of(|m| m.driver_cpu_us),
            packets: (packets.len() == rounds.len()).then(|| crate::stats::median(&packets)),
        }
    }
}

/// What is driven: the catalog listing, or a checkout.
#[derive(Clone, Copy, PartialEq)]
enum Endpoint {
    Catalog,
    Checkout,
}

impl Endpoint {
    fn name(self) -> &'static str {
        match self {
            Endpoint::Catalog => "catalog listing",
            Endpoint::Checkout => "checkout",
        }
    }
}

/// `call` on `t`, closed loop with `clients` for `window`, measured like any step (no warm-up)
/// but not recorded.
pub(super) async fn closed_loop(
    s: &Session,
    t: &Target,
    call: Arc<dyn Call>,
    clients: usize,
    window: Duration,
    scenario: &'static str,
) -> Run {
    let spec = StepSpec {
        mode: Mode::Closed { clients },
        warmup: Duration::ZERO,
        window,
        scenario,
        step: clients,
        label: format!("c{clients}"),
        samples: false,
    };
    let (run, _, _) = measure_step(
        call,
        spec,
        &TargetInfo::of(t),
        &s.calibration,
        std::future::ready(()),
    )
    .await;
    run
}

/// The seed of a comparison's round: each round's checkouts carry idempotency keys of their own
/// (a repeated key would be answered as a replay).
fn round_seed(seed: u64, clients: usize, round: usize) -> u64 {
    seed ^ clients as u64 ^ ((round as u64) << 32)
}

/// Our engine on the same endpoint, closed loop with `d.clients` for `d.window`.
async fn ours(s: &Session, t: &Target, endpoint: Endpoint, d: &Drive<'_>) -> Measured {
    let Drive {
        clients,
        window,
        seed,
        products,
        round,
        ..
    } = *d;
    let call: Arc<dyn Call> = match endpoint {
        Endpoint::Catalog => Arc::new(CatalogCall {
            catalog: t.catalog.clone(),
            expected: products,
            deadline: s.deadline,
        }),
        Endpoint::Checkout => Arc::new(CheckoutCall {
            orders: t.orders.clone(),
            workload: Workload::new(
                round_seed(seed, clients, round),
                "crosscheck-ours",
                0,
                50,
                products,
            ),
            deadline: s.deadline,
        }),
    };
    let run = closed_loop(s, t, call, clients, window, "crosscheck").await;
    let services = crate::report::verdict::service_cpu(&run);
    let all: f64 = run.resources.iter().map(|u| u.cpu_us_per_request).sum();
    Measured {
        rps: run.achieved_rps,
        p50_us: run.latency_us.p50,
        server_cpu_us: services,
        driver_cpu_us: all - services,
        packets: run.wire_packets_per_request,
    }
}

/// How one comparison is driven.
struct Drive<'a> {
    clients: usize,
    window: Duration,
    /// Where scripts, frames and logs go.
    dir: &'a Path,
    seed: u64,
    products: usize,
    /// Which round of the comparison (scripts and keys are the round's own).
    round: usize,
}

/// Runs the cross-check on every networked target.
pub(crate) async fn run(s: &mut Session, targets: &[Target], products: usize) -> Crosscheck {
    let mut out = Crosscheck::default();
    if let Some(t) = &s.flags.tls {
        out.skipped.push(format!(
            "skipped: the run is over {}, and the outside drivers are set up for the stacks in the clear",
            t.label()
        ));
        return out;
    }
    for tool in ["wrk", "h2load"] {
        if on_path(tool).is_none() {
            out.skipped.push(format!(
                "skipped {}: {tool} not installed (Debian package `{}`)",
                if tool == "wrk" {
                    "REST/1.1"
                } else {
                    "REST/2 and gRPC"
                },
                if tool == "wrk" {
                    "wrk"
                } else {
                    "nghttp2-client"
                }
            ));
        }
    }
    let dir = s.work.join("crosscheck");
    let _ = std::fs::create_dir_all(&dir);
    for t in targets.iter().filter(|t| t.kind != TargetKind::InProcess) {
        for endpoint in [Endpoint::Catalog, Endpoint::Checkout] {
            let service = match endpoint {
                Endpoint::Catalog => ServiceName::Catalog,
                Endpoint::Checkout => ServiceName::Orders,
            };
            let Some(addr) = t.addr(service) else {
                continue;
            };
            for clients in CLIENTS {
                let Some((driver, _)) = tool(t.kind, endpoint) else {
                    continue;
                };
                let mut drive = Drive {
                    clients,
                    window: ROUND,
                    dir: &dir,
                    seed: s.opts.seed,
                    products,
                    round: 0,
                };
                s.progress.line(&format!(
                    "crosscheck {} {} {clients} client(s): {driver} and ours, {ROUNDS} rounds",
                    t.kind,
                    endpoint.name()
                ));
                let pids: Vec<u32> = t
                    .processes()
                    .into_iter()
                    .filter(|(name, _)| !name.starts_with("loadgen"))
                    .map(|(_, pid)| pid)
                    .collect();
                let (mut theirs, mut mine) = (Vec::new(), Vec::new());
                let mut failed = None;
                for round in 0..ROUNDS {
                    drive.round = round;
                    // Theirs first in even rounds, ours first in odd ones.
                    if round % 2 == 1 {
                        mine.push(ours(s, t, endpoint, &drive).await);
                    }
                    if failed.is_none() {
                        match their_round(t.kind, endpoint, addr, &drive, &pids) {
                            Ok(m) => theirs.push(m),
                            Err(e) => failed = Some(e),
                        }
                    }
                    if round % 2 == 0 {
                        mine.push(ours(s, t, endpoint, &drive).await);
                    }
                }
                let row = |driver: &str, rounds: &[Measured]| {
                    let m = Measured::median(rounds);
                    CrossRow {
                        target: t.kind.label().into(),
                        endpoint: endpoint.name().into(),
                        clients,
                        driver: driver.into(),
                        rps: m.rps,
                        p50_us: m.p50_us,
                        server_cpu_us: m.server_cpu_us,
                        driver_cpu_us: m.driver_cpu_us,
                        packets: m.packets,
                        rounds: rounds.len(),
                    }
                };
                match failed {
                    None => out.rows.push(row(driver, &theirs)),
                    Some(e) => out.skipped.push(format!(
                        "{} {} c{clients} with {driver}: {e}",
                        t.kind,
                        endpoint.name()
                    )),
                }
                out.rows.push(row("ours", &mine));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comparison_keeps_each_figures_median_over_its_rounds() {
        let m = |rps: f64, p50_us: f64, packets: Option<f64>| Measured {
            rps,
            p50_us,
            server_cpu_us: 3.0 * p50_us,
            driver_cpu_us: 100.0,
            packets,
        };
        let med = Measured::median(&[
            m(900.0, 700.0, Some(4.0)),
            m(1100.0, 500.0, Some(4.2)),
            m(1000.0, 1500.0, Some(3.9)),
        ]);
        assert_eq!(
            (med.rps, med.p50_us, med.server_cpu_us),
            (1000.0, 700.0, 2100.0)
        );
        assert_eq!(med.packets, Some(4.0));
        // A round that could not count packets leaves the figure out rather than biased.
        let partial = Measured::median(&[m(1.0, 1.0, Some(4.0)), m(1.0, 1.0, None)]);
        assert_eq!(partial.packets, None);
    }

    #[test]
    fn every_round_sends_checkouts_of_its_own() {
        let keys = |round| {
            Workload::new(round_seed(42, 1, round), "crosscheck-ours", 0, 50, 30)
                .checkout(0)
                .idempotency_key
        };
        assert_ne!(keys(0), keys(1));
        assert_ne!(keys(1), keys(2));
        assert_ne!(keys(0), keys(2));
    }
}
