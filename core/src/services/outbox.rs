//! Compensations that must reach the next hop, kept until acknowledged. When a service undoes its
//! own step while the service below may still hold live work for the order (a timeout, a peer
//! that went down mid-call), it records "compensate downstream for order N" in the same
//! transaction as its own undo. One delivery is tried at once; a retrier task keeps trying, with
//! backoff, until the peer acknowledges — also after a restart, since the record is durable.
//! Compensations are idempotent at every hop, so a repeat is harmless.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, params};

use crate::error::ServiceResult;
use crate::ports::CallCtx;
use crate::store::{Db, now_text};
use crate::topology::ServiceName;

/// Table of pending compensations, part of every chain service's schema that has a next hop.
pub const OUTBOX_TABLE: &str = "CREATE TABLE IF NOT EXISTS compensacoes (
    pedido_id INTEGER PRIMARY KEY,
    tentativas INTEGER NOT NULL DEFAULT 0,
    proxima TEXT NOT NULL
);";

/// How often the retrier looks for due compensations.
const SCAN_INTERVAL: Duration = Duration::from_millis(250);
/// Longest wait between two attempts for one order.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Records, inside the caller's transaction, that the next hop must be compensated for `order_id`.
pub fn enqueue(conn: &Connection, order_id: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT OR IGNORE INTO compensacoes (pedido_id, proxima) VALUES (?1, ?2)")?
        .execute(params![order_id, now_text()])?;
    Ok(())
}

/// Sends one compensation for an order to the next hop.
pub type Deliver = Arc<
    dyn Fn(CallCtx, i64) -> Pin<Box<dyn Future<Output = ServiceResult<()>> + Send>> + Send + Sync,
>;

/// Delivers a service's pending compensations.
#[derive(Clone)]
pub struct Outbox {
    db: Db,
    service: ServiceName,
    send: Deliver,
    timeout: Duration,
}

impl Outbox {
    /// An outbox over `db` that delivers with `send`, each attempt bounded by `timeout`; starts
    /// its retrier when a tokio runtime is running (it stops when `db` closes).
    pub fn start(db: Db, service: ServiceName, timeout: Duration, send: Deliver) -> Self {
        let outbox = Self {
            db,
            service,
            send,
            timeout,
        };
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let o = outbox.clone();
            rt.spawn(async move { o.retry_forever().await });
        }
        outbox
    }

    /// Tries to deliver the compensation for `order_id` now; on success forgets it. A failure is
    /// left to the retrier.
    pub async fn deliver(&self, order_id: i64) -> bool {
        let ctx = CallCtx::with_timeout(self.timeout);
        match (self.send)(ctx, order_id).await {
            Ok(()) => {
                let done = self
                    .db
                    .write_undo(move |conn| {
                        conn.prepare_cached("DELETE FROM compensacoes WHERE pedido_id = ?1")?
                            .execute([order_id])?;
                        Ok(())
                    })
                    .await;
                done.is_ok()
            }
            Err(e) => {
                tracing::debug!(service = %self.service, order_id, error = %e, "compensation not acknowledged yet");
                let _ = self
                    .db
                    .write_undo(move |conn| {
                        let tries: i64 = conn
                            .prepare_cached("SELECT tentativas FROM compensacoes WHERE pedido_id = ?1")?
                            .query_row([order_id], |r| r.get(0))
                            .unwrap_or(0);
                        let wait = (SCAN_INTERVAL * 2u32.saturating_pow(tries.clamp(0, 16) as u32)).min(MAX_BACKOFF);
                        let next = crate::store::time_text(chrono::Utc::now() + wait);
                        conn.prepare_cached(
                            "UPDATE compensacoes SET tentativas = tentativas + 1, proxima = ?2 WHERE pedido_id = ?1",
                        )?
                        .execute(params![order_id, next])?;
                        Ok(())
                    })
                    .await;
                false
            }
        }
    }

    async fn retry_forever(self) {
        loop {
            tokio::time::sleep(SCAN_INTERVAL).await;
            if self.db.is_closed() {
                return;
            }
            let now = now_text();
            let due = self
                .db
                .read(move |conn| {
                    let mut st = conn.prepare_cached(
                        "SELECT pedido_id FROM compensacoes WHERE proxima <= ?1 ORDER BY proxima LIMIT 64",
                    )?;
                    let ids = st.query_map([now], |r| r.get::<_, i64>(0))?.collect::<Result<Vec<_>, _>>()?;
                    Ok(ids)
                })
                .await;
            let Ok(due) = due else { continue };
            for order_id in due {
                if self.db.is_closed() {
                    return;
                }
                self.deliver(order_id).await;
            }
        }
    }
}
