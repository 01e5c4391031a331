//! The audit: reads all six service databases of a data directory and checks the invariants of
//! DESIGN §7, returning every violation it finds. It runs after every benchmark and fault run.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};
use serde::{Deserialize, Serialize};

use crate::topology::ServiceName;

/// One broken invariant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// The invariant's name (e.g. `order_not_final`).
    pub rule: String,
    /// The service whose records break it.
    pub service: ServiceName,
    /// The order (or product, for stock rules) concerned.
    pub id: Option<i64>,
    /// What was found.
    pub detail: String,
}

/// Result of an audit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditReport {
    /// Orders read.
    pub orders: i64,
    /// Orders `enviado`.
    pub shipped: i64,
    /// Orders `cancelado`.
    pub cancelled: i64,
    /// Every violation found.
    pub violations: Vec<Violation>,
}

impl AuditReport {
    /// True when no invariant is broken.
    pub fn is_clean(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Every order with the status of its record at each service, for the rules below.
const CHAIN_VIEW: &str = "CREATE TEMP VIEW chain AS
    SELECT o.id, o.status, o.numero_nf, o.codigo_rastreamento,
           pay.status AS pay, r.status AS res, nf.status AS inv, nf.numero AS inv_number,
           s.status AS ship, s.codigo_rastreamento AS ship_code,
           'payment ' || ifnull(pay.status, 'none') || ', reservation ' || ifnull(r.status, 'none')
             || ', invoice ' || ifnull(nf.status, 'none') || ', shipment ' || ifnull(s.status, 'none') AS summary
    FROM p.pedidos o
    LEFT JOIN pg.pagamentos pay ON pay.pedido_id = o.id
    LEFT JOIN e.reservas r ON r.pedido_id = o.id
    LEFT JOIN nf.notas_fiscais nf ON nf.pedido_id = o.id
    LEFT JOIN env.envios s ON s.pedido_id = o.id";

/// Invariants as queries returning `(id, detail)` rows, one row per violation. Schemas: `p`
/// orders, `pg` payments, `e` inventory, `nf` fiscal, `env` logistics.
const RULES: &[(&str, ServiceName, &str)] = &[
    ("order_not_final", ServiceName::Orders,
     "SELECT id, 'status ' || status FROM p.pedidos WHERE status NOT IN ('enviado', 'cancelado')"),
    ("shipped_order_incomplete", ServiceName::Orders,
     "SELECT id, summary FROM chain WHERE status = 'enviado' AND (pay IS NOT 'aprovado'
      OR res IS NOT 'reservada' OR inv IS NOT 'emitida' OR ship IS NOT 'aguardando_envio'
      OR codigo_rastreamento IS NOT ship_code OR numero_nf IS NOT inv_number)"),
    ("cancelled_order_with_live_record", ServiceName::Orders,
     "SELECT id, summary FROM chain WHERE status = 'cancelado' AND (pay IS 'aprovado'
      OR res IS 'reservada' OR inv IS 'emitida' OR ship IS 'aguardando_envio')"),
    ("approved_payment_without_reservation", ServiceName::Payments,
     "SELECT pay.pedido_id, 'reservation ' || ifnull(r.status, 'none') FROM pg.pagamentos pay
      LEFT JOIN e.reservas r ON r.pedido_id = pay.pedido_id
      WHERE pay.status = 'aprovado' AND r.status IS NOT 'reservada'"),
    ("reservation_without_approved_payment", ServiceName::Inventory,
     "SELECT r.pedido_id, 'payment ' || ifnull(pay.status, 'none') FROM e.reservas r
      LEFT JOIN pg.pagamentos pay ON pay.pedido_id = r.pedido_id
      WHERE r.status = 'reservada' AND pay.status IS NOT 'aprovado'"),
    ("invoice_without_reservation", ServiceName::Fiscal,
     "SELECT nf.pedido_id, 'reservation ' || ifnull(r.status, 'none') FROM nf.notas_fiscais nf
      LEFT JOIN e.reservas r ON r.pedido_id = nf.pedido_id
      WHERE nf.status = 'emitida' AND r.status IS NOT 'reservada'"),
    ("shipment_without_invoice", ServiceName::Logistics,
     "SELECT s.pedido_id, 'invoice ' || ifnull(nf.status, 'none') FROM env.envios s
      LEFT JOIN nf.notas_fiscais nf ON nf.pedido_id = s.pedido_id
      WHERE s.status = 'aguardando_envio' AND nf.status IS NOT 'emitida'"),
    ("duplicate_payment", ServiceName::Payments,
     "SELECT pedido_id, count(*) || ' records' FROM pg.pagamentos GROUP BY pedido_id HAVING count(*) > 1"),
    ("duplicate_reservation", ServiceName::Inventory,
     "SELECT pedido_id, count(*) || ' records' FROM e.reservas GROUP BY pedido_id HAVING count(*) > 1"),
    ("duplicate_invoice", ServiceName::Fiscal,
     "SELECT pedido_id, count(*) || ' records' FROM nf.notas_fiscais GROUP BY pedido_id HAVING count(*) > 1"),
    ("duplicate_shipment", ServiceName::Logistics,
     "SELECT pedido_id, count(*) || ' records' FROM env.envios GROUP BY pedido_id HAVING count(*) > 1"),
    ("record_for_unknown_order", ServiceName::Payments,
     "SELECT pedido_id, 'no such order' FROM pg.pagamentos WHERE pedido_id NOT IN (SELECT id FROM p.pedidos)
      UNION ALL SELECT pedido_id, 'reservation, no such order' FROM e.reservas WHERE pedido_id NOT IN (SELECT id FROM p.pedidos)
      UNION ALL SELECT pedido_id, 'invoice, no such order' FROM nf.notas_fiscais WHERE pedido_id NOT IN (SELECT id FROM p.pedidos)
      UNION ALL SELECT pedido_id, 'shipment, no such order' FROM env.envios WHERE pedido_id NOT IN (SELECT id FROM p.pedidos)"),
    ("negative_stock", ServiceName::Inventory,
     "SELECT produto_id, 'quantity ' || quantidade FROM e.estoque WHERE quantidade < 0"),
    ("stock_moved_differs_from_reserved", ServiceName::Inventory,
     "SELECT s.produto_id, 'moved ' || (s.inicial + s.ajustado - s.quantidade) || ', reserved ' || ifnull(held.q, 0)
      FROM e.estoque s
      LEFT JOIN (SELECT ir.produto_id, sum(ir.quantidade) AS q FROM e.itens_reserva ir
                 JOIN e.reservas r ON r.id = ir.reserva_id WHERE r.status = 'reservada'
                 GROUP BY ir.produto_id) held ON held.produto_id = s.produto_id
      WHERE s.inicial + s.ajustado - s.quantidade != ifnull(held.q, 0)"),
];

/// Audits the six databases in `data_dir`.
pub fn audit(data_dir: &Path) -> rusqlite::Result<AuditReport> {
    let conn = Connection::open_with_flags(
        ":memory:",
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_URI,
    )?;
    for (alias, service) in [
        ("p", ServiceName::Orders),
        ("pg", ServiceName::Payments),
        ("e", ServiceName::Inventory),
        ("nf", ServiceName::Fiscal),
        ("env", ServiceName::Logistics),
    ] {
        let path = data_dir.join(service.db_file());
        if !path.exists() {
            return Err(rusqlite::Error::InvalidPath(path));
        }
        conn.execute(
            "ATTACH DATABASE ?1 AS ?2",
            rusqlite::params![format!("file:{}?mode=ro", path.display()), alias],
        )?;
    }
    conn.execute_batch(CHAIN_VIEW)?;
    let mut report = AuditReport::default();
    (report.orders, report.shipped, report.cancelled) = conn.query_row(
        "SELECT count(*), ifnull(sum(status = 'enviado'), 0), ifnull(sum(status = 'cancelado'), 0) FROM p.pedidos",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    for (rule, service, sql) in RULES {
        let mut st = conn.prepare(sql)?;
        let rows = st.query_map([], |r| {
            Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, Option<String>>(1)?))
        })?;
        for row in rows {
            let (id, detail) = row?;
            report.violations.push(Violation {
                rule: (*rule).to_owned(),
                service: *service,
                id,
                detail: detail.unwrap_or_default(),
            });
        }
    }
    Ok(report)
}

/// The services that owe compensations to their next hop, in chain order.
pub const OWING: [ServiceName; 4] = [
    ServiceName::Orders,
    ServiceName::Payments,
    ServiceName::Inventory,
    ServiceName::Fiscal,
];

/// What is asked of a service's owed work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// Its outbox's backlog only (cheap: the outbox holds only what is owed).
    Backlog,
    /// The backlog and, for Orders, the orders still pending (a scan of every order: for the
    /// wait before the audit, not while a step is measured).
    All,
}

/// What one service still owes: zero on both once it has settled (what the audit waits for).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Owed {
    /// Compensations not yet acknowledged by its next hop (its outbox's rows).
    pub backlog: i64,
    /// Orders still `pendente` (Orders only, and only when [`Ask::All`] was asked).
    pub pending: i64,
}

impl Owed {
    /// Both counts together.
    pub fn total(self) -> i64 {
        self.backlog + self.pending
    }
}

/// What `service` still owes in `data_dir`, read from its database. A service process owns its
/// file while it runs (see [`crate::store`]), so from another process ask it instead
/// ([`crate::signal_files`]).
pub fn owed_in(data_dir: &Path, service: ServiceName, ask: Ask) -> rusqlite::Result<Owed> {
    let backlog_owed = OWING.contains(&service);
    let pending_asked = service == ServiceName::Orders && ask == Ask::All;
    if !backlog_owed && !pending_asked {
        return Ok(Owed::default());
    }
    let conn = open_existing(data_dir, service)?;
    let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0));
    Ok(Owed {
        backlog: if backlog_owed { count(BACKLOG_SQL)? } else { 0 },
        pending: if pending_asked {
            count("SELECT count(*) FROM pedidos WHERE status = 'pendente'")?
        } else {
            0
        },
    })
}

const BACKLOG_SQL: &str = "SELECT count(*) FROM compensacoes";

fn open_existing(data_dir: &Path, service: ServiceName) -> rusqlite::Result<Connection> {
    Connection::open_with_flags(
        data_dir.join(service.db_file()),
        OpenFlags::SQLITE_OPEN_READ_WRITE,
    )
}

/// Compensations `service` still owes its next hop (its outbox's rows): from its own process
/// while it runs (see [`owed_in`]).
pub fn owed_by(data_dir: &Path, service: ServiceName) -> rusqlite::Result<i64> {
    open_existing(data_dir, service)?.query_row(BACKLOG_SQL, [], |r| r.get(0))
}
