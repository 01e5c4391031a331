//! Generates the gRPC services (servers and clients) from `../proto` with protox (pure Rust, no
//! `protoc` needed); the messages they carry are `checkout-proto`'s, shared with the raw-TCP stack.

use std::path::PathBuf;

/// Every contract package; `checkout-proto` generates the messages of all but `calibracao`
/// (a service only).
const PACKAGES: [&str; 9] = [
    "comum",
    "pedidos",
    "pagamento",
    "estoque",
    "fiscal",
    "logistica",
    "catalogo",
    "calibracao",
    "ingestao",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../proto");
    let files: Vec<PathBuf> = PACKAGES
        .iter()
        .map(|p| proto_dir.join(format!("{p}.proto")))
        .collect();
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    let fds = protox::compile(&files, [&proto_dir])?;
    let mut config = tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .codec_path("crate::codec::CheckoutCodec");
    for p in PACKAGES.iter().filter(|p| **p != "calibracao") {
        config = config.extern_path(format!(".{p}"), format!("::checkout_proto::pb::{p}"));
    }
    config.compile_fds(fds)?;
    Ok(())
}
