//! The ingestion sink as its own OS process (this binary's hidden `node sink` command), on a free
//! loopback port and its own data directory: started, measured by PID, stopped with SIGTERM and
//! a drain (SIGKILL on drop).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use anyhow::Context;

use super::supervisor::{TlsFlags, spawn_listening, terminate};

/// A running sink process.
pub struct SinkProcess {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its data directory (`eventos.db`).
    pub data_dir: PathBuf,
}

impl SinkProcess {
    /// Starts the sink of `stack` (`grpc` or `rest`) on `data_dir` with `workers` threads and
    /// SQLite `sync`, over TLS with `tls`; returns once it listens.
    pub fn start(
        stack: &str,
        data_dir: &Path,
        workers: usize,
        sync: &str,
        tls: Option<&TlsFlags>,
        logs: &Path,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(logs)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut c = Command::new(std::env::current_exe()?);
        c.args([
            "node",
            "sink",
            "--stack",
            stack,
            "--port",
            &port.to_string(),
        ])
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--sync", sync, "--workers", &workers.to_string()]);
        if let Some(t) = tls {
            c.args(t.args());
        }
        let (child, listening) = spawn_listening(c, &logs.join(format!("sink-{stack}.log")))
            .with_context(|| format!("starting the {stack} sink"))?;
        let mut me = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            data_dir: data_dir.to_owned(),
        };
        let addr = listening
            .recv_timeout(Duration::from_secs(15))
            .with_context(|| format!("the {stack} sink did not start within 15 s"))?;
        me.addr = addr.parse().context("the sink's address")?;
        Ok(me)
    }

    /// Its PID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Asks it to stop and waits up to `grace`, then kills it.
    pub fn stop(mut self, grace: Duration) {
        terminate(std::iter::once(&mut self.child), grace);
    }
}

impl Drop for SinkProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}
