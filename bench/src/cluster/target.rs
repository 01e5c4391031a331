//! A target: one wiring of the six services, driven through the same two ports whatever its
//! transport, with the processes whose CPU and memory it costs.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use checkout_core::datagen::{DatagenConfig, generate};
use checkout_core::node::Peers;
use checkout_core::seed_import::init_data_dir;
use checkout_core::store::StoreConfig;
use checkout_core::wiring::InProcess;
use checkout_core::*;

use crate::cluster::supervisor::{Cluster, NodeFlags, Replicas, StackKind};

/// Units added to every product's stock before a run, so the sweep never sells out.
pub const STOCK_TOP_UP: i64 = 1_000_000_000;

/// The wirings a run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TargetKind {
    /// The six services wired by direct calls in the bench's process: the zero-transport baseline.
    InProcess,
    /// tonic + prost over HTTP/2.
    Grpc,
    /// actix-web + reqwest, JSON over HTTP/1.1.
    RestH1,
    /// actix-web + reqwest, JSON over HTTP/2 (prior knowledge).
    RestH2,
    /// Length-prefixed protobuf frames over plain TCP: the RPC without HTTP or a framework.
    Tcp,
}

impl TargetKind {
    /// Every target, in the order they alternate.
    pub const ALL: [TargetKind; 5] = [
        Self::InProcess,
        Self::Grpc,
        Self::RestH1,
        Self::RestH2,
        Self::Tcp,
    ];

    /// The label used on the command line, in `results.json` and in the report.
    pub fn label(self) -> &'static str {
        match self {
            Self::InProcess => "inprocess",
            Self::Grpc => "grpc",
            Self::RestH1 => "rest-h1",
            Self::RestH2 => "rest-h2",
            Self::Tcp => "tcp",
        }
    }

    /// Parses [`TargetKind::label`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.label() == s)
    }

    /// `inprocess`, `grpc`, `rest` or `tcp`.
    pub fn transport(self) -> &'static str {
        match self {
            Self::InProcess => "inprocess",
            Self::Grpc => "grpc",
            Self::RestH1 | Self::RestH2 => "rest",
            Self::Tcp => "tcp",
        }
    }

    /// A measuring stick rather than a candidate: in-process (no transport) and raw TCP (the RPC
    /// with no HTTP and no framework). Verdicts choose among the others.
    pub fn baseline(self) -> bool {
        matches!(self, Self::InProcess | Self::Tcp)
    }

    /// HTTP version between client and services and between services (none in-process or on
    /// plain TCP).
    pub fn http_version(self) -> Option<&'static str> {
        match self {
            Self::InProcess | Self::Tcp => None,
            Self::Grpc | Self::RestH2 => Some("2"),
            Self::RestH1 => Some("1.1"),
        }
    }

    /// The stack whose service processes it runs (none in-process).
    pub fn stack(self) -> Option<StackKind> {
        match self {
            Self::InProcess => None,
            Self::Grpc => Some(StackKind::Grpc),
            Self::RestH1 => Some(StackKind::Rest { http2: false }),
            Self::RestH2 => Some(StackKind::Rest { http2: true }),
            Self::Tcp => Some(StackKind::Tcp),
        }
    }
}

impl std::fmt::Display for TargetKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// One wiring, up and reachable.
pub struct Target {
    /// Which wiring.
    pub kind: TargetKind,
    /// Its Orders.
    pub orders: Arc<dyn OrdersPort>,
    /// Its Catalog.
    pub catalog: Arc<dyn CatalogPort>,
    /// Its data directory.
    pub data_dir: PathBuf,
    backend: Backend,
}

enum Backend {
    InProcess(InProcess),
    Cluster(Box<Cluster>),
    /// A stack running elsewhere (`--target-addr`): reached, not started, faulted or audited.
    Remote(Peers),
}

impl Target {
    /// Processes whose resources this target costs, plus the load generator (this process; for
    /// the in-process target it also hosts the services).
    pub fn processes(&self) -> Vec<(String, u32)> {
        let me = std::process::id();
        match &self.backend {
            Backend::InProcess(_) => vec![("loadgen+services".into(), me)],
            Backend::Remote(_) => vec![("loadgen".into(), me)],
            Backend::Cluster(c) => {
                let mut p = c.pids();
                p.push(("loadgen".into(), me));
                p
            }
        }
    }

    /// Where the services' core meters are read.
    pub fn meter_source(&self) -> crate::engine::meter::MeterSource {
        match &self.backend {
            Backend::InProcess(_) => crate::engine::meter::MeterSource::InProcess,
            Backend::Cluster(c) => crate::engine::meter::MeterSource::Processes {
                data_dir: self.data_dir.clone(),
                pids: c.service_pids(),
            },
            // Its processes are elsewhere: nothing to read.
            Backend::Remote(_) => crate::engine::meter::MeterSource::Processes {
                data_dir: self.data_dir.clone(),
                pids: Vec::new(),
            },
        }
    }

    /// Where what its services still owe is learnt.
    pub fn owed_source(&self) -> crate::cluster::owed::OwedSource {
        use crate::cluster::owed::OwedSource;
        match &self.backend {
            Backend::InProcess(_) => OwedSource::InProcess(self.data_dir.clone()),
            Backend::Cluster(c) => OwedSource::Processes {
                data_dir: self.data_dir.clone(),
                board: c.board(),
            },
            Backend::Remote(_) => OwedSource::Remote,
        }
    }

    /// Where `service` listens (its first replica; none in-process).
    pub fn addr(&self, service: ServiceName) -> Option<std::net::SocketAddr> {
        self.replicas(service).first().copied()
    }

    /// Where every replica of `service` listens (none in-process).
    pub fn replicas(&self, service: ServiceName) -> Vec<std::net::SocketAddr> {
        match &self.backend {
            Backend::Cluster(c) => c.peers.replicas(service).to_vec(),
            Backend::Remote(p) => p.replicas(service).to_vec(),
            Backend::InProcess(_) => Vec::new(),
        }
    }

    /// Connections each service's links carried so far (empty without links, or in-process).
    pub fn link_connections(&self) -> Vec<(ServiceName, u64)> {
        match &self.backend {
            Backend::Cluster(c) => c.link_connections(),
            Backend::InProcess(_) | Backend::Remote(_) => Vec::new(),
        }
    }

    /// The service processes, for fault injection (none in-process).
    pub fn cluster(&mut self) -> Option<&mut Cluster> {
        match &mut self.backend {
            Backend::Cluster(c) => Some(c),
            Backend::InProcess(_) | Backend::Remote(_) => None,
        }
    }

    /// True for a stack running elsewhere (`--target-addr`): its databases are not here.
    pub fn is_remote(&self) -> bool {
        matches!(self.backend, Backend::Remote(_))
    }

    /// Stops the target: service processes drain and exit; in-process databases close.
    pub fn stop(self) {
        // The clients go first, so no server waits for their idle connections while draining.
        let Target {
            orders,
            catalog,
            backend,
            ..
        } = self;
        drop((orders, catalog));
        match backend {
            Backend::InProcess(app) => app.close(),
            Backend::Cluster(c) => c.stop(std::time::Duration::from_secs(6)),
            Backend::Remote(_) => {}
        }
    }
}

/// Writes the run's `ecommerce.db` for a catalog of `products`.
pub fn seed_database(dir: &Path, seed: u64, products: usize) -> anyhow::Result<PathBuf> {
    let path = dir.join(format!("ecommerce-{products}.db"));
    generate(
        &path,
        DatagenConfig {
            customers: 50,
            products,
            orders: 100,
            seed,
        },
    )?;
    Ok(path)
}

/// Initialises a target's data directory from the seed database and tops its stock up.
pub fn prepare_data(seed_db: &Path, data_dir: &Path, store: StoreConfig) -> anyhow::Result<()> {
    let mut env = ServiceEnv::new(data_dir);
    env.store = store;
    init_data_dir(seed_db, &env)?;
    checkout_core::seed_import::top_up_stock(data_dir, STOCK_TOP_UP)?;
    Ok(())
}

/// The bench's clients of a networked stack's Orders and Catalog at `callers`.
/// They are made on the driver runtime, where their connection tasks will run.
fn clients(kind: TargetKind, callers: &Peers) -> (Arc<dyn OrdersPort>, Arc<dyn CatalogPort>) {
    let _driver = crate::engine::driver::handle().enter();
    match kind {
        TargetKind::Grpc => {
            let c = grpc_stack::GrpcClients::new(callers);
            (Arc::new(c.orders), Arc::new(c.catalog))
        }
        TargetKind::Tcp => {
            let c = tcp_stack::TcpClients::new(callers);
            (Arc::new(c.orders), Arc::new(c.catalog))
        }
        _ => {
            let c = rest_stack::RestClients::new(callers, kind == TargetKind::RestH2);
            (Arc::new(c.orders), Arc::new(c.catalog))
        }
    }
}

/// A stack of `kind` already running elsewhere, its Orders at `orders` and Catalog at `catalog`:
/// the bench drives it (over TLS with `tls`), and neither starts, faults nor audits it.
pub fn remote(
    kind: TargetKind,
    orders: SocketAddr,
    catalog: SocketAddr,
    tls: Option<Arc<checkout_core::tls::Tls>>,
) -> anyhow::Result<Target> {
    anyhow::ensure!(kind.stack().is_some(), "{kind} is not a networked stack");
    let mut peers = Peers::from_base(orders.ip(), 0).with_tls(tls);
    peers.set(ServiceName::Orders, orders);
    peers.set(ServiceName::Catalog, catalog);
    let (orders, catalog) = clients(kind, &peers);
    Ok(Target {
        kind,
        orders,
        catalog,
        data_dir: PathBuf::new(),
        backend: Backend::Remote(peers),
    })
}

/// Parses `--target-addr KIND=HOST:PORT[,HOST:PORT]`: a networked stack running elsewhere, its
/// Orders at the first address and its Catalog at the second (default: Orders' port + 5, the
/// stacks' layout). Names are resolved now.
pub fn parse_remote(s: &str) -> Result<(TargetKind, SocketAddr, SocketAddr), String> {
    use std::net::ToSocketAddrs;
    let (kind, addrs) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: expected KIND=HOST:PORT[,HOST:PORT]"))?;
    let kind = TargetKind::parse(kind)
        .filter(|k| k.stack().is_some())
        .ok_or_else(|| format!("{kind:?}: grpc, rest-h1, rest-h2 or tcp"))?;
    let resolve = |a: &str| -> Result<SocketAddr, String> {
        a.to_socket_addrs()
            .map_err(|e| format!("{a}: {e}"))?
            .next()
            .ok_or_else(|| format!("{a}: no address"))
    };
    let mut it = addrs.split(',');
    let orders = resolve(it.next().unwrap_or_default())?;
    let catalog = match it.next() {
        Some(a) => resolve(a)?,
        None => SocketAddr::new(
            orders.ip(),
            orders.port() + ServiceName::Catalog.index() as u16,
        ),
    };
    Ok((kind, orders, catalog))
}

/// Brings up the target `kind` on `data_dir` (already prepared).
pub fn start(
    kind: TargetKind,
    data_dir: &Path,
    env: &ServiceEnv,
    flags: &NodeFlags,
    logs: &Path,
) -> anyhow::Result<Target> {
    start_replicated(kind, data_dir, env, flags, logs, None)
}

/// [`start`], with one service run as several processes (networked targets only).
pub fn start_replicated(
    kind: TargetKind,
    data_dir: &Path,
    env: &ServiceEnv,
    flags: &NodeFlags,
    logs: &Path,
    replicas: Option<Replicas>,
) -> anyhow::Result<Target> {
    let backend = match kind.stack() {
        None => {
            anyhow::ensure!(replicas.is_none(), "in-process services have no replicas");
            let mut env = env.clone();
            env.data_dir = data_dir.to_owned();
            Backend::InProcess(InProcess::open(&env)?)
        }
        Some(stack) => {
            let exe = std::env::current_exe()?;
            Backend::Cluster(Box::new(Cluster::start_with(
                &exe, stack, data_dir, flags, logs, replicas,
            )?))
        }
    };
    let (orders, catalog): (Arc<dyn OrdersPort>, Arc<dyn CatalogPort>) = match &backend {
        Backend::InProcess(app) => (Arc::new(app.orders.clone()), app.catalog.clone()),
        Backend::Cluster(c) => clients(kind, c.callers()),
        Backend::Remote(p) => clients(kind, p),
    };
    Ok(Target {
        kind,
        orders,
        catalog,
        data_dir: data_dir.to_owned(),
        backend,
    })
}
