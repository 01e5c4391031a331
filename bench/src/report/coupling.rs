//! The report's Coupling section: what a slow service does to its callers (measured by the
//! slow-service scenario) and what a contract change does on each wire (held by the stacks'
//! tests, named in the table).

use super::document::{Block, Document, table};
use crate::results::{Results, Run};

/// What a contract change does on each wire (held by the tests named in [`HELD_BY`]).
const CONTRACT_CHANGES: [[&str; 3]; 3] = [
    [
        "a newer client adds a request field",
        "ignored by the server (unknown field skipped)",
        "refused: 400 naming the field (requests are read strictly)",
    ],
    [
        "an older client leaves a field out",
        "arrives as its default (0, \"\"); only the domain's validation can refuse it (here: INVALID_ARGUMENT naming cliente_id)",
        "refused: 400 naming the missing field",
    ],
    [
        "a newer server adds an answer field",
        "ignored by the client",
        "ignored by the client (answers are read tolerantly)",
    ],
];

/// The tests that hold every cell of [`CONTRACT_CHANGES`].
const HELD_BY: &str = "`a_field_added_is_ignored_and_a_field_removed_arrives_as_its_default` (grpc-stack) and `a_field_added_to_a_request_is_refused_and_one_added_to_an_answer_is_ignored` (rest-stack)";

/// Appends the Coupling section.
pub fn section(r: &Results, d: &mut Document) {
    d.push(Block::Heading(2, "Coupling".into()));
    let slow: Vec<&Run> = r
        .runs
        .iter()
        .filter(|x| x.fault.as_ref().is_some_and(|f| f.kind == "slow"))
        .collect();
    if !slow.is_empty() {
        let parts: Vec<String> = slow
            .iter()
            .filter_map(|x| {
                let f = x.fault.as_ref()?;
                let base = f.baseline_rps?;
                Some(format!(
                    "{} {:.0}/s (from {base:.0}/s, {:.0}% lost)",
                    x.target,
                    x.achieved_rps,
                    100.0 * (1.0 - x.achieved_rps / base.max(1.0))
                ))
            })
            .collect();
        d.push(Block::Paragraph(format!(
            "Temporal coupling, measured: the chain is synchronous, so a slow service holds every caller above it. In the slow-service step ({}), checkout throughput fell to {} — on every transport alike, because no transport removes the wait; only an asynchronous hand-off (a queue between services) would.",
            slow[0].fault.as_ref().map_or(String::new(), |f| f.detail.clone()),
            if parts.is_empty() {
                "what the Resilience table shows".into()
            } else {
                parts.join(", ")
            }
        )));
    }
    d.push(Block::Paragraph(format!("Contract coupling, as built here: protobuf skips what it does not know and defaults what is missing, so old and new peers keep talking and a missing field is caught only where the domain validates it; the REST servers read requests strictly, so a mismatch is refused at once with the field named, while answers are read tolerantly. Every cell below is held by the tests {HELD_BY}.")));
    d.push(table(
        &["change", "gRPC (protobuf)", "REST (JSON) as built here"],
        CONTRACT_CHANGES
            .iter()
            .map(|row| row.iter().map(|c| c.to_string()).collect())
            .collect(),
    ));
}
