//! The ingestion sink from the command line: `datagen events` writes an import file of seed 000's
//! order events, and `import` uploads one over gRPC or REST and follows the server's progress
//! stream with a live bar (rate, time left, inserted / repeated / invalid). Ctrl-C leaves the
//! import running on the server and says how to follow it again (`import --follow ID`).

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use checkout_core::ingest::events::{EventsConfig, write_csv};
use checkout_core::ingest::{Estado, IngestPort, PORT_OFFSET, Progresso};

use super::Transport;

/// `datagen events`: an import file of order events.
#[derive(clap::Args, Debug)]
pub struct EventsArgs {
    /// How many events (lines after the header).
    #[arg(long, default_value_t = 300_000)]
    pub count: u64,
    /// Output CSV file (replaced if it exists).
    #[arg(long, default_value = "eventos.csv")]
    pub out: PathBuf,
    /// Share of events that repeat an earlier one exactly (same id).
    #[arg(long, default_value_t = 0.02)]
    pub repeat_rate: f64,
    /// Share of events that break a rule (quantity 0, unknown channel, no customer).
    #[arg(long, default_value_t = 0.001)]
    pub invalid_rate: f64,
    /// Random seed: the same seed writes the same events.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

/// Writes the file `a` asks for and says what a sink that imports it must end with.
pub fn datagen_events(a: &EventsArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        (0.0..=1.0).contains(&(a.repeat_rate + a.invalid_rate))
            && a.repeat_rate >= 0.0
            && a.invalid_rate >= 0.0,
        "--repeat-rate and --invalid-rate must be shares between 0 and 1"
    );
    let cfg = EventsConfig {
        seed: a.seed,
        repeat_rate: a.repeat_rate,
        invalid_rate: a.invalid_rate,
        start_us: checkout_core::ingest::now_us(),
    };
    let (distinct, _) = write_csv(&a.out, a.count, cfg)?;
    let size = std::fs::metadata(&a.out)?.len();
    println!(
        "wrote {}: {} events ({:.1} MiB), {} distinct and valid, seed {}",
        a.out.display(),
        a.count,
        size as f64 / (1 << 20) as f64,
        distinct,
        a.seed
    );
    Ok(())
}

/// `import`: upload a file to the sink and follow it.
#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// The CSV file (as `datagen events` writes it); omit with --follow.
    pub file: Option<PathBuf>,
    /// grpc, rest (HTTP/1.1) or rest-h2.
    #[arg(long, default_value = "grpc", value_parser = Transport::parse)]
    pub transport: Transport,
    /// The sink's address (default: `sink`'s, 127.0.0.1:50057 for gRPC, 127.0.0.1:8086 for REST).
    #[arg(long)]
    pub addr: Option<SocketAddr>,
    /// Follow an import already running (its id) instead of uploading.
    #[arg(long)]
    pub follow: Option<u64>,
    /// TLS to the sink.
    #[command(flatten)]
    pub tls: super::ClientTls,
}

/// Where `sink` listens by default for `t`.
pub fn default_sink(t: Transport) -> SocketAddr {
    let orders = t.default_orders();
    SocketAddr::new(orders.ip(), orders.port() + PORT_OFFSET)
}

/// A client of the sink at `addr` over `t` (inside a runtime), over TLS with `tls`.
pub fn sink_port(
    t: Transport,
    addr: SocketAddr,
    tls: Option<&checkout_core::tls::Tls>,
) -> anyhow::Result<Arc<dyn IngestPort>> {
    use rest_stack::ingest::RestIngest;
    Ok(match t {
        Transport::Grpc => Arc::new(grpc_stack::ingest::GrpcIngest::new(addr, tls)),
        Transport::Rest => Arc::new(RestIngest::new(addr, false, tls)),
        Transport::RestH2 => Arc::new(RestIngest::new(addr, true, tls)),
        Transport::Tcp => {
            anyhow::bail!("the raw-TCP stack has no ingestion sink: use grpc or rest")
        }
    })
}

/// One line of the bar: share done, lines, rate, time left, the counts; the rate and time left
/// count from when this follower first saw the import (`first_lines` lines done then,
/// `elapsed` ago).
pub fn bar_line(p: &Progresso, first_lines: u64, elapsed: Duration) -> String {
    let share = if p.bytes == 0 {
        0.0
    } else {
        p.bytes_lidos as f64 / p.bytes as f64
    };
    let width = 24;
    let full = ((share * width as f64).round() as usize).min(width);
    let secs = elapsed.as_secs_f64().max(1e-3);
    let rate = p.linhas.saturating_sub(first_lines) as f64 / secs;
    let left = match p.linhas.checked_sub(first_lines) {
        Some(done) if done > 0 && share < 1.0 && p.bytes_lidos > 0 => {
            let lines_left = p.linhas as f64 * (1.0 - share) / share;
            format!("faltam {:.0} s", lines_left / (done as f64 / secs))
        }
        _ => String::new(),
    };
    format!(
        "importação {}: [{}{}] {:>3.0}%  {} linhas  {:.0}/s  {left}  inseridos {}  repetidos {}  inválidos {}",
        p.id,
        "#".repeat(full),
        "-".repeat(width - full),
        share * 100.0,
        p.linhas.saturating_sub(1),
        rate,
        p.inseridos,
        p.repetidos,
        p.invalidos,
    )
}

/// Runs `import`: uploads (or attaches to `--follow`), draws the bar until the import ends and
/// prints the final counts; on Ctrl-C leaves the import running and says how to follow it.
pub fn run(a: ImportArgs) -> anyhow::Result<()> {
    let addr = a.addr.unwrap_or_else(|| default_sink(a.transport));
    let tls = a.tls.load()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let port = sink_port(a.transport, addr, tls.as_deref())?;
        let started = Instant::now();
        let id = match (a.follow, &a.file) {
            (Some(id), _) => id,
            (None, Some(file)) => {
                let id = port
                    .importar(file)
                    .await
                    .map_err(|e| anyhow::anyhow!("upload refused: {e}"))?;
                println!(
                    "{} sent in {:.1} s: import {id} accepted, processing on the server",
                    file.display(),
                    started.elapsed().as_secs_f64()
                );
                id
            }
            (None, None) => anyhow::bail!("give a file to import, or --follow ID"),
        };
        let tty = std::io::stderr().is_terminal();
        let mut last_line = Instant::now() - Duration::from_secs(10);
        let mut first: Option<(u64, Instant)> = None;
        let mut draw = move |p: Progresso| {
            let (lines, since) = *first.get_or_insert((p.linhas, Instant::now()));
            let line = bar_line(&p, lines, since.elapsed());
            if tty {
                eprint!("\r\x1b[2K{line}");
                let _ = std::io::stderr().flush();
            } else if last_line.elapsed() >= Duration::from_secs(1) || p.estado.terminal() {
                eprintln!("{line}");
                last_line = Instant::now();
            }
        };
        let follow = port.acompanhar(id, &mut draw);
        let end = tokio::select! {
            end = follow => end.map_err(|e| anyhow::anyhow!("following import {id}: {e}"))?,
            _ = tokio::signal::ctrl_c() => {
                eprintln!(
                    "\nimport {id} goes on running on the server; follow it again with:\n  cargo run -p bench -- import --follow {id} --transport {} --addr {addr}",
                    a.transport.as_str()
                );
                std::process::exit(130);
            }
        };
        if tty {
            eprintln!();
        }
        let secs = started.elapsed().as_secs_f64();
        match end.estado {
            Estado::Concluida => {
                println!(
                    "import {id} done in {secs:.1} s: {} lines, {} inserted, {} repeated, {} invalid",
                    end.linhas.saturating_sub(1),
                    end.inseridos,
                    end.repetidos,
                    end.invalidos
                );
                for e in &end.erros {
                    println!("  line {}: {}", e.posicao, e.motivo);
                }
                Ok(())
            }
            _ => anyhow::bail!(
                "import {id} failed: {}",
                end.falha.unwrap_or_else(|| "no reason given".into())
            ),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(lines: u64, read: u64) -> Progresso {
        Progresso {
            id: 7,
            estado: Estado::Processando,
            bytes: 2_000,
            bytes_lidos: read,
            linhas: lines,
            inseridos: lines.saturating_sub(1),
            repetidos: 0,
            invalidos: 0,
            erros: Vec::new(),
            falha: None,
        }
    }

    #[test]
    fn the_bar_counts_its_rate_and_time_left_from_when_it_started_following() {
        let line = bar_line(&at(2_001, 1_000), 1_001, Duration::from_secs(1));
        assert!(line.contains(" 50%"), "{line}");
        assert!(
            line.contains("1000/s"),
            "rate since following began: {line}"
        );
        assert!(line.contains("faltam 2 s"), "{line}");
        assert!(line.contains("[############------------]"), "{line}");
        let fresh = bar_line(&at(1, 0), 1, Duration::from_millis(10));
        assert!(
            fresh.contains("  0%") && !fresh.contains("faltam"),
            "{fresh}"
        );
    }
}
