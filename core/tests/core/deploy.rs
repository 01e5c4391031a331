//! The deployment checker finds what it is there to find: a flag the binary lacks, a peer on the
//! wrong port or not defined in the file, a container port its process does not listen on.

use checkout_core::ServiceName;
use checkout_core::deploy_check::check;

const SERVICES: [&str; 6] = [
    ServiceName::Orders.as_str(),
    ServiceName::Payments.as_str(),
    ServiceName::Inventory.as_str(),
    ServiceName::Fiscal.as_str(),
    ServiceName::Logistics.as_str(),
    ServiceName::Catalog.as_str(),
];

const HELP: &str = "  --service <SERVICE>\n  --bind <BIND>\n  --base-port <BASE_PORT>\n  --data-dir <DATA_DIR>\n  --peer-orders <PEER_ORDERS>\n  --peer-payments <P>\n  --peer-inventory <P>\n  --peer-fiscal <P>\n  --peer-logistics <P>\n  --peer-catalog <P>\n";

fn line(service: &str, extra: &str, wrong_port: bool) -> String {
    let mut args = format!(
        "\"serve\", \"--service\", \"{service}\", \"--base-port\", \"9000\", \"--data-dir\", \"/data\"{extra}"
    );
    for (i, p) in SERVICES.iter().enumerate() {
        if *p != service {
            let port = if wrong_port && *p == "payments" {
                1
            } else {
                9000 + i
            };
            args.push_str(&format!(", \"--peer-{p}\", \"x-{p}:{port}\""));
        }
    }
    format!("  x-{service}:\n    entrypoint: [\"x-stack\"]\n    command: [{args}]\n")
}

#[test]
fn a_wrong_flag_a_wrong_peer_port_and_an_undefined_peer_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let good: String = SERVICES.iter().map(|s| line(s, "", false)).collect();
    std::fs::write(
        dir.path().join("compose.yaml"),
        format!("services:\n{good}"),
    )
    .unwrap();
    let help = |_: &str| HELP.to_owned();
    let (problems, checked) = check(dir.path(), "x-stack", &help);
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(checked, 6);

    let bad: String = SERVICES
        .iter()
        .map(|s| match *s {
            "orders" => line(s, ", \"--no-such-flag\", \"1\"", true),
            "catalog" => String::new(),
            _ => line(s, "", false),
        })
        .collect();
    std::fs::write(dir.path().join("compose.yaml"), format!("services:\n{bad}")).unwrap();
    let (problems, _) = check(dir.path(), "x-stack", &help);
    let text = problems.join("\n");
    assert!(text.contains("no flag --no-such-flag"), "{text}");
    assert!(text.contains("reaches payments at x-payments:1"), "{text}");
    assert!(text.contains("peer x-catalog is not defined"), "{text}");
    assert!(text.contains("no catalog for x-stack"), "{text}");
}
