//! The hidden `node` command: one service process of a stack (or a stack's ingestion sink), as
//! the bench's supervisor starts it, with its runtime sized and its cores pinned as told.

use checkout_core::node::run_services;
use checkout_core::node_cli::ServeArgs;
use clap::Subcommand;

/// Runtime size of a gRPC service process, chosen by measurement (README, "Runtime sizing").
pub const DEFAULT_GRPC_WORKERS: usize = 2;
/// actix workers of a REST service process, chosen by measurement (README, "Runtime sizing").
pub const DEFAULT_REST_WORKERS: usize = 2;

/// Which process `node` runs.
#[derive(Subcommand, Debug)]
pub enum NodeStack {
    Grpc {
        #[command(flatten)]
        args: ServeArgs,
        /// tokio worker threads; 0 for a current-thread runtime. With `--per-thread`: serving
        /// threads (at least one).
        #[arg(long, default_value_t = DEFAULT_GRPC_WORKERS)]
        workers: usize,
        /// Serve on `workers` threads, each a current-thread runtime with its share of the
        /// connections, instead of one runtime for all (`grpc_stack::threads`).
        #[arg(long)]
        per_thread: bool,
        /// Run on the first N cores only (0: all).
        #[arg(long, default_value_t = 0)]
        cpus: usize,
    },
    Tcp {
        #[command(flatten)]
        args: ServeArgs,
        /// tokio worker threads; 0 for a current-thread runtime.
        #[arg(long, default_value_t = DEFAULT_GRPC_WORKERS)]
        workers: usize,
        /// Run on the first N cores only (0: all).
        #[arg(long, default_value_t = 0)]
        cpus: usize,
    },
    Rest {
        #[command(flatten)]
        args: ServeArgs,
        #[arg(long)]
        http2: bool,
        /// actix workers.
        #[arg(long, default_value_t = DEFAULT_REST_WORKERS)]
        workers: usize,
        /// Run on the first N cores only (0: all).
        #[arg(long, default_value_t = 0)]
        cpus: usize,
    },
    /// The ingestion sink of a stack.
    Sink {
        #[command(flatten)]
        args: checkout_core::node_cli::SinkArgs,
        /// `grpc` or `rest`.
        #[arg(long)]
        stack: String,
        /// tokio worker threads (gRPC) or actix workers (REST).
        #[arg(long, default_value_t = 2)]
        workers: usize,
    },
}

/// Runs one `node` process.
pub fn node(stack: NodeStack) -> anyhow::Result<()> {
    crate::cluster::supervisor::exit_with_parent();
    let (NodeStack::Grpc { cpus, .. } | NodeStack::Tcp { cpus, .. } | NodeStack::Rest { cpus, .. }) =
        &stack
    else {
        return sink_node(stack);
    };
    if *cpus > 0 {
        // Before any thread starts: every thread of the process inherits the mask.
        let mut set = rustix::thread::CpuSet::new();
        for cpu in 0..*cpus {
            set.set(cpu);
        }
        rustix::thread::sched_setaffinity(None, &set)?;
    }
    if let NodeStack::Grpc {
        per_thread: true,
        workers,
        ..
    } = &stack
    {
        grpc_stack::threads::set_model(grpc_stack::threads::Model::PerThread((*workers).max(1)));
    }
    let rt = match &stack {
        // Serving on threads of their own, the process's runtime only accepts and runs the
        // outboxes and sweeps.
        NodeStack::Grpc {
            per_thread: true, ..
        } => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
        NodeStack::Grpc { workers: 0, .. } | NodeStack::Tcp { workers: 0, .. } => {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
        }
        // REST requests run on actix's own workers; this runtime holds the servers' handles,
        // outboxes and sweeps.
        NodeStack::Grpc { workers, .. }
        | NodeStack::Tcp { workers, .. }
        | NodeStack::Rest { workers, .. }
        | NodeStack::Sink { workers, .. } => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(*workers)
            .enable_all()
            .build()?,
    };
    rt.block_on(async move {
        let result = match stack {
            NodeStack::Grpc { args, .. } => {
                let opts = args.into_options(50051).map_err(anyhow::Error::msg)?;
                run_services(opts, std::future::pending(), grpc_stack::start).await
            }
            NodeStack::Tcp { args, .. } => {
                let opts = args.into_options(7070).map_err(anyhow::Error::msg)?;
                run_services(opts, std::future::pending(), tcp_stack::start).await
            }
            NodeStack::Rest {
                args,
                http2,
                workers,
                ..
            } => {
                let opts = args.into_options(8080).map_err(anyhow::Error::msg)?;
                let options = rest_stack::RestOptions {
                    workers: workers.max(1),
                    http2,
                };
                run_services(opts, std::future::pending(), rest_stack::start(options)).await
            }
            NodeStack::Sink { .. } => unreachable!("served by sink_node"),
        };
        result.map_err(|e| anyhow::anyhow!(e))
    })
}

fn sink_node(stack: NodeStack) -> anyhow::Result<()> {
    let NodeStack::Sink {
        args,
        stack,
        workers,
    } = stack
    else {
        unreachable!("a sink")
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers.max(1))
        .enable_all()
        .build()?;
    rt.block_on(async move {
        match stack.as_str() {
            "grpc" => args.serve(50051, grpc_stack::ingest::start).await,
            "rest" => args.serve(8080, rest_stack::ingest::start(workers)).await,
            other => return Err(anyhow::anyhow!("--stack {other:?}: grpc or rest")),
        }
        .map_err(|e| anyhow::anyhow!(e))
    })
}
