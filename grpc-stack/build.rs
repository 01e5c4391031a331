//! Generates the gRPC code from `../proto` with protox (pure Rust, no `protoc` needed) and keeps
//! the encoded descriptor set for server reflection.

use std::path::PathBuf;

const PROTOS: [&str; 8] = [
    "comum.proto",
    "pedidos.proto",
    "pagamento.proto",
    "estoque.proto",
    "fiscal.proto",
    "logistica.proto",
    "catalogo.proto",
    "calibracao.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../proto");
    println!("cargo:rerun-if-changed={}", proto_dir.display());
    let files: Vec<PathBuf> = PROTOS.iter().map(|p| proto_dir.join(p)).collect();
    let fds = protox::compile(&files, [&proto_dir])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("checkout_descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .codec_path("crate::codec::CheckoutCodec")
        .compile_fds(fds)?;
    Ok(())
}
