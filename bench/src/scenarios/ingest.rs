//! The ingest scenario (seeds 000 and 003): every transport's sink — a process of its own on a
//! fresh data directory (in-process: the sink in the bench's process) — driven with the seed's
//! four call patterns at each number of clients, in interleaved trials with the same events to
//! every target; then a large file imported through each, from a fresh process, with its peak
//! memory; and a check that each sink holds exactly the distinct valid events sent to it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use checkout_core::ingest::events::{EventGen, EventsConfig, write_csv};
use checkout_core::ingest::{Evento, IngestPort, Sink};
use hdrhistogram::Histogram;

use super::runner::Session;
use crate::cluster::sink::SinkProcess;
use crate::cluster::target::TargetKind;
use crate::engine::procfs;
use crate::results::ingest::{ImportRun, Ingest, IngestCell, SinkCheck};

/// The call patterns and the events each call carries.
pub const PATTERNS: [(&str, usize); 4] = [
    ("unary", 1),
    ("stream", 500),
    ("batch", 100),
    ("stream-batches", 500),
];
/// Events per batch of the stream-of-batches pattern (five batches a call).
const BATCH_IN_STREAM: usize = 100;
/// Repeats and invalid events among those sent, as seed 000's pipeline met them.
const REPEAT_RATE: f64 = 0.01;
const INVALID_RATE: f64 = 0.001;

/// What the scenario runs.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestSpec {
    /// Patterns, by name (of [`PATTERNS`]).
    pub patterns: Vec<&'static str>,
    /// Clients sending at once, each a step.
    pub clients: Vec<usize>,
    /// Interleaved trials per step.
    pub trials: usize,
    /// Length of each trial (calls under way when it ends are finished and counted).
    pub trial: Duration,
    /// Events in the imported file (`None`: no import); a file a tenth its size is imported
    /// first, so the sink's memory can be compared across sizes.
    pub import: Option<u64>,
}

/// A sink under test.
struct Sut {
    kind: TargetKind,
    port: Arc<dyn IngestPort>,
    process: Option<SinkProcess>,
    local: Option<Sink>,
    db: std::path::PathBuf,
    expected: (u64, u64),
}

fn events_per_call(pattern: &str) -> usize {
    PATTERNS
        .iter()
        .find(|(p, _)| *p == pattern)
        .map_or(1, |(_, n)| *n)
}

async fn call(port: &dyn IngestPort, pattern: &str, events: Vec<Evento>) -> bool {
    let r = match pattern {
        "unary" => {
            port.enviar(events.into_iter().next().expect("one event"))
                .await
        }
        "stream" => port.enviar_stream(events).await,
        "batch" => port.enviar_lote(events).await,
        _ => {
            let batches = events
                .chunks(BATCH_IN_STREAM)
                .map(<[Evento]>::to_vec)
                .collect();
            port.enviar_lotes_stream(batches).await
        }
    };
    r.is_ok()
}

/// One trial: `clients` tasks calling until `length` has passed. Returns events acknowledged,
/// calls failed, the wall time, and what the sink must now hold in addition.
async fn trial(
    port: Arc<dyn IngestPort>,
    pattern: &'static str,
    clients: usize,
    length: Duration,
    seed: u64,
) -> (u64, u64, f64, (u64, u64)) {
    let started = Instant::now();
    let per_call = events_per_call(pattern);
    let tasks: Vec<_> = (0..clients as u64)
        .map(|c| {
            let port = port.clone();
            tokio::spawn(async move {
                let mut g = EventGen::new(EventsConfig {
                    seed: seed * 1_000 + c,
                    repeat_rate: REPEAT_RATE,
                    invalid_rate: INVALID_RATE,
                    start_us: 0,
                });
                let (mut acked, mut failed) = (0u64, 0u64);
                while started.elapsed() < length {
                    let events: Vec<Evento> = g.by_ref().take(per_call).collect();
                    if call(port.as_ref(), pattern, events).await {
                        acked += per_call as u64;
                    } else {
                        failed += 1;
                    }
                }
                (acked, failed, g.expected())
            })
        })
        .collect();
    let (mut acked, mut failed, mut expected) = (0, 0, (0u64, 0u64));
    for t in tasks {
        let (a, f, e) = t.await.unwrap_or((0, 1, (0, 0)));
        acked += a;
        failed += f;
        expected = (expected.0 + e.0, expected.1.wrapping_add(e.1));
    }
    (acked, failed, started.elapsed().as_secs_f64(), expected)
}

/// Emission-to-commit times of the events stored since `since_us`, µs.
fn latencies(db: &std::path::Path, since_us: i64) -> anyhow::Result<Histogram<u64>> {
    let c = rusqlite::Connection::open(db)?;
    let mut h = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3)?;
    let mut stmt = c.prepare(
        "SELECT gravado_em_us - emitido_em_us FROM eventos WHERE gravado_em_us >= ?1 AND importacao IS NULL",
    )?;
    let rows = stmt.query_map([since_us], |r| r.get::<_, i64>(0))?;
    for d in rows {
        h.saturating_record(d?.max(1) as u64);
    }
    Ok(h)
}

/// What one target's trials of a step add up to.
#[derive(Debug, Clone, Default)]
struct Tally {
    /// Events/s of each trial.
    rates: Vec<f64>,
    acked: u64,
    failed: u64,
    /// CPU seconds of the sink process, and of this one.
    sink_cpu: f64,
    own_cpu: f64,
    /// Loopback bytes.
    wire: u64,
    /// The sink's resident memory after the last trial, MiB.
    rss: Option<f64>,
}

/// Starts `kind`'s sink on a fresh directory.
async fn start_sut(s: &Session, kind: TargetKind, dir_name: &str) -> anyhow::Result<Sut> {
    let dir = s.work.join("ingest").join(dir_name);
    let _ = std::fs::remove_dir_all(&dir);
    let logs = s.work.join("logs").join("ingest");
    let (port, process, local): (Arc<dyn IngestPort>, _, _) = match kind {
        TargetKind::InProcess => {
            let sink = Sink::open(&dir, s.store).map_err(|e| anyhow::anyhow!("{e}"))?;
            (Arc::new(sink.clone()), None, Some(sink))
        }
        TargetKind::Grpc => {
            let workers = s.flags.grpc_workers.max(1);
            let tls_flags = s.flags.tls.as_ref();
            let p = SinkProcess::start("grpc", &dir, workers, &s.flags.sync, tls_flags, &logs)?;
            let tls = tls_flags.map(|t| t.load()).transpose()?;
            (
                Arc::new(grpc_stack::ingest::GrpcIngest::new(p.addr, tls.as_deref())),
                Some(p),
                None,
            )
        }
        _ => {
            let (workers, tls_flags) = (s.flags.rest_workers, s.flags.tls.as_ref());
            let p = SinkProcess::start("rest", &dir, workers, &s.flags.sync, tls_flags, &logs)?;
            let tls = tls_flags.map(|t| t.load()).transpose()?;
            let http2 = kind == TargetKind::RestH2;
            (
                Arc::new(rest_stack::ingest::RestIngest::new(
                    p.addr,
                    http2,
                    tls.as_deref(),
                )),
                Some(p),
                None,
            )
        }
    };
    Ok(Sut {
        kind,
        port,
        process,
        local,
        db: dir.join(checkout_core::ingest::DB_FILE),
        expected: (0, 0),
    })
}

impl Sut {
    fn stop(self) {
        // The client's connections first: a server draining waits for open keep-alive ones.
        drop(self.port);
        if let Some(p) = self.process {
            p.stop(Duration::from_secs(5));
        }
        if let Some(l) = self.local {
            l.close();
        }
    }
}

/// Runs the scenario and keeps its results in the session.
pub(crate) async fn ingest(
    s: &mut Session,
    spec: &IngestSpec,
    labels: &[TargetKind],
) -> anyhow::Result<()> {
    let kinds: Vec<TargetKind> = labels
        .iter()
        .copied()
        .filter(|k| *k != TargetKind::Tcp)
        .collect();
    if labels.contains(&TargetKind::Tcp) {
        s.progress
            .line("ingest: the raw-TCP stack has no sink; not driven");
    }
    let mut suts = Vec::new();
    for &k in &kinds {
        suts.push(start_sut(s, k, k.label()).await?);
    }
    let mut out = Ingest {
        events_per_call: PATTERNS.iter().map(|(p, n)| (p.to_string(), *n)).collect(),
        ..Ingest::default()
    };
    let me = std::process::id();
    let mut seed = s.opts.seed * 1_000_000;
    for &pattern in &spec.patterns {
        for &clients in &spec.clients {
            s.progress.step(&format!("ingest {pattern} × {clients}"));
            let n = suts.len();
            let mut per: Vec<Tally> = vec![Tally::default(); n];
            let since = checkout_core::ingest::now_us();
            for t in 0..spec.trials {
                seed += 1;
                for j in 0..n {
                    let i = (j + t) % n;
                    let sut = &mut suts[i];
                    let pid = sut.process.as_ref().map(SinkProcess::pid);
                    let (sink0, me0) = (pid.and_then(procfs::cpu_seconds), procfs::cpu_seconds(me));
                    let wire0 = procfs::loopback_bytes();
                    let (acked, failed, secs, exp) =
                        trial(sut.port.clone(), pattern, clients, spec.trial, seed).await;
                    sut.expected = (sut.expected.0 + exp.0, sut.expected.1.wrapping_add(exp.1));
                    let p = &mut per[i];
                    p.rates.push(acked as f64 / secs);
                    p.acked += acked;
                    p.failed += failed;
                    p.sink_cpu += pid
                        .and_then(procfs::cpu_seconds)
                        .zip(sink0)
                        .map_or(0.0, |(b, a)| b - a);
                    p.own_cpu += procfs::cpu_seconds(me).zip(me0).map_or(0.0, |(b, a)| b - a);
                    if pid.is_some() {
                        p.wire += procfs::loopback_bytes()
                            .zip(wire0)
                            .map_or(0, |(b, a)| b.saturating_sub(a));
                    }
                    p.rss = pid.and_then(procfs::rss_mib);
                }
            }
            let mut line = Vec::new();
            for (sut, p) in suts.iter().zip(per) {
                let Tally {
                    rates,
                    acked,
                    failed,
                    sink_cpu,
                    own_cpu,
                    wire,
                    rss,
                } = p;
                let h = latencies(&sut.db, since)?;
                let iv = crate::stats::interval(&rates);
                let ev = acked.max(1) as f64;
                let networked = sut.process.is_some();
                line.push(format!("{} {:.0}/s", sut.kind, iv.median));
                out.cells.push(IngestCell {
                    target: sut.kind.to_string(),
                    pattern: pattern.to_owned(),
                    clients,
                    trials: rates,
                    events_per_s: iv.median,
                    lo: iv.lo,
                    hi: iv.hi,
                    events: acked,
                    latency_p50_ms: h.value_at_quantile(0.5) as f64 / 1e3,
                    latency_p99_ms: h.value_at_quantile(0.99) as f64 / 1e3,
                    sink_cpu_us: networked.then_some(sink_cpu * 1e6 / ev),
                    client_cpu_us: own_cpu * 1e6 / ev,
                    wire_bytes: networked.then_some(wire as f64 / ev),
                    sink_rss_mib: rss,
                    errors: failed,
                });
            }
            s.progress.detail(&line.join(", "));
        }
    }
    for sut in suts {
        let t = Instant::now();
        let (count, digest) = checkout_core::ingest::stored_digest(&sut.db, false)?;
        tracing::debug!(target = %sut.kind, rows = count, secs = t.elapsed().as_secs_f64(), "sink verified");
        out.verified.push(SinkCheck {
            target: sut.kind.to_string(),
            expected: sut.expected.0,
            stored: count,
            digest_matches: digest == sut.expected.1,
        });
        sut.stop();
    }
    if let Some(events) = spec.import {
        s.progress.step(&format!(
            "ingest imports of {} and {events} events",
            events / 10
        ));
        out.imports = imports(s, &kinds, events).await?;
    }
    s.ingest = Some(out);
    Ok(())
}

/// Imports a file of `events` through each target from a fresh sink (after one a tenth its size,
/// on another fresh sink, for the memory comparison).
async fn imports(
    s: &mut Session,
    kinds: &[TargetKind],
    events: u64,
) -> anyhow::Result<Vec<ImportRun>> {
    let dir = s.work.join("ingest");
    std::fs::create_dir_all(&dir)?;
    let cfg = EventsConfig {
        seed: s.opts.seed,
        start_us: checkout_core::ingest::now_us(),
        ..EventsConfig::default()
    };
    let mut runs = Vec::new();
    for n in [events / 10, events] {
        let file = dir.join(format!("eventos-{n}.csv"));
        let (expected, _) = write_csv(&file, n, cfg)?;
        let bytes = std::fs::metadata(&file)?.len();
        for &k in kinds {
            let sut = start_sut(s, k, &format!("import-{n}-{}", k.label())).await?;
            let started = Instant::now();
            let id = sut.port.importar(&file).await;
            let accepted_s = started.elapsed().as_secs_f64();
            let mut updates = 0u64;
            let end = match id {
                Ok(id) => sut.port.acompanhar(id, &mut |_| updates += 1).await,
                Err(e) => Err(e),
            };
            let total_s = started.elapsed().as_secs_f64();
            let peak = sut
                .process
                .as_ref()
                .and_then(|p| procfs::peak_rss_mib(p.pid()));
            let end = end.map_err(|e| anyhow::anyhow!("import through {k}: {e}"))?;
            let floor = s.calibration.bulk_insert_rows_per_s;
            runs.push(ImportRun {
                target: k.to_string(),
                events: n,
                bytes,
                accepted_s,
                total_s,
                events_per_s: n as f64 / total_s,
                floor_ratio: floor.map(|f| total_s / (n as f64 / f)),
                inserted: end.inseridos,
                repeated: end.repetidos,
                invalid: end.invalidos,
                expected,
                updates,
                peak_rss_mib: peak,
            });
            s.progress.detail(&format!(
                "{k}: {n} events in {total_s:.2} s ({} inserted of {expected}), peak RSS {}",
                end.inseridos,
                peak.map_or("-".into(), |m| format!("{m:.1} MiB"))
            ));
            sut.stop();
        }
        let _ = std::fs::remove_file(&file);
    }
    Ok(runs)
}
