//! Past one machine: every networked target started afresh behind each link profile of
//! [`LINKS`] (checkouts) or [`CATALOG_LINKS`] (the listing of 1,000 products) — every hop across
//! a shaped link, the client's included — and driven closed loop at one client (latency) and at
//! many (throughput), all copies' trials interleaved. The
//! connections each copy's links carried are kept with its runs: HTTP/1.1's pool grows with the
//! delay, where HTTP/2 and the raw-TCP stack keep one connection per lane.

use std::path::Path;

use super::profile::{Scenario, Shape};
use super::runner::Session;
use super::sweep::{Copies, networked, start_copy};
use crate::cluster::link::LinkProfile;
use crate::cluster::target::Target;

/// The link profiles the scenario measures, each with the scenario name its runs are recorded
/// under.
pub const LINKS: [(&str, &str); 4] = [
    ("lan", "links-lan"),
    ("region", "links-region"),
    ("wan", "links-wan"),
    ("lossy", "links-lossy"),
];

/// The default profile's one link: `region`, its runs recorded as the links scenario's are.
pub const REGION: [(&str, &str); 1] = [("region", "links-region")];

/// The catalog's link profiles: bandwidth-capped, where a listing's size on the wire sets
/// throughput.
pub const CATALOG_LINKS: [(&str, &str); 2] =
    [("thin", "links-catalog-thin"), ("wan", "links-catalog-wan")];

/// Links: fresh copies of every networked target behind each of [`LINKS`], closed loop at 1 and
/// `clients`, every copy's trials interleaved.
pub(crate) async fn links(
    s: &mut Session,
    scenario: &Scenario,
    targets: &[Target],
    seed_db: &Path,
    products: usize,
) -> anyhow::Result<()> {
    let Shape::Links {
        clients,
        profiles,
        min_trial,
    } = scenario.shape
    else {
        return Ok(());
    };
    let mut copies = Copies::default();
    for &(profile, name) in profiles {
        // The default profile's links-region measures `region` before an added `links` does:
        // one set of runs per link, each id once.
        if s.runs.iter().any(|x| x.scenario == name) {
            s.progress
                .line(&format!("{profile}: measured already in this run"));
            continue;
        }
        let link = LinkProfile::parse(profile).map_err(anyhow::Error::msg)?;
        for kind in networked(targets) {
            s.progress
                .line(&format!("starting {kind} behind the {profile} link"));
            let copy = start_copy(s, kind, seed_db, products, name, None, |_, flags| {
                flags.link = Some(link.clone());
            })?;
            copies.add(copy, clients, name);
        }
    }
    // Behind a slow link a request takes a large share of a short trial: trials of at least
    // the scenario's minimum, so each holds enough requests to have a median.
    let trial = s.opts.profile.trial;
    s.opts.profile.trial = trial.max(min_trial);
    let recorded = copies.round(s, scenario, products).await;
    s.opts.profile.trial = trial;
    for (at, p) in recorded.into_iter().zip(&copies.probes) {
        let carried = copies.started[p.target].link_connections();
        s.link_connections.insert(
            s.runs[at].id.clone(),
            carried
                .into_iter()
                .map(|(svc, n)| (svc.to_string(), n))
                .collect(),
        );
    }
    copies.settle(s).await?;
    Ok(())
}
