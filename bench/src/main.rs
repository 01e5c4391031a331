//! `bench`: the harness's main job. With no subcommand it runs the benchmark (default profile)
//! and writes the report; `datagen` writes an ecommerce.db; `compare` diffs two runs.

use std::path::PathBuf;

use anyhow::Context;
use bench::cluster::target::TargetKind;
use bench::scenarios::profile::Profile;
use bench::scenarios::runner::{RunOptions, run};
use checkout_core::ServiceName;
use checkout_core::datagen::{DatagenConfig, generate};
use checkout_core::store::SyncMode;
use clap::{Args, Parser, Subcommand};

use bench::cluster::node_cmd::{DEFAULT_GRPC_WORKERS, DEFAULT_REST_WORKERS, NodeStack};

/// Benchmark gRPC against REST on the same six-service checkout, and explain the difference.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Args, Debug)]
struct RunArgs {
    /// `smoke` (under a minute), `default` (a few minutes) or `full` (a study).
    #[arg(long, default_value = "default")]
    profile: String,
    /// Output folder of the report.
    #[arg(long, default_value = "reports/latest")]
    out: PathBuf,
    /// Run seed: data, request sequence and simulated outcomes.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Only this scenario (repeatable): checkout-open, checkout-closed, catalog-30, catalog-1000,
    /// kill-payments, slow-inventory, overload, overload-unshed, ingest, links-region, or one
    /// outside the profile (crosscheck, scaling, links, links-catalog, tls).
    #[arg(long)]
    scenario: Vec<String>,
    /// Also run this scenario outside the profile after its own (repeatable): crosscheck (our
    /// engine against wrk and h2load), scaling (workers and cores per service process), links
    /// (checkouts behind shaped links), links-catalog (the 1,000-product listing behind capped
    /// links), tls (checkouts in the clear, over TLS and over mutual TLS), cpu-profile (flame
    /// graphs of every networked stack; see --profile-cpu).
    #[arg(long)]
    also: Vec<String>,
    /// Only this transport (repeatable): inprocess, grpc, rest (both HTTP versions), rest-h1,
    /// rest-h2, tcp.
    #[arg(long)]
    transport: Vec<String>,
    /// SQLite `synchronous` of every service: off, normal or full.
    #[arg(long, default_value = "normal")]
    sync: String,
    /// tokio worker threads of each gRPC (and TCP) service process; 0 runs each on a
    /// current-thread runtime.
    #[arg(long, default_value_t = DEFAULT_GRPC_WORKERS)]
    grpc_workers: usize,
    /// How each gRPC service process runs its calls: `shared` (one tokio runtime with
    /// `--grpc-workers` workers for every connection, as tonic is usually run) or `per-thread`
    /// (`--grpc-workers` threads, each a current-thread runtime serving its share of the
    /// connections, as actix runs REST's)
    #[arg(long, default_value = "shared", value_parser = ["shared", "per-thread"])]
    grpc_runtime: String,
    /// actix workers (threads) of each REST service process.
    #[arg(long, default_value_t = DEFAULT_REST_WORKERS)]
    rest_workers: usize,
    /// What each service admits: `static` (256 in flight), `static:N`, `adaptive` or `off`
    /// (everything: no load shedding; the overload scenario's comparison runs it anyway).
    #[arg(long, default_value = "static", value_parser = checkout_core::admission::Admission::parse)]
    admission: checkout_core::admission::Admission,
    /// Run with a CPU-bound process spinning on every core beside the bench (a busy machine):
    /// the checks must still pass.
    #[arg(long)]
    busy: bool,
    /// How idle cores wait through the run: `poll` (the bench holds a 0 µs wake-up latency
    /// request on /dev/cpu_dma_latency, so waking an idle core costs nothing; needs root, and
    /// says so otherwise) or `machine` (the machine's own idle policy, e.g. a VM's halting vCPU).
    #[arg(long, default_value = "poll", value_parser = bench::cluster::idle::IdlePolicy::parse)]
    idle: bench::cluster::idle::IdlePolicy,
    /// Also sample every networked stack's services with `perf` under closed-loop checkouts and
    /// draw a flame graph per stack (`profiles/*.svg`, linked from the report): the same as
    /// `--also cpu-profile`. Skipped, saying why, without perf or the permission to use it.
    #[arg(long)]
    profile_cpu: bool,
    /// gRPC connections and the REST servers' HTTP/2 ones send what one poll of a connection
    /// writes as one segment (`on`), or write as stock tonic and actix do, a request's HEADERS and
    /// DATA in two segments (`off`: to compare).
    #[arg(long, default_value = "on", value_parser = ["on", "off"])]
    coalesce: String,
    /// How each service process locks its SQLite database: `process` (it owns the file: locks
    /// in its memory, SQLite's `unix-excl` VFS) or `file` (SQLite's `fcntl` locks on every
    /// transaction, as several processes sharing a database need: to compare).
    #[arg(long, default_value = "process", value_parser = ["process", "file"])]
    sqlite_locks: String,
    /// Every hop of the networked stacks crosses a shaped link: passthrough, lan (0.25 ms),
    /// region (2 ms), wan (20 ms, 50 Mbit/s), lossy (2 ms, 0.5% stalls), thin (2 ms, 20 Mbit/s),
    /// or a spec such as
    /// `delay=5ms,jitter=1ms,rate=100mbit,stall=0.5%`.
    #[arg(long, value_parser = bench::cluster::link::LinkProfile::parse)]
    link: Option<bench::cluster::link::LinkProfile>,
    /// Every hop of the networked stacks over TLS (rustls; the bench's own calls included), with a
    /// CA of the run's own made into the work folder (or the material in --tls-dir).
    #[arg(long)]
    tls: bool,
    /// Mutual TLS (implies --tls): every server refuses a caller without the chain's certificate.
    #[arg(long)]
    mtls: bool,
    /// The chain's TLS material (`ca.pem`, `chain.pem`, `chain.key`) for --tls, --mtls or a
    /// --target-addr stack served with --tls; made there when the folder holds none.
    #[arg(long)]
    tls_dir: Option<PathBuf>,
    /// Drive a stack running elsewhere instead of starting one (repeatable):
    /// `KIND=HOST:PORT[,HOST:PORT]` — grpc, rest-h1, rest-h2 or tcp; Orders' address, then
    /// Catalog's (default: Orders' port + 5). Only the sweeps of the seed's catalog run; the
    /// audit is skipped (the databases are there, not here).
    #[arg(long, value_parser = bench::cluster::target::parse_remote)]
    target_addr: Vec<(TargetKind, std::net::SocketAddr, std::net::SocketAddr)>,
    /// Which chain service the kill scenario kills: orders, payments, inventory, fiscal or logistics.
    #[arg(long, default_value = "payments")]
    kill: String,
    /// Measure a debug build instead of rebuilding in release (numbers will not mean much).
    #[arg(long)]
    allow_debug: bool,
}

#[derive(Subcommand, Debug)]
#[allow(clippy::large_enum_variant)] // parsed once
enum Command {
    /// Write an ecommerce.db with the seed's schema, proportions and Brazilian names (or, with
    /// `events`, an import file of order events).
    Datagen(DatagenArgs),
    /// Upload a CSV of events to the ingestion sink and follow its progress.
    Import(bench::client::import::ImportArgs),
    /// Print what changed between two runs' results.json.
    Compare {
        /// The earlier results.json (or the run's folder).
        a: PathBuf,
        /// The later results.json (or the run's folder).
        b: PathBuf,
    },
    /// The shop's client: list, search and filter products, update stock, place and look up
    /// orders, over gRPC or REST. Without an action: a menu read from standard input.
    Client(ClientArgs),
    /// Redraw a run's report and charts from its results.json (after a change to the report).
    Report {
        /// The run's folder (holding results.json).
        dir: PathBuf,
    },
    /// Keep `threads` cores busy for `seconds` (the CPU hog of `--busy`).
    #[command(hide = true)]
    Hog {
        #[arg(long)]
        threads: usize,
        #[arg(long)]
        seconds: u64,
    },
    /// Run one service process of a stack (used by the bench's supervisor).
    #[command(hide = true)]
    Node {
        #[command(subcommand)]
        stack: NodeStack,
    },
}

#[derive(Args, Debug)]
struct ClientArgs {
    /// grpc, rest (HTTP/1.1), rest-h2 or tcp.
    #[arg(long, default_value = "grpc", value_parser = bench::client::Transport::parse)]
    transport: bench::client::Transport,
    /// Orders' address (the stack's base port; default: `serve`'s, 127.0.0.1:50051 for gRPC,
    /// 127.0.0.1:8080 for REST, 127.0.0.1:7070 for TCP).
    #[arg(long)]
    addr: Option<std::net::SocketAddr>,
    /// Catalog's address (default: Orders' port + 5, as `serve` lays the ports out).
    #[arg(long)]
    catalog: Option<std::net::SocketAddr>,
    /// Answer in JSON (one-shot actions).
    #[arg(long, global = true)]
    json: bool,
    #[command(flatten)]
    tls: bench::client::ClientTls,
    #[command(subcommand)]
    action: Option<ClientAction>,
}

#[derive(Subcommand, Debug)]
enum ClientAction {
    /// List products (optionally by name and maximum price).
    Produtos {
        /// Part of the name (case-insensitive).
        #[arg(long)]
        nome: Option<String>,
        /// Highest price in reais (e.g. 19,90).
        #[arg(long, value_parser = bench::client::parse_reais)]
        preco_max: Option<i64>,
    },
    /// Change a product's stock by DELTA units (negative to remove).
    Estoque {
        produto: i64,
        #[arg(allow_hyphen_values = true)]
        delta: i64,
    },
    /// Place an order and see it go through payment, invoice and shipment (or why not).
    Pedido {
        /// Customer id.
        #[arg(long)]
        cliente: i64,
        /// A line PRODUTO:QUANTIDADE (repeatable).
        #[arg(long = "item", required = true, value_parser = bench::client::parse_item)]
        itens: Vec<(i64, i64)>,
        /// Idempotency key (default: a fresh one); the same key again returns the first outcome.
        #[arg(long)]
        chave: Option<String>,
    },
    /// Look an order up.
    Consultar { pedido: i64 },
}

#[derive(Subcommand, Debug)]
enum DatagenKind {
    /// An import file of seed 000's order events (CSV), with repeats and invalid lines.
    Events(bench::client::import::EventsArgs),
}

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
struct DatagenArgs {
    #[command(subcommand)]
    kind: Option<DatagenKind>,
    /// Output file (replaced if it exists).
    #[arg(long, default_value = "ecommerce.db")]
    out: PathBuf,
    /// Number of customers.
    #[arg(long, default_value_t = 50)]
    customers: usize,
    /// Number of products.
    #[arg(long, default_value_t = 30)]
    products: usize,
    /// Number of historical orders.
    #[arg(long, default_value_t = 100)]
    orders: usize,
    /// Random seed: the same seed writes the same rows.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    checkout_core::node_cli::init_telemetry();
    match cli.command {
        Some(Command::Datagen(DatagenArgs {
            kind: Some(DatagenKind::Events(e)),
            ..
        })) => bench::client::import::datagen_events(&e),
        Some(Command::Datagen(a)) => datagen(a),
        Some(Command::Import(a)) => bench::client::import::run(a),
        Some(Command::Compare { a, b }) => bench::report::compare::run(&a, &b),
        Some(Command::Node { stack }) => bench::cluster::node_cmd::node(stack),
        Some(Command::Hog { threads, seconds }) => {
            bench::cluster::supervisor::exit_with_parent();
            bench::cluster::hog::spin(threads, std::time::Duration::from_secs(seconds));
            Ok(())
        }
        Some(Command::Client(a)) => client(a),
        Some(Command::Report { dir }) => {
            let text = std::fs::read_to_string(dir.join("results.json"))
                .context("reading results.json")?;
            let mut results: bench::results::Results = serde_json::from_str(&text)?;
            results.cost = Some(bench::report::cost::summarize(&results));
            bench::report::render(&dir, &results)?;
            println!("report: {}", dir.join("report.html").display());
            Ok(())
        }
        None => benchmark(cli.run),
    }
}

fn client(a: ClientArgs) -> anyhow::Result<()> {
    use bench::client::{Action, Client, interactive, new_key};
    let orders = a.addr.unwrap_or_else(|| a.transport.default_orders());
    let catalog = a
        .catalog
        .unwrap_or_else(|| std::net::SocketAddr::new(orders.ip(), orders.port().saturating_add(5)));
    let action = a.action.map(|x| match x {
        ClientAction::Produtos { nome, preco_max } => Action::Produtos {
            nome,
            preco_max_centavos: preco_max,
        },
        ClientAction::Estoque { produto, delta } => Action::Estoque { produto, delta },
        ClientAction::Pedido {
            cliente,
            itens,
            chave,
        } => Action::Pedido {
            cliente,
            itens,
            chave: chave.unwrap_or_else(new_key),
        },
        ClientAction::Consultar { pedido } => Action::Consultar { pedido },
    });
    let tls = a.tls.load()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let c = Client::connect(a.transport, orders, catalog, tls);
        match action {
            Some(action) => match c.run(&action, a.json).await {
                Ok(text) => {
                    print!("{text}");
                    Ok(())
                }
                Err(text) => {
                    eprint!("{text}");
                    std::process::exit(1);
                }
            },
            None => {
                println!(
                    "loja ({:?}) — pedidos em {orders}, catálogo em {catalog}",
                    a.transport
                );
                interactive(&c, std::io::stdin().lock(), std::io::stdout()).await;
                Ok(())
            }
        }
    })
}

fn datagen(a: DatagenArgs) -> anyhow::Result<()> {
    let cfg = DatagenConfig {
        customers: a.customers,
        products: a.products,
        orders: a.orders,
        seed: a.seed,
    };
    let s = generate(&a.out, cfg).with_context(|| format!("writing {}", a.out.display()))?;
    println!(
        "wrote {}: {} customers, {} products, {} orders ({} payments, {} invoices, {} shipments), seed {}",
        a.out.display(),
        s.customers,
        s.products,
        s.orders,
        s.payments,
        s.invoices,
        s.shipments,
        a.seed
    );
    Ok(())
}

/// In a debug build, rebuilds the bench in release and runs that instead: the numbers must come
/// from optimised code even when started as plain `cargo run -p bench`.
fn reexec_release() -> anyhow::Result<std::process::ExitStatus> {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!(
        "bench: this is a debug build; building the release binary (cargo build --release -p bench) to measure optimised code"
    );
    let status = std::process::Command::new(&cargo)
        .args(["build", "--release", "-p", "bench"])
        .current_dir(&workspace)
        .status()
        .context("running cargo build --release")?;
    anyhow::ensure!(status.success(), "release build failed");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace.join("target"), PathBuf::from);
    let exe = target.join("release").join("bench");
    Ok(std::process::Command::new(&exe)
        .args(std::env::args_os().skip(1))
        .status()?)
}

fn benchmark(a: RunArgs) -> anyhow::Result<()> {
    if cfg!(debug_assertions) && !a.allow_debug {
        let status = reexec_release()?;
        std::process::exit(status.code().unwrap_or(1));
    }
    let mut profile = Profile::named(&a.profile)
        .ok_or_else(|| anyhow::anyhow!("unknown profile {:?} (smoke, default, full)", a.profile))?;
    let killed = ServiceName::parse(&a.kill).ok_or_else(|| {
        anyhow::anyhow!(
            "--kill {:?}: orders, payments, inventory, fiscal or logistics",
            a.kill
        )
    })?;
    profile
        .kill_service(killed)
        .map_err(|e| anyhow::anyhow!("--kill: {e}"))?;
    let sync =
        SyncMode::parse(&a.sync).ok_or_else(|| anyhow::anyhow!("--sync: off, normal or full"))?;
    let mut targets = Vec::new();
    for t in &a.transport {
        match (t.as_str(), TargetKind::parse(t)) {
            ("rest", _) => targets.extend([TargetKind::RestH1, TargetKind::RestH2]),
            (_, Some(kind)) => targets.push(kind),
            (other, None) => {
                anyhow::bail!(
                    "--transport {other:?}: inprocess, grpc, rest, rest-h1, rest-h2 or tcp"
                )
            }
        }
    }
    let grpc_per_thread = a.grpc_runtime == "per-thread";
    if grpc_per_thread {
        // The bench's own gRPC clients open channels per calling thread too, as the services'.
        grpc_stack::threads::set_model(grpc_stack::threads::Model::PerThread(
            a.grpc_workers.max(1),
        ));
    }
    let opts = RunOptions {
        profile,
        out: a.out.clone(),
        seed: a.seed,
        scenarios: a.scenario,
        also: {
            let mut also = a.also;
            if a.profile_cpu && !also.iter().any(|x| x == "cpu-profile") {
                also.push("cpu-profile".into());
            }
            also
        },
        targets,
        sync,
        grpc_workers: a.grpc_workers,
        grpc_per_thread,
        rest_workers: a.rest_workers.max(1),
        admission: a.admission,
        busy: a.busy,
        idle: a.idle,
        coalesce: a.coalesce == "on",
        owned_db: a.sqlite_locks == "process",
        tls: (a.tls || a.mtls || a.tls_dir.is_some()).then(|| {
            bench::cluster::supervisor::TlsFlags {
                dir: a
                    .tls_dir
                    .clone()
                    .unwrap_or_else(|| a.out.join("work").join("tls")),
                mutual: a.mtls,
            }
        }),
        link: a.link.clone(),
        remote: a.target_addr.clone(),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let measured = rt.block_on(async {
        tokio::select! {
            m = run(opts) => m,
            _ = checkout_core::node::shutdown_signal() => Err(anyhow::anyhow!("interrupted; every service process was stopped")),
        }
    })?;
    let mut results = measured.results;
    results.cost = Some(bench::report::cost::summarize(&results));
    let figures = bench::report::figures::all(&results);
    results.checks = bench::report::checks::evaluate(&results, &figures);
    bench::report::write_all(&a.out, &results, &measured.histograms)?;
    println!("report: {}", a.out.join("report.html").display());
    println!("        {}", a.out.join("report.md").display());
    println!("        {}", a.out.join("results.json").display());
    let failed: Vec<_> = results.checks.iter().filter(|c| !c.passed).collect();
    for c in &failed {
        eprintln!("check failed: {}: {}", c.name, c.detail);
    }
    rt.shutdown_timeout(std::time::Duration::from_secs(1));
    if !failed.is_empty() {
        std::process::exit(2);
    }
    Ok(())
}
