//! Reading an order back from `pedidos.db`: by id (`GET /pedidos/{id}`) or by idempotency key
//! (a retried checkout).

use rusqlite::{Connection, OptionalExtension};

use crate::error::{ServiceError, ServiceResult};
use crate::model::*;

/// How an order is looked up.
pub(super) enum OrderRef<'a> {
    /// By order id.
    Id(i64),
    /// By idempotency key.
    Key(&'a str),
}

/// The order (with its lines) as stored, if there is one.
pub(super) fn load_order(conn: &Connection, by: OrderRef<'_>) -> ServiceResult<Option<OrderView>> {
    const COLUMNS: &str =
        "SELECT id, chave_idempotencia, cliente_id, status, valor_total_centavos, motivo,
                           numero_nf, codigo_rastreamento FROM pedidos";
    let row = |r: &rusqlite::Row<'_>| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, i64>(4)?,
            r.get::<_, Option<String>>(5)?,
            r.get::<_, Option<String>>(6)?,
            r.get::<_, Option<String>>(7)?,
        ))
    };
    let found = match by {
        OrderRef::Id(id) => conn
            .prepare_cached(&format!("{COLUMNS} WHERE id = ?1"))?
            .query_row([id], row),
        OrderRef::Key(k) => conn
            .prepare_cached(&format!("{COLUMNS} WHERE chave_idempotencia = ?1"))?
            .query_row([k], row),
    }
    .optional()?;
    let Some((order_id, key, customer_id, status, total, reason, invoice, tracking)) = found else {
        return Ok(None);
    };
    let lines = conn
        .prepare_cached(
            "SELECT produto_id, quantidade, preco_unitario_centavos FROM itens_pedido WHERE pedido_id = ?1 ORDER BY id",
        )?
        .query_map([order_id], |r| {
            Ok(OrderLine { product_id: r.get(0)?, quantity: r.get(1)?, unit_price_cents: r.get(2)? })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let status = OrderStatus::parse(&status)
        .ok_or_else(|| ServiceError::Internal(format!("bad status {status}")))?;
    Ok(Some(OrderView {
        order_id,
        idempotency_key: key,
        customer_id,
        status,
        total_cents: total,
        reason,
        invoice_number: invoice,
        tracking_code: tracking,
        lines,
    }))
}
