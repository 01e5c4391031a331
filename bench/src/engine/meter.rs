//! The core's own CPU per service during a step: the storage meter each service counts inside
//! the core (SQL and commits, timed on the thread that ran them). A service process writes its
//! meter to a file when sent SIGUSR1; the in-process target's meter is read from this process.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use checkout_core::ServiceName;
use checkout_core::signal_files::{meter_file, parse_meter};
use checkout_core::store::meter::{MeterReading, snapshot};

use crate::results::CoreUsage;

/// Meter readings by service.
pub type Readings = BTreeMap<ServiceName, MeterReading>;

/// Where a target's meters are read.
#[derive(Debug, Clone)]
pub enum MeterSource {
    /// The services run inside this process.
    InProcess,
    /// One process per service, writing its meter into `data_dir` on SIGUSR1.
    Processes {
        /// The services' data directory.
        data_dir: PathBuf,
        /// Service processes by PID.
        pids: Vec<(ServiceName, u32)>,
    },
}

fn by_service(lines: Vec<(String, MeterReading)>, out: &mut Readings) {
    for (file, r) in lines {
        if let Some(s) = ServiceName::of_db_file(&file) {
            let e = out.entry(s).or_default();
            *e = MeterReading {
                cpu_ns: e.cpu_ns + r.cpu_ns,
                writes: e.writes + r.writes,
                commits: e.commits + r.commits,
                inline_commits: e.inline_commits + r.inline_commits,
                reads: e.reads + r.reads,
            };
        }
    }
}

impl MeterSource {
    /// The current readings; a process that does not answer within half a second is left out.
    pub async fn read(&self) -> Readings {
        let mut out = Readings::new();
        match self {
            MeterSource::InProcess => by_service(snapshot(), &mut out),
            MeterSource::Processes { data_dir, pids } => {
                let mut waiting = Vec::new();
                for &(_, pid) in pids {
                    let file = meter_file(data_dir, pid);
                    let _ = std::fs::remove_file(&file);
                    let Some(p) = rustix::process::Pid::from_raw(pid as i32) else {
                        continue;
                    };
                    if rustix::process::kill_process(p, rustix::process::Signal::USR1).is_ok() {
                        waiting.push(file);
                    }
                }
                let until = Instant::now() + Duration::from_millis(500);
                while !waiting.is_empty() && Instant::now() < until {
                    waiting.retain(|f| match std::fs::read_to_string(f) {
                        Ok(text) => {
                            by_service(parse_meter(&text), &mut out);
                            false
                        }
                        Err(_) => true,
                    });
                    if !waiting.is_empty() {
                        tokio::time::sleep(Duration::from_millis(2)).await;
                    }
                }
            }
        }
        out
    }
}

/// What each service's storage work cost per request between two readings.
pub fn per_request(before: &Readings, after: &Readings, requests: u64) -> Vec<CoreUsage> {
    if requests == 0 {
        return Vec::new();
    }
    let n = requests as f64;
    after
        .iter()
        .map(|(s, a)| {
            let d = a.since(before.get(s).copied().unwrap_or_default());
            CoreUsage {
                service: s.as_str().into(),
                core_cpu_us_per_request: d.cpu_ns as f64 / 1e3 / n,
                writes_per_request: d.writes as f64 / n,
                commits_per_request: d.commits as f64 / n,
                inline_commit_share: if d.commits > 0 {
                    d.inline_commits as f64 / d.commits as f64
                } else {
                    0.0
                },
            }
        })
        .collect()
}
