//! The physical floor of a checkout on this machine, measured at the start of every run: the
//! loopback TCP round trip and the cost of one SQLite commit with the run's settings. A checkout
//! needs at least 5 of each (client → Orders → Payments → Inventory → Fiscal → Logistics).

use std::time::Instant;

use checkout_core::store::SyncMode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::cluster::link::{Link, LinkProfile};
use crate::cluster::target::TargetKind;
use crate::results::{Calibration, EchoCost, StorePath};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Where the two ends of a round trip run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Both threads pinned to one core: each direction hands the core over, no other core wakes.
    OneCore,
    /// The threads pinned to two cores: each direction wakes the other core.
    AcrossCores,
}

/// The first two cores this process may run on (one when it may run on one only), or none when
/// the mask cannot be read.
fn allowed_cores() -> Option<Vec<usize>> {
    let set = rustix::thread::sched_getaffinity(None).ok()?;
    let cores: Vec<usize> = (0..rustix::thread::CpuSet::MAX_CPU)
        .filter(|&c| set.is_set(c))
        .take(2)
        .collect();
    (!cores.is_empty()).then_some(cores)
}

fn pin(core: usize) -> std::io::Result<()> {
    let mut set = rustix::thread::CpuSet::new();
    set.set(core);
    Ok(rustix::thread::sched_setaffinity(None, &set)?)
}

/// Median 1-byte ping-pong over a loopback TCP connection between two threads of their own
/// (blocking sockets, nothing else on them) placed as `placement`, µs; none when this process
/// cannot place them so (one allowed core, or a mask it may not set).
pub fn pinned_rtt_us(placement: Placement, rounds: usize) -> std::io::Result<Option<f64>> {
    use std::io::{Read, Write};
    let Some(cores) = allowed_cores() else {
        return Ok(None);
    };
    let (client, server) = match (placement, cores.as_slice()) {
        (Placement::OneCore, [a, ..]) => (*a, *a),
        (Placement::AcrossCores, [a, b]) => (*a, *b),
        _ => return Ok(None),
    };
    // Pinning to both cores is tried first on a thread of its own, so a refusal measures nothing
    // and leaves none of ours pinned.
    if std::thread::spawn(move || pin(client).and_then(|()| pin(server)))
        .join()
        .ok()
        .and_then(Result::ok)
        .is_none()
    {
        return Ok(None);
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let echo = std::thread::spawn(move || -> std::io::Result<()> {
        pin(server)?;
        let (mut s, _) = listener.accept()?;
        s.set_nodelay(true)?;
        let mut b = [0u8; 1];
        while s.read_exact(&mut b).is_ok() {
            s.write_all(&b)?;
        }
        Ok(())
    });
    let caller = std::thread::spawn(move || -> std::io::Result<Vec<f64>> {
        // Connected before pinning: should pinning fail, the dropped connection ends the echo.
        let mut c = std::net::TcpStream::connect(addr)?;
        pin(client)?;
        c.set_nodelay(true)?;
        let mut b = [7u8; 1];
        let mut samples = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let t = Instant::now();
            c.write_all(&b)?;
            c.read_exact(&mut b)?;
            samples.push(t.elapsed().as_secs_f64() * 1e6);
        }
        Ok(samples)
    });
    let samples = caller
        .join()
        .map_err(|_| std::io::Error::other("the caller panicked"))?;
    let echoed = echo
        .join()
        .map_err(|_| std::io::Error::other("the echo panicked"))?;
    let samples = samples?;
    echoed?;
    Ok(Some(median(samples)))
}

/// Median 1-byte ping-pong over a loopback TCP connection, both ends tasks of this process's
/// runtime wherever its workers run, µs.
pub async fn loopback_rtt_us(rounds: usize) -> std::io::Result<f64> {
    rtt_us(rounds, None).await
}

/// Median 1-byte ping-pong over a loopback TCP connection crossing a link shaped as `via`
/// (none: direct), µs.
pub async fn rtt_us(rounds: usize, via: Option<&LinkProfile>) -> std::io::Result<f64> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let mut addr = listener.local_addr()?;
    let link = via.map(|p| Link::start(p.clone(), addr)).transpose()?;
    if let Some(l) = &link {
        addr = l.addr();
    }
    let echo = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await?;
        s.set_nodelay(true)?;
        let mut b = [0u8; 1];
        while s.read_exact(&mut b).await.is_ok() {
            s.write_all(&b).await?;
        }
        Ok::<_, std::io::Error>(())
    });
    let mut c = tokio::net::TcpStream::connect(addr).await?;
    c.set_nodelay(true)?;
    let mut b = [7u8; 1];
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        c.write_all(&b).await?;
        c.read_exact(&mut b).await?;
        samples.push(t.elapsed().as_secs_f64() * 1e6);
    }
    drop(c);
    let _ = echo.await;
    Ok(median(samples))
}

/// Median cost of committing one small insert in a WAL database with `sync`, µs.
pub fn sqlite_commit_us(
    dir: &std::path::Path,
    sync: SyncMode,
    rounds: usize,
) -> rusqlite::Result<f64> {
    let path = dir.join("calibration.db");
    let conn = rusqlite::Connection::open(&path)?;
    conn.execute_batch(&format!(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous={}; CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);",
        sync.as_str()
    ))?;
    let mut samples = Vec::with_capacity(rounds);
    for i in 0..rounds {
        let t = Instant::now();
        conn.execute("INSERT INTO t (v) VALUES (?1)", [format!("row {i}")])?;
        samples.push(t.elapsed().as_secs_f64() * 1e6);
    }
    drop(conn);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    Ok(median(samples))
}

/// The bulk-insert floor: rows per second of the sink's prepared insert, `rows` events in one
/// transaction on a fresh database with the sink's schema and the run's settings (the events are
/// made beforehand, untimed). What an ingestion can approach and never pass.
pub fn bulk_insert_rows_per_s(
    dir: &std::path::Path,
    sync: SyncMode,
    rows: usize,
) -> anyhow::Result<f64> {
    use checkout_core::ingest::events::{EventGen, EventsConfig};
    let path = dir.join("calibration-bulk.db");
    let conn = rusqlite::Connection::open(&path)?;
    conn.execute_batch(&format!(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous={};",
        sync.as_str()
    ))?;
    conn.execute_batch(checkout_core::ingest::SCHEMA)?;
    let events: Vec<(u64, checkout_core::ingest::Evento)> = EventGen::new(EventsConfig {
        repeat_rate: 0.0,
        invalid_rate: 0.0,
        start_us: 1,
        ..EventsConfig::default()
    })
    .take(rows)
    .enumerate()
    .map(|(i, e)| (i as u64, e))
    .collect();
    let t = Instant::now();
    conn.execute_batch("BEGIN")?;
    let r = checkout_core::ingest::insert_events(&conn, &events, None)
        .map_err(|e| anyhow::anyhow!("bulk insert: {e}"))?;
    conn.execute_batch("COMMIT")?;
    let secs = t.elapsed().as_secs_f64();
    anyhow::ensure!(r.inseridos == rows as u64, "bulk insert stored {r:?}");
    drop(conn);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    Ok(rows as f64 / secs)
}

/// Measures the floor.
pub async fn calibrate(
    dir: &std::path::Path,
    sync: SyncMode,
    cores: usize,
    link: Option<&LinkProfile>,
) -> anyhow::Result<Calibration> {
    let pinned = |placement| tokio::task::spawn_blocking(move || pinned_rtt_us(placement, 3000));
    let one_core = pinned(Placement::OneCore).await??;
    let across = pinned(Placement::AcrossCores).await??;
    let rtt = match one_core {
        Some(r) => r,
        None => loopback_rtt_us(3000).await?,
    };
    // With a link: a direct round trip and one through its proxy adding nothing, measured alike
    // (what the proxy costs by itself), and a round trip across the link.
    let links = match link {
        Some(p) => {
            let passthrough = LinkProfile::parse("passthrough").map_err(anyhow::Error::msg)?;
            let rounds = if p.delay.is_zero() && p.stall_rate == 0.0 {
                3000
            } else {
                200
            };
            Some((
                loopback_rtt_us(3000).await?,
                rtt_us(3000, Some(&passthrough)).await?,
                rtt_us(rounds, Some(p)).await?,
            ))
        }
        None => None,
    };
    let commit = sqlite_commit_us(dir, sync, 1000)?;
    // A checkout's hops cross the link when there is one.
    let hop_rtt = links.map_or(rtt, |(_, _, l)| l);
    let floor = 5.0 * hop_rtt + 5.0 * commit;
    Ok(Calibration {
        loopback_rtt_us: rtt,
        loopback_rtt_pinned: one_core.is_some(),
        cross_core_rtt_us: across,
        sqlite_commit_us: commit,
        floor_latency_us: floor,
        floor_rps: cores as f64 * 1e6 / floor,
        link_direct_rtt_us: links.map(|(d, _, _)| d),
        passthrough_rtt_us: links.map(|(_, p, _)| p),
        link_rtt_us: links.map(|(_, _, l)| l),
        echo: framework_echo(3000).await?,
        store: store_paths(dir, sync, 3000).await?,
        bulk_insert_rows_per_s: Some(bulk_insert_rows_per_s(dir, sync, 50_000)?),
    })
}

/// CPU time of this whole process, µs.
fn process_cpu_us() -> f64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    t.tv_sec as f64 * 1e6 + t.tv_nsec as f64 / 1e3
}

/// Times `calls` sequential calls of `f` after `calls / 10` unmeasured ones: median latency (µs),
/// calls per second, and process CPU per call (µs).
async fn time_calls<F, Fut>(calls: usize, mut f: F) -> anyhow::Result<(f64, f64, f64)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    for _ in 0..calls / 10 {
        f().await?;
    }
    let mut samples = Vec::with_capacity(calls);
    let (cpu, wall) = (process_cpu_us(), Instant::now());
    for _ in 0..calls {
        let t = Instant::now();
        f().await?;
        samples.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let per_s = calls as f64 / wall.elapsed().as_secs_f64();
    let cpu = (process_cpu_us() - cpu) / calls as f64;
    Ok((median(samples), per_s, cpu))
}

/// The echo's message: the order one checkout hop carries (Orders → Payments), with two lines
/// (a checkout of the bench's workload carries one to three), converted by each stack's own
/// mapping.
fn hop_order() -> checkout_core::ChainOrder {
    checkout_core::ChainOrder {
        order_id: 123_456,
        order_key: "bench-checkout-open-0-000123456".into(),
        amount_cents: 25_990,
        lines: (1..=2)
            .map(|i| checkout_core::OrderLine {
                product_id: i,
                quantity: 2,
                unit_price_cents: 4_990,
            })
            .collect(),
    }
}

/// An echo's timing (median µs, calls per second, CPU µs per call) as the calibration states it.
fn echo_cost(kind: TargetKind, (p50, per_s, cpu): (f64, f64, f64)) -> EchoCost {
    EchoCost {
        target: kind.label().into(),
        p50_us: p50,
        calls_per_s: per_s,
        cpu_us_per_call: cpu,
    }
}

/// A bare echo of each framework (tonic; actix-web + reqwest over HTTP/1.1 and HTTP/2; the TCP
/// stack's frames), client and server in this process, one call at a time.
pub async fn framework_echo(calls: usize) -> anyhow::Result<Vec<EchoCost>> {
    let mut out = Vec::new();
    {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(grpc_stack::echo::serve(listener, async {
            let _ = stopped.await;
        }));
        let client = grpc_stack::echo::client(addr);
        let msg = grpc_stack::convert::payment_to_wire(&hop_order());
        let timed = time_calls(calls, || {
            let (mut c, m) = (client.clone(), msg.clone());
            async move {
                c.ecoar(m).await?;
                Ok(())
            }
        })
        .await?;
        out.push(echo_cost(TargetKind::Grpc, timed));
        drop(client);
        let _ = stop.send(());
        server.await??;
    }
    for (kind, http2) in [(TargetKind::RestH1, false), (TargetKind::RestH2, true)] {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(rest_stack::echo::serve(listener, async {
            let _ = stopped.await;
        }));
        let client = std::sync::Arc::new(rest_stack::echo::EchoClient::new(addr, http2));
        let msg = std::sync::Arc::new(rest_stack::wire::PagamentoRequest::from(&hop_order()));
        let timed = time_calls(calls, || {
            let (c, m) = (client.clone(), msg.clone());
            async move {
                c.call(&m).await?;
                Ok(())
            }
        })
        .await?;
        out.push(echo_cost(kind, timed));
        drop(client);
        let _ = stop.send(());
        server.await??;
    }
    {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(tcp_stack::serve_echo(listener, async {
            let _ = stopped.await;
        }));
        let client = std::sync::Arc::new(tcp_stack::conn::Conn::new("echo", addr, None));
        let msg = std::sync::Arc::new(grpc_stack::convert::payment_to_wire(&hop_order()));
        let timed = time_calls(calls, || {
            let (c, m) = (client.clone(), msg.clone());
            async move {
                let ctx = checkout_core::CallCtx::unbounded();
                c.call::<grpc_stack::pb::pagamento::PagamentoRequest>(
                    tcp_stack::frame::Method::Ecoar,
                    ctx,
                    &*m,
                )
                .await?;
                Ok(())
            }
        })
        .await?;
        out.push(echo_cost(TargetKind::Tcp, timed));
        drop(client);
        let _ = stop.send(());
        server.await?;
    }
    Ok(out)
}

/// The store's paths one operation at a time: a write committed inline by its caller, a write
/// handed to the writer thread, a point read inline, a point read through the blocking pool.
pub async fn store_paths(
    dir: &std::path::Path,
    sync: SyncMode,
    ops: usize,
) -> anyhow::Result<Vec<StorePath>> {
    use checkout_core::store::{Db, StoreConfig};
    let mut out = Vec::new();
    let schema = "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT NOT NULL);";
    for (label, inline) in [("write inline", true), ("write hand-off", false)] {
        let path = dir.join(format!(
            "store-{}.db",
            if inline { "inline" } else { "handoff" }
        ));
        let config = StoreConfig {
            sync,
            inline_commit: inline,
            ..StoreConfig::default()
        };
        let db = Db::open(&path, schema, config)?;
        let (p50, per_s, cpu) = time_calls(ops, || {
            let db = db.clone();
            async move {
                db.write(|c| {
                    c.prepare_cached("INSERT INTO t (v) VALUES ('a checkout row')")?
                        .execute([])?;
                    Ok(())
                })
                .await?;
                Ok(())
            }
        })
        .await?;
        out.push(StorePath {
            path: if sync == SyncMode::Full && inline {
                "write inline (FULL: handed off)".into()
            } else {
                label.into()
            },
            p50_us: p50,
            ops_per_s: per_s,
            cpu_us_per_op: cpu,
        });
        if inline {
            let read = |c: &rusqlite::Connection| -> checkout_core::ServiceResult<String> {
                Ok(c.prepare_cached("SELECT v FROM t WHERE id = ?1")?
                    .query_row([7], |r| r.get(0))?)
            };
            for (label, pool) in [("read inline", false), ("read blocking pool", true)] {
                let (p50, per_s, cpu) = time_calls(ops, || {
                    let db = db.clone();
                    async move {
                        if pool {
                            db.scan(read).await?;
                        } else {
                            db.read(read).await?;
                        }
                        Ok(())
                    }
                })
                .await?;
                out.push(StorePath {
                    path: label.into(),
                    p50_us: p50,
                    ops_per_s: per_s,
                    cpu_us_per_op: cpu,
                });
            }
        }
        db.close();
        drop(db);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
    Ok(out)
}
