//! The report's Resilience section: kill, slow-service and overload runs, written from their
//! measured faults.

use super::document::{Block, Document, table};
use super::facts::ms;
use crate::results::{Fault, Results, Run};

/// Appends the Resilience section when the run had fault scenarios.
pub fn resilience(r: &Results, d: &mut Document) {
    let faults: Vec<&Run> = r.runs.iter().filter(|x| x.fault.is_some()).collect();
    if faults.is_empty() {
        return;
    }
    d.push(Block::Heading(2, "Resilience".into()));
    d.push(Block::Paragraph(
        "Seed 001 §5.3 asks how each architecture reacts when a service goes down or slows down. The synchronous chain couples every service to the next: what one suffers, all callers wait for. Every caller undoes its own step and owes its next hop a compensation, kept in an outbox until acknowledged; the audit below is taken after those settle.".into(),
    ));
    let notes = faults
        .iter()
        .filter_map(|x| {
            let f = x.fault.as_ref()?;
            match f.kind.as_str() {
                "kill" => Some(kill_note(x, f)),
                "slow" => Some(slow_note(x, f)),
                "overload" => Some(overload_note(x, f)),
                _ => None,
            }
        })
        .collect();
    d.push(Block::Bullets(notes));
    for name in super::figures::TIMELINE_SCENARIOS {
        if faults.iter().any(|x| x.scenario == name) {
            d.push(Block::Figure(format!("timeline-{name}")));
        }
    }
    d.push(Block::Paragraph("When the client outruns the server: gRPC multiplexes every call on one HTTP/2 connection per peer, so the excess waits in stream queues behind HTTP/2 flow control; REST over HTTP/1.1 opens a connection per concurrent request, so the excess becomes new connections, each with its own buffers and accept work — compare the services' resident memory under overload above. REST over HTTP/2 behaves like gRPC on the wire, with JSON on top.".into()));
    d.push(fault_table(&faults));
}

fn kill_note(x: &Run, f: &Fault) -> String {
    format!(
        "{} (kill): {} errors while {} was down ({:.1} s), {}; {} request(s) outlived their deadline.",
        x.target,
        f.errors_during,
        f.service.as_deref().unwrap_or("?"),
        f.window_s[1] - f.window_s[0],
        match f.recovery_ms {
            Some(ms) if ms <= 0.0 =>
                "every request started after the restart succeeded".to_string(),
            Some(ms) => format!("clean {ms:.0} ms after the restart"),
            None => "not clean again before the step ended".to_string(),
        },
        f.outlived_deadline
    )
}

fn slow_note(x: &Run, f: &Fault) -> String {
    let clients = x.concurrency.unwrap_or(0) as f64;
    format!(
        "{} (slow {}): {:.0}/s at {} clients{}; median {} ms. With each checkout holding its client for the slow hop, throughput is bounded by clients ÷ latency ({:.0}/s here): the slowness propagates up the whole chain.",
        x.target,
        f.service.as_deref().unwrap_or("?"),
        x.achieved_rps,
        clients,
        f.baseline_rps.map_or(String::new(), |b| format!(
            " against {b:.0}/s without the slowness ({:.0}% lost)",
            100.0 * (1.0 - x.achieved_rps / b.max(1.0))
        )),
        ms(x.latency_us.p50),
        clients * 1e6 / x.latency_us.mean.max(1.0)
    )
}

fn overload_note(x: &Run, f: &Fault) -> String {
    let services: Vec<_> = x
        .resources
        .iter()
        .filter(|u| !u.process.starts_with("loadgen"))
        .collect();
    let rss = if services.is_empty() {
        String::new()
    } else {
        format!(
            "; its six service processes peaked at {:.0} MiB resident in total",
            services.iter().map(|u| u.rss_mib_max).sum::<f64>()
        )
    };
    format!(
        "{} (overload: {}): {} errors during the burst, {}{rss}.",
        x.target,
        f.detail,
        f.errors_during,
        match f.recovery_ms {
            Some(ms) if ms <= 1000.0 =>
                "every second after the load dropped was within the objective".to_string(),
            Some(ms) => format!(
                "back within the objective {:.0} s after the load dropped",
                (ms / 1000.0).ceil()
            ),
            None => "not back within the objective before the step ended".into(),
        }
    )
}

/// Every fault step in one table.
fn fault_table(faults: &[&Run]) -> Block {
    let rows = faults
        .iter()
        .filter_map(|x| {
            let f = x.fault.as_ref()?;
            Some(vec![
                x.scenario.clone(),
                x.target.clone(),
                f.detail.clone(),
                format!("{:.0}", x.achieved_rps),
                ms(x.latency_us.p99),
                format!("{}", x.errors),
                format!("{}", f.errors_during),
                f.recovery_ms.map_or("–".into(), |v| format!("{v:.0}")),
                format!("{}", f.outlived_deadline),
            ])
        })
        .collect();
    table(
        &[
            "scenario",
            "target",
            "fault",
            "achieved/s",
            "p99 ms",
            "errors",
            "during fault",
            "recovery ms",
            "outlived deadline",
        ],
        rows,
    )
}
