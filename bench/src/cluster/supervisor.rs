//! Runs a stack's six services as six OS processes (this binary's hidden `node` command), on free
//! loopback ports, waits until each says it is listening, and stops them: SIGTERM and a drain on
//! a normal stop, SIGKILL on drop (a panic or an early return), and each child exits by itself
//! if this process dies. No orphans.

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use checkout_core::node::Peers;
use checkout_core::tls::Tls;
use checkout_core::*;

use crate::cluster::link::{Link, LinkProfile};
use crate::cluster::owed::PidBoard;

/// Which stack a cluster runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackKind {
    /// tonic.
    Grpc,
    /// actix-web + reqwest, HTTP/1.1 or HTTP/2 between services.
    Rest {
        /// HTTP/2 prior knowledge between services.
        http2: bool,
    },
    /// Length-prefixed protobuf over plain TCP.
    Tcp,
}

/// Settings every service process of a run gets.
#[derive(Debug, Clone)]
pub struct NodeFlags {
    /// Run seed.
    pub seed: u64,
    /// `off`, `normal` or `full`.
    pub sync: String,
    /// Payment approval rate.
    pub approval_rate: f64,
    /// Chain deadline, ms.
    pub chain_timeout_ms: u64,
    /// tokio workers of each gRPC and TCP service process (0: current-thread runtime).
    pub grpc_workers: usize,
    /// Each gRPC service process serves on `grpc_workers` threads of its own
    /// (`grpc_stack::threads`).
    pub grpc_per_thread: bool,
    /// actix workers of each REST service process.
    pub rest_workers: usize,
    /// What each service admits.
    pub admission: checkout_core::admission::Admission,
    /// Extra `--work SERVICE=MS` flags.
    pub work: Vec<String>,
    /// Cores each service process may run on (the first N; 0: all).
    pub cpus: usize,
    /// Services record Prometheus metrics.
    pub metrics: bool,
    /// gRPC connections coalesce their writes ([`checkout_core::coalesce`]).
    pub coalesce: bool,
    /// Every service takes SQLite's file locks (`--shared-db`), not only replicas sharing a
    /// database.
    pub shared_db: bool,
    /// Services export their spans over OTLP to this endpoint (None: they do not, whatever the
    /// bench's own environment says).
    pub otlp: Option<String>,
    /// Every hop crosses a link shaped so (None: plain loopback). Not a flag of the processes:
    /// the supervisor puts a [`Link`] in front of each and gives callers its address.
    pub link: Option<LinkProfile>,
    /// Every hop (the bench's own calls included) over TLS (None: in the clear).
    pub tls: Option<TlsFlags>,
}

/// TLS for a run's service processes: the chain's folder (made on first use) and whether TLS is
/// mutual.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFlags {
    /// The chain's TLS folder, handed to every process.
    pub dir: PathBuf,
    /// Mutual TLS: servers refuse callers without the chain's certificate.
    pub mutual: bool,
}

impl TlsFlags {
    /// The chain's material (made in the folder when it holds none yet).
    pub fn load(&self) -> anyhow::Result<Arc<Tls>> {
        Ok(Arc::new(
            Tls::load_or_create(&self.dir, self.mutual).context("the chain's TLS material")?,
        ))
    }

    /// The flags a `serve` or `sink` process takes for it.
    pub fn args(&self) -> Vec<std::ffi::OsString> {
        let mode = if self.mutual { "--mtls" } else { "--tls" };
        vec![mode.into(), "--tls-dir".into(), self.dir.clone().into()]
    }

    /// How the report names it.
    pub fn label(&self) -> &'static str {
        if self.mutual { "mutual TLS" } else { "TLS" }
    }
}

/// More than one process of a service, and how its callers reach them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replicas {
    /// The service replicated.
    pub service: ServiceName,
    /// Processes of it (all on the stack's data directory: SQLite serialises their writes).
    pub count: usize,
    /// `None`: callers get every replica's address and take them in turn (client-side round
    /// robin). `Some(addr)`: callers get this one address, a balancer's in front of them.
    pub front: Option<SocketAddr>,
}

/// Six service processes of one stack (more when a service is replicated).
pub struct Cluster {
    /// Where each service listens (every replica of a replicated one).
    pub peers: Peers,
    /// What each service's callers are given: its address, its replicas', or a balancer's.
    callers: Peers,
    /// Each process: its service, which replica (0 for the first), the child.
    children: Vec<(ServiceName, usize, Child)>,
    /// The PIDs of the processes that listen, for whoever asks them while they run.
    board: PidBoard,
    /// The links in front of the services (with a link profile): per service, one per address
    /// its callers are given.
    links: Vec<(ServiceName, Link)>,
    exe: PathBuf,
    kind: StackKind,
    data_dir: PathBuf,
    flags: NodeFlags,
    logs: PathBuf,
}

/// Six free loopback ports, and `extra` more, with their listeners: held, the ports are nobody
/// else's (drop them just before the services bind).
fn free_ports(extra: usize) -> anyhow::Result<(Peers, Vec<SocketAddr>, Vec<TcpListener>)> {
    let mut peers = Peers::from_base(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
    let listeners: Vec<TcpListener> = (0..6 + extra)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<_, _>>()
        .context("finding free ports")?;
    for (s, l) in ServiceName::ALL.into_iter().zip(&listeners) {
        peers.set(s, l.local_addr()?);
    }
    let more = listeners[6..]
        .iter()
        .map(|l| l.local_addr())
        .collect::<Result<_, _>>()?;
    Ok((peers, more, listeners))
}

impl Cluster {
    /// Starts the six services of `kind` on `data_dir` (already initialised), logging each
    /// process's stderr under `logs`. The processes are this binary's `node` command.
    pub fn start(
        kind: StackKind,
        data_dir: &Path,
        flags: &NodeFlags,
        logs: &Path,
    ) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("locating this binary")?;
        Self::start_with(&exe, kind, data_dir, flags, logs, None)
    }

    /// [`Cluster::start`] with the `bench` binary at `exe`, and one service replicated as
    /// `replicas` says.
    pub fn start_with(
        exe: &Path,
        kind: StackKind,
        data_dir: &Path,
        flags: &NodeFlags,
        logs: &Path,
        replicas: Option<Replicas>,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(logs)?;
        let extra = replicas.map_or(0, |r| r.count.saturating_sub(1));
        // The services' ports stay held while the links bind theirs, so a link cannot be handed
        // a service's port.
        let (mut peers, more, held) = free_ports(extra)?;
        if let Some(t) = &flags.tls {
            peers.set_tls(Some(t.load()?));
        }
        let mut callers = peers.clone();
        if let Some(r) = replicas {
            let all: Vec<SocketAddr> = std::iter::once(peers.get(r.service)).chain(more).collect();
            peers.set_replicas(r.service, all.clone());
            match r.front {
                Some(balancer) => callers.set(r.service, balancer),
                None => callers.set_replicas(r.service, all),
            }
        }
        // With a link profile, every address a caller is given gets a link in front of it.
        let mut links = Vec::new();
        if let Some(profile) = &flags.link {
            for s in ServiceName::ALL {
                let mut fronts = Vec::new();
                for &addr in callers.replicas(s) {
                    let link = Link::start(profile.clone(), addr)
                        .with_context(|| format!("starting the link in front of {s}"))?;
                    fronts.push(link.addr());
                    links.push((s, link));
                }
                callers.set_replicas(s, fronts);
            }
        }
        drop(held);
        let mut cluster = Self {
            peers,
            callers,
            children: Vec::new(),
            board: PidBoard::default(),
            links,
            exe: exe.to_owned(),
            kind,
            data_dir: data_dir.to_owned(),
            flags: flags.clone(),
            logs: logs.to_owned(),
        };
        for s in ServiceName::ALL {
            for replica in 0..cluster.peers.replicas(s).len() {
                cluster.spawn_replica(s, replica)?;
            }
        }
        Ok(cluster)
    }

    fn command(&self, service: ServiceName, replica: usize) -> anyhow::Result<Command> {
        let mut c = Command::new(&self.exe);
        c.arg("node");
        match self.kind {
            StackKind::Grpc => {
                c.arg("grpc");
            }
            StackKind::Rest { http2 } => {
                c.arg("rest");
                if http2 {
                    c.arg("--http2");
                }
            }
            StackKind::Tcp => {
                c.arg("tcp");
            }
        }
        let f = &self.flags;
        c.args([
            "--service",
            service.as_str(),
            "--no-init",
            "--base-port",
            "1",
        ])
        .arg("--data-dir")
        .arg(&self.data_dir)
        .args(["--seed", &f.seed.to_string(), "--sync", &f.sync])
        .args(["--approval-rate", &f.approval_rate.to_string()])
        .args(["--chain-timeout-ms", &f.chain_timeout_ms.to_string()])
        .args(["--admission", &f.admission.to_string()])
        .arg("--workers")
        .arg(match self.kind {
            // The TCP stack's runtime is sized as gRPC's: both are tokio servers.
            StackKind::Grpc | StackKind::Tcp => f.grpc_workers.to_string(),
            StackKind::Rest { .. } => f.rest_workers.to_string(),
        });
        if f.shared_db || self.peers.replicas(service).len() > 1 {
            // Replicas open one database: SQLite's file locks, not one process's.
            c.arg("--shared-db");
        }
        if f.grpc_per_thread && self.kind == StackKind::Grpc {
            c.arg("--per-thread");
        }
        for w in &f.work {
            c.args(["--work", w]);
        }
        if f.cpus > 0 {
            c.args(["--cpus", &f.cpus.to_string()]);
        }
        if !f.metrics {
            c.args(["--metrics", "off"]);
        }
        if let Some(t) = &f.tls {
            c.args(t.args());
        }
        c.env_remove(checkout_core::coalesce::ENV_OFF);
        if !f.coalesce {
            c.env(checkout_core::coalesce::ENV_OFF, "1");
        }
        for var in [
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        ] {
            c.env_remove(var);
        }
        if let Some(endpoint) = &f.otlp {
            c.env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint);
        }
        for peer in ServiceName::ALL {
            // A process listens at its own address; it reaches every other service as callers do.
            let addrs: Vec<String> = if peer == service {
                vec![self.peers.replicas(peer)[replica].to_string()]
            } else {
                self.callers
                    .replicas(peer)
                    .iter()
                    .map(|a| a.to_string())
                    .collect()
            };
            c.arg(format!("--peer-{peer}")).arg(addrs.join(","));
        }
        Ok(c)
    }

    /// Starts (or restarts) one service on its port and database; returns once it listens.
    pub fn spawn(&mut self, service: ServiceName) -> anyhow::Result<()> {
        self.spawn_replica(service, 0)
    }

    /// The name of a service's process: the service's, with the replica's number after the first.
    fn process_name(service: ServiceName, replica: usize) -> String {
        match replica {
            0 => service.as_str().to_owned(),
            n => format!("{service}-{}", n + 1),
        }
    }

    /// Starts (or restarts) one replica of a service; returns once it listens.
    fn spawn_replica(&mut self, service: ServiceName, replica: usize) -> anyhow::Result<()> {
        let name = Self::process_name(service, replica);
        let command = self.command(service, replica)?;
        let (child, listening) = spawn_listening(command, &self.logs.join(format!("{name}.log")))
            .with_context(|| format!("starting {service}"))?;
        self.children.push((service, replica, child));
        match listening.recv_timeout(Duration::from_secs(15)) {
            Ok(_) => {
                // Only now: a process is signalled once its handlers are in place.
                self.board.set(self.service_pids());
                Ok(())
            }
            Err(_) => bail!(
                "{service} did not start within 15 s (see {})",
                self.logs.display()
            ),
        }
    }

    /// What callers are given for each service: its address, its replicas', a balancer's, or
    /// the links in front of them. The bench's own clients reach the stack through these.
    pub fn callers(&self) -> &Peers {
        &self.callers
    }

    /// Connections each service's links accepted so far, by service (empty without links).
    pub fn link_connections(&self) -> Vec<(ServiceName, u64)> {
        let mut out: Vec<(ServiceName, u64)> = Vec::new();
        for (s, l) in &self.links {
            match out.iter_mut().find(|(x, _)| x == s) {
                Some((_, n)) => *n += l.connections(),
                None => out.push((*s, l.connections())),
            }
        }
        out
    }

    /// Resets every connection crossing the links (none without a link profile).
    pub fn reset_links(&self) {
        for (_, l) in &self.links {
            l.reset_all();
        }
    }

    /// (name, PID) of every running service process (`payments`, `payments-2`, ...).
    pub fn pids(&self) -> Vec<(String, u32)> {
        self.children
            .iter()
            .map(|(s, r, c)| (Self::process_name(*s, *r), c.id()))
            .collect()
    }

    /// (service, PID) of every running service process.
    pub fn service_pids(&self) -> Vec<(ServiceName, u32)> {
        self.children.iter().map(|(s, _, c)| (*s, c.id())).collect()
    }

    /// Address of one service.
    pub fn addr(&self, service: ServiceName) -> SocketAddr {
        self.peers.get(service)
    }

    /// The PIDs of its listening processes, kept current as they are killed and restarted.
    pub fn board(&self) -> PidBoard {
        self.board.clone()
    }

    /// Kills one service at once (SIGKILL), as a crash would.
    pub fn kill(&mut self, service: ServiceName) {
        if let Some(i) = self.children.iter().position(|(s, _, _)| *s == service) {
            let (_, _, mut child) = self.children.remove(i);
            self.board.set(self.service_pids());
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Asks every service to stop (SIGTERM), waits up to `grace` for each to drain and close its
    /// database, then kills what is left.
    pub fn stop(mut self, grace: Duration) {
        terminate(self.children.iter_mut().map(|(_, _, c)| c), grace);
        self.kill_all();
    }

    fn kill_all(&mut self) {
        self.board.set(Vec::new());
        for (_, _, c) in &mut self.children {
            if matches!(c.try_wait(), Ok(None)) {
                let _ = c.kill();
            }
            let _ = c.wait();
        }
        self.children.clear();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.kill_all();
    }
}

/// Starts `command` (its stderr to `log`) and returns it with a channel that receives the
/// address it prints in its `NAME listening on ADDR` line.
pub(crate) fn spawn_listening(
    mut command: Command,
    log: &Path,
) -> anyhow::Result<(Child, mpsc::Receiver<String>)> {
    let log = std::fs::File::create(log)?;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()?;
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some((_, addr)) = line.split_once(" listening on ") {
                let _ = tx.send(addr.trim().to_owned());
            }
        }
    });
    Ok((child, rx))
}

/// Asks each process to stop (SIGTERM) and waits up to `grace` in all for them to exit.
pub(crate) fn terminate<'a>(children: impl Iterator<Item = &'a mut Child>, grace: Duration) {
    let children: Vec<&mut Child> = children.collect();
    for c in &children {
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
    }
    let until = Instant::now() + grace;
    for c in children {
        while Instant::now() < until {
            match c.try_wait() {
                Ok(Some(_)) => break,
                _ => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }
}

/// In a service process: exits when the supervisor that started it is gone, so a killed bench
/// leaves nothing behind.
pub fn exit_with_parent() {
    let parent = std::os::unix::process::parent_id();
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_millis(250));
            if std::os::unix::process::parent_id() != parent {
                std::process::exit(3);
            }
        }
    });
}
