//! Payments (Pagamentos): simulates the authorisation (approval rate, method), persists it, and
//! when approved asks Inventory to reserve; voids the payment when a later step fails.

use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use super::outbox::{self, OUTBOX_TABLE, Outbox};
use super::{Prior, ServiceEnv, cancel_record};
use crate::admission::Gate;
use crate::error::{ServiceError, ServiceResult};
use crate::model::{PaymentReply, PaymentRequest};
use crate::ports::{CallCtx, InventoryPort, PaymentsPort};
use crate::store::{Db, OPERATIONS_TABLE, log_operation, now_text};
use crate::topology::ServiceName;

/// Schema of `pagamentos.db` (the seed's table, with the amount in cents and a reason).
pub const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS pagamentos (
    id INTEGER PRIMARY KEY,
    pedido_id INTEGER NOT NULL UNIQUE,
    data_processamento TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('aprovado', 'rejeitado', 'estornado')),
    metodo TEXT,
    valor_centavos INTEGER NOT NULL,
    motivo TEXT
);";

/// Payment methods the simulation chooses from (the seed's three).
pub const METHODS: [&str; 3] = ["cartao_credito", "boleto", "pix"];

/// The Payments service.
pub struct PaymentsService {
    db: Db,
    env: ServiceEnv,
    inventory: Arc<dyn InventoryPort>,
    outbox: Outbox,
    gate: Gate,
}

impl PaymentsService {
    /// Opens `pagamentos.db`; `inventory` is the next hop.
    pub fn open(env: &ServiceEnv, inventory: Arc<dyn InventoryPort>) -> ServiceResult<Self> {
        let db = env.open_db(
            ServiceName::Payments,
            &format!("{SCHEMA}{OPERATIONS_TABLE}{OUTBOX_TABLE}"),
        )?;
        let next = inventory.clone();
        let outbox = Outbox::start(
            db.clone(),
            ServiceName::Payments,
            env.compensation_timeout,
            Arc::new(move |ctx, id| {
                let next = next.clone();
                Box::pin(async move { next.release_stock(ctx, id).await })
            }),
        );
        Ok(Self {
            db,
            env: env.clone(),
            inventory,
            outbox,
            gate: env.gate(ServiceName::Payments),
        })
    }

    /// The service's database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Voids the payment (or bars one); when it was live and `cascade`, records in the same
    /// transaction that Inventory must release.
    async fn void_local(
        &self,
        order_id: i64,
        reason: String,
        cascade: bool,
    ) -> ServiceResult<Prior> {
        // A compensation: never refused for a full writer queue (the payment it undoes was
        // admitted and approved; refusing the void would leave it approved with nothing to show).
        self.db
            .write_undo(move |conn| {
                let prior = cancel_record(conn, "pagamentos", "aprovado", "estornado", order_id, |conn| {
                    conn.prepare_cached(
                        "INSERT INTO pagamentos (pedido_id, data_processamento, status, valor_centavos, motivo)
                         VALUES (?1, ?2, 'estornado', 0, ?3)",
                    )?
                    .execute(params![order_id, now_text(), reason])
                })?;
                if prior == Prior::Live {
                    conn.prepare_cached("UPDATE pagamentos SET motivo = ?2 WHERE pedido_id = ?1")?
                        .execute(params![order_id, reason])?;
                }
                if prior == Prior::Live && cascade {
                    outbox::enqueue(conn, order_id)?;
                }
                log_operation(conn, "estornar_pagamento", Some(order_id), &reason)?;
                Ok(prior)
            })
            .await
    }
}

#[async_trait]
impl PaymentsPort for PaymentsService {
    async fn process_payment(
        &self,
        ctx: CallCtx,
        req: PaymentRequest,
    ) -> ServiceResult<PaymentReply> {
        if req.amount_cents <= 0 {
            return Err(ServiceError::invalid("valor_centavos", "must be positive"));
        }
        let _admitted = self.gate.admit(ctx)?;
        let sim = &self.env.sim;
        sim.work(ServiceName::Payments, &req.order_key).await;
        let approve = sim.approves(&req.order_key);
        let method = METHODS[(sim.draw(&req.order_key, "method") % 3) as usize];
        let (order_id, amount) = (req.order_id, req.amount_cents);
        let status = self
            .db
            .write_undo(move |conn| {
                let existing: Option<String> = conn
                    .prepare_cached("SELECT status FROM pagamentos WHERE pedido_id = ?1")?
                    .query_row([order_id], |r| r.get(0))
                    .optional()?;
                if let Some(status) = existing {
                    return Ok(status);
                }
                let status = if approve { "aprovado" } else { "rejeitado" };
                conn.prepare_cached(
                    "INSERT INTO pagamentos (pedido_id, data_processamento, status, metodo, valor_centavos)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![order_id, now_text(), status, method, amount])?;
                log_operation(conn, "processar_pagamento", Some(order_id), status)?;
                Ok(status.to_owned())
            })
            .await?;
        let reply = |success: bool, message: &str| PaymentReply {
            order_id,
            success,
            message: message.to_owned(),
            method: method.to_owned(),
            fulfilment: None,
        };
        match status.as_str() {
            "aprovado" => {}
            "rejeitado" => return Ok(reply(false, "pagamento recusado")),
            _ => {
                return Err(ServiceError::Aborted {
                    service: "payments",
                    order_id,
                });
            }
        }
        // Inventory reserves the same order Payments was given.
        match self.inventory.reserve_stock(ctx, req).await {
            Ok(f) => Ok(PaymentReply {
                fulfilment: Some(f),
                ..reply(true, "pagamento aprovado")
            }),
            Err(e) => {
                // Inventory may hold a reservation when the failure leaves it unknown what it did.
                let uncertain = e.is_uncertain();
                if self.void_local(order_id, e.to_string(), uncertain).await? == Prior::Live
                    && uncertain
                {
                    self.outbox.deliver(order_id).await;
                }
                Err(e)
            }
        }
    }

    async fn void_payment(&self, _ctx: CallCtx, order_id: i64) -> ServiceResult<()> {
        if self
            .void_local(order_id, "pedido cancelado".into(), true)
            .await?
            == Prior::Live
        {
            self.outbox.deliver(order_id).await;
        }
        Ok(())
    }
}
