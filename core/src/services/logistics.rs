//! Logistics (Envios): schedules the shipment with a tracking code; the end of the chain.

use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use super::{ServiceEnv, cancel_record};
use crate::admission::Gate;
use crate::codes::{CITIES, TRACKING_PREFIXES, tracking_code};
use crate::error::{ServiceError, ServiceResult};
use crate::model::{ShipmentReply, ShipmentRequest};
use crate::ports::{CallCtx, LogisticsPort};
use crate::sim::Simulation;
use crate::store::{Db, OPERATIONS_TABLE, log_operation, now_text};
use crate::topology::ServiceName;

/// Schema of `envios.db`.
pub const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS envios (
    id INTEGER PRIMARY KEY,
    pedido_id INTEGER NOT NULL UNIQUE,
    nota_fiscal TEXT,
    data_despacho TEXT,
    codigo_rastreamento TEXT UNIQUE,
    cidade_destino TEXT,
    uf_destino TEXT,
    status TEXT NOT NULL CHECK (status IN ('aguardando_envio', 'enviado', 'entregue', 'cancelado'))
);";

/// The Logistics service.
pub struct LogisticsService {
    db: Db,
    sim: Arc<Simulation>,
    gate: Gate,
}

impl LogisticsService {
    /// Opens `envios.db` in the environment's data directory.
    pub fn open(env: &ServiceEnv) -> ServiceResult<Self> {
        let db = env.open_db(
            ServiceName::Logistics,
            &format!("{SCHEMA}{OPERATIONS_TABLE}"),
        )?;
        Ok(Self {
            db,
            sim: env.sim.clone(),
            gate: env.gate(ServiceName::Logistics),
        })
    }

    /// The service's database.
    pub fn db(&self) -> &Db {
        &self.db
    }
}

#[async_trait]
impl LogisticsPort for LogisticsService {
    async fn schedule_shipment(
        &self,
        ctx: CallCtx,
        req: ShipmentRequest,
    ) -> ServiceResult<ShipmentReply> {
        if req.invoice_number.is_empty() {
            return Err(ServiceError::invalid("nota_fiscal", "must not be empty"));
        }
        let _admitted = self.gate.admit(ctx)?;
        self.sim.work(ServiceName::Logistics, &req.order_key).await;
        let prefix = TRACKING_PREFIXES[(self.sim.draw(&req.order_key, "tracking") % 6) as usize];
        let city =
            CITIES[(self.sim.draw(&req.order_key, "destination") % CITIES.len() as u64) as usize];
        let code = tracking_code(prefix, req.order_id as u64);
        let order_id = req.order_id;
        self.db
            .write(move |conn| {
                let existing: Option<(String, Option<String>)> = conn
                    .prepare_cached("SELECT status, codigo_rastreamento FROM envios WHERE pedido_id = ?1")?
                    .query_row([order_id], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?;
                match existing {
                    Some((status, _)) if status == "cancelado" => {
                        Err(ServiceError::Aborted { service: "logistics", order_id })
                    }
                    Some((_, Some(code))) => Ok(ShipmentReply { order_id, tracking_code: code }),
                    Some((_, None)) => Err(ServiceError::Internal("shipment without tracking code".into())),
                    None => {
                        conn.prepare_cached(
                            "INSERT INTO envios (pedido_id, nota_fiscal, data_despacho, codigo_rastreamento,
                             cidade_destino, uf_destino, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'aguardando_envio')",
                        )?
                        .execute(params![order_id, req.invoice_number, now_text(), code, city.0, city.1])?;
                        log_operation(conn, "agendar_envio", Some(order_id), &code)?;
                        Ok(ShipmentReply { order_id, tracking_code: code })
                    }
                }
            })
            .await
    }

    async fn cancel_shipment(&self, _ctx: CallCtx, order_id: i64) -> ServiceResult<()> {
        self.db
            .write_undo(move |conn| {
                let prior = cancel_record(
                    conn,
                    "envios",
                    "aguardando_envio",
                    "cancelado",
                    order_id,
                    |conn| {
                        conn.prepare_cached(
                            "INSERT INTO envios (pedido_id, status) VALUES (?1, 'cancelado')",
                        )?
                        .execute([order_id])
                    },
                )?;
                log_operation(
                    conn,
                    "cancelar_envio",
                    Some(order_id),
                    &format!("{prior:?}"),
                )?;
                Ok(())
            })
            .await
    }
}
