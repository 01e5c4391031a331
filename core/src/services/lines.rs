//! The rules every list of order lines obeys, in one place: Orders checks them at the edge,
//! and Inventory again, since it can be called on its own.

use crate::error::{ServiceError, ServiceResult};

/// Most lines one order may carry.
pub const MAX_LINES: usize = 100;
/// Most units of one product in one order.
pub const MAX_QUANTITY: i64 = 10_000;

/// Checks `(product_id, quantity)` lines: at least one, at most [`MAX_LINES`], positive ids,
/// quantities from 1 to [`MAX_QUANTITY`], one line per product. The error names the wire field
/// at fault (`itens[2].quantidade`).
pub fn check_lines(lines: &[(i64, i64)]) -> ServiceResult<()> {
    if lines.is_empty() {
        return Err(ServiceError::invalid(
            "itens",
            "at least one item is required",
        ));
    }
    if lines.len() > MAX_LINES {
        return Err(ServiceError::invalid(
            "itens",
            format!("at most {MAX_LINES} lines"),
        ));
    }
    for (i, &(product_id, quantity)) in lines.iter().enumerate() {
        if product_id <= 0 {
            return Err(ServiceError::invalid(
                format!("itens[{i}].produto_id"),
                "must be a positive id",
            ));
        }
        if !(1..=MAX_QUANTITY).contains(&quantity) {
            return Err(ServiceError::invalid(
                format!("itens[{i}].quantidade"),
                format!("must be between 1 and {MAX_QUANTITY}"),
            ));
        }
        if lines[..i].iter().any(|&(other, _)| other == product_id) {
            return Err(ServiceError::invalid(
                format!("itens[{i}].produto_id"),
                format!("duplicate line for produto {product_id}"),
            ));
        }
    }
    Ok(())
}
