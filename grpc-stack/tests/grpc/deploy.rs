//! The deployment files (`deploy/compose.yaml`, `deploy/k8s/grpc.yaml`) give this binary only
//! flags its `--help` lists, peers the files define on the ports the layout gives them, and
//! container ports its processes listen on.

#[test]
fn the_deployment_files_match_the_flags_the_binary_accepts() {
    checkout_core::deploy_check::assert_deploy_files_match(
        env!("CARGO_BIN_EXE_grpc-stack"),
        "grpc-stack",
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".."),
    );
}
