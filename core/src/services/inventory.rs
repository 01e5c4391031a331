//! Inventory (Estoque): reserves every line of an order atomically (all or none), then asks
//! Fiscal for the invoice; releases the reservation when a later step fails. Owns the stock.

use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};

use super::outbox::{self, OUTBOX_TABLE, Outbox};
use super::{Prior, ServiceEnv, cancel_record};
use crate::admission::Gate;
use crate::error::{ServiceError, ServiceResult};
use crate::model::{Fulfilment, InvoiceRequest, ReserveRequest, StockLevel};
use crate::ports::{CallCtx, FiscalPort, InventoryPort};
use crate::store::{Db, OPERATIONS_TABLE, log_operation, now_text};
use crate::topology::ServiceName;

/// Schema of `estoque.db`. `inicial + ajustado - quantidade` is the stock held by live reservations.
pub const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS estoque (
    produto_id INTEGER PRIMARY KEY,
    quantidade INTEGER NOT NULL CHECK (quantidade >= 0),
    inicial INTEGER NOT NULL,
    ajustado INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS reservas (
    id INTEGER PRIMARY KEY,
    pedido_id INTEGER NOT NULL UNIQUE,
    data TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('reservada', 'liberada'))
);
CREATE TABLE IF NOT EXISTS itens_reserva (
    reserva_id INTEGER NOT NULL REFERENCES reservas (id),
    produto_id INTEGER NOT NULL REFERENCES estoque (produto_id),
    quantidade INTEGER NOT NULL CHECK (quantidade > 0),
    PRIMARY KEY (reserva_id, produto_id)
);";

/// The Inventory service.
pub struct InventoryService {
    db: Db,
    env: ServiceEnv,
    fiscal: Arc<dyn FiscalPort>,
    outbox: Outbox,
    gate: Gate,
}

impl InventoryService {
    /// Opens `estoque.db`; `fiscal` is the next hop.
    pub fn open(env: &ServiceEnv, fiscal: Arc<dyn FiscalPort>) -> ServiceResult<Self> {
        let db = env.open_db(
            ServiceName::Inventory,
            &format!("{SCHEMA}{OPERATIONS_TABLE}{OUTBOX_TABLE}"),
        )?;
        let next = fiscal.clone();
        let outbox = Outbox::start(
            db.clone(),
            ServiceName::Inventory,
            env.compensation_timeout,
            Arc::new(move |ctx, id| {
                let next = next.clone();
                Box::pin(async move { next.cancel_invoice(ctx, id).await })
            }),
        );
        Ok(Self {
            db,
            env: env.clone(),
            fiscal,
            outbox,
            gate: env.gate(ServiceName::Inventory),
        })
    }

    /// The service's database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Releases the reservation (or bars one); when it was live and `cascade`, records in the
    /// same transaction that Fiscal must cancel the invoice.
    async fn release_local(&self, order_id: i64, cascade: bool) -> ServiceResult<Prior> {
        self.db
            .write_undo(move |conn| {
                let prior = cancel_record(conn, "reservas", "reservada", "liberada", order_id, |conn| {
                    conn.prepare_cached("INSERT INTO reservas (pedido_id, data, status) VALUES (?1, ?2, 'liberada')")?
                        .execute(params![order_id, now_text()])
                })?;
                if prior == Prior::Live {
                    conn.prepare_cached(
                        "UPDATE estoque SET quantidade = estoque.quantidade + i.q
                         FROM (SELECT ir.produto_id, ir.quantidade AS q FROM itens_reserva ir
                               JOIN reservas r ON r.id = ir.reserva_id WHERE r.pedido_id = ?1) AS i
                         WHERE estoque.produto_id = i.produto_id",
                    )?
                    .execute([order_id])?;
                }
                if prior == Prior::Live && cascade {
                    outbox::enqueue(conn, order_id)?;
                }
                log_operation(conn, "liberar_estoque", Some(order_id), &format!("{prior:?}"))?;
                Ok(prior)
            })
            .await
    }
}

/// Reserves all lines or none; an earlier live reservation of the same order is accepted as is.
fn reserve(conn: &Connection, req: &ReserveRequest) -> ServiceResult<()> {
    let existing: Option<String> = conn
        .prepare_cached("SELECT status FROM reservas WHERE pedido_id = ?1")?
        .query_row([req.order_id], |r| r.get(0))
        .optional()?;
    match existing.as_deref() {
        Some("liberada") => {
            return Err(ServiceError::Aborted {
                service: "inventory",
                order_id: req.order_id,
            });
        }
        Some(_) => return Ok(()),
        None => {}
    }
    let mut take = conn.prepare_cached(
        "UPDATE estoque SET quantidade = quantidade - ?2 WHERE produto_id = ?1 AND quantidade >= ?2",
    )?;
    let mut stock = conn.prepare_cached("SELECT quantidade FROM estoque WHERE produto_id = ?1")?;
    for line in &req.lines {
        if take.execute(params![line.product_id, line.quantity])? == 0 {
            let available: Option<i64> = stock
                .query_row([line.product_id], |r| r.get(0))
                .optional()?;
            return Err(match available {
                None => ServiceError::NotFound {
                    entity: "produto",
                    id: line.product_id,
                },
                Some(available) => ServiceError::OutOfStock {
                    product_id: line.product_id,
                    requested: line.quantity,
                    available,
                },
            });
        }
    }
    conn.prepare_cached(
        "INSERT INTO reservas (pedido_id, data, status) VALUES (?1, ?2, 'reservada')",
    )?
    .execute(params![req.order_id, now_text()])?;
    let reservation = conn.last_insert_rowid();
    let mut item = conn.prepare_cached(
        "INSERT INTO itens_reserva (reserva_id, produto_id, quantidade) VALUES (?1, ?2, ?3)",
    )?;
    for line in &req.lines {
        item.execute(params![reservation, line.product_id, line.quantity])?;
    }
    log_operation(
        conn,
        "separar_estoque",
        Some(req.order_id),
        &format!("{} itens", req.lines.len()),
    )?;
    Ok(())
}

#[async_trait]
impl InventoryPort for InventoryService {
    async fn reserve_stock(&self, ctx: CallCtx, req: ReserveRequest) -> ServiceResult<Fulfilment> {
        let lines: Vec<(i64, i64)> = req
            .lines
            .iter()
            .map(|l| (l.product_id, l.quantity))
            .collect();
        super::lines::check_lines(&lines)?;
        let _admitted = self.gate.admit(ctx)?;
        self.env
            .sim
            .work(ServiceName::Inventory, &req.order_key)
            .await;
        let order_id = req.order_id;
        let invoice = InvoiceRequest {
            order_id,
            order_key: req.order_key.clone(),
            amount_cents: req.amount_cents,
        };
        self.db.write(move |conn| reserve(conn, &req)).await?;
        match self.fiscal.issue_invoice(ctx, invoice).await {
            Ok(f) => Ok(f),
            Err(e) => {
                // Fiscal may hold an invoice when the failure leaves it unknown what it did.
                let uncertain = e.is_uncertain();
                if self.release_local(order_id, uncertain).await? == Prior::Live && uncertain {
                    self.outbox.deliver(order_id).await;
                }
                Err(e)
            }
        }
    }

    async fn release_stock(&self, _ctx: CallCtx, order_id: i64) -> ServiceResult<()> {
        if self.release_local(order_id, true).await? == Prior::Live {
            self.outbox.deliver(order_id).await;
        }
        Ok(())
    }

    async fn stock_levels(
        &self,
        ctx: CallCtx,
        product_ids: Vec<i64>,
    ) -> ServiceResult<Vec<StockLevel>> {
        let _admitted = self.gate.admit(ctx)?;
        self.db
            .read(move |conn| {
                let row = |r: &rusqlite::Row<'_>| {
                    Ok(StockLevel {
                        product_id: r.get(0)?,
                        quantity: r.get(1)?,
                    })
                };
                if product_ids.is_empty() {
                    let mut st = conn.prepare_cached(
                        "SELECT produto_id, quantidade FROM estoque ORDER BY produto_id",
                    )?;
                    let rows = st.query_map([], row)?.collect::<Result<Vec<_>, _>>()?;
                    return Ok(rows);
                }
                let mut st = conn.prepare_cached(
                    "SELECT produto_id, quantidade FROM estoque WHERE produto_id = ?1",
                )?;
                let mut out = Vec::with_capacity(product_ids.len());
                for id in product_ids {
                    if let Some(level) = st.query_row([id], row).optional()? {
                        out.push(level);
                    }
                }
                Ok(out)
            })
            .await
    }

    async fn adjust_stock(
        &self,
        ctx: CallCtx,
        product_id: i64,
        delta: i64,
    ) -> ServiceResult<StockLevel> {
        if delta == 0 {
            return Err(ServiceError::invalid("delta", "must not be zero"));
        }
        let _admitted = self.gate.admit(ctx)?;
        self.db
            .write(move |conn| {
                let current: Option<i64> = conn
                    .prepare_cached("SELECT quantidade FROM estoque WHERE produto_id = ?1")?
                    .query_row([product_id], |r| r.get(0))
                    .optional()?;
                let current = current.ok_or(ServiceError::NotFound { entity: "produto", id: product_id })?;
                let next = current
                    .checked_add(delta)
                    .ok_or_else(|| ServiceError::invalid("delta", "too large"))?;
                if next < 0 {
                    return Err(ServiceError::OutOfStock { product_id, requested: -delta, available: current });
                }
                conn.prepare_cached(
                    "UPDATE estoque SET quantidade = ?2, ajustado = ajustado + ?3 WHERE produto_id = ?1",
                )?
                .execute(params![product_id, next, delta])?;
                log_operation(conn, "ajustar_estoque", None, &format!("produto {product_id} {delta:+}"))?;
                Ok(StockLevel { product_id, quantity: next })
            })
            .await
    }
}
