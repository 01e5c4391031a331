//! An outside instrument against ours: the same endpoint of each stack driven by wrk (REST over
//! HTTP/1.1), h2load (REST over HTTP/2 and gRPC, with a prebuilt request frame) and our engine,
//! at the same closed-loop concurrency. What should agree is compared: the median at one
//! connection, and the services' CPU per request at 16 (each driver's own CPU beside it, since
//! every driver shares the cores with the services). The catalog listing is driven on every
//! stack; the checkout on REST/1.1 only, through a wrk script that sends our engine's request
//! sequence (h2load sends one fixed body, which the idempotency key would turn into replays).
//! Runs only when the tools are on PATH, and says so otherwise.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use checkout_core::ServiceName;

use super::runner::Session;
use crate::cluster::target::{Target, TargetKind};
use crate::engine::load::Mode;
use crate::engine::procfs;
use crate::engine::step::{StepSpec, TargetInfo, measure_step};
use crate::engine::workload::{Call, CatalogCall, CheckoutCall, Workload};
use crate::results::{CrossRow, Crosscheck, Run};

/// Agreement asked of the two drivers on each compared figure.
pub const AGREEMENT: f64 = 0.15;

/// Concurrencies compared: latency at one, CPU per request at many.
pub const CLIENTS: [usize; 2] = [1, 16];

/// The path of `tool` if it is on PATH.
pub fn on_path(tool: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(tool))
        .find(|p| p.is_file())
}

/// One driver's measurement, before it is labelled.
struct Measured {
    rps: f64,
    p50_us: f64,
    server_cpu_us: f64,
    driver_cpu_us: f64,
    packets: Option<f64>,
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

/// What is driven: the catalog listing, or a checkout.
#[derive(Clone, Copy, PartialEq)]
enum Endpoint {
    Catalog,
    Checkout,
}

impl Endpoint {
    fn name(self) -> &'static str {
        match self {
            Endpoint::Catalog => "catalog listing",
            Endpoint::Checkout => "checkout",
        }
    }
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

/// `call` on `t`, closed loop with `clients` for `window`, measured like any step (no warm-up)
/// but not recorded.
pub(super) async fn closed_loop(
    s: &Session,
    t: &Target,
    call: Arc<dyn Call>,
    clients: usize,
    window: Duration,
    scenario: &'static str,
) -> Run {
    let spec = StepSpec {
        mode: Mode::Closed { clients },
        warmup: Duration::ZERO,
        window,
        scenario,
        step: clients,
        label: format!("c{clients}"),
        samples: false,
    };
    let (run, _, _) = measure_step(
        call,
        spec,
        &TargetInfo::of(t),
        &s.calibration,
        std::future::ready(()),
    )
    .await;
    run
}

/// Our engine on the same endpoint, closed loop with `clients`.
async fn ours(
    s: &Session,
    t: &Target,
    endpoint: Endpoint,
    clients: usize,
    window: Duration,
    products: usize,
) -> Measured {
    let call: Arc<dyn Call> = match endpoint {
        Endpoint::Catalog => Arc::new(CatalogCall {
            catalog: t.catalog.clone(),
            expected: products,
            deadline: s.deadline,
        }),
        Endpoint::Checkout => Arc::new(CheckoutCall {
            orders: t.orders.clone(),
            workload: Workload::new(
                s.opts.seed ^ clients as u64,
                "crosscheck-ours",
                0,
                50,
                products,
            ),
            deadline: s.deadline,
        }),
    };
    let run = closed_loop(s, t, call, clients, window, "crosscheck").await;
    let services = crate::report::verdict::service_cpu(&run);
    let all: f64 = run.resources.iter().map(|u| u.cpu_us_per_request).sum();
    Measured {
        rps: run.achieved_rps,
        p50_us: run.latency_us.p50,
        server_cpu_us: services,
        driver_cpu_us: all - services,
        packets: run.wire_packets_per_request,
    }
}

/// How one comparison is driven.
struct Drive<'a> {
    clients: usize,
    window: Duration,
    /// Where scripts, frames and logs go.
    dir: &'a Path,
    seed: u64,
    products: usize,
}

/// The outside driver of `kind` for `endpoint`, if it has one and it is installed: its command,
/// and whether it is h2load (read from its log) rather than wrk.
fn outside(
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
    } = *d;
    let secs = format!("{}", window.as_secs().max(1));
    match (kind, endpoint) {
        (TargetKind::RestH1, _) => {
            let wrk = on_path("wrk")?;
            let mut cmd = at_driver_priority(wrk);
            cmd.args([
                "-t1",
                &format!("-c{clients}"),
                &format!("-d{secs}s"),
                "--latency",
            ]);
            let url = match endpoint {
                Endpoint::Catalog => format!("http://{addr}/produtos"),
                Endpoint::Checkout => {
                    let script = dir.join(format!("checkout-c{clients}.lua"));
                    if let Err(e) =
                        std::fs::write(&script, wrk_script(seed ^ clients as u64, 40_000, products))
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
        (TargetKind::RestH2 | TargetKind::Grpc, Endpoint::Catalog) => {
            let h2load = on_path("h2load")?;
            let mut cmd = at_driver_priority(h2load);
            let log = dir.join(format!("{kind}-c{clients}.log"));
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
        _ => None,
    }
}

/// Runs the cross-check on every networked target.
pub(crate) async fn run(s: &mut Session, targets: &[Target], products: usize) -> Crosscheck {
    let window = s.opts.profile.trial.max(Duration::from_secs(2));
    let mut out = Crosscheck::default();
    if let Some(t) = &s.flags.tls {
        out.skipped.push(format!(
            "skipped: the run is over {}, and the outside drivers are set up for the stacks in the clear",
            t.label()
        ));
        return out;
    }
    for tool in ["wrk", "h2load"] {
        if on_path(tool).is_none() {
            out.skipped.push(format!(
                "skipped {}: {tool} not installed (Debian package `{}`)",
                if tool == "wrk" {
                    "REST/1.1"
                } else {
                    "REST/2 and gRPC"
                },
                if tool == "wrk" {
                    "wrk"
                } else {
                    "nghttp2-client"
                }
            ));
        }
    }
    let dir = s.work.join("crosscheck");
    let _ = std::fs::create_dir_all(&dir);
    for t in targets.iter().filter(|t| t.kind != TargetKind::InProcess) {
        for endpoint in [Endpoint::Catalog, Endpoint::Checkout] {
            let service = match endpoint {
                Endpoint::Catalog => ServiceName::Catalog,
                Endpoint::Checkout => ServiceName::Orders,
            };
            let Some(addr) = t.addr(service) else {
                continue;
            };
            for clients in CLIENTS {
                let drive = Drive {
                    clients,
                    window,
                    dir: &dir,
                    seed: s.opts.seed,
                    products,
                };
                let Some((driver, cmd)) = outside(t.kind, endpoint, addr, &drive) else {
                    continue;
                };
                s.progress.line(&format!(
                    "crosscheck {} {} {clients} client(s): {driver} and ours",
                    t.kind,
                    endpoint.name()
                ));
                let pids: Vec<u32> = t
                    .processes()
                    .into_iter()
                    .filter(|(name, _)| !name.starts_with("loadgen"))
                    .map(|(_, pid)| pid)
                    .collect();
                let theirs = cmd.and_then(|(cmd, h2)| {
                    let log = dir.join(format!("{}-c{clients}.log", t.kind));
                    external(
                        driver,
                        cmd,
                        &pids,
                        |text| {
                            if h2 {
                                parse_h2load(
                                    text,
                                    &std::fs::read_to_string(&log).unwrap_or_default(),
                                )
                            } else {
                                parse_wrk(text)
                            }
                        },
                        window,
                    )
                });
                let mine = ours(s, t, endpoint, clients, window, products).await;
                let row = |driver: &str, m: &Measured| CrossRow {
                    target: t.kind.label().into(),
                    endpoint: endpoint.name().into(),
                    clients,
                    driver: driver.into(),
                    rps: m.rps,
                    p50_us: m.p50_us,
                    server_cpu_us: m.server_cpu_us,
                    driver_cpu_us: m.driver_cpu_us,
                    packets: m.packets,
                };
                match theirs {
                    Ok(m) => out.rows.push(row(driver, &m)),
                    Err(e) => out.skipped.push(format!(
                        "{} {} c{clients} with {driver}: {e}",
                        t.kind,
                        endpoint.name()
                    )),
                }
                out.rows.push(row("ours", &mine));
            }
        }
    }
    out
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
