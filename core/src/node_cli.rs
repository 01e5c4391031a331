//! The `serve` flags shared by the gRPC and REST binaries, so both take the same command line,
//! and the one logging setup every binary that runs services installs.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::node::{BoxError, NodeOptions, Peers};
use crate::services::ServiceEnv;
use crate::sim::{Simulation, WorkTime};
use crate::store::{StoreConfig, SyncMode};
use crate::tls::Tls;
use crate::topology::ServiceName;

/// Serve the checkout's services.
#[derive(clap::Args, Debug, Clone)]
pub struct ServeArgs {
    /// Which service to run: `all` (six servers in this process) or one of orders, payments,
    /// inventory, fiscal, logistics, catalog.
    #[arg(long, default_value = "all")]
    pub service: String,
    /// First port; services listen on base+0 … base+5 in the order orders, payments, inventory,
    /// fiscal, logistics, catalog. 0 picks free ports (only with --service all).
    #[arg(long)]
    pub base_port: Option<u16>,
    /// Address to bind.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub bind: IpAddr,
    /// Folder of the six SQLite databases.
    #[arg(long, default_value = "data")]
    pub data_dir: PathBuf,
    /// Initialise the databases from this ecommerce.db (seed schema); without it, one with the
    /// seed's default counts is generated in the data directory.
    #[arg(long)]
    pub from: Option<PathBuf>,
    /// The data directory is already initialised (by a supervisor): do not import into it.
    #[arg(long)]
    pub no_init: bool,
    /// Run seed: with each order's key, decides every simulated outcome.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// SQLite `synchronous` setting: off, normal or full.
    #[arg(long, default_value = "normal", value_parser = parse_sync)]
    pub sync: SyncMode,
    /// Another process opens the same databases (a replica of this service): take SQLite's file
    /// locks on every transaction instead of holding the files for this process alone.
    #[arg(long)]
    pub shared_db: bool,
    /// Simulation profile: `default` (no simulated work) or `seed-delays` (payments 0.5–1.5 s).
    #[arg(long, default_value = "default")]
    pub sim_profile: String,
    /// Probability that a payment is approved.
    #[arg(long, default_value_t = 0.9)]
    pub approval_rate: f64,
    /// Extra simulated work, `SERVICE=MS` or `SERVICE=MIN-MAX` in milliseconds (repeatable).
    #[arg(long, value_parser = parse_work)]
    pub work: Vec<(ServiceName, WorkTime)>,
    /// Deadline Orders gives the whole chain, in milliseconds.
    #[arg(long, default_value_t = crate::services::DEFAULT_CHAIN_TIMEOUT.as_millis() as u64)]
    pub chain_timeout_ms: u64,
    /// What each service admits: `static` (at most 64 requests in flight), `static:N`,
    /// `adaptive` (a limit that follows latency) or `off` (everything; no load shedding).
    #[arg(long, default_value = "static", value_parser = crate::admission::Admission::parse)]
    pub admission: crate::admission::Admission,
    /// Record Prometheus metrics (`on`, the default) or not (`off`: to measure what they
    /// cost); `/metrics` is served either way.
    #[arg(long, default_value = "on", value_parser = ["on", "off"])]
    pub metrics: String,
    /// Address of Orders (when it runs elsewhere), `IP:PORT` or `HOST:PORT` (a name is resolved
    /// once, at start, waiting up to 30 s for it to exist — a container's or a Kubernetes
    /// Service's); several, comma-separated, for replicas called in turn (client-side round
    /// robin).
    #[arg(long, value_delimiter = ',', value_parser = parse_peer)]
    pub peer_orders: Vec<String>,
    /// Address of Payments; several, comma-separated, for replicas called in turn
    /// (client-side round robin).
    #[arg(long, value_delimiter = ',', value_parser = parse_peer)]
    pub peer_payments: Vec<String>,
    /// Address of Inventory; several, comma-separated, for replicas called in turn
    /// (client-side round robin).
    #[arg(long, value_delimiter = ',', value_parser = parse_peer)]
    pub peer_inventory: Vec<String>,
    /// Address of Fiscal; several, comma-separated, for replicas called in turn
    /// (client-side round robin).
    #[arg(long, value_delimiter = ',', value_parser = parse_peer)]
    pub peer_fiscal: Vec<String>,
    /// Address of Logistics; several, comma-separated, for replicas called in turn
    /// (client-side round robin).
    #[arg(long, value_delimiter = ',', value_parser = parse_peer)]
    pub peer_logistics: Vec<String>,
    /// Address of Catalog; several, comma-separated, for replicas called in turn
    /// (client-side round robin).
    #[arg(long, value_delimiter = ',', value_parser = parse_peer)]
    pub peer_catalog: Vec<String>,
    /// TLS between the services and for their callers.
    #[command(flatten)]
    pub tls: TlsArgs,
}

/// TLS for a service process: the same flags on `serve` and `sink`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct TlsArgs {
    /// Serve over TLS (rustls; gRPC with ALPN h2, REST https with h2 and http/1.1), and call the
    /// other services over TLS, with the chain's certificates from --tls-dir (made on first use:
    /// a CA of the chain's own and one certificate it signed).
    #[arg(long)]
    pub tls: bool,
    /// Mutual TLS (implies --tls): refuse a caller that presents no certificate signed by the
    /// chain's CA, and present the chain's certificate when calling.
    #[arg(long)]
    pub mtls: bool,
    /// Folder of the chain's TLS material (`ca.pem`, `chain.pem`, `chain.key`); by default `tls`
    /// in the data directory. Every process of a chain must be given the same material.
    #[arg(long)]
    pub tls_dir: Option<PathBuf>,
}

impl TlsArgs {
    /// The chain's material when TLS is on (made in the folder when it holds none yet).
    pub fn load(&self, data_dir: &std::path::Path) -> Result<Option<Arc<Tls>>, String> {
        if !(self.tls || self.mtls) {
            return Ok(None);
        }
        let dir = self.tls_dir.clone().unwrap_or_else(|| data_dir.join("tls"));
        Tls::load_or_create(&dir, self.mtls)
            .map(|t| Some(Arc::new(t)))
            .map_err(|e| e.to_string())
    }
}

/// Checks a peer's `HOST:PORT` (resolved later, in [`ServeArgs::into_options`]).
fn parse_peer(s: &str) -> Result<String, String> {
    let (host, port) = s
        .rsplit_once(':')
        .ok_or_else(|| format!("{s:?}: expected HOST:PORT"))?;
    if host.is_empty() {
        return Err(format!("{s:?}: expected HOST:PORT"));
    }
    port.parse::<u16>()
        .map_err(|e| format!("{s:?}: port {port:?}: {e}"))?;
    Ok(s.to_owned())
}

/// How long a peer's name may take to resolve at start.
const RESOLVE_FOR: Duration = Duration::from_secs(30);

/// Resolves a peer's `HOST:PORT` (an IP address at once; a name, retrying until it resolves or
/// [`RESOLVE_FOR`] has passed), preferring IPv4.
fn resolve(peer: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs;
    if let Ok(addr) = peer.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let until = std::time::Instant::now() + RESOLVE_FOR;
    loop {
        match peer.to_socket_addrs() {
            Ok(addrs) => {
                let addrs: Vec<SocketAddr> = addrs.collect();
                if let Some(a) = addrs.iter().find(|a| a.is_ipv4()).or(addrs.first()) {
                    return Ok(*a);
                }
            }
            Err(e) if std::time::Instant::now() >= until => {
                return Err(format!("peer {peer}: cannot resolve: {e}"));
            }
            Err(_) => {}
        }
        if std::time::Instant::now() >= until {
            return Err(format!("peer {peer}: no address"));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn parse_sync(s: &str) -> Result<SyncMode, String> {
    SyncMode::parse(s).ok_or_else(|| format!("{s:?}: expected off, normal or full"))
}

fn parse_work(s: &str) -> Result<(ServiceName, WorkTime), String> {
    let (name, ms) = s
        .split_once('=')
        .ok_or("expected SERVICE=MS or SERVICE=MIN-MAX")?;
    let service = ServiceName::parse(name).ok_or_else(|| format!("unknown service {name:?}"))?;
    let num = |t: &str| {
        t.trim()
            .parse::<u64>()
            .map(Duration::from_millis)
            .map_err(|e| format!("{t:?}: {e}"))
    };
    let work = match ms.split_once('-') {
        Some((a, b)) => WorkTime {
            min: num(a)?,
            max: num(b)?,
        },
        None => WorkTime::fixed(num(ms)?),
    };
    Ok((service, work))
}

impl ServeArgs {
    /// Resolves the flags into options; `default_base_port` is the stack's own.
    pub fn into_options(self, default_base_port: u16) -> Result<NodeOptions, String> {
        let services = match self.service.as_str() {
            "all" => ServiceName::ALL.to_vec(),
            one => vec![ServiceName::parse(one).ok_or_else(|| format!("unknown service {one:?}"))?],
        };
        let base = self.base_port.unwrap_or(default_base_port);
        if base == 0 && services.len() == 1 {
            return Err(
                "--base-port 0 needs --service all; give a port and --peer-NAME addresses".into(),
            );
        }
        if base as usize + 5 > u16::MAX as usize {
            return Err(format!("--base-port {base} leaves no room for six ports"));
        }
        if !(0.0..=1.0).contains(&self.approval_rate) {
            return Err("--approval-rate must be between 0 and 1".into());
        }
        let mut peers = Peers::from_base(self.bind, base);
        peers.set_tls(self.tls.load(&self.data_dir)?);
        for (service, addr) in [
            (ServiceName::Orders, self.peer_orders),
            (ServiceName::Payments, self.peer_payments),
            (ServiceName::Inventory, self.peer_inventory),
            (ServiceName::Fiscal, self.peer_fiscal),
            (ServiceName::Logistics, self.peer_logistics),
            (ServiceName::Catalog, self.peer_catalog),
        ] {
            let addrs = addr
                .iter()
                .map(|a| resolve(a))
                .collect::<Result<Vec<_>, _>>()?;
            peers.set_replicas(service, addrs);
        }
        let mut sim = Simulation::named(&self.sim_profile, self.seed)
            .ok_or_else(|| format!("unknown --sim-profile {:?}", self.sim_profile))?;
        sim.approval_rate = self.approval_rate;
        for (service, work) in self.work {
            sim = sim.with_work(service, work);
        }
        let mut env = ServiceEnv::new(self.data_dir);
        env.store = StoreConfig {
            sync: self.sync,
            owned: !self.shared_db,
            ..StoreConfig::default()
        };
        env.sim = Arc::new(sim);
        env.chain_timeout = Duration::from_millis(self.chain_timeout_ms);
        env.admission = self.admission;
        Ok(NodeOptions {
            services,
            peers,
            env,
            from: self.from,
            seed: self.seed,
            init: !self.no_init,
            metrics: self.metrics != "off",
        })
    }
}

/// Installs the process's one tracing subscriber: to stderr (which the bench's supervisor keeps
/// in `logs/SERVICE.log`), at `warn` unless `RUST_LOG` says otherwise. Called once by every
/// binary that runs services: `grpc-stack`, `rest-stack` and the bench (also for its `node`
/// processes). Nothing on a request path logs above `debug`.
pub fn init_telemetry() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Serve the ingestion sink (seeds 000 and 003), a service of its own outside the checkout chain.
#[derive(clap::Args, Debug, Clone)]
pub struct SinkArgs {
    /// Port; by default the stack's base port + 6 (after the six checkout services).
    #[arg(long)]
    pub port: Option<u16>,
    /// Address to bind.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub bind: IpAddr,
    /// Folder of the sink's database (`eventos.db`) and of files being imported.
    #[arg(long, default_value = "data")]
    pub data_dir: PathBuf,
    /// SQLite `synchronous` setting: off, normal or full.
    #[arg(long, default_value = "normal", value_parser = parse_sync)]
    pub sync: SyncMode,
    /// TLS for the sink's callers.
    #[command(flatten)]
    pub tls: TlsArgs,
}

impl SinkArgs {
    /// Where the sink listens, given the stack's default base port.
    pub fn addr(&self, default_base_port: u16) -> SocketAddr {
        let port = self
            .port
            .unwrap_or(default_base_port + crate::ingest::PORT_OFFSET);
        SocketAddr::new(self.bind, port)
    }

    /// The sink's storage settings.
    pub fn store(&self) -> StoreConfig {
        StoreConfig {
            sync: self.sync,
            ..StoreConfig::default()
        }
    }

    /// Serves the sink as these flags say with the transport's `start`
    /// ([`crate::node::run_sink`]), until SIGINT or SIGTERM.
    pub async fn serve<F>(self, default_base_port: u16, start: F) -> Result<(), BoxError>
    where
        F: FnOnce(
            crate::ingest::Sink,
            std::net::TcpListener,
            Option<Arc<Tls>>,
            crate::node::Shutdown,
        ) -> Result<crate::node::Serving, BoxError>,
    {
        let tls = self.tls.load(&self.data_dir)?;
        let (addr, store) = (self.addr(default_base_port), self.store());
        crate::node::run_sink(
            addr,
            &self.data_dir,
            store,
            tls,
            std::future::pending(),
            start,
        )
        .await
    }
}
