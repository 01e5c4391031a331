//! The outside drivers of the cross-check: finding wrk and h2load, the commands that run them
//! (at our client thread's priority), a wrk script with our checkout sequence, and reading what
//! they print.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::{Drive, Endpoint, Measured, round_seed};
use crate::cluster::target::TargetKind;
use crate::engine::procfs;
use crate::engine::workload::Workload;

/// The path of `tool` if it is on PATH.
pub fn on_path(tool: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(tool))
        .find(|p| p.is_file())
}

/// A duration as wrk prints it (`635.00us`, `1.02ms`, `2.00s`), in µs.
pub fn wrk_duration_us(s: &str) -> Option<f64> {
    let s = s.trim();
    let (num, scale) = if let Some(n) = s.strip_suffix("us") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix("ms") {
        (n, 1e3)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60e6)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1e6)
    } else {
        return None;
    };
    Some(num.trim().parse::<f64>().ok()? * scale)
}

/// Requests completed and the median (µs) from wrk's `--latency` output.
pub fn parse_wrk(out: &str) -> Option<(u64, f64)> {
    let p50 = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("50%").map(str::to_owned))
        .and_then(|v| wrk_duration_us(&v))?;
    let requests = out
        .lines()
        .find(|l| l.contains(" requests in "))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some((requests, p50))
}

/// Requests that succeeded (from h2load's summary) and the median of their durations (µs) from
/// its per-request log (`start µs \t status \t duration µs`), counting only 2xx.
pub fn parse_h2load(out: &str, log: &str) -> Option<(u64, f64)> {
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with("requests:"))?;
    let succeeded = line
        .split(',')
        .find(|p| p.contains("succeeded"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let mut d: Vec<f64> = log
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let status: u32 = f.get(1)?.trim().parse().ok()?;
            (200..300)
                .contains(&status)
                .then(|| f.get(2)?.trim().parse().ok())?
        })
        .collect();
    if d.is_empty() {
        return None;
    }
    Some((
        succeeded,
        crate::stats::median(&{
            d.sort_by(f64::total_cmp);
            d
        }),
    ))
}

fn services_cpu(pids: &[u32]) -> f64 {
    pids.iter().filter_map(|&p| procfs::cpu_seconds(p)).sum()
}

/// A command that runs `tool` at the priority our engine's client thread runs at (through
/// `nice`, which keeps the process), so both drivers meet the services' work alike.
fn at_driver_priority(tool: PathBuf) -> Command {
    match (crate::engine::driver::nice(), on_path("nice")) {
        (Ok(n), Some(nice)) => {
            let mut cmd = Command::new(nice);
            cmd.arg("-n").arg(n.to_string()).arg(tool);
            cmd
        }
        _ => Command::new(tool),
    }
}

/// Runs an outside driver to completion, with the services' CPU and its own measured around it.
fn external(
    name: &str,
    mut cmd: Command,
    pids: &[u32],
    parse: impl FnOnce(&str) -> Option<(u64, f64)>,
    window: Duration,
) -> anyhow::Result<Measured> {
    let me = std::process::id();
    let (server0, own0) = (
        services_cpu(pids),
        procfs::children_cpu_seconds(me).unwrap_or(0.0),
    );
    let lo0 = procfs::loopback_packets();
    let out = cmd.output()?;
    let lo1 = procfs::loopback_packets();
    let (server1, own1) = (
        services_cpu(pids),
        procfs::children_cpu_seconds(me).unwrap_or(0.0),
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    anyhow::ensure!(
        out.status.success(),
        "{name} failed: {}{}",
        text,
        String::from_utf8_lossy(&out.stderr)
    );
    let (requests, p50_us) =
        parse(&text).ok_or_else(|| anyhow::anyhow!("could not read {name}'s output: {text}"))?;
    anyhow::ensure!(requests > 0, "{name} completed no request: {text}");
    let per = |cpu: f64| cpu * 1e6 / requests as f64;
    Ok(Measured {
        rps: requests as f64 / window.as_secs_f64(),
        p50_us,
        server_cpu_us: per(server1 - server0),
        driver_cpu_us: per(own1 - own0),
        packets: procfs::per_request(lo0, lo1, requests),
    })
}

/// A wrk script sending `n` checkouts of our engine's sequence (same customers and items, keys
/// of their own), one per request, as a kept-alive connection would.
fn wrk_script(seed: u64, n: u64, products: usize) -> String {
    let w = Workload::new(seed, "crosscheck-wrk", 0, 50, products);
    let mut s = String::from("local reqs = {}\n");
    for i in 0..n {
        let body =
            serde_json::to_string(&rest_stack::wire::CriarPedidoRequest::from(w.checkout(i)))
                .unwrap_or_default();
        s.push_str(&format!("reqs[{}] = [==[{body}]==]\n", i + 1));
    }
    s.push_str(
        "local i = 0\n\
         local headers = { [\"Content-Type\"] = \"application/json\" }\n\
         request = function()\n  i = i % #reqs + 1\n  return wrk.format(\"POST\", \"/pedidos\", headers, reqs[i])\nend\n",
    );
    s
}

/// The outside driver that measures `endpoint` of `kind`, if there is one and it is installed:
/// its name and where it is.
pub(super) fn tool(kind: TargetKind, endpoint: Endpoint) -> Option<(&'static str, PathBuf)> {
    let name = match (kind, endpoint) {
        (TargetKind::RestH1, _) => "wrk",
        (TargetKind::RestH2 | TargetKind::Grpc, Endpoint::Catalog) => "h2load",
        _ => return None,
    };
    on_path(name).map(|p| (name, p))
}

/// The outside driver of `kind` for `endpoint`, if it has one and it is installed: its command,
/// and whether it is h2load (read from its log) rather than wrk.
pub(super) fn outside(
    kind: TargetKind,
    endpoint: Endpoint,
    addr: std::net::SocketAddr,
    d: &Drive<'_>,
) -> Option<(&'static str, anyhow::Result<(Command, bool)>)> {
    let Drive {
        clients,
        window,
        dir,
        seed,
        products,
        round,
    } = *d;
    let secs = format!("{}", window.as_secs().max(1));
    let (name, path) = tool(kind, endpoint)?;
    match name {
        "wrk" => {
            let mut cmd = at_driver_priority(path);
            cmd.args([
                "-t1",
                &format!("-c{clients}"),
                &format!("-d{secs}s"),
                "--latency",
            ]);
            let url = match endpoint {
                Endpoint::Catalog => format!("http://{addr}/produtos"),
                Endpoint::Checkout => {
                    let script = dir.join(format!("checkout-c{clients}-r{round}.lua"));
                    let script_seed = round_seed(seed, clients, round);
                    if let Err(e) =
                        std::fs::write(&script, wrk_script(script_seed, 8_000, products))
                    {
                        return Some(("wrk", Err(e.into())));
                    }
                    cmd.arg("-s").arg(script);
                    format!("http://{addr}/pedidos")
                }
            };
            cmd.arg(url);
            Some(("wrk", Ok((cmd, false))))
        }
        _ => {
            let mut cmd = at_driver_priority(path);
            let log = dir.join(format!("{kind}-c{clients}-r{round}.log"));
            cmd.args(["-c1", &format!("-m{clients}"), "-D", &secs])
                .arg(format!("--log-file={}", log.display()));
            if kind == TargetKind::Grpc {
                // An empty ListarProdutosRequest in a gRPC frame: uncompressed, length 0.
                let frame = dir.join("listar-produtos.bin");
                if let Err(e) = std::fs::write(&frame, [0u8; 5]) {
                    return Some(("h2load", Err(e.into())));
                }
                cmd.arg("-d").arg(frame).args([
                    "-H",
                    "content-type: application/grpc",
                    "-H",
                    "te: trailers",
                ]);
                cmd.arg(format!("http://{addr}/catalogo.Catalogo/ListarProdutos"));
            } else {
                cmd.arg(format!("http://{addr}/produtos"));
            }
            Some(("h2load", Ok((cmd, true))))
        }
    }
}

/// One round of the outside driver of `kind` on `endpoint`.
pub(super) fn their_round(
    kind: TargetKind,
    endpoint: Endpoint,
    addr: std::net::SocketAddr,
    d: &Drive<'_>,
    pids: &[u32],
) -> anyhow::Result<Measured> {
    let (driver, cmd) = outside(kind, endpoint, addr, d)
        .ok_or_else(|| anyhow::anyhow!("no outside driver for {kind} {}", endpoint.name()))?;
    let (cmd, h2) = cmd?;
    let log = d
        .dir
        .join(format!("{kind}-c{}-r{}.log", d.clients, d.round));
    external(
        driver,
        cmd,
        pids,
        |text| {
            if h2 {
                parse_h2load(text, &std::fs::read_to_string(&log).unwrap_or_default())
            } else {
                parse_wrk(text)
            }
        },
        d.window,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrk_and_h2load_outputs_are_read() {
        let wrk = "Running 2s test @ http://127.0.0.1:1/produtos\n  1 threads and 1 connections\n  Latency Distribution\n     50%  635.00us\n     75%    1.02ms\n  12345 requests in 2.00s, 1.23MB read\nRequests/sec:   6172.50\n";
        assert_eq!(parse_wrk(wrk), Some((12345, 635.0)));
        assert_eq!(wrk_duration_us("1.50ms"), Some(1500.0));
        assert_eq!(wrk_duration_us("2.00s"), Some(2e6));
        let h2 = "finished in 2.00s, 5000.00 req/s, 1.2MB/s\nrequests: 10000 total, 10000 started, 9998 done, 9990 succeeded, 8 failed, 8 errored, 0 timeout\n";
        let log = "1700000000000000\t200\t120\n1700000000000100\t200\t100\n1700000000000200\t503\t5\n1700000000000300\t200\t300\n";
        assert_eq!(parse_h2load(h2, log), Some((9990, 120.0)));
        assert_eq!(parse_h2load(h2, ""), None);
        assert!(parse_wrk("garbage").is_none());
    }

    #[test]
    fn the_wrk_script_sends_our_sequence_with_keys_of_its_own() {
        let script = wrk_script(42, 3, 30);
        assert_eq!(script.matches("reqs[").count(), 3 + 1);
        let ours = Workload::new(42, "crosscheck-ours", 0, 50, 30).checkout(1);
        let theirs = Workload::new(42, "crosscheck-wrk", 0, 50, 30).checkout(1);
        assert_eq!(
            (ours.customer_id, ours.items.clone()),
            (theirs.customer_id, theirs.items)
        );
        assert_ne!(ours.idempotency_key, theirs.idempotency_key);
        assert!(script.contains("wrk.format(\"POST\", \"/pedidos\""));
    }
}
