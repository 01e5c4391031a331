//! `rest-stack serve`: runs the checkout's services over REST.

use checkout_core::node::run_services;
use checkout_core::node_cli::{ServeArgs, SinkArgs};
use clap::{Parser, Subcommand};
use rest_stack::RestOptions;

/// The checkout over REST (actix-web server, reqwest client): six services, each its own server,
/// and the ingestion sink.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
#[allow(clippy::large_enum_variant)] // parsed once
enum Command {
    /// Serve one service or all six (default base port 8080).
    Serve {
        #[command(flatten)]
        args: ServeArgs,
        /// Next-hop clients use HTTP/2 with prior knowledge (h2c; h2 over TLS with --tls) instead
        /// of HTTP/1.1; the servers always accept both.
        #[arg(long)]
        http2: bool,
        /// actix workers (threads) per service.
        #[arg(long, default_value_t = 2)]
        workers: usize,
    },
    /// Serve the ingestion sink: one event, a batch, NDJSON streams, file imports with progress
    /// as Server-Sent Events (default port 8086; HTTP/1.1 and h2c, or https with --tls).
    Sink {
        #[command(flatten)]
        args: SinkArgs,
        /// actix workers (threads).
        #[arg(long, default_value_t = 2)]
        workers: usize,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    checkout_core::node_cli::init_telemetry();
    match Cli::parse().command {
        Command::Serve {
            args,
            http2,
            workers,
        } => {
            let opts = args.into_options(8080).map_err(anyhow::Error::msg)?;
            let options = RestOptions {
                workers: workers.max(1),
                http2,
            };
            run_services(opts, std::future::pending(), rest_stack::start(options)).await
        }
        Command::Sink { args, workers } => {
            args.serve(8080, rest_stack::ingest::start(workers)).await
        }
    }
    .map_err(|e| anyhow::anyhow!(e))
}
