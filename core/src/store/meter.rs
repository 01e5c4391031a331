//! What the core's storage work costs, counted inside the core: the CPU time of the calling
//! thread around every write transaction (SQL + commit) and every read, per database. The bench
//! reads these counters to split a service's CPU into "the core's work" and "everything else"
//! (codec, framework, runtime, kernel). Two clock reads per operation, no logging.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use serde::{Deserialize, Serialize};

/// The counters of one database.
#[derive(Debug, Default)]
pub(crate) struct Meter {
    cpu_ns: AtomicU64,
    writes: AtomicU64,
    commits: AtomicU64,
    reads: AtomicU64,
    inline_commits: AtomicU64,
}

/// A reading of one database's counters (or their sum over databases with the same file name).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeterReading {
    /// CPU time spent in the core's storage work (SQL, commits, reads), ns.
    pub cpu_ns: u64,
    /// Writes committed.
    pub writes: u64,
    /// Transactions committed (one per group).
    pub commits: u64,
    /// Of which committed inline by the caller (no hand-off to the writer thread).
    pub inline_commits: u64,
    /// Reads served.
    pub reads: u64,
}

impl MeterReading {
    /// Counters accumulated since `earlier`.
    pub fn since(self, earlier: Self) -> Self {
        Self {
            cpu_ns: self.cpu_ns.saturating_sub(earlier.cpu_ns),
            writes: self.writes.saturating_sub(earlier.writes),
            commits: self.commits.saturating_sub(earlier.commits),
            inline_commits: self.inline_commits.saturating_sub(earlier.inline_commits),
            reads: self.reads.saturating_sub(earlier.reads),
        }
    }

    fn add(&mut self, o: Self) {
        self.cpu_ns += o.cpu_ns;
        self.writes += o.writes;
        self.commits += o.commits;
        self.inline_commits += o.inline_commits;
        self.reads += o.reads;
    }
}

impl Meter {
    pub(crate) fn commit(&self, cpu_ns: u64, writes: u64, inline: bool) {
        self.cpu_ns.fetch_add(cpu_ns, Ordering::Relaxed);
        self.writes.fetch_add(writes, Ordering::Relaxed);
        self.commits.fetch_add(1, Ordering::Relaxed);
        if inline {
            self.inline_commits.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn read(&self, cpu_ns: u64) {
        self.cpu_ns.fetch_add(cpu_ns, Ordering::Relaxed);
        self.reads.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn reading(&self) -> MeterReading {
        MeterReading {
            cpu_ns: self.cpu_ns.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
            commits: self.commits.load(Ordering::Relaxed),
            inline_commits: self.inline_commits.load(Ordering::Relaxed),
            reads: self.reads.load(Ordering::Relaxed),
        }
    }
}

/// CPU time of the calling thread, ns (`CLOCK_THREAD_CPUTIME_ID`).
pub(crate) fn thread_cpu_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

type Registry = Mutex<Vec<(String, Weak<Meter>)>>;
static REGISTRY: Registry = Mutex::new(Vec::new());

/// A new meter for the database file `name`, listed in this process's registry.
pub(crate) fn register(name: &str) -> Arc<Meter> {
    let meter = Arc::new(Meter::default());
    let mut reg = REGISTRY.lock().expect("meter registry poisoned");
    reg.retain(|(_, m)| m.strong_count() > 0);
    reg.push((name.to_owned(), Arc::downgrade(&meter)));
    meter
}

/// Every open database of this process, by file name (`pedidos.db`, …), with counters summed
/// over databases of the same name.
pub fn snapshot() -> Vec<(String, MeterReading)> {
    let reg = REGISTRY.lock().expect("meter registry poisoned");
    let mut out: Vec<(String, MeterReading)> = Vec::new();
    for (name, m) in reg.iter() {
        let Some(m) = m.upgrade() else { continue };
        match out.iter_mut().find(|(n, _)| n == name) {
            Some((_, r)) => r.add(m.reading()),
            None => out.push((name.clone(), m.reading())),
        }
    }
    out
}
