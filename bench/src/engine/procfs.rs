//! What Linux tells about processes and the loopback interface: CPU time and resident memory of
//! a PID (`/proc/PID/stat`, `/proc/PID/status`), loopback bytes (`/proc/net/dev`), and the machine.

use std::time::Instant;

use crate::results::Machine;

/// Clock ticks per second of `/proc/PID/stat` times (USER_HZ, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// The sum of two `/proc/PID/stat` time fields (counted after the command name), in seconds.
fn stat_seconds(pid: u32, user: usize, system: usize) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let u: f64 = fields.get(user)?.parse().ok()?;
    let s: f64 = fields.get(system)?.parse().ok()?;
    Some((u + s) / TICKS_PER_SECOND)
}

/// CPU seconds (user + system) a process has used so far.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    stat_seconds(pid, 11, 12)
}

/// CPU seconds (user + system) of a process's children that have exited and been waited for.
pub fn children_cpu_seconds(pid: u32) -> Option<f64> {
    stat_seconds(pid, 13, 14)
}

/// Resident memory of a process, MiB.
pub fn rss_mib(pid: u32) -> Option<f64> {
    status_kib(pid, "VmRSS:").map(|kb| kb / 1024.0)
}

/// The most resident memory a process has had so far (its high-water mark), MiB.
pub fn peak_rss_mib(pid: u32) -> Option<f64> {
    status_kib(pid, "VmHWM:").map(|kb| kb / 1024.0)
}

fn status_kib(pid: u32, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Bytes received on the loopback interface so far (every byte sent on it is also received).
pub fn loopback_bytes() -> Option<u64> {
    loopback_received(0)
}

/// Packets (TCP segments, ACKs included) received on the loopback interface so far.
pub fn loopback_packets() -> Option<u64> {
    loopback_received(1)
}

/// What a loopback counter grew by between two readings, per request (None when either reading
/// failed or nothing was sent).
pub fn per_request(before: Option<u64>, after: Option<u64>, requests: u64) -> Option<f64> {
    let (a, b) = (before?, after?);
    (requests > 0).then(|| b.saturating_sub(a) as f64 / requests as f64)
}

/// Column `n` of the loopback interface's receive counters in `/proc/net/dev`.
fn loopback_received(n: usize) -> Option<u64> {
    let dev = std::fs::read_to_string("/proc/net/dev").ok()?;
    let line = dev.lines().find(|l| l.trim_start().starts_with("lo:"))?;
    line.split(':')
        .nth(1)?
        .split_whitespace()
        .nth(n)?
        .parse()
        .ok()
}

/// Samples CPU and RSS of a set of processes through a step.
pub struct ResourceSampler {
    procs: Vec<(String, u32)>,
    cpu_start: Vec<Option<f64>>,
    rss_max: Vec<f64>,
    started: Instant,
}

impl ResourceSampler {
    /// Starts sampling `procs` (name, PID).
    pub fn start(procs: Vec<(String, u32)>) -> Self {
        let cpu_start = procs.iter().map(|(_, pid)| cpu_seconds(*pid)).collect();
        let rss_max = procs
            .iter()
            .map(|(_, pid)| rss_mib(*pid).unwrap_or(0.0))
            .collect();
        Self {
            procs,
            cpu_start,
            rss_max,
            started: Instant::now(),
        }
    }

    /// Takes one RSS sample of every process.
    pub fn sample(&mut self) {
        for (i, (_, pid)) in self.procs.iter().enumerate() {
            if let Some(r) = rss_mib(*pid) {
                self.rss_max[i] = self.rss_max[i].max(r);
            }
        }
    }

    /// Ends the step: per process, (name, CPU seconds used, CPU % of one core, peak RSS MiB).
    pub fn finish(mut self) -> Vec<(String, f64, f64, f64)> {
        self.sample();
        let elapsed = self.started.elapsed().as_secs_f64().max(1e-9);
        self.procs
            .iter()
            .enumerate()
            .map(|(i, (name, pid))| {
                let used = match (self.cpu_start[i], cpu_seconds(*pid)) {
                    (Some(a), Some(b)) => (b - a).max(0.0),
                    _ => 0.0,
                };
                (name.clone(), used, 100.0 * used / elapsed, self.rss_max[i])
            })
            .collect()
    }
}

/// What this machine is.
pub fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "unknown".into());
    let memory_mib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .map(str::to_owned)
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_owned();
    let os = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("PRETTY_NAME="))
                .map(|l| l[12..].trim_matches('"').to_owned())
        })
        .unwrap_or_else(|| std::env::consts::OS.into());
    Machine {
        cpu_model,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        memory_mib,
        kernel,
        os,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let pid = std::process::id();
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = x.wrapping_add(i * i);
        }
        assert!(x > 0);
        assert!(cpu_seconds(pid).is_some());
        assert!(rss_mib(pid).unwrap() > 0.5);
        assert!(loopback_bytes().is_some());
        let (packets, bytes) = (loopback_packets().unwrap(), loopback_bytes().unwrap());
        assert!(packets <= bytes, "a packet carries at least a byte");
        assert_eq!(per_request(Some(10), Some(40), 3), Some(10.0));
        assert_eq!(per_request(Some(10), Some(40), 0), None);
        assert_eq!(per_request(None, Some(40), 3), None);
        assert!(machine().cores >= 1);
    }
}
