//! What a service process needs before it serves, whatever its transport: a data directory
//! initialised from an `ecommerce.db` (generated with the seed's defaults when none is given),
//! the addresses of its peers, and a future that resolves on SIGINT or SIGTERM.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::datagen::{DatagenConfig, generate};
use crate::seed_import::{SeedError, SeedSummary, init_data_dir};
use crate::services::ServiceEnv;
use crate::tls::Tls;
use crate::topology::ServiceName;

/// Where each of the six services listens — one address per service, or several replicas that
/// callers take in turn — and whether they are reached over TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peers {
    addrs: [Vec<SocketAddr>; 6],
    tls: Option<Arc<Tls>>,
}

impl Peers {
    /// Ports `base+0 … base+5` on `host`, in [`ServiceName::ALL`] order; base 0 leaves every
    /// port 0 (to be picked when bound).
    pub fn from_base(host: IpAddr, base_port: u16) -> Self {
        let port = |i: usize| {
            if base_port == 0 {
                0
            } else {
                base_port + i as u16
            }
        };
        Self {
            addrs: std::array::from_fn(|i| vec![SocketAddr::new(host, port(i))]),
            tls: None,
        }
    }

    /// The chain's TLS material when the services serve (and call each other) over TLS.
    pub fn tls(&self) -> Option<&Arc<Tls>> {
        self.tls.as_ref()
    }

    /// Serve and call over TLS with `tls` (or in the clear with `None`).
    pub fn set_tls(&mut self, tls: Option<Arc<Tls>>) {
        self.tls = tls;
    }

    /// The same peers, reached over TLS with `tls` (or in the clear with `None`).
    pub fn with_tls(mut self, tls: Option<Arc<Tls>>) -> Self {
        self.tls = tls;
        self
    }

    /// The address of `service` (its first replica).
    pub fn get(&self, service: ServiceName) -> SocketAddr {
        self.addrs[service.index()][0]
    }

    /// Every replica of `service`, in the order callers take them.
    pub fn replicas(&self, service: ServiceName) -> &[SocketAddr] {
        &self.addrs[service.index()]
    }

    /// Replaces the address of `service` with one.
    pub fn set(&mut self, service: ServiceName, addr: SocketAddr) {
        self.addrs[service.index()] = vec![addr];
    }

    /// Replaces the addresses of `service` with `replicas` (kept as they are when empty).
    pub fn set_replicas(&mut self, service: ServiceName, replicas: Vec<SocketAddr>) {
        if !replicas.is_empty() {
            self.addrs[service.index()] = replicas;
        }
    }
}

/// Initialises `env.data_dir` from `from`, or, without it, from an `ecommerce.db` with the seed's
/// default counts generated (once) in the data directory with `seed`.
pub fn prepare_data_dir(
    env: &ServiceEnv,
    from: Option<&Path>,
    seed: u64,
) -> Result<SeedSummary, SeedError> {
    let source: PathBuf = match from {
        Some(p) => p.to_owned(),
        None => {
            std::fs::create_dir_all(&env.data_dir)?;
            let p = env.data_dir.join("ecommerce.db");
            if !p.exists() {
                generate(
                    &p,
                    DatagenConfig {
                        seed,
                        ..DatagenConfig::default()
                    },
                )?;
            }
            p
        }
    };
    init_data_dir(&source, env)
}

/// Resolves when the process receives SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("install SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// A resolved `serve` command line.
#[derive(Debug, Clone)]
pub struct NodeOptions {
    /// Services this process runs.
    pub services: Vec<ServiceName>,
    /// Where every service listens (ours are bound there; port 0 means "pick one").
    pub peers: Peers,
    /// Data directory, storage and simulation settings.
    pub env: ServiceEnv,
    /// The ecommerce.db to initialise from, if any.
    pub from: Option<PathBuf>,
    /// Seed for generated data.
    pub seed: u64,
    /// Initialise the data directory before serving (false when a supervisor already did).
    pub init: bool,
    /// Record Prometheus metrics (served at `/metrics` either way).
    pub metrics: bool,
}

/// A server that has opened its database and is ready to run.
pub type Serving =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), BoxError>> + Send>>;
/// A boxed error, for the process edge.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// Resolves when the process is asked to stop.
pub type Shutdown = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// A started service: its name, its stop switch, its task.
type Running = (
    ServiceName,
    tokio::sync::watch::Sender<bool>,
    tokio::task::JoinHandle<Result<(), BoxError>>,
);

/// Services started in this process, each stoppable on its own.
pub struct LocalStack {
    /// Where every service listens (real ports, once bound).
    pub peers: Peers,
    running: Vec<Running>,
}

impl LocalStack {
    /// Asks `service` to stop and waits until it has drained and closed its database.
    pub async fn stop(&mut self, service: ServiceName) -> Result<(), BoxError> {
        match self.running.iter().position(|(s, ..)| *s == service) {
            Some(i) => {
                let (_, tx, task) = self.running.remove(i);
                let _ = tx.send(true);
                task.await?
            }
            None => Ok(()),
        }
    }

    /// Stops every service, callers before the services they call (Orders, Catalog, Payments,
    /// Inventory, Fiscal, Logistics), so no server waits on a connection from a peer that is still
    /// up; reports the first failure.
    pub async fn stop_all(mut self) -> Result<(), BoxError> {
        const CALLERS_FIRST: [ServiceName; 6] = [
            ServiceName::Orders,
            ServiceName::Catalog,
            ServiceName::Payments,
            ServiceName::Inventory,
            ServiceName::Fiscal,
            ServiceName::Logistics,
        ];
        let mut first = Ok(());
        for s in CALLERS_FIRST {
            if let Err(e) = self.stop(s).await
                && first.is_ok()
            {
                first = Err(format!("{s}: {e}").into());
            }
        }
        first
    }
}

/// Binds every listener of `services` at `peers` first (so port 0 works and each service learns
/// its peers' real addresses), then opens and starts each with the transport's `start`, calling
/// `ready` once per service as it becomes ready.
pub async fn spawn_services<F>(
    services: &[ServiceName],
    mut peers: Peers,
    env: &ServiceEnv,
    start: F,
    mut ready: impl FnMut(ServiceName, SocketAddr),
) -> Result<LocalStack, BoxError>
where
    F: Fn(
        ServiceName,
        &ServiceEnv,
        &Peers,
        std::net::TcpListener,
        Shutdown,
    ) -> Result<Serving, BoxError>,
{
    let mut listeners = Vec::new();
    for &s in services {
        let l = std::net::TcpListener::bind(peers.get(s))
            .map_err(|e| format!("{s}: bind {}: {e}", peers.get(s)))?;
        l.set_nonblocking(true)?;
        peers.set(s, l.local_addr()?);
        listeners.push((s, l));
    }
    let mut stack = LocalStack {
        peers,
        running: Vec::new(),
    };
    for (s, l) in listeners {
        let addr = l.local_addr()?;
        let (tx, mut rx) = tokio::sync::watch::channel(false);
        let shutdown: Shutdown = Box::pin(async move {
            let _ = rx.wait_for(|stop| *stop).await;
        });
        let serving = start(s, env, &stack.peers, l, shutdown).map_err(|e| format!("{s}: {e}"))?;
        stack.running.push((s, tx, tokio::spawn(serving)));
        ready(s, addr);
    }
    Ok(stack)
}

/// Runs `opts.services` with the transport's `start`: initialises the data directory, starts
/// every service, prints `NAME listening on ADDR` once each is ready, and on SIGINT/SIGTERM (or
/// `stop`) lets every server drain and close its database.
pub async fn run_services<F>(
    opts: NodeOptions,
    stop: impl std::future::Future<Output = ()>,
    start: F,
) -> Result<(), BoxError>
where
    F: Fn(
        ServiceName,
        &ServiceEnv,
        &Peers,
        std::net::TcpListener,
        Shutdown,
    ) -> Result<Serving, BoxError>,
{
    if opts.init {
        prepare_data_dir(&opts.env, opts.from.as_deref(), opts.seed)?;
    }
    crate::metrics::set_enabled(opts.metrics);
    #[cfg(feature = "cli")]
    if crate::telemetry::export_spans(&opts.services)? {
        tracing::info!(
            "exporting spans over OTLP to {}",
            crate::telemetry::otlp_endpoint().unwrap_or_default()
        );
    }
    // The handlers are in place before any service says it listens: a SIGUSR1 or SIGUSR2 that
    // came first would otherwise end the process (its default action).
    let answers = crate::signal_files::OnSignal::install(&opts.env.data_dir, &opts.services);
    let stack = spawn_services(&opts.services, opts.peers, &opts.env, start, |s, addr| {
        println!("{s} listening on {addr}");
    })
    .await?;
    let answers = tokio::spawn(answers.serve());
    tokio::select! {
        _ = shutdown_signal() => {}
        _ = stop => {}
    }
    answers.abort();
    let stopped = stack.stop_all().await;
    #[cfg(feature = "cli")]
    crate::telemetry::flush();
    stopped
}

/// Runs the ingestion sink of `data_dir` on `addr` with the transport's `start` (given the sink,
/// its listener and the TLS material it serves with, if any): prints `ingestao listening on ADDR` once ready, and on SIGINT/SIGTERM (or
/// `stop`) lets the server drain, running imports stop at their next block, and the database
/// close.
pub async fn run_sink<F>(
    addr: SocketAddr,
    data_dir: &Path,
    store: crate::store::StoreConfig,
    tls: Option<Arc<Tls>>,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
    start: F,
) -> Result<(), BoxError>
where
    F: FnOnce(
        crate::ingest::Sink,
        std::net::TcpListener,
        Option<Arc<Tls>>,
        Shutdown,
    ) -> Result<Serving, BoxError>,
{
    let sink = crate::ingest::Sink::open(data_dir, store)?;
    let listener =
        std::net::TcpListener::bind(addr).map_err(|e| format!("ingestao: bind {addr}: {e}"))?;
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;
    let shutdown: Shutdown = Box::pin(async move {
        tokio::select! {
            _ = shutdown_signal() => {}
            _ = stop => {}
        }
    });
    let serving = start(sink, listener, tls, shutdown)?;
    println!("ingestao listening on {local}");
    serving.await
}
