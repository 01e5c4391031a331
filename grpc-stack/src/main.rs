//! `grpc-stack serve`: runs the checkout's services over gRPC.

use checkout_core::node::run_services;
use checkout_core::node_cli::{ServeArgs, SinkArgs};
use clap::{Parser, Subcommand};

/// The checkout over gRPC (tonic): six services, each its own server, and the ingestion sink.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
#[allow(clippy::large_enum_variant)] // parsed once
enum Command {
    /// Serve one service or all six (default base port 50051).
    Serve(ServeArgs),
    /// Serve the ingestion sink: the seed's four call patterns and background imports (default
    /// port 50057).
    Sink(SinkArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    checkout_core::node_cli::init_telemetry();
    match Cli::parse().command {
        Command::Serve(args) => {
            let opts = args.into_options(50051).map_err(anyhow::Error::msg)?;
            run_services(opts, std::future::pending(), grpc_stack::start).await
        }
        Command::Sink(args) => args.serve(50051, grpc_stack::ingest::start).await,
    }
    .map_err(|e| anyhow::anyhow!(e))
}
