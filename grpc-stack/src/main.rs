//! `grpc-stack serve`: runs the checkout's services over gRPC.

use checkout_core::node::run_services;
use checkout_core::node_cli::ServeArgs;
use clap::{Parser, Subcommand};

/// The checkout over gRPC (tonic): six services, each its own server.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve one service or all six (default base port 50051).
    Serve(ServeArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    checkout_core::node_cli::init_telemetry();
    let Command::Serve(args) = Cli::parse().command;
    let opts = args.into_options(50051).map_err(anyhow::Error::msg)?;
    run_services(opts, std::future::pending(), grpc_stack::start)
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    Ok(())
}
