//! The cross-check section: our engine beside wrk and h2load on the same endpoints, and whether
//! they agree on what should agree — the median at one connection, and the services' CPU per
//! request at 16.

use super::document::{Block, Document, table};
use crate::results::{CrossRow, Crosscheck, Results};
use crate::scenarios::crosscheck::{AGREEMENT, CLIENTS, ROUND};

/// One endpoint of one target compared: ours over theirs.
#[derive(Debug, Clone, PartialEq)]
pub struct Agreement {
    /// Target label.
    pub target: String,
    /// Endpoint.
    pub endpoint: String,
    /// The outside driver.
    pub driver: String,
    /// Our p50 over theirs at one connection.
    pub p50: Option<f64>,
    /// The same, each p50 less its driver's own CPU per request (at one connection the driver's
    /// work is on every request's path).
    pub p50_net: Option<f64>,
    /// Our services' CPU per request over theirs at many connections.
    pub server_cpu: Option<f64>,
}

impl Agreement {
    /// Both figures within [`AGREEMENT`].
    pub fn agrees(&self) -> bool {
        let within = |r: Option<f64>| r.is_some_and(|r| (r - 1.0).abs() <= AGREEMENT);
        within(self.p50) && within(self.server_cpu)
    }
}

/// Every endpoint measured by both drivers.
pub fn agreements(c: &Crosscheck) -> Vec<Agreement> {
    let mut out: Vec<Agreement> = Vec::new();
    for x in c.rows.iter().filter(|x| x.driver != "ours") {
        if out
            .iter()
            .any(|a| a.target == x.target && a.endpoint == x.endpoint)
        {
            continue;
        }
        let find = |driver: &str, clients: usize| -> Option<&CrossRow> {
            c.rows.iter().find(|y| {
                y.target == x.target
                    && y.endpoint == x.endpoint
                    && y.driver == driver
                    && y.clients == clients
            })
        };
        let (one, many) = (CLIENTS[0], CLIENTS[1]);
        let ratio = |a: f64, b: f64| (b > 0.0).then(|| a / b);
        let at = |clients| Some((find("ours", clients)?, find(&x.driver, clients)?));
        out.push(Agreement {
            target: x.target.clone(),
            endpoint: x.endpoint.clone(),
            driver: x.driver.clone(),
            p50: at(one).and_then(|(o, t)| ratio(o.p50_us, t.p50_us)),
            p50_net: at(one)
                .and_then(|(o, t)| ratio(o.p50_us - o.driver_cpu_us, t.p50_us - t.driver_cpu_us)),
            server_cpu: at(many).and_then(|(o, t)| ratio(o.server_cpu_us, t.server_cpu_us)),
        });
    }
    out
}

fn opt(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.2}"))
}

/// Appends the section when the cross-check ran.
pub fn section(r: &Results, d: &mut Document) {
    let Some(c) = &r.crosscheck else { return };
    d.push(Block::Heading(
        2,
        "Cross-check: wrk and h2load against our engine".into(),
    ));
    let rounds = c.rows.iter().map(|x| x.rounds).max().unwrap_or(1);
    let how_long = if rounds > 1 {
        format!(
            "in {rounds} rounds of {:.0} s each, the two drivers alternating which goes first (theirs then ours, ours then theirs, …) so the machine's drift falls on both alike; every figure is the median of its rounds",
            ROUND.as_secs_f64()
        )
    } else {
        format!("{:.0} s each", r.config.trial_s.max(2.0))
    };
    d.push(Block::Paragraph(format!(
        "The same endpoint of each stack driven by an outside load generator — wrk (`-t1`, one connection per client) on REST/1.1, h2load (one connection, one stream per client) on REST/2 and on gRPC with a prebuilt frame — and by our engine, closed loop, {} and {} clients, {how_long}. The catalog listing runs everywhere; the checkout on REST/1.1 only, where a wrk script sends our request sequence (h2load repeats one body, which the idempotency key turns into replays). What should agree: the median at one client, and the services' CPU per request at {}; each driver's own CPU per request is shown beside, since every driver shares the cores with the services. Agreement asked: within {:.0}%. Packets per request count every segment on the loopback interface during the driver's run (every hop on the endpoint's path — the listing's client → Catalog → Inventory, the checkout's five — both directions, ACKs included): a driver that sends a request in two writes makes the server wake twice.",
        CLIENTS[0],
        CLIENTS[1],
        CLIENTS[1],
        100.0 * AGREEMENT
    )));
    if !c.skipped.is_empty() {
        d.push(Block::Bullets(c.skipped.clone()));
    }
    if c.rows.is_empty() {
        return;
    }
    d.push(table(
        &[
            "target",
            "endpoint",
            "clients",
            "driver",
            "req/s",
            "p50 ms",
            "service CPU µs/req",
            "driver CPU µs/req",
            "packets/req",
        ],
        c.rows
            .iter()
            .map(|x| {
                vec![
                    x.target.clone(),
                    x.endpoint.clone(),
                    x.clients.to_string(),
                    x.driver.clone(),
                    format!("{:.0}", x.rps),
                    format!("{:.3}", x.p50_us / 1000.0),
                    format!("{:.0}", x.server_cpu_us),
                    format!("{:.0}", x.driver_cpu_us),
                    x.packets.map_or("–".into(), |p| format!("{p:.1}")),
                ]
            })
            .collect(),
    ));
    let a = agreements(c);
    d.push(table(
        &[
            "target",
            "endpoint",
            "against",
            &format!("p50 at {}: ours / theirs", CLIENTS[0]),
            "same, net of each driver's CPU",
            &format!("service CPU at {}: ours / theirs", CLIENTS[1]),
            "agree",
        ],
        a.iter()
            .map(|x| {
                vec![
                    x.target.clone(),
                    x.endpoint.clone(),
                    x.driver.clone(),
                    opt(x.p50),
                    opt(x.p50_net),
                    opt(x.server_cpu),
                    if x.agrees() {
                        "yes".into()
                    } else {
                        "**no**".into()
                    },
                ]
            })
            .collect(),
    ));
    let agree = a.iter().filter(|x| x.agrees()).count();
    d.push(Block::Paragraph(format!(
        "{agree} of {} endpoints agree within {:.0}% on both figures. Where they do not, the driver CPU column says why: our engine parses every answer and records every request, and spends that CPU on the same cores as the services — at one client it lies on every request's path, and at {} it takes cores the services would use.",
        a.len(),
        100.0 * AGREEMENT,
        CLIENTS[1]
    )));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(driver: &str, clients: usize, p50: f64, cpu: f64, own: f64) -> CrossRow {
        CrossRow {
            target: "rest-h1".into(),
            endpoint: "checkout".into(),
            clients,
            driver: driver.into(),
            rps: 1000.0,
            p50_us: p50,
            server_cpu_us: cpu,
            driver_cpu_us: own,
            packets: None,
            rounds: 3,
        }
    }

    #[test]
    fn agreement_is_ours_over_theirs_on_both_figures() {
        let c = Crosscheck {
            skipped: Vec::new(),
            rows: vec![
                row("wrk", 1, 1000.0, 900.0, 80.0),
                row("ours", 1, 1060.0, 950.0, 140.0),
                row("wrk", 16, 6000.0, 660.0, 40.0),
                row("ours", 16, 6800.0, 780.0, 60.0),
            ],
        };
        let a = agreements(&c);
        assert_eq!(a.len(), 1);
        assert!((a[0].p50.unwrap() - 1.06).abs() < 1e-9);
        assert!((a[0].p50_net.unwrap() - 920.0 / 920.0).abs() < 1e-9);
        assert!((a[0].server_cpu.unwrap() - 780.0 / 660.0).abs() < 1e-9);
        assert!(!a[0].agrees(), "CPU 18% apart");
        let mut close = c.clone();
        close.rows[3].server_cpu_us = 700.0;
        assert!(agreements(&close)[0].agrees());
    }
}
