//! What TLS costs: every networked target started afresh three times — in the clear, over TLS and
//! over mutual TLS, with a CA made for the scenario — and driven closed loop at one client
//! (latency) and at many (throughput), all copies' trials interleaved, so the three differ in TLS
//! alone and drift hits them alike.

use std::path::Path;

use super::profile::{Scenario, Shape};
use super::runner::Session;
use super::sweep::{Copies, networked, start_copy};
use crate::cluster::supervisor::TlsFlags;
use crate::cluster::target::Target;

/// The variants the scenario measures (`clear`, `tls`, `mtls`), each with the scenario name its
/// runs are recorded under.
pub const VARIANTS: [(&str, &str); 3] = [
    ("clear", "tls-clear"),
    ("tls", "tls-on"),
    ("mtls", "tls-mutual"),
];

/// The scenario's copies, each variant's trials interleaved with the others'.
pub(crate) async fn tls(
    s: &mut Session,
    scenario: &Scenario,
    targets: &[Target],
    seed_db: &Path,
    products: usize,
) -> anyhow::Result<()> {
    let Shape::Tls { clients } = scenario.shape else {
        return Ok(());
    };
    let dir = s.work.join("tls-scenario");
    let mut copies = Copies::default();
    for &(variant, name) in &VARIANTS {
        let tls = (variant != "clear").then(|| TlsFlags {
            dir: dir.clone(),
            mutual: variant == "mtls",
        });
        for kind in networked(targets) {
            s.progress.line(&format!("starting {kind}: {variant}"));
            let copy = start_copy(s, kind, seed_db, products, name, None, |_, flags| {
                flags.tls = tls.clone();
            })?;
            copies.add(copy, clients, name);
        }
    }
    copies.round(s, scenario, products).await;
    copies.settle(s).await?;
    Ok(())
}
