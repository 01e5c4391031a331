//! Scaling, measured: every networked target started afresh in each [`SCALING`] configuration
//! (as the run sets it up, one worker per process, one core per process, Payments as two
//! processes reached in turn or behind a layer-4 balancer, metrics off, spans exported) and
//! driven closed loop, all copies interleaved trial by trial; as run and on one core, also at
//! light load.

use std::path::Path;

use checkout_core::ServiceName;

use super::profile::{Scenario, Shape};
use super::runner::Session;
use super::sweep::{Probe, round, start_copy};
use crate::cluster::balancer::Balancer;
use crate::cluster::supervisor::Replicas;
use crate::cluster::target::Target;
use crate::engine::load::Mode;

/// How a scaling configuration reaches a replicated Payments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Front {
    /// Orders gets both replicas' addresses and calls them in turn (client-side round robin).
    InTurn,
    /// Orders gets one address, a layer-4 balancer's, which hands each connection to the next
    /// replica.
    Balancer,
}

/// One configuration of the scaling scenario.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Scenario name its runs are recorded under.
    pub name: &'static str,
    /// Workers per service process (None: the run's).
    pub workers: Option<usize>,
    /// Cores each service process may use (0: all).
    pub cpus: usize,
    /// Payments as two processes, reached this way (None: one process).
    pub payments: Option<Front>,
    /// Services record Prometheus metrics.
    pub metrics: bool,
    /// Services export every hop's span over OTLP (to a stand-in collector in the bench).
    pub spans: bool,
    /// Also driven at light load, open loop at the profile's lightest checkout rate: where a
    /// hop's wake-ups cross cores or not.
    pub light: bool,
}

/// The scaling scenario's configurations: as the run sets the stack up, then one change each.
pub const SCALING: [Config; 7] = [
    Config {
        name: "scaling-base",
        workers: None,
        cpus: 0,
        payments: None,
        metrics: true,
        spans: false,
        light: true,
    },
    Config {
        name: "scaling-1-worker",
        workers: Some(1),
        cpus: 0,
        payments: None,
        metrics: true,
        spans: false,
        light: false,
    },
    Config {
        name: "scaling-1-core",
        workers: None,
        cpus: 1,
        payments: None,
        metrics: true,
        spans: false,
        light: true,
    },
    Config {
        name: "scaling-2-payments-in-turn",
        workers: None,
        cpus: 0,
        payments: Some(Front::InTurn),
        metrics: true,
        spans: false,
        light: false,
    },
    Config {
        name: "scaling-2-payments-balancer",
        workers: None,
        cpus: 0,
        payments: Some(Front::Balancer),
        metrics: true,
        spans: false,
        light: false,
    },
    // What observability costs: the same stack recording no metrics.
    Config {
        name: "scaling-no-metrics",
        workers: None,
        cpus: 0,
        payments: None,
        metrics: false,
        spans: false,
        light: false,
    },
    // And what exporting spans costs: every hop's span sent over OTLP/HTTP in batches.
    Config {
        name: "scaling-spans-exported",
        workers: None,
        cpus: 0,
        payments: None,
        metrics: true,
        spans: true,
        light: false,
    },
];

/// The light-load probes' rate: the profile's lightest open-loop checkout rate (200/s without
/// one).
fn light_rate(s: &Session) -> f64 {
    s.opts
        .profile
        .scenarios
        .iter()
        .find_map(|x| match &x.shape {
            Shape::Open(rates) if x.request == super::profile::Request::Checkout => {
                rates.iter().copied().reduce(f64::min)
            }
            _ => None,
        })
        .unwrap_or(200.0)
}

/// Scaling: every networked target started afresh in each [`SCALING`] configuration and driven
/// closed loop at `clients`, all copies interleaved trial by trial. Behind a balancer, the
/// connections it handed each replica are kept with the run.
pub(crate) async fn scaling(
    s: &mut Session,
    scenario: &Scenario,
    targets: &[Target],
    seed_db: &Path,
    products: usize,
) -> anyhow::Result<()> {
    let Shape::Scaling { clients } = scenario.shape else {
        return Ok(());
    };
    let sink = match SCALING.iter().any(|c| c.spans) {
        true => Some(crate::cluster::otlp_sink::OtlpSink::start(false).await?),
        false => None,
    };
    let mut copies = Vec::new();
    let mut balancers = Vec::new();
    let mut probes = Vec::new();
    let (rate, mut light) = (light_rate(s), Vec::new());
    for config in SCALING {
        for kind in super::sweep::networked(targets) {
            s.progress
                .line(&format!("starting {kind} for {}", config.name));
            let front = match config.payments {
                Some(Front::Balancer) => Some(tokio::net::TcpListener::bind("127.0.0.1:0").await?),
                _ => None,
            };
            let replicas = config.payments.map(|_| Replicas {
                service: ServiceName::Payments,
                count: 2,
                front: front.as_ref().and_then(|l| l.local_addr().ok()),
            });
            let (copy, key) = start_copy(
                s,
                kind,
                seed_db,
                products,
                config.name,
                replicas,
                |_, flags| {
                    if let Some(w) = config.workers {
                        flags.grpc_workers = w;
                        flags.rest_workers = w;
                    }
                    flags.cpus = config.cpus;
                    flags.metrics = config.metrics;
                    flags.otlp = sink.as_ref().filter(|_| config.spans).map(|k| k.endpoint());
                },
            )?;
            balancers.push(front.map(|l| Balancer::start(l, copy.replicas(ServiceName::Payments))));
            probes.push(Probe {
                target: copies.len(),
                mode: Mode::Closed { clients },
                step: 0,
                name: config.name,
            });
            if config.light {
                light.push(Probe {
                    target: copies.len(),
                    mode: Mode::Open { rate },
                    step: 1,
                    name: config.name,
                });
            }
            copies.push((copy, key));
        }
    }
    // The light-load probes follow every closed-loop one: the first runs recorded are the
    // closed-loop ones, one per copy, as the balancers are.
    probes.extend(light);
    let (started, keys): (Vec<Target>, Vec<String>) = copies.into_iter().unzip();
    let recorded = round(
        s,
        scenario,
        &started,
        &probes,
        products,
        s.opts.profile.trials,
    )
    .await;
    for (at, balancer) in recorded.into_iter().zip(&balancers) {
        if let Some(b) = balancer {
            s.balanced.insert(s.runs[at].id.clone(), b.connections());
        }
    }
    drop(balancers);
    s.settle_and_audit_all(started.into_iter().zip(keys).collect())
        .await
}
