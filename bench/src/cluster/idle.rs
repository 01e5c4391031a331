//! How the machine's idle cores wait while the bench measures. An idle core that halts (a
//! virtual machine's vCPU executing `HLT`, a physical core's deep C-state) must be woken before
//! the work that arrives for it runs, and on a VM that wake-up is an exit to the host and back:
//! measured on the 2-core VM, a round trip between two threads on different cores took 82 µs
//! with the cores halting and 9 µs with them polling, and every service hop at light load
//! crosses cores about half the time. That cost is the machine's idle policy, not the transport
//! under test, so by default the bench asks the kernel for idle cores that poll — it holds a
//! PM QoS request of 0 µs wake-up latency on `/dev/cpu_dma_latency` for the whole run, as
//! cyclictest does; cpuidle then picks its polling state — and records how much of the cores' idle time was spent polling. The request lasts as long
//! as the file stays open: the kernel drops it when the bench exits, however it exits.
//! `--idle machine` leaves the machine's policy, to measure it.

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

/// The PM QoS device whose open requests bound every core's wake-up latency.
const QOS: &str = "/dev/cpu_dma_latency";

/// What the run asked of idle cores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdlePolicy {
    /// Idle cores poll: a 0 µs wake-up latency request held for the run.
    Poll,
    /// Whatever the machine does (often: halt, or a deep C-state).
    Machine,
}

impl IdlePolicy {
    /// `poll` or `machine`.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "poll" => Ok(Self::Poll),
            "machine" => Ok(Self::Machine),
            _ => Err(format!("unknown idle policy `{s}` (poll, machine)")),
        }
    }
}

/// The run's hold on idle cores, with the cpuidle counters it started from; the request is
/// released when this is dropped.
pub struct IdleHold {
    /// The open request, when holding one.
    qos: Option<File>,
    /// Why a poll request is not held (none when asked for `machine`, or when held).
    pub failed: Option<String>,
    asked: IdlePolicy,
    from: Option<IdleTime>,
}

impl IdleHold {
    /// Takes `policy` for the run: with [`IdlePolicy::Poll`], holds a 0 µs request (or says why
    /// it could not: no such device, no permission).
    pub fn take(policy: IdlePolicy) -> Self {
        let (qos, failed) = match policy {
            IdlePolicy::Machine => (None, None),
            IdlePolicy::Poll => match request_latency(0) {
                Ok(f) => (Some(f), None),
                Err(e) => (None, Some(e)),
            },
        };
        Self {
            qos,
            failed,
            asked: policy,
            from: idle_time(Path::new(CPUS)),
        }
    }

    /// Whether idle cores were asked to poll, and are.
    pub fn polling(&self) -> bool {
        self.qos.is_some()
    }

    /// How the run's idle cores waited, in `results.json`: `poll`, `machine`, or `machine (…)`
    /// when polling was asked for but could not be had.
    pub fn label(&self) -> String {
        match (self.asked, &self.failed) {
            (IdlePolicy::Poll, None) => "poll".into(),
            (IdlePolicy::Poll, Some(why)) => format!("machine ({why})"),
            (IdlePolicy::Machine, _) => "machine".into(),
        }
    }

    /// The share of the cores' idle time since [`IdleHold::take`] spent in cpuidle's polling
    /// state; none where the kernel exposes no cpuidle states, or no idle time passed.
    pub fn polled_share(&self) -> Option<f64> {
        let now = idle_time(Path::new(CPUS))?;
        self.from.as_ref()?.share_polled_until(&now)
    }
}

/// Opens a PM QoS request for at most `us` µs of wake-up latency; held while the file is open.
fn request_latency(us: i32) -> Result<File, String> {
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(QOS)
        .map_err(|e| format!("{QOS}: {e}"))?;
    // The device takes the value as a native 32-bit integer.
    f.write_all(&us.to_ne_bytes())
        .map_err(|e| format!("{QOS}: {e}"))?;
    Ok(f)
}

/// The wake-up latency every core is held to now (the least of all open requests), µs.
pub fn latency_in_force() -> Option<i32> {
    let mut b = [0u8; 4];
    File::open(QOS).ok()?.read_exact(&mut b).ok()?;
    Some(i32::from_ne_bytes(b))
}

/// Where the kernel lists the cores.
const CPUS: &str = "/sys/devices/system/cpu";

/// Idle time of every core so far, µs: spent polling and in all states.
#[derive(Debug, Clone, PartialEq)]
struct IdleTime {
    polled_us: u64,
    all_us: u64,
}

impl IdleTime {
    /// The share polled between `self` and `later`.
    fn share_polled_until(&self, later: &IdleTime) -> Option<f64> {
        let all = later.all_us.checked_sub(self.all_us)?;
        let polled = later.polled_us.checked_sub(self.polled_us)?;
        (all > 0).then(|| polled as f64 / all as f64)
    }
}

/// Sums `cpu*/cpuidle/state*/time` under `root`, the polling state's apart (cpuidle names it
/// `POLL`); none when no core lists a state.
fn idle_time(root: &Path) -> Option<IdleTime> {
    let mut t = IdleTime {
        polled_us: 0,
        all_us: 0,
    };
    let mut any = false;
    for cpu in std::fs::read_dir(root).ok()?.flatten() {
        let name = cpu.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with("cpu") && name[3..].chars().all(|c| c.is_ascii_digit()))
            || name.len() == 3
        {
            continue;
        }
        let Ok(states) = std::fs::read_dir(cpu.path().join("cpuidle")) else {
            continue;
        };
        for state in states.flatten() {
            let read = |f: &str| std::fs::read_to_string(state.path().join(f)).ok();
            let (Some(kind), Some(time)) = (read("name"), read("time")) else {
                continue;
            };
            let Ok(us) = time.trim().parse::<u64>() else {
                continue;
            };
            any = true;
            t.all_us += us;
            if kind.trim() == "POLL" {
                t.polled_us += us;
            }
        }
    }
    any.then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_time_sums_every_cores_states_and_the_polling_one_apart() {
        let root = std::env::temp_dir().join(format!("bench-idle-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let state = |cpu: &str, k: usize, name: &str, time: u64| {
            let dir = root.join(cpu).join("cpuidle").join(format!("state{k}"));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("name"), format!("{name}\n")).unwrap();
            std::fs::write(dir.join("time"), format!("{time}\n")).unwrap();
        };
        state("cpu0", 0, "POLL", 100);
        state("cpu0", 1, "haltpoll idle", 900);
        state("cpu1", 0, "POLL", 50);
        state("cpu1", 1, "haltpoll idle", 950);
        // Not a core: skipped.
        state("cpufreq", 0, "POLL", 1_000_000);
        let before = idle_time(&root).unwrap();
        assert_eq!(
            before,
            IdleTime {
                polled_us: 150,
                all_us: 2000
            }
        );
        state("cpu0", 0, "POLL", 700);
        state("cpu1", 0, "POLL", 450);
        state("cpu1", 1, "haltpoll idle", 1150);
        let after = idle_time(&root).unwrap();
        // 1,200 µs more idle time, 1,000 of it polling.
        let share = before.share_polled_until(&after).unwrap();
        assert!((share - 1000.0 / 1200.0).abs() < 1e-9, "{share}");
        // No idle time passed: no share.
        assert_eq!(after.share_polled_until(&after), None);
        let _ = std::fs::remove_dir_all(&root);
        assert_eq!(idle_time(&root), None);
    }

    #[test]
    fn a_poll_hold_holds_every_core_to_no_wake_up_latency_or_says_why_not() {
        let hold = IdleHold::take(IdlePolicy::Poll);
        match &hold.failed {
            None => {
                assert!(hold.polling());
                assert_eq!(hold.label(), "poll");
                assert_eq!(latency_in_force(), Some(0));
            }
            Some(why) => {
                assert!(!hold.polling());
                assert!(why.contains(QOS), "{why}");
                assert_eq!(hold.label(), format!("machine ({why})"));
            }
        }
        let machine = IdleHold::take(IdlePolicy::Machine);
        assert!(!machine.polling());
        assert_eq!((machine.label(), machine.failed), ("machine".into(), None));
        assert_eq!(IdlePolicy::parse("poll"), Ok(IdlePolicy::Poll));
        assert!(IdlePolicy::parse("halt").is_err());
    }
}
