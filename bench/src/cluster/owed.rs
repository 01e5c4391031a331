//! What a target's services still owe while they run — compensations not yet acknowledged, orders
//! still pending — for the wait before the audit and the backlog timelines. A service process
//! owns its database while it runs, so it is asked (SIGUSR2; it answers in a file,
//! [`checkout_core::signal_files`]); a service with no process running, or running in this
//! process, is read from its database.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use checkout_core::ServiceName;
use checkout_core::audit::{Ask, Owed, owed_in};
use checkout_core::signal_files::{owed_file, parse_owed, write_ask};

/// Where a target's owed work is learnt.
#[derive(Debug, Clone)]
pub enum OwedSource {
    /// The services run in this process: their databases are read.
    InProcess(PathBuf),
    /// One process per service (or replica), asked; one not running is read.
    Processes {
        /// The services' data directory.
        data_dir: PathBuf,
        /// Their processes, kept current by the cluster.
        board: PidBoard,
    },
    /// The services run elsewhere: nothing can be learnt.
    Remote,
}

/// How long a process has to answer.
const ANSWER_WITHIN: Duration = Duration::from_millis(500);

impl OwedSource {
    /// What each chain service owes, as `ask` asks, or `None` when one of them could be neither
    /// asked nor read.
    pub async fn read(&self, ask: Ask) -> Option<Vec<(ServiceName, Owed)>> {
        let (data_dir, pids) = match self {
            OwedSource::InProcess(dir) => (dir.clone(), Vec::new()),
            OwedSource::Processes { data_dir, board } => (data_dir.clone(), board.get()),
            OwedSource::Remote => return None,
        };
        let mut out: Vec<(ServiceName, Owed)> = Vec::new();
        let mut waiting = Vec::new();
        for (_, pid) in pids {
            let file = owed_file(&data_dir, pid);
            let _ = std::fs::remove_file(&file);
            let Some(p) = rustix::process::Pid::from_raw(pid as i32) else {
                continue;
            };
            if write_ask(&data_dir, pid, ask).is_err() {
                continue;
            }
            if rustix::process::kill_process(p, rustix::process::Signal::USR2).is_ok() {
                waiting.push(file);
            }
        }
        let until = Instant::now() + ANSWER_WITHIN;
        while !waiting.is_empty() && Instant::now() < until {
            waiting.retain(|f| match std::fs::read_to_string(f) {
                Ok(text) => {
                    for (s, o) in parse_owed(&text) {
                        // Replicas of one service share its database: one answer is enough.
                        if !out.iter().any(|(seen, _)| *seen == s) {
                            out.push((s, o));
                        }
                    }
                    false
                }
                Err(_) => true,
            });
            if !waiting.is_empty() {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        let unanswered: Vec<ServiceName> = ServiceName::CHAIN
            .into_iter()
            .filter(|s| !out.iter().any(|(seen, _)| seen == s))
            .collect();
        if !unanswered.is_empty() {
            // Running here, or not running at all (a killed service): their files are free.
            let read = tokio::task::spawn_blocking(move || {
                unanswered
                    .into_iter()
                    .map(|s| owed_in(&data_dir, s, ask).map(|o| (s, o)))
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .await;
            out.extend(read.ok()?.ok()?);
        }
        Some(out)
    }
}

/// The PIDs of a cluster's listening processes by service, shared with whoever asks them
/// something while the cluster restarts some of them.
#[derive(Debug, Clone, Default)]
pub struct PidBoard(Arc<Mutex<Vec<(ServiceName, u32)>>>);

impl PidBoard {
    pub(crate) fn set(&self, pids: Vec<(ServiceName, u32)>) {
        *self.0.lock().expect("pid board poisoned") = pids;
    }

    /// The processes listening now.
    pub fn get(&self) -> Vec<(ServiceName, u32)> {
        self.0.lock().expect("pid board poisoned").clone()
    }
}
