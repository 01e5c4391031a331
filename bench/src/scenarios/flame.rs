//! CPU profiles (`--profile-cpu`): each networked stack's six service processes sampled by
//! `perf record` (DWARF call graphs) while our engine drives checkouts at a fixed closed-loop
//! concurrency, folded with inferno and drawn as one flame graph per stack
//! (`profiles/TARGET.svg`), each stack's frames under the service that ran them. Skipped, with
//! the reason, where `perf` is missing or the kernel does not let it sample.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use super::crosscheck::{closed_loop, on_path};
use super::runner::Session;
use crate::cluster::target::{Target, TargetKind};
use crate::engine::workload::{Call, CheckoutCall, Workload};
use crate::results::{CpuProfile, CpuProfiles};

/// Sampling frequency, Hz (odd, so it does not beat with the services' timers).
const FREQUENCY: u32 = 499;

/// Profiles every networked target in turn: `clients` closed-loop checkouts for `window` each.
pub(crate) async fn run(
    s: &mut Session,
    targets: &[Target],
    clients: usize,
    window: Duration,
    products: usize,
) -> CpuProfiles {
    let mut out = CpuProfiles {
        clients,
        window_s: window.as_secs_f64(),
        frequency_hz: FREQUENCY,
        ..Default::default()
    };
    let Some(perf) = on_path("perf") else {
        out.skipped =
            Some("skipped: perf is not installed (Debian package `linux-perf`)".to_string());
        return out;
    };
    let dir = s.opts.out.join("profiles");
    if let Err(e) = std::fs::create_dir_all(&dir) {
        out.skipped = Some(format!("skipped: cannot create {}: {e}", dir.display()));
        return out;
    }
    for t in targets.iter().filter(|t| t.kind != TargetKind::InProcess) {
        let services: BTreeMap<u32, String> = t
            .processes()
            .into_iter()
            .filter(|(name, _)| !name.starts_with("loadgen"))
            .map(|(name, pid)| (pid, name))
            .collect();
        if services.is_empty() {
            continue;
        }
        s.progress.line(&format!(
            "cpu profile {}: {clients} clients for {:.0} s under perf",
            t.kind,
            window.as_secs_f64()
        ));
        let data = dir.join(format!("{}.perf.data", t.kind));
        let pids: Vec<String> = services.keys().map(u32::to_string).collect();
        let recorder = Command::new(&perf)
            .args(["record", "-q", "-F", &FREQUENCY.to_string()])
            .args(["--call-graph", "dwarf,16384", "-p", &pids.join(","), "-o"])
            .arg(&data)
            .args(["--", "sleep", &format!("{:.1}", window.as_secs_f64() + 0.5)])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn();
        let recorder = match recorder {
            Ok(r) => r,
            Err(e) => {
                out.skipped = Some(format!("skipped: perf could not start: {e}"));
                return out;
            }
        };
        // perf attaches within a few ms; the load starts after it.
        tokio::time::sleep(Duration::from_millis(250)).await;
        drive(s, t, clients, window, products).await;
        let done = tokio::task::spawn_blocking(move || recorder.wait_with_output()).await;
        let refused = match done {
            Ok(Ok(o)) if o.status.success() && data.is_file() => None,
            Ok(Ok(o)) => Some(first_line(&String::from_utf8_lossy(&o.stderr))),
            Ok(Err(e)) => Some(e.to_string()),
            Err(e) => Some(e.to_string()),
        };
        if let Some(why) = refused {
            out.skipped = Some(format!(
                "skipped: perf could not sample the services ({why}; see /proc/sys/kernel/perf_event_paranoid)"
            ));
            return out;
        }
        let svg = dir.join(format!("{}.svg", t.kind));
        match fold_and_draw(&perf, &data, &svg, &services, &t.kind.to_string()) {
            Ok(ns) => out.profiles.push(CpuProfile {
                target: t.kind.label().into(),
                svg: format!("profiles/{}.svg", t.kind),
                cpu_s: ns as f64 / 1e9,
            }),
            Err(e) => s
                .progress
                .line(&format!("cpu profile {}: not drawn: {e}", t.kind)),
        }
        // The recording is large (DWARF stacks); the graph holds what it said.
        let _ = std::fs::remove_file(&data);
    }
    out
}

/// Closed-loop checkouts on `t`, measured like any step but not recorded.
async fn drive(s: &Session, t: &Target, clients: usize, window: Duration, products: usize) {
    let call: Arc<dyn Call> = Arc::new(CheckoutCall {
        orders: t.orders.clone(),
        workload: Workload::new(s.opts.seed, "cpu-profile", 0, 50, products),
        deadline: s.deadline,
    });
    closed_loop(s, t, call, clients, window, "cpu-profile").await;
}

fn first_line(s: &str) -> String {
    s.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no output")
        .trim()
        .to_string()
}

/// `perf script` → folded stacks (each under its service's name) → a flame graph at `svg`;
/// returns the CPU nanoseconds drawn (a `cpu-clock` sample weighs its period).
fn fold_and_draw(
    perf: &Path,
    data: &Path,
    svg: &Path,
    services: &BTreeMap<u32, String>,
    target: &str,
) -> anyhow::Result<u64> {
    use inferno::collapse::Collapse;
    // No debuginfod lookups, no addr2line per frame: symbols from the binaries' own tables.
    let script = Command::new(perf)
        // The PID beside each thread's ID, so a sample's process (its service) is known.
        .args([
            "script",
            "--no-inline",
            "-F",
            "comm,pid,tid,time,period,event,ip,sym,dso",
        ])
        .arg("-i")
        .arg(data)
        .env("DEBUGINFOD_URLS", "")
        .stderr(Stdio::null())
        .output()?;
    anyhow::ensure!(script.status.success(), "perf script failed");
    let mut folded = Vec::new();
    let mut options = inferno::collapse::perf::Options::default();
    options.include_pid = true;
    let mut folder = inferno::collapse::perf::Folder::from(options);
    folder.collapse(script.stdout.as_slice(), &mut folded)?;
    let folded = String::from_utf8(folded)?;
    let lines = by_service(&folded, services);
    let ns: u64 = lines
        .iter()
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<u64>().ok())
        .sum();
    anyhow::ensure!(ns > 0, "no samples");
    let mut opts = inferno::flamegraph::Options::default();
    opts.title = format!("{target}: the six services' CPU under closed-loop checkouts");
    opts.subtitle = Some(format!(
        "{:.2} s of CPU sampled at {FREQUENCY} Hz (perf, DWARF call graphs); one tower per service",
        ns as f64 / 1e9
    ));
    opts.count_name = "ns".into();
    opts.deterministic = true;
    let file = std::io::BufWriter::new(std::fs::File::create(svg)?);
    inferno::flamegraph::from_lines(&mut opts, lines.iter().map(String::as_str), file)?;
    Ok(ns)
}

/// Folded lines whose first frame (`comm-PID` with `include_pid`) is replaced by the service
/// that PID is, keeping the thread's name: `payments;tokio-rt-worker;...`.
fn by_service(folded: &str, services: &BTreeMap<u32, String>) -> Vec<String> {
    folded
        .lines()
        .filter_map(|line| {
            let (first, rest) = line.split_once(';').unwrap_or((line, ""));
            let (comm, pid) = first.rsplit_once('-')?;
            let service = pid
                .parse::<u32>()
                .ok()
                .and_then(|p| services.get(&p))
                .map_or("other", String::as_str);
            Some(if rest.is_empty() {
                format!("{service};{comm}")
            } else {
                format!("{service};{comm};{rest}")
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folded_stacks_are_put_under_their_service() {
        let services = BTreeMap::from([(10, "orders".to_string()), (11, "payments".to_string())]);
        let folded = "tokio-rt-worker-10;main;poll 7\nsqlite-writer-p-11;commit 3\nperf-12;x 1\n";
        assert_eq!(
            by_service(folded, &services),
            vec![
                "orders;tokio-rt-worker;main;poll 7",
                "payments;sqlite-writer-p;commit 3",
                "other;perf;x 1",
            ]
        );
    }
}
