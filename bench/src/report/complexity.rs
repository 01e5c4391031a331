//! Complexity, measured from the source tree the bench was built from: per stack, the adapter's
//! hand-written code (the core and the tests excluded), its contract, the code generated from
//! that contract, its dependencies (direct, and the crates it pulls in beyond the core's), and
//! the files one existing endpoint touches — what adding the next one would cost.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::document::{Block, Document, table};
use crate::results::Results;

/// One stack's measured complexity.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct StackComplexity {
    /// `grpc`, `rest` or `tcp`.
    pub stack: String,
    /// Rust files of the adapter (`src/` of the stack's crate, and of the shared wire crate
    /// `proto/` for the protobuf stacks; tests excluded).
    pub files: usize,
    /// Their code lines (neither blank nor only a comment).
    pub code_lines: usize,
    /// Code lines of the contract written by hand outside the adapter (`.proto` files; REST's
    /// contract is its own types and routes, counted above).
    pub contract_lines: usize,
    /// Lines generated from the contract at build time (prost messages, and tonic services for
    /// gRPC), none for REST.
    pub generated_lines: usize,
    /// Direct dependencies (the core excluded).
    pub direct_deps: usize,
    /// Crates the stack pulls in that the core does not (transitively, from `Cargo.lock`).
    pub crates_beyond_core: usize,
    /// Files (adapter and contract) that name the Catalog's stock-update endpoint: what one
    /// endpoint touches.
    pub endpoint_files: Vec<String>,
    /// Bytes the stack's release binary (`tcp-stack serve`, ...) beside the bench's loads: its
    /// code and data, the debug information it carries for profiling left out; when built.
    #[serde(default)]
    pub binary_bytes: Option<u64>,
    /// Seconds of compilation (units summed) of the stack's own crates and of every crate it pulls
    /// in beyond the core's, in cargo's latest `--timings` record.
    #[serde(default)]
    pub build_s: Option<f64>,
    /// That, as a share of all the record's compilation seconds.
    #[serde(default)]
    pub build_share: Option<f64>,
    /// The record is of a clean build (no unit was already built).
    #[serde(default)]
    pub build_clean: Option<bool>,
    /// Crates of the core's span exporter (OpenTelemetry, OTLP/HTTP) beyond the core's own,
    /// which every stack carries alike and none is counted for.
    #[serde(default)]
    pub telemetry_crates: usize,
}

/// Code lines of Rust or protobuf text: neither blank nor only a `//` comment.
pub fn code_lines(text: &str) -> usize {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
        .count()
}

/// Each package of a `Cargo.lock` with the names of its dependencies.
pub fn lock_graph(lock: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut name: Option<String> = None;
    let mut in_deps = false;
    for line in lock.lines().map(str::trim) {
        if line == "[[package]]" {
            (name, in_deps) = (None, false);
        } else if let Some(n) = line.strip_prefix("name = ") {
            let n = n.trim_matches('"').to_string();
            graph.entry(n.clone()).or_default();
            name = Some(n);
        } else if line.starts_with("dependencies = [") {
            in_deps = !line.ends_with(']');
        } else if in_deps && line == "]" {
            in_deps = false;
        } else if in_deps && let Some(n) = &name {
            let dep = line.trim_matches(|c| c == '"' || c == ',');
            let dep = dep.split(' ').next().unwrap_or(dep).to_string();
            graph.entry(n.clone()).or_default().insert(dep);
        }
    }
    graph
}

/// Every package reachable from `root` (itself excluded).
pub fn closure(graph: &BTreeMap<String, BTreeSet<String>>, root: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![root.to_string()];
    while let Some(p) = todo.pop() {
        for d in graph.get(&p).into_iter().flatten() {
            if seen.insert(d.clone()) {
                todo.push(d.clone());
            }
        }
    }
    seen.remove(root);
    seen
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The workspace's own crates that stacks share: not dependencies a stack adds.
const SHARED: [&str; 2] = ["checkout-core", "checkout-proto"];

/// Names of the direct `[dependencies]` of a crate's manifest, the workspace's shared crates
/// excluded.
fn direct_deps(manifest: &str) -> BTreeSet<String> {
    let mut inside = false;
    manifest
        .lines()
        .map(str::trim)
        .filter(|l| {
            if l.starts_with('[') {
                inside = *l == "[dependencies]";
                return false;
            }
            inside && l.contains('=')
        })
        .filter_map(|l| {
            let name = l.split(['=', '.']).next()?.trim();
            (!SHARED.contains(&name)).then(|| name.to_string())
        })
        .collect()
}

/// Bytes of the sections an ELF executable loads into memory (code, read-only data, data): its
/// size without the debug information and symbol tables it may carry. `None` when the file is
/// missing or not a 64-bit little-endian ELF.
pub fn loaded_bytes(path: &Path) -> Option<u64> {
    let elf = std::fs::read(path).ok()?;
    if elf.get(..6)? != b"\x7fELF\x02\x01" {
        return None;
    }
    let u16_at = |at: usize| Some(u16::from_le_bytes(elf.get(at..at + 2)?.try_into().ok()?));
    let u64_at = |at: usize| Some(u64::from_le_bytes(elf.get(at..at + 8)?.try_into().ok()?));
    let (table, entry, count) = (
        u64_at(0x28)? as usize,
        u16_at(0x3a)? as usize,
        u16_at(0x3c)?,
    );
    const SHF_ALLOC: u64 = 0x2;
    const SHT_NOBITS: u32 = 8;
    let mut total = 0;
    for i in 0..count as usize {
        let h = table + i * entry;
        let kind = u32::from_le_bytes(elf.get(h + 4..h + 8)?.try_into().ok()?);
        // Loaded, and present in the file (`.bss` takes memory, not bytes of the binary).
        if u64_at(h + 8)? & SHF_ALLOC != 0 && kind != SHT_NOBITS {
            total += u64_at(h + 0x20)?;
        }
    }
    Some(total)
}

/// Whether `text` names the stock-update endpoint (`AtualizarEstoque`, `atualizar_estoque`).
fn names_endpoint(text: &str) -> bool {
    text.to_lowercase()
        .replace('_', "")
        .contains("atualizarestoque")
}

/// Measures every stack in the workspace at `root`; `None` when the tree is not there (a bench
/// binary moved away from its sources). Binaries and cargo's build record are looked for beside
/// `bin_dir` (the running bench's directory, `target/release`).
pub fn measure(root: &Path, bin_dir: Option<&Path>) -> Option<Vec<StackComplexity>> {
    let timing = bin_dir
        .and_then(Path::parent)
        .and_then(super::build_timing::read);
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).ok()?;
    let mut graph = lock_graph(&lock);
    // The core's span exporter (OpenTelemetry over OTLP/HTTP, and the HTTP client under it) is
    // carried by every stack alike: counted as no stack's and not as the core's either, so an
    // HTTP crate a stack itself uses still counts as that stack's.
    let telemetry: BTreeSet<String> = graph
        .get_mut("checkout-core")
        .map(|deps| {
            let cut: BTreeSet<String> = deps
                .iter()
                .filter(|d| d.starts_with("opentelemetry"))
                .cloned()
                .collect();
            deps.retain(|d| !cut.contains(d));
            cut
        })
        .unwrap_or_default();
    let core = closure(&graph, "checkout-core");
    let telemetry_crates = telemetry
        .iter()
        .flat_map(|t| closure(&graph, t).into_iter().chain([t.clone()]))
        .filter(|c| !core.contains(c))
        .collect::<BTreeSet<_>>()
        .len();
    let proto: Vec<(String, String)> = std::fs::read_dir(root.join("proto"))
        .ok()?
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "proto"))
        .filter_map(|e| {
            let name = format!("proto/{}", e.file_name().to_string_lossy());
            Some((name, std::fs::read_to_string(e.path()).ok()?))
        })
        .collect();
    let mut out = Vec::new();
    // Each stack's adapter: its own crate, and the shared wire crate for the two protobuf
    // stacks (the messages and their mapping to the core's types are theirs).
    // (directory, package) of each crate.
    const PROTO: (&str, &str) = ("proto", "checkout-proto");
    let stacks: [(&str, &[(&str, &str)]); 3] = [
        ("grpc", &[("grpc-stack", "grpc-stack"), PROTO]),
        ("rest", &[("rest-stack", "rest-stack")]),
        ("tcp", &[("tcp-stack", "tcp-stack"), PROTO]),
    ];
    let generated = |texts: &[(&str, &str)]| texts.iter().map(|(_, t)| code_lines(t)).sum();
    for (stack, crates) in stacks {
        let mut files = Vec::new();
        for (dir, _) in crates {
            rust_files(&root.join(dir).join("src"), &mut files);
        }
        files.sort();
        let sources: Vec<(String, String)> = files
            .iter()
            .filter_map(|p| {
                let rel = p.strip_prefix(root).ok()?.display().to_string();
                Some((rel, std::fs::read_to_string(p).ok()?))
            })
            .collect();
        let protobuf = stack != "rest";
        let contract: &[(String, String)] = if protobuf { &proto } else { &[] };
        let mut endpoint_files: Vec<String> = sources
            .iter()
            .chain(contract)
            .filter(|(_, text)| names_endpoint(text))
            .map(|(name, _)| name.clone())
            .collect();
        endpoint_files.sort();
        let mut direct = BTreeSet::new();
        let mut beyond = BTreeSet::new();
        for (dir, package) in crates {
            if let Ok(m) = std::fs::read_to_string(root.join(dir).join("Cargo.toml")) {
                direct.extend(direct_deps(&m));
            }
            beyond.extend(closure(&graph, package).difference(&core).cloned());
        }
        beyond.retain(|c| !SHARED.contains(&c.as_str()));
        let own: BTreeSet<String> = crates.iter().map(|(_, p)| p.to_string()).collect();
        let build_s = timing.as_ref().map(|t| {
            t.seconds
                .iter()
                .filter(|(name, _)| own.contains(*name) || beyond.contains(*name))
                .map(|(_, s)| s)
                .sum::<f64>()
        });
        out.push(StackComplexity {
            stack: stack.into(),
            files: sources.len(),
            code_lines: sources.iter().map(|(_, t)| code_lines(t)).sum(),
            contract_lines: contract.iter().map(|(_, t)| code_lines(t)).sum(),
            generated_lines: match stack {
                "grpc" => {
                    generated(&checkout_proto::pb::GENERATED)
                        + generated(&grpc_stack::pb::GENERATED)
                }
                "tcp" => generated(&checkout_proto::pb::GENERATED),
                _ => 0,
            },
            direct_deps: direct.len(),
            crates_beyond_core: beyond.len(),
            endpoint_files,
            binary_bytes: bin_dir.and_then(|d| loaded_bytes(&d.join(crates[0].1))),
            build_s,
            build_share: build_s
                .zip(timing.as_ref().map(|t| t.total()))
                .filter(|(_, total)| *total > 0.0)
                .map(|(s, total)| s / total),
            build_clean: timing.as_ref().map(|t| t.fresh == 0),
            telemetry_crates,
        });
    }
    Some(out)
}

/// The workspace the bench was built from.
pub fn workspace_root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| ".".into(), Path::to_path_buf)
}

/// Appends the Complexity section when the run measured it.
pub fn section(r: &Results, d: &mut Document) {
    let Some(stacks) = r.complexity.as_ref().filter(|s| !s.is_empty()) else {
        return;
    };
    d.push(Block::Heading(2, "Complexity".into()));
    d.push(Block::Paragraph("Measured from the source tree this bench was built from: each stack's adapter (servers, clients, the mapping between wire and domain; the shared core and the tests are not counted), the contract written outside it, the code generated from that contract, and the dependencies each stack adds. \"One endpoint touches\" lists the files that name the Catalog's stock update (`AtualizarEstoque`): what adding the next endpoint would touch.".into()));
    let rows = stacks
        .iter()
        .map(|s| {
            vec![
                s.stack.clone(),
                format!("{}", s.files),
                format!("{}", s.code_lines),
                format!("{}", s.contract_lines),
                format!("{}", s.generated_lines),
                format!("{}", s.direct_deps),
                format!("{}", s.crates_beyond_core),
                s.build_s.zip(s.build_share).map_or_else(
                    || "–".into(),
                    |(b, f)| format!("{b:.0} s ({:.0}%)", 100.0 * f),
                ),
                s.binary_bytes.map_or_else(
                    || "–".into(),
                    |b| format!("{:.1}", b as f64 / (1 << 20) as f64),
                ),
                format!("{}", s.endpoint_files.len()),
                s.endpoint_files.join(", "),
            ]
        })
        .collect();
    d.push(table(
        &[
            "stack",
            "adapter files",
            "adapter code lines",
            "contract lines (.proto)",
            "generated lines",
            "direct dependencies",
            "crates beyond the core's",
            "build: its crates + those beyond the core's",
            "release binary, MiB",
            "one endpoint touches, files",
            "which",
        ],
        rows,
    ));
    let build = match stacks.first().and_then(|s| s.build_clean) {
        Some(true) => {
            "The build column is from cargo's record of a clean release build of the workspace (`cargo build --release --workspace --timings`, as CI runs it): seconds of compilation of the stack's own crates and of every crate it pulls in beyond the core's (units summed, so more than wall time on two cores; crates two stacks share count for both), and their share of the whole build's."
        }
        Some(false) => {
            "The build column is from cargo's latest `--timings` record, which was not a clean build (some units were already built): it covers only what that build compiled. `cargo build --release --workspace --timings` from a clean target gives the clean figures."
        }
        None => {
            "The build column needs cargo's `--timings` record beside the bench (`cargo build --release --workspace --timings`); none was found."
        }
    };
    let telemetry = stacks.first().map_or(0, |s| s.telemetry_crates);
    d.push(Block::Paragraph(format!("{build} The core's span exporter (OpenTelemetry over OTLP/HTTP: {telemetry} crates beyond the core's, an HTTP client among them) is carried by every stack alike and counted in no stack's column. Binary sizes are what the stacks' own `serve` binaries in the bench's directory load (code and data; the line tables kept for profiling are left out), when built.")));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_the_dependency_closure_are_counted_as_stated() {
        assert_eq!(code_lines("// doc\n\nfn a() {}\n  // c\n  let x = 1;\n"), 2);
        let lock = r#"
[[package]]
name = "app"
version = "0.1.0"
dependencies = [
 "core",
 "web 1.0.0",
]

[[package]]
name = "core"
version = "0.1.0"
dependencies = [
 "log",
]

[[package]]
name = "web"
version = "1.0.0"
dependencies = [
 "log",
 "http",
]

[[package]]
name = "log"
version = "0.4.0"

[[package]]
name = "http"
version = "1.0.0"
"#;
        let g = lock_graph(lock);
        let app: Vec<_> = closure(&g, "app").into_iter().collect();
        assert_eq!(app, ["core", "http", "log", "web"]);
        let beyond: Vec<_> = closure(&g, "app")
            .difference(&closure(&g, "core"))
            .cloned()
            .collect();
        assert_eq!(beyond, ["core", "http", "web"]);
        assert_eq!(
            direct_deps(
                "[package]\nname = \"x\"\n[dependencies]\na = \"1\"\ncheckout-core = { path = \"c\" }\ncheckout-proto.workspace = true\nb.workspace = true\n[dev-dependencies]\nc = \"1\"\n"
            ),
            BTreeSet::from(["a".to_string(), "b".to_string()])
        );
    }

    #[test]
    fn this_tree_is_measured() {
        let stacks = measure(&workspace_root(), None).expect("the bench is built from its tree");
        assert_eq!(stacks.len(), 3);
        for s in &stacks {
            assert!(s.files > 3 && s.code_lines > 300, "{s:?}");
            assert!(s.direct_deps >= 5 && s.crates_beyond_core > 5, "{s:?}");
            assert!(
                s.endpoint_files.iter().any(|f| f.ends_with("client.rs"))
                    && s.endpoint_files
                        .iter()
                        .any(|f| f.ends_with("server.rs") || f.ends_with("handlers.rs")),
                "{s:?}"
            );
        }
        let grpc = &stacks[0];
        assert!(grpc.contract_lines > 50 && grpc.generated_lines > grpc.contract_lines);
        assert!(
            grpc.endpoint_files
                .iter()
                .any(|f| f == "proto/catalogo.proto")
        );
        assert_eq!(stacks[1].generated_lines, 0);
        // The running test binary is an ELF whose loaded part is smaller than the file.
        let exe = std::env::current_exe().unwrap();
        let loaded = loaded_bytes(&exe).unwrap();
        assert!(loaded > 100_000 && loaded < std::fs::metadata(&exe).unwrap().len());
        assert!(loaded_bytes(Path::new("Cargo.toml")).is_none());
        // The TCP stack carries the same messages without gRPC's services, or HTTP crates.
        let tcp = &stacks[2];
        assert!(tcp.generated_lines > 0 && tcp.generated_lines < grpc.generated_lines);
        assert!(
            tcp.crates_beyond_core < grpc.crates_beyond_core,
            "{tcp:?} {grpc:?}"
        );
    }
}
