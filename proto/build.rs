//! Generates the messages of `*.proto` with protox (pure Rust, no `protoc` needed) and prost, and
//! keeps the encoded descriptor set (gRPC reflection serves it; the gRPC stack generates its
//! services against these messages).

use std::path::PathBuf;

/// Every contract file, in dependency order.
const PROTOS: [&str; 9] = [
    "comum.proto",
    "pedidos.proto",
    "pagamento.proto",
    "estoque.proto",
    "fiscal.proto",
    "logistica.proto",
    "catalogo.proto",
    "calibracao.proto",
    "ingestao.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for p in PROTOS {
        println!("cargo:rerun-if-changed={}", proto_dir.join(p).display());
    }
    let files: Vec<PathBuf> = PROTOS.iter().map(|p| proto_dir.join(p)).collect();
    let fds = protox::compile(&files, [&proto_dir])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("checkout_descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;
    prost_build::Config::new().compile_fds(fds)?;
    Ok(())
}
