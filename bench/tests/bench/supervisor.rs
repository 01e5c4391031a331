//! The supervisor starts a stack as six processes, they serve, one can be killed and restarted,
//! and stopping leaves no process behind.

use std::path::Path;
use std::time::Duration;

use bench::cluster::supervisor::{Cluster, NodeFlags, StackKind};
use checkout_core::audit::Ask;
use checkout_core::testkit::{PRODUCTS, Probe, approving, init_env, request};
use checkout_core::*;
use tempfile::TempDir;

fn flags() -> NodeFlags {
    NodeFlags {
        seed: 7,
        sync: "normal".into(),
        approval_rate: 1.0,
        chain_timeout_ms: 3000,
        grpc_workers: 1,
        grpc_per_thread: true,
        rest_workers: 1,
        admission: checkout_core::admission::Admission::default(),
        work: Vec::new(),
        cpus: 0,
        metrics: true,
        coalesce: true,
        shared_db: false,
        otlp: None,
        link: None,
        tls: None,
    }
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "))
}

async fn exercise(kind: StackKind) {
    let dir = TempDir::new().unwrap();
    let env = init_env(dir.path(), PRODUCTS, approving());
    let exe = Path::new(env!("CARGO_BIN_EXE_bench"));
    let mut cluster = Cluster::start_with(
        exe,
        kind,
        &env.data_dir,
        &flags(),
        &dir.path().join("logs"),
        None,
    )
    .unwrap();
    let pids: Vec<u32> = cluster.pids().into_iter().map(|(_, p)| p).collect();
    assert_eq!(pids.len(), 6);
    let orders = orders_of(kind, &cluster.peers);
    let ctx = || CallCtx::with_timeout(Duration::from_secs(5));
    let first = orders
        .place_order(ctx(), request("p-1", 1, &[(1, 1)]))
        .await
        .unwrap();
    assert_eq!(first.status, OrderStatus::Enviado);
    // Every service process reports what its core's storage work cost when asked (SIGUSR1).
    let meter = bench::engine::meter::MeterSource::Processes {
        data_dir: env.data_dir.clone(),
        pids: cluster.service_pids(),
    };
    let m = meter.read().await;
    assert!(m[&ServiceName::Orders].writes >= 2, "{kind:?}: {m:?}");
    for s in [
        ServiceName::Payments,
        ServiceName::Inventory,
        ServiceName::Fiscal,
        ServiceName::Logistics,
    ] {
        assert!(m[&s].writes >= 1 && m[&s].cpu_ns > 0, "{kind:?} {s}: {m:?}");
    }

    // A crashed service: the chain answers UNAVAILABLE and undoes its work.
    cluster.kill(ServiceName::Logistics);
    let err = orders
        .place_order(ctx(), request("p-2", 1, &[(2, 1)]))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ServiceError::Unavailable {
                service: "logistics",
                ..
            }
        ),
        "{kind:?}: {err:?}"
    );
    // Each running service owns its database (another process cannot read it), so what the
    // chain still owes is asked of the processes (SIGUSR2); the killed one's file is read.
    assert!(
        checkout_core::audit::owed_in(&env.data_dir, ServiceName::Orders, Ask::All).is_err(),
        "{kind:?}: Orders' database was readable from another process while Orders ran"
    );
    let owed = bench::cluster::owed::OwedSource::Processes {
        data_dir: env.data_dir.clone(),
        board: cluster.board(),
    };
    let o = owed
        .read(Ask::All)
        .await
        .expect("every chain service answers or is read");
    let owed_by = |s: ServiceName| o.iter().find(|(x, _)| *x == s).map(|(_, o)| *o);
    for s in ServiceName::CHAIN {
        assert!(owed_by(s).is_some(), "{kind:?}: {s} not counted: {o:?}");
    }
    // Fiscal keeps the cancellation it owes the dead Logistics until Logistics is back.
    assert!(
        owed_by(ServiceName::Fiscal).is_some_and(|f| f.backlog >= 1),
        "{kind:?}: {o:?}"
    );

    // Restarted on the same port and database, it serves again.
    cluster.spawn(ServiceName::Logistics).unwrap();
    let again = orders
        .place_order(ctx(), request("p-3", 1, &[(2, 1)]))
        .await
        .unwrap();
    assert_eq!(again.status, OrderStatus::Enviado);
    // Once the failed order's compensations are acknowledged, nothing is owed.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let o = owed.read(Ask::All).await;
        if o.as_ref()
            .is_some_and(|o| o.iter().all(|(_, o)| o.total() == 0))
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{kind:?}: still owed after 10 s: {o:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let all: Vec<u32> = cluster.pids().into_iter().map(|(_, p)| p).collect();
    drop(orders);
    cluster.stop(Duration::from_secs(6));
    for pid in all {
        assert!(
            !alive(pid),
            "{kind:?}: process {pid} outlived the supervisor's stop"
        );
    }
    let report = Probe(env.data_dir.clone()).audit();
    assert!(report.is_clean(), "{kind:?}: {:?}", report.violations);
    assert_eq!((report.orders, report.shipped), (3, 2));
}

/// A stack of `kind` as six processes on fresh data, its flags changed by `set`.
fn cluster_with(
    kind: StackKind,
    set: impl FnOnce(&mut NodeFlags),
) -> (TempDir, checkout_core::ServiceEnv, Cluster) {
    let dir = TempDir::new().unwrap();
    let env = init_env(dir.path(), PRODUCTS, approving());
    let mut f = flags();
    set(&mut f);
    let cluster = Cluster::start_with(
        Path::new(env!("CARGO_BIN_EXE_bench")),
        kind,
        &env.data_dir,
        &f,
        &dir.path().join("logs"),
        None,
    )
    .unwrap();
    (dir, env, cluster)
}

/// A client of the cluster's Orders over its stack's transport.
fn orders_of(kind: StackKind, peers: &checkout_core::node::Peers) -> Box<dyn OrdersPort> {
    match kind {
        StackKind::Grpc => Box::new(grpc_stack::GrpcClients::new(peers).orders),
        StackKind::Rest { http2 } => Box::new(rest_stack::RestClients::new(peers, http2).orders),
        StackKind::Tcp => Box::new(tcp_stack::TcpClients::new(peers).orders),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grpc_cluster_runs_as_six_processes_survives_a_restart_and_leaves_none_behind() {
    exercise(StackKind::Grpc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rest_cluster_runs_as_six_processes_survives_a_restart_and_leaves_none_behind() {
    exercise(StackKind::Rest { http2: false }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tcp_cluster_runs_as_six_processes_survives_a_restart_and_leaves_none_behind() {
    exercise(StackKind::Tcp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_cluster_kills_its_processes() {
    let dir = TempDir::new().unwrap();
    let env = init_env(dir.path(), PRODUCTS, approving());
    let exe = Path::new(env!("CARGO_BIN_EXE_bench"));
    let cluster = Cluster::start_with(
        exe,
        StackKind::Grpc,
        &env.data_dir,
        &flags(),
        &dir.path().join("logs"),
        None,
    )
    .unwrap();
    let pids: Vec<u32> = cluster.pids().into_iter().map(|(_, p)| p).collect();
    drop(cluster);
    for pid in pids {
        assert!(!alive(pid), "process {pid} survived the drop");
    }
}

/// Places 20 checkouts through a stack whose Payments runs as two processes, reached in turn
/// (`balanced`: false) or through a layer-4 balancer, its services started with `flags`; returns
/// the payments each replica wrote.
async fn payments_split(kind: StackKind, balanced: bool, flags: &NodeFlags) -> Vec<u64> {
    use bench::cluster::balancer::Balancer;
    use bench::cluster::supervisor::Replicas;

    let dir = TempDir::new().unwrap();
    let env = init_env(dir.path(), PRODUCTS, approving());
    let exe = Path::new(env!("CARGO_BIN_EXE_bench"));
    let front = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let replicas = Replicas {
        service: ServiceName::Payments,
        count: 2,
        front: balanced.then(|| front.local_addr().unwrap()),
    };
    let cluster = Cluster::start_with(
        exe,
        kind,
        &env.data_dir,
        flags,
        &dir.path().join("logs"),
        Some(replicas),
    )
    .unwrap();
    let _balancer = balanced.then(|| {
        Balancer::start(
            front,
            cluster.peers.replicas(ServiceName::Payments).to_vec(),
        )
    });
    let orders = orders_of(kind, &cluster.peers);
    for i in 0..20 {
        let o = orders
            .place_order(
                CallCtx::with_timeout(Duration::from_secs(5)),
                request(&format!("r-{i}"), 1, &[(1 + i % 2, 1)]),
            )
            .await
            .unwrap();
        assert_eq!(o.status, OrderStatus::Enviado);
    }
    let mut writes = Vec::new();
    for (name, pid) in cluster.pids() {
        if name.starts_with("payments") {
            let meter = bench::engine::meter::MeterSource::Processes {
                data_dir: env.data_dir.clone(),
                pids: vec![(ServiceName::Payments, pid)],
            };
            writes.push(meter.read().await[&ServiceName::Payments].writes);
        }
    }
    drop(orders);
    cluster.stop(Duration::from_secs(6));
    // Both replicas wrote to the one payments database: the chain's records still agree.
    let report = Probe(env.data_dir.clone()).audit();
    assert!(report.is_clean(), "{kind:?}: {:?}", report.violations);
    assert_eq!(report.orders, 20);
    writes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_taken_in_turn_share_the_calls_and_a_balancer_pins_one_connection_to_one() {
    for kind in [StackKind::Grpc, StackKind::Rest { http2: false }] {
        let split = payments_split(kind, false, &flags()).await;
        assert_eq!(split.len(), 2, "{kind:?}");
        assert!(split.iter().all(|&w| w >= 8), "{kind:?} in turn: {split:?}");
    }
    // On one shared runtime, gRPC's forward calls share one HTTP/2 connection: the balancer
    // hands it to one replica. (Serving per thread, each thread's channels are connections of
    // their own, which a balancer spreads: the in-turn case above.)
    let shared = NodeFlags {
        grpc_per_thread: false,
        ..flags()
    };
    let split = payments_split(StackKind::Grpc, true, &shared).await;
    assert!(
        split.iter().any(|&w| w >= 20) && split.contains(&0),
        "behind the balancer: {split:?}"
    );
}

/// With a collector configured, each service process exports one span per hop over OTLP; a
/// checkout's spans from all five processes carry the trace id its client sent, and Orders'
/// span names the client's span as its parent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hop_s_span_is_exported_over_otlp_in_the_client_s_trace() {
    for kind in [
        StackKind::Grpc,
        StackKind::Rest { http2: false },
        StackKind::Tcp,
    ] {
        let sink = bench::cluster::otlp_sink::OtlpSink::start(true)
            .await
            .unwrap();
        let (_dir, _env, cluster) = cluster_with(kind, |f| f.otlp = Some(sink.endpoint()));
        let trace = Trace::new();
        let ctx = CallCtx::with_timeout(Duration::from_secs(5)).traced(trace);
        let o = orders_of(kind, &cluster.peers)
            .place_order(ctx, request(&format!("otlp-{kind:?}"), 1, &[(1, 1)]))
            .await
            .unwrap();
        assert_eq!(o.status, OrderStatus::Enviado);
        // A stop flushes what each process still buffers.
        tokio::task::spawn_blocking(move || cluster.stop(Duration::from_secs(6)))
            .await
            .unwrap();
        let got = sink.received();
        let has = |body: &[u8], needle: &[u8]| body.windows(needle.len()).any(|w| w == needle);
        let trace_id = trace.trace_id.to_be_bytes();
        for s in ServiceName::CHAIN {
            let name = format!("checkout-{s}");
            assert!(
                got.bodies
                    .iter()
                    .any(|b| has(b, name.as_bytes()) && has(b, &trace_id)),
                "{kind:?}: no span of {s} in trace {} among {} exports",
                trace.trace_hex(),
                got.posts
            );
        }
        assert!(
            got.bodies
                .iter()
                .any(|b| has(b, b"checkout-orders") && has(b, &trace.parent_id.to_be_bytes())),
            "{kind:?}: Orders' span is the client's child"
        );
    }
}

/// With a link profile every hop — the client's to Orders included — crosses a shaping proxy;
/// checkouts go through, each hop's link counts the connections it carried, and after every
/// link connection is reset the stack reconnects and serves again, leaving nothing half done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hop_crosses_its_link_and_survives_a_reset() {
    for kind in [
        StackKind::Grpc,
        StackKind::Rest { http2: false },
        StackKind::Tcp,
    ] {
        let (_dir, env, cluster) = cluster_with(kind, |f| {
            f.link = Some(bench::cluster::link::LinkProfile::parse("delay=1ms").unwrap())
        });
        let orders = orders_of(kind, cluster.callers());
        let ctx = || CallCtx::with_timeout(Duration::from_secs(5));
        let sent = std::time::Instant::now();
        let o = orders
            .place_order(ctx(), request(&format!("link-{kind:?}-0"), 1, &[(1, 1)]))
            .await
            .unwrap();
        assert_eq!(o.status, OrderStatus::Enviado);
        // Five hops, each a round trip of at least 2 ms across its link.
        assert!(
            sent.elapsed() >= Duration::from_millis(10),
            "{kind:?}: {:?}",
            sent.elapsed()
        );
        let carried = cluster.link_connections();
        for s in ServiceName::CHAIN {
            let n = carried.iter().find(|(x, _)| *x == s).map_or(0, |(_, n)| *n);
            assert!(
                n >= 1,
                "{kind:?}: no connection crossed {s}'s link: {carried:?}"
            );
        }
        cluster.reset_links();
        let mut served = false;
        for i in 1..=20 {
            let key = format!("link-{kind:?}-{i}");
            if let Ok(o) = orders.place_order(ctx(), request(&key, 1, &[(1, 1)])).await {
                assert_eq!(o.status, OrderStatus::Enviado);
                served = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(served, "{kind:?}: no checkout went through after the reset");
        drop(orders);
        tokio::task::spawn_blocking(move || cluster.stop(Duration::from_secs(6)))
            .await
            .unwrap();
        let report = Probe(env.data_dir.clone()).audit();
        assert!(report.is_clean(), "{kind:?}: {:?}", report.violations);
    }
}
