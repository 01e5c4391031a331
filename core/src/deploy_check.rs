//! Checks the deployment files (`deploy/compose.yaml`, `deploy/k8s/*.yaml`) against a binary:
//! every command line they give it uses flags its `--help` lists, every peer is a service the
//! file defines, on the port the stack's layout gives it, and every container port is the one
//! its process listens on. Used by the stacks' tests (no YAML parser: the files keep each
//! command line as one JSON-style list on one line, which this reads; an argument holding a
//! comma, such as replicas `a:1,b:2`, would be read as two).

use std::path::Path;

use crate::topology::ServiceName;

/// One command line a deployment file gives a binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    /// The file it is in.
    pub file: String,
    /// The binary (`grpc-stack`, `rest-stack`).
    pub binary: String,
    /// Its arguments, the subcommand first.
    pub args: Vec<String>,
    /// The container port declared beside it (Kubernetes), if any.
    pub container_port: Option<u16>,
}

fn list(line: &str, key: &str) -> Option<Vec<String>> {
    let rest = line.trim_start().strip_prefix(key)?.trim();
    let rest = rest.strip_prefix('[')?.strip_suffix(']')?;
    Some(
        rest.split(',')
            .map(|t| t.trim().trim_matches('"').to_owned())
            .filter(|t| !t.is_empty())
            .collect(),
    )
}

/// Every command line in `text` (a compose file's `entrypoint` + `command`, or a Kubernetes
/// container's `command` + `args` and its `containerPort`).
pub fn launches(text: &str, file: &str) -> Vec<Launch> {
    let mut out: Vec<Launch> = Vec::new();
    let mut binary = String::new();
    let k8s = text.contains("kind: Deployment");
    for line in text.lines() {
        if let Some(v) = list(line, "entrypoint:") {
            binary = v.join(" ");
        } else if let Some(v) = list(line, "command:") {
            if k8s {
                binary = v.join(" ");
            } else {
                out.push(Launch {
                    file: file.into(),
                    binary: binary.clone(),
                    args: v,
                    container_port: None,
                });
            }
        } else if let Some(v) = list(line, "args:") {
            out.push(Launch {
                file: file.into(),
                binary: binary.clone(),
                args: v,
                container_port: None,
            });
        } else if let Some(port) = line.trim_start().strip_prefix("- containerPort:")
            && let Some(last) = out.last_mut()
        {
            last.container_port = port.trim().parse().ok();
        }
    }
    out
}

fn value<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

/// Whether `text` defines a service (compose) or a Service (Kubernetes) called `name`.
fn defines(text: &str, name: &str) -> bool {
    text.lines().any(|l| l == format!("  {name}:"))
        || text.split("\n---\n").any(|doc| {
            doc.contains("kind: Service\n") && doc.contains(&format!("  name: {name}\n"))
        })
}

/// Problems with what the files under `deploy_dir` give `binary`, whose `--help` for a
/// subcommand `help` returns; and how many command lines were checked.
pub fn check(
    deploy_dir: &Path,
    binary: &str,
    help: &dyn Fn(&str) -> String,
) -> (Vec<String>, usize) {
    let mut problems = Vec::new();
    let mut checked = 0;
    let mut files = vec![deploy_dir.join("compose.yaml")];
    if let Ok(dir) = std::fs::read_dir(deploy_dir.join("k8s")) {
        let mut k8s: Vec<_> = dir.flatten().map(|e| e.path()).collect();
        k8s.sort();
        files.extend(k8s);
    }
    for path in files {
        let Ok(text) = std::fs::read_to_string(&path) else {
            problems.push(format!("{}: cannot read", path.display()));
            continue;
        };
        let name = path.display().to_string();
        let mine: Vec<Launch> = launches(&text, &name)
            .into_iter()
            .filter(|l| l.binary == binary)
            .collect();
        let mut served = Vec::new();
        for l in &mine {
            checked += 1;
            let Some(sub) = l.args.first() else {
                problems.push(format!("{name}: an empty command line"));
                continue;
            };
            let text_help = help(sub);
            for flag in l.args.iter().filter(|a| a.starts_with("--")) {
                let listed = [" ", "\n", " <", "=", ","]
                    .iter()
                    .any(|end| text_help.contains(&format!("{flag}{end}")));
                if !listed {
                    problems.push(format!("{name}: `{binary} {sub}` has no flag {flag}"));
                }
            }
            let listens = match sub.as_str() {
                "serve" => {
                    let service = value(&l.args, "--service").and_then(ServiceName::parse);
                    let base = value(&l.args, "--base-port").and_then(|p| p.parse::<u16>().ok());
                    let (Some(service), Some(base)) = (service, base) else {
                        problems.push(format!(
                            "{name}: a serve line without --service and --base-port"
                        ));
                        continue;
                    };
                    served.push(service);
                    for peer in ServiceName::ALL {
                        let Some(addr) = value(&l.args, &format!("--peer-{peer}")) else {
                            if peer != service {
                                problems
                                    .push(format!("{name}: {service} is not told where {peer} is"));
                            }
                            continue;
                        };
                        let (host, port) = addr.rsplit_once(':').unwrap_or((addr, ""));
                        if port.parse::<u16>().ok() != Some(base + peer.index() as u16) {
                            problems.push(format!(
                                "{name}: {service} reaches {peer} at {addr}, not port {}",
                                base + peer.index() as u16
                            ));
                        }
                        if !defines(&text, host) {
                            problems.push(format!(
                                "{name}: {service}'s peer {host} is not defined in the file"
                            ));
                        }
                    }
                    Some(base + service.index() as u16)
                }
                "sink" => value(&l.args, "--port").and_then(|p| p.parse().ok()),
                other => {
                    problems.push(format!("{name}: unknown subcommand {other}"));
                    None
                }
            };
            if let (Some(declared), Some(listens)) = (l.container_port, listens)
                && declared != listens
            {
                problems.push(format!(
                    "{name}: container port {declared}, but the process listens on {listens}"
                ));
            }
        }
        if !mine.is_empty() {
            for s in ServiceName::ALL {
                if !served.contains(&s) {
                    problems.push(format!("{name}: no {s} for {binary}"));
                }
            }
        }
    }
    (problems, checked)
}

/// Asserts that the deployment files under the workspace's `deploy/` match the binary at `exe`
/// (named `binary` in them): its subcommands' `--help` run for real; six services and the sink
/// in the compose file and in the stack's Kubernetes file.
pub fn assert_deploy_files_match(exe: &str, binary: &str, workspace: &Path) {
    let help = |sub: &str| {
        let out = std::process::Command::new(exe)
            .args([sub, "--help"])
            .output()
            .expect("run the binary");
        assert!(out.status.success(), "{binary} {sub} --help failed");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let (problems, checked) = check(&workspace.join("deploy"), binary, &help);
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(
        checked, 14,
        "six services and the sink, in compose.yaml and in the stack's k8s file"
    );
}
