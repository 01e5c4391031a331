//! `bench`: the harness's main job. Subcommands generate data and (later) drive the stacks.

use std::path::PathBuf;

use anyhow::Context;
use checkout_core::datagen::{DatagenConfig, generate};
use clap::{Parser, Subcommand};

/// Benchmark gRPC against REST on the same six-service checkout, and generate its data.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Write an ecommerce.db with the seed's schema, proportions and Brazilian names.
    Datagen(DatagenArgs),
}

#[derive(clap::Args, Debug)]
struct DatagenArgs {
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
    match cli.command {
        Some(Command::Datagen(a)) => {
            let cfg = DatagenConfig {
                customers: a.customers,
                products: a.products,
                orders: a.orders,
                seed: a.seed,
            };
            let s =
                generate(&a.out, cfg).with_context(|| format!("writing {}", a.out.display()))?;
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
        None => {
            anyhow::bail!(
                "the benchmark run is not built yet; available now: `cargo run -p bench -- datagen`"
            )
        }
    }
}
