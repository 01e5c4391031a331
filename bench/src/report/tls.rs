//! The "TLS" section: each networked target in the clear, over TLS and over mutual TLS (fresh
//! copies, trials interleaved) — latency at one client, throughput at many, what TLS adds to
//! each against the same target in the clear — and, per variant, which transport wins (the
//! verdict table's rule), so a reader sees whether TLS changes the answer.

use super::document::{Block, Document, table};
use super::links::{at, most_clients, networked, part, ran, verdict_table};
use crate::results::{Results, Run};
use crate::scenarios::tls::VARIANTS;
use crate::stats;

/// What TLS adds to `run` against the same target's run in the clear at the same clients: the
/// difference of medians (latency, µs) or their ratio (throughput), with interval and p-value.
fn added(r: &Results, run: &Run, latency: bool) -> String {
    let Some(clients) = run.concurrency else {
        return "–".into();
    };
    if run.scenario == VARIANTS[0].1 {
        return "–".into();
    }
    let Some(clear) = at(r, VARIANTS[0].1, &run.target, clients) else {
        return "–".into();
    };
    if latency {
        let (a, b) = (
            run.trial_values(|t| t.p50_us),
            clear.trial_values(|t| t.p50_us),
        );
        let d = stats::difference(&a, &b);
        format!(
            "{:+.0} µs [{:+.0} – {:+.0}], {}",
            d.median,
            d.lo,
            d.hi,
            stats::p_text(stats::mann_whitney(&a, &b))
        )
    } else {
        super::scaling::against(run, clear)
    }
}

/// Appends the section when the tls scenario ran.
pub fn section(r: &Results, d: &mut Document) {
    let candidates = networked(r);
    if !ran(r, &VARIANTS, &candidates) {
        return;
    }
    let many = most_clients(r, &VARIANTS);
    d.push(Block::Heading(2, "TLS: what it costs".into()));
    d.push(Block::Paragraph(format!(
        "Fresh copies of each networked stack in the clear (`clear`), with every hop — the load generator's to Orders included — over TLS (`tls`), and over mutual TLS (`mtls`: every server asks its caller for a certificate of the chain's CA); rustls over `ring`, TLS 1.3, one handshake per connection, connections kept. Closed loop at 1 client (latency) and {many} (throughput), every copy's trials interleaved, so the variants differ in TLS alone. Medians [interval] over the trials; \"added\" is the variant against the same stack in the clear in this run (difference of median p50s, ratio of throughputs)."
    )));
    let mut verdicts = Vec::new();
    let rows = part(r, &VARIANTS, &candidates, many, &mut verdicts, |one, n| {
        format!("{} · {}", added(r, one, true), added(r, n, false))
    });
    d.push(table(
        &[
            "variant",
            "target",
            "checkout p50 at 1 client, ms",
            &format!("checkouts/s at {many} clients"),
            "added: p50 at 1 client · throughput against the clear",
        ],
        rows,
    ));
    verdict_table(d, "in each variant", "variant", verdicts);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;
    use crate::results::Trial;

    fn step(variant: &str, target: &str, clients: usize, p50s: &[f64], rate: f64) -> Run {
        let mut x = fixture::run(variant, target, None, Some(clients), p50s[0]);
        x.trials = p50s
            .iter()
            .map(|&p| Trial {
                p50_us: p,
                achieved_rps: rate,
                ..Trial::default()
            })
            .collect();
        x.achieved_rps = rate;
        x
    }

    #[test]
    fn the_section_states_what_tls_adds_against_the_same_stack_in_the_clear() {
        let clear = [1000.0, 1010.0, 990.0, 1005.0, 995.0, 1000.0];
        let tls = [1200.0, 1210.0, 1190.0, 1205.0, 1195.0, 1200.0];
        let r = fixture::results(
            &["grpc", "rest-h1"],
            vec![
                step("tls-clear", "grpc", 1, &clear, 900.0),
                step("tls-clear", "grpc", 16, &clear, 2000.0),
                step("tls-on", "grpc", 1, &tls, 800.0),
                step("tls-on", "grpc", 16, &tls, 1800.0),
                step("tls-clear", "rest-h1", 1, &clear, 900.0),
                step("tls-clear", "rest-h1", 16, &clear, 2000.0),
            ],
        );
        let mut d = Document::default();
        section(&r, &mut d);
        let text = super::super::document::markdown(&d);
        assert!(text.contains("## TLS: what it costs"), "{text}");
        assert!(
            text.contains(
                "| tls | grpc | 1.20 | 1800 | +200 µs [+190 – +210], p = 0.005 · 0.90× [0.90–0.90]"
            ),
            "what TLS adds against the clear: {text}"
        );
        assert!(
            text.contains("| clear | grpc | 1.00 | 2000 | – · – |"),
            "{text}"
        );
        // Without the scenario, no section.
        let mut empty = Document::default();
        section(&fixture::results(&["grpc"], Vec::new()), &mut empty);
        assert!(super::super::document::markdown(&empty).is_empty());
    }
}
