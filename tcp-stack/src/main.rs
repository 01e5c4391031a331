//! `tcp-stack serve`: runs the checkout's services over plain TCP.

use checkout_core::node::run_services;
use checkout_core::node_cli::ServeArgs;
use clap::{Parser, Subcommand};

/// The checkout over plain TCP (length-prefixed protobuf frames): six services, each its own
/// listener.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve one service or all six (default base port 7070).
    Serve(ServeArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    checkout_core::node_cli::init_telemetry();
    let Command::Serve(args) = Cli::parse().command;
    let opts = args.into_options(7070).map_err(anyhow::Error::msg)?;
    run_services(opts, std::future::pending(), tcp_stack::start)
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    Ok(())
}
