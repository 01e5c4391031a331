//! Orders left `pendente` by a process that died mid-chain are found and cancelled, and their
//! void goes through the outbox: what the seed calls finishing or undoing half-done work.

use super::Inner;
use crate::services::outbox;
use crate::store::log_operation;

/// Cancels orders left `pendente` by an interrupted process (a crash mid-chain): any such order
/// older than twice the chain deadline and not in flight here is cancelled, and its void goes
/// through the outbox. Runs until the service is dropped or its database closes.
pub(super) async fn sweep(inner: std::sync::Weak<Inner>) {
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let Some(inner) = inner.upgrade() else { return };
        if inner.db.is_closed() {
            return;
        }
        let cutoff = crate::store::time_text(chrono::Utc::now() - inner.env.chain_timeout * 2);
        let stale = inner
            .db
            .read(move |conn| {
                let mut st = conn.prepare_cached(
                    "SELECT id, chave_idempotencia FROM pedidos WHERE status = 'pendente' AND data_criacao < ?1 LIMIT 256",
                )?;
                let rows = st.query_map([cutoff], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .await
            .unwrap_or_default();
        for (order_id, key) in stale {
            if inner
                .in_flight
                .lock()
                .expect("in-flight table poisoned")
                .contains_key(&key)
            {
                continue;
            }
            let cancelled = inner
                .db
                .write_undo(move |conn| {
                    let n = conn
                        .prepare_cached(
                            "UPDATE pedidos SET status = 'cancelado', motivo = 'checkout interrompido'
                             WHERE id = ?1 AND status = 'pendente'",
                        )?
                        .execute([order_id])?;
                    if n == 1 {
                        outbox::enqueue(conn, order_id)?;
                        log_operation(conn, "cancelar_interrompido", Some(order_id), "")?;
                    }
                    Ok(n == 1)
                })
                .await;
            if cancelled.unwrap_or(false) {
                inner.outbox.deliver(order_id).await;
            }
        }
    }
}
