//! Fiscal (Notas fiscais): issues the invoice (a unique number and a 44-digit access key), then
//! asks Logistics for the shipment; cancels the invoice when the shipment cannot be scheduled.

use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use super::outbox::{self, OUTBOX_TABLE, Outbox};
use super::{Prior, ServiceEnv, cancel_record};
use crate::admission::Gate;
use crate::codes::{SHOP_UF_CODE, access_key};
use crate::error::{ServiceError, ServiceResult};
use crate::model::{Fulfilment, InvoiceRequest, ShipmentRequest};
use crate::ports::{CallCtx, FiscalPort, LogisticsPort};
use crate::sim::Simulation;
use crate::store::{Db, OPERATIONS_TABLE, log_operation, now_text};
use crate::topology::ServiceName;

/// Schema of `notas_fiscais.db`.
pub const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS notas_fiscais (
    id INTEGER PRIMARY KEY,
    pedido_id INTEGER NOT NULL UNIQUE,
    numero TEXT NOT NULL UNIQUE,
    data_emissao TEXT NOT NULL,
    chave_acesso TEXT,
    valor_centavos INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('emitida', 'cancelada'))
);";

/// The Fiscal service.
pub struct FiscalService {
    db: Db,
    env: ServiceEnv,
    logistics: Arc<dyn LogisticsPort>,
    outbox: Outbox,
    gate: Gate,
}

impl FiscalService {
    /// Opens `notas_fiscais.db`; `logistics` is the next hop.
    pub fn open(env: &ServiceEnv, logistics: Arc<dyn LogisticsPort>) -> ServiceResult<Self> {
        let db = env.open_db(
            ServiceName::Fiscal,
            &format!("{SCHEMA}{OPERATIONS_TABLE}{OUTBOX_TABLE}"),
        )?;
        let next = logistics.clone();
        let outbox = Outbox::start(
            db.clone(),
            ServiceName::Fiscal,
            env.compensation_timeout,
            Arc::new(move |ctx, id| {
                let next = next.clone();
                Box::pin(async move { next.cancel_shipment(ctx, id).await })
            }),
        );
        Ok(Self {
            db,
            env: env.clone(),
            logistics,
            outbox,
            gate: env.gate(ServiceName::Fiscal),
        })
    }

    /// The service's database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    fn sim(&self) -> &Simulation {
        &self.env.sim
    }

    /// Cancels the invoice (or bars one); when it was live and `cascade`, records in the same
    /// transaction that Logistics must cancel the shipment.
    async fn cancel_local(&self, order_id: i64, cascade: bool) -> ServiceResult<Prior> {
        self.db
            .write_undo(move |conn| {
                let prior = cancel_record(conn, "notas_fiscais", "emitida", "cancelada", order_id, |conn| {
                    conn.prepare_cached(
                        "INSERT INTO notas_fiscais (pedido_id, numero, data_emissao, valor_centavos, status)
                         VALUES (?1, ?2, ?3, 0, 'cancelada')",
                    )?
                    .execute(params![order_id, invoice_number(order_id), now_text()])
                })?;
                if prior == Prior::Live && cascade {
                    outbox::enqueue(conn, order_id)?;
                }
                log_operation(conn, "cancelar_nota", Some(order_id), &format!("{prior:?}"))?;
                Ok(prior)
            })
            .await
    }
}

/// Invoice number of an order: series 1, the order id as the 9-digit number (one invoice per order).
pub fn invoice_number(order_id: i64) -> String {
    format!("1-{order_id:09}")
}

#[async_trait]
impl FiscalPort for FiscalService {
    async fn issue_invoice(&self, ctx: CallCtx, req: InvoiceRequest) -> ServiceResult<Fulfilment> {
        if req.amount_cents <= 0 {
            return Err(ServiceError::invalid("valor_centavos", "must be positive"));
        }
        let _admitted = self.gate.admit(ctx)?;
        self.sim().work(ServiceName::Fiscal, &req.order_key).await;
        let order_id = req.order_id;
        let now = chrono::Utc::now();
        let yymm = format!(
            "{:02}{:02}",
            chrono::Datelike::year(&now) % 100,
            chrono::Datelike::month(&now)
        );
        let key = access_key(
            SHOP_UF_CODE,
            &yymm,
            1,
            order_id as u64,
            self.sim().draw(&req.order_key, "cnf"),
        );
        let amount = req.amount_cents;
        let (number, key) = self
            .db
            .write(move |conn| {
                let existing: Option<(String, String, Option<String>)> = conn
                    .prepare_cached("SELECT status, numero, chave_acesso FROM notas_fiscais WHERE pedido_id = ?1")?
                    .query_row([order_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .optional()?;
                match existing {
                    Some((status, _, _)) if status == "cancelada" => {
                        Err(ServiceError::Aborted { service: "fiscal", order_id })
                    }
                    Some((_, number, key)) => Ok((number, key.unwrap_or_default())),
                    None => {
                        let number = invoice_number(order_id);
                        conn.prepare_cached(
                            "INSERT INTO notas_fiscais (pedido_id, numero, data_emissao, chave_acesso, valor_centavos, status)
                             VALUES (?1, ?2, ?3, ?4, ?5, 'emitida')",
                        )?
                        .execute(params![order_id, number, now_text(), key, amount])?;
                        log_operation(conn, "emitir_nota", Some(order_id), &number)?;
                        Ok((number, key))
                    }
                }
            })
            .await?;
        let shipment = ShipmentRequest {
            order_id,
            order_key: req.order_key,
            invoice_number: number.clone(),
        };
        match self.logistics.schedule_shipment(ctx, shipment).await {
            Ok(s) => Ok(Fulfilment {
                invoice_number: number,
                access_key: key,
                tracking_code: s.tracking_code,
            }),
            Err(e) => {
                // Logistics may hold a shipment when the failure leaves it unknown what it did.
                let uncertain = e.is_uncertain();
                if self.cancel_local(order_id, uncertain).await? == Prior::Live && uncertain {
                    self.outbox.deliver(order_id).await;
                }
                Err(e)
            }
        }
    }

    async fn cancel_invoice(&self, _ctx: CallCtx, order_id: i64) -> ServiceResult<()> {
        if self.cancel_local(order_id, true).await? == Prior::Live {
            self.outbox.deliver(order_id).await;
        }
        Ok(())
    }
}
