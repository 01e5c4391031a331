//! The report's diagrams, drawn as SVG from the chain's own description: the architecture
//! (services, their databases, the calls between them on each transport and the compensation
//! path) and the sequence of one checkout and of one compensated checkout. Every call is named
//! as the gRPC contract and the REST routes name it; a test holds those names to the OpenAPI
//! documents and the protobuf descriptors, so the pictures cannot drift from the code.

use checkout_core::ServiceName;

use crate::report::escape;

/// One call of the checkout, as both transports name it.
#[derive(Debug, Clone, Copy)]
pub struct Call {
    /// Who calls.
    pub caller: Option<ServiceName>,
    /// Who answers.
    pub callee: ServiceName,
    /// The gRPC method (`service.Service/Method` without the package).
    pub rpc: &'static str,
    /// The REST route.
    pub route: &'static str,
    /// The compensation the caller owes the callee when a later step fails, if any.
    pub undo: Option<(&'static str, &'static str)>,
}

/// The checkout's calls in chain order (the client's first), then Catalog's stock query.
pub const CALLS: [Call; 6] = [
    Call {
        caller: None,
        callee: ServiceName::Orders,
        rpc: "CriarPedido",
        route: "POST /pedidos",
        undo: None,
    },
    Call {
        caller: Some(ServiceName::Orders),
        callee: ServiceName::Payments,
        rpc: "ProcessarPagamento",
        route: "POST /pagamentos",
        undo: Some(("EstornarPagamento", "POST /pagamentos/estornar")),
    },
    Call {
        caller: Some(ServiceName::Payments),
        callee: ServiceName::Inventory,
        rpc: "SepararEstoque",
        route: "POST /estoque/separar",
        undo: Some(("LiberarEstoque", "POST /estoque/liberar")),
    },
    Call {
        caller: Some(ServiceName::Inventory),
        callee: ServiceName::Fiscal,
        rpc: "EmitirNotaFiscal",
        route: "POST /notas-fiscais",
        undo: Some(("CancelarNotaFiscal", "POST /notas-fiscais/cancelar")),
    },
    Call {
        caller: Some(ServiceName::Fiscal),
        callee: ServiceName::Logistics,
        rpc: "AgendarEnvio",
        route: "POST /envios",
        undo: Some(("CancelarEnvio", "POST /envios/cancelar")),
    },
    Call {
        caller: Some(ServiceName::Catalog),
        callee: ServiceName::Inventory,
        rpc: "ConsultarEstoque",
        route: "POST /estoque/consultar",
        undo: None,
    },
];

/// The chain, Orders first.
const CHAIN: [ServiceName; 5] = ServiceName::CHAIN;

/// What each chain service commits on the forward path, and when it undoes.
fn commits(s: ServiceName) -> (&'static str, &'static str) {
    match s {
        ServiceName::Orders => ("pedido pendente", "pedido cancelado + estorno owed"),
        ServiceName::Payments => ("pagamento aprovado", "estornado + liberação owed"),
        ServiceName::Inventory => ("reserva", "reserva liberada + cancelamento owed"),
        ServiceName::Fiscal => ("nota fiscal emitida", "nota cancelada + envio cancel owed"),
        ServiceName::Logistics | ServiceName::Catalog => ("envio agendado", ""),
    }
}

const FONT: &str = "font-family=\"sans-serif\"";
const RED: &str = "#c0392b";
const BLUE: &str = "#1f4e79";

/// An SVG document of `w` × `h` with arrowhead markers, around `body`.
fn svg(w: u32, h: u32, title: &str, body: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\
<defs>\
<marker id=\"arrow\" markerWidth=\"10\" markerHeight=\"8\" refX=\"9\" refY=\"4\" orient=\"auto\"><path d=\"M0,0 L10,4 L0,8 z\" fill=\"#333\"/></marker>\
<marker id=\"arrow-red\" markerWidth=\"10\" markerHeight=\"8\" refX=\"9\" refY=\"4\" orient=\"auto\"><path d=\"M0,0 L10,4 L0,8 z\" fill=\"{RED}\"/></marker>\
</defs><rect width=\"{w}\" height=\"{h}\" fill=\"white\"/>\
<text x=\"{}\" y=\"26\" {FONT} font-size=\"18\" text-anchor=\"middle\">{}</text>{body}</svg>",
        w / 2,
        escape(title)
    )
}

fn text(x: f64, y: f64, size: u32, anchor: &str, colour: &str, s: &str) -> String {
    format!(
        "<text x=\"{x:.0}\" y=\"{y:.0}\" {FONT} font-size=\"{size}\" text-anchor=\"{anchor}\" fill=\"{colour}\">{}</text>",
        escape(s)
    )
}

fn boxed(x: f64, y: f64, w: f64, h: f64, lines: &[&str]) -> String {
    let mut out = format!(
        "<rect x=\"{x:.0}\" y=\"{y:.0}\" width=\"{w:.0}\" height=\"{h:.0}\" rx=\"6\" fill=\"#eef3f8\" stroke=\"{BLUE}\" stroke-width=\"1.5\"/>"
    );
    for (k, l) in lines.iter().enumerate() {
        let size = if k == 0 { 14 } else { 11 };
        out += &text(
            x + w / 2.0,
            y + 18.0 + 15.0 * k as f64,
            size,
            "middle",
            "#111",
            l,
        );
    }
    out
}

/// A line from `a` to `b` with an arrowhead; dashed and red for compensations and failures.
fn arrow(a: (f64, f64), b: (f64, f64), red: bool, dashed: bool) -> String {
    format!(
        "<line x1=\"{:.0}\" y1=\"{:.0}\" x2=\"{:.0}\" y2=\"{:.0}\" stroke=\"{}\" stroke-width=\"1.5\"{} marker-end=\"url(#{})\"/>",
        a.0,
        a.1,
        b.0,
        b.1,
        if red { RED } else { "#333" },
        if dashed {
            " stroke-dasharray=\"6,4\""
        } else {
            ""
        },
        if red { "arrow-red" } else { "arrow" }
    )
}

fn title_of(s: ServiceName) -> String {
    let pt = match s {
        ServiceName::Orders => "Pedidos",
        ServiceName::Payments => "Pagamentos",
        ServiceName::Inventory => "Estoque",
        ServiceName::Fiscal => "Notas fiscais",
        ServiceName::Logistics => "Envios",
        ServiceName::Catalog => "Catálogo",
    };
    format!("{} ({pt})", s.as_str())
}

/// The architecture: client, the five chain services and Catalog, each with its database; the
/// forward calls named on both transports, and the compensation path.
pub fn architecture() -> String {
    let (bx, bw, bh) = (250.0, 200.0, 62.0);
    let y_of = |i: usize| 100.0 + 108.0 * i as f64;
    let mut b = String::new();
    b += &boxed(bx, 40.0, bw, 36.0, &["client (the bench, curl, grpcurl)"]);
    for (i, s) in CHAIN.iter().enumerate() {
        let owes = if s.next_hop().is_some() {
            "admission gate · outbox"
        } else {
            "admission gate"
        };
        b += &boxed(bx, y_of(i), bw, bh, &[&title_of(*s), s.db_file(), owes]);
    }
    let inventory = y_of(2);
    b += &boxed(
        640.0,
        inventory,
        bw,
        bh,
        &[
            &title_of(ServiceName::Catalog),
            ServiceName::Catalog.db_file(),
            "admission gate",
        ],
    );
    for call in CALLS {
        match call.caller {
            None => {
                b += &arrow((bx + 70.0, 76.0), (bx + 70.0, y_of(0)), false, false);
                b += &text(
                    bx + 62.0,
                    92.0,
                    11,
                    "end",
                    "#333",
                    &format!("{} · {}", call.rpc, call.route),
                );
            }
            Some(ServiceName::Catalog) => {
                b += &arrow(
                    (640.0, inventory + 31.0),
                    (bx + bw, inventory + 31.0),
                    false,
                    false,
                );
                b += &text(545.0, inventory + 24.0, 11, "middle", "#333", call.rpc);
                b += &text(545.0, inventory + 48.0, 11, "middle", "#333", call.route);
            }
            Some(caller) => {
                let i = CHAIN.iter().position(|s| *s == caller).unwrap_or(0);
                let (top, bottom) = (y_of(i) + bh, y_of(i + 1));
                b += &arrow((bx + 70.0, top), (bx + 70.0, bottom), false, false);
                b += &text(bx + 62.0, top + 20.0, 11, "end", "#333", call.rpc);
                b += &text(bx + 62.0, top + 35.0, 11, "end", "#333", call.route);
                if let Some((rpc, route)) = call.undo {
                    b += &arrow((bx + 140.0, top), (bx + 140.0, bottom), true, true);
                    b += &text(bx + 148.0, top + 20.0, 11, "start", RED, rpc);
                    b += &text(bx + 148.0, top + 35.0, 11, "start", RED, route);
                }
            }
        }
    }
    let notes = [
        "→ forward call: the caller waits for the answer",
        "⇢ compensation owed when a later step fails: kept in the",
        "   caller's outbox until acknowledged, on its own connection",
        "",
        "gRPC: tonic + prost over HTTP/2; per peer one channel for",
        "   forward calls and one for compensations",
        "REST: actix-web + reqwest, JSON over HTTP/1.1 (pooled",
        "   connections) or HTTP/2 (h2c); the same routes",
        "in-process: the same services by direct calls, one process",
        "",
        "Networked, every service is its own OS process with its own",
        "SQLite file (WAL, group commit) and refuses at its edge what",
        "it cannot admit (overloaded, before any work).",
    ];
    for (k, n) in notes.iter().enumerate() {
        b += &text(560.0, 70.0 + 17.0 * k as f64, 12, "start", "#222", n);
    }
    svg(
        960,
        650,
        "The checkout: six services, one chain, two transports",
        &b,
    )
}

/// One checkout's messages, top to bottom: (from, to, label, kind), where a message to itself
/// is a commit and kind says how it is drawn.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Call,
    Reply,
    Commit,
    Failure,
    Undo,
}

fn lane(s: Option<ServiceName>) -> usize {
    s.and_then(|s| CHAIN.iter().position(|c| *c == s))
        .map_or(0, |i| i + 1)
}

/// The messages of one checkout; with `fail`, Logistics is unreachable and every caller undoes
/// its step and owes its callee a compensation.
fn messages(fail: bool) -> Vec<(usize, usize, String, Kind)> {
    let chain: Vec<&Call> = CALLS
        .iter()
        .filter(|c| c.caller != Some(ServiceName::Catalog))
        .collect();
    let mut m = Vec::new();
    for (k, c) in chain.iter().enumerate() {
        let (from, to) = (lane(c.caller), lane(Some(c.callee)));
        let last = k + 1 == chain.len();
        if fail && last {
            m.push((from, to, format!("{} ✗ unavailable", c.rpc), Kind::Failure));
        } else {
            m.push((from, to, c.rpc.to_string(), Kind::Call));
            m.push((
                to,
                to,
                format!("commit: {}", commits(c.callee).0),
                Kind::Commit,
            ));
        }
    }
    for c in chain.iter().rev() {
        let (from, to) = (lane(Some(c.callee)), lane(c.caller));
        let caller_reached = !(fail && c.callee == ServiceName::Logistics);
        if fail {
            if let (Some(caller), Some((undo, _))) = (c.caller, c.undo) {
                if caller_reached {
                    m.push((from, to, "unavailable (logistics)".into(), Kind::Failure));
                }
                m.push((
                    to,
                    to,
                    format!("commit: {}", commits(caller).1),
                    Kind::Commit,
                ));
                m.push((to, from, format!("{undo} (outbox)"), Kind::Undo));
            } else {
                m.push((
                    from,
                    to,
                    "pedido cancelado, with the reason".into(),
                    Kind::Failure,
                ));
            }
        } else if c.caller.is_some() {
            m.push((from, to, "ok".into(), Kind::Reply));
        } else {
            m.push((
                to + 1,
                to + 1,
                "commit: pedido enviado".into(),
                Kind::Commit,
            ));
            m.push((
                from,
                to,
                "pedido enviado, nota, rastreamento".into(),
                Kind::Reply,
            ));
        }
    }
    m
}

/// The sequence of one checkout (`fail`: Logistics unreachable, the order compensated).
pub fn sequence(fail: bool) -> String {
    let lanes: Vec<String> = std::iter::once("client".to_string())
        .chain(CHAIN.iter().map(|s| s.as_str().to_string()))
        .collect();
    let x = |k: usize| 80.0 + 160.0 * k as f64;
    let msgs = messages(fail);
    let step = 26.0;
    let top = 70.0;
    let height = top + 30.0 + step * msgs.len() as f64 + 20.0;
    let mut b = String::new();
    for (k, name) in lanes.iter().enumerate() {
        b += &boxed(x(k) - 60.0, 42.0, 120.0, 26.0, &[name]);
        b += &format!(
            "<line x1=\"{0:.0}\" y1=\"68\" x2=\"{0:.0}\" y2=\"{1:.0}\" stroke=\"#999\" stroke-dasharray=\"2,3\"/>",
            x(k),
            height - 10.0
        );
    }
    for (n, (from, to, label, kind)) in msgs.iter().enumerate() {
        let y = top + 30.0 + step * n as f64;
        if from == to {
            b += &format!(
                "<rect x=\"{:.0}\" y=\"{:.0}\" width=\"10\" height=\"16\" fill=\"{}\"/>",
                x(*from) - 5.0,
                y - 12.0,
                if label.contains("cancel")
                    || label.contains("estornado")
                    || label.contains("liberada")
                {
                    RED
                } else {
                    BLUE
                }
            );
            // The last lane's notes go to its left, inside the picture.
            let (dx, anchor) = if *from + 1 == lanes.len() {
                (-10.0, "end")
            } else {
                (10.0, "start")
            };
            b += &text(x(*from) + dx, y, 11, anchor, "#222", label);
            continue;
        }
        let red = matches!(kind, Kind::Failure | Kind::Undo);
        let dashed = matches!(kind, Kind::Reply | Kind::Undo | Kind::Failure);
        let dir = if to > from { 1.0 } else { -1.0 };
        b += &arrow(
            (x(*from) + 6.0 * dir, y),
            (x(*to) - 6.0 * dir, y),
            red,
            dashed,
        );
        b += &text(
            (x(*from) + x(*to)) / 2.0,
            y - 5.0,
            11,
            "middle",
            if red { RED } else { "#222" },
            label,
        );
    }
    let title = if fail {
        "A compensated checkout: Logistics unreachable, every step undone"
    } else {
        "One checkout: each service commits, then calls the next and waits"
    };
    svg(960, height as u32, title, &b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_call_drawn_exists_on_both_transports() {
        for call in CALLS {
            if let Some(caller) = call.caller
                && caller != ServiceName::Catalog
            {
                assert_eq!(caller.next_hop(), Some(call.callee), "{call:?}");
            }
            let doc = serde_json::to_value(rest_stack::handlers::openapi_of(call.callee)).unwrap();
            let routes = std::iter::once(call.route).chain(call.undo.map(|u| u.1));
            for route in routes {
                let (method, path) = route.split_once(' ').unwrap();
                assert!(
                    doc["paths"][path][method.to_lowercase()].is_object(),
                    "{route} is not in {}'s OpenAPI",
                    call.callee
                );
            }
            let rpcs = std::iter::once(call.rpc).chain(call.undo.map(|u| u.0));
            for rpc in rpcs {
                assert!(
                    grpc_stack::pb::FILE_DESCRIPTOR_SET
                        .windows(rpc.len())
                        .any(|w| w == rpc.as_bytes()),
                    "{rpc} is not in the protobuf contracts"
                );
            }
        }
    }

    #[test]
    fn the_diagrams_name_every_service_and_call() {
        let a = architecture();
        for s in ServiceName::ALL {
            assert!(a.contains(s.db_file()), "{s}");
        }
        for call in CALLS {
            assert!(
                a.contains(call.rpc) && a.contains(&escape(call.route)),
                "{call:?}"
            );
        }
        let happy = sequence(false);
        assert!(happy.contains("AgendarEnvio") && happy.contains("pedido enviado"));
        assert!(!happy.contains("unavailable"));
        let undone = sequence(true);
        for undo in [
            "EstornarPagamento",
            "LiberarEstoque",
            "CancelarNotaFiscal",
            "CancelarEnvio",
        ] {
            assert!(undone.contains(undo), "{undo}");
        }
        assert!(undone.contains("pedido cancelado"));
    }
}
