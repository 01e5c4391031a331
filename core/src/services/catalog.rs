//! Catalog (Catálogo): lists products with id, name, price and live stock (asked of Inventory),
//! filtered by name and maximum price, and forwards stock updates (seed 002's queries).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use rusqlite::OptionalExtension;

use super::ServiceEnv;
use crate::admission::Gate;
use crate::error::{ServiceError, ServiceResult};
use crate::model::{ProductFilter, ProductInfo};
use crate::ports::{CallCtx, CatalogPort, InventoryPort};
use crate::store::{Db, OPERATIONS_TABLE};
use crate::topology::ServiceName;

/// Schema of `catalogo.db`.
pub const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS produtos (
    id INTEGER PRIMARY KEY,
    nome TEXT NOT NULL,
    preco_centavos INTEGER NOT NULL CHECK (preco_centavos >= 0)
);";

/// Longest name filter accepted.
pub const MAX_NAME_FILTER: usize = 200;

/// A catalog this small is listed on the caller's thread: its scan costs less than the hop to the
/// blocking pool and back (a few rows of three columns each against two thread wake-ups); a larger
/// one is scanned on the blocking pool, so no async worker is held for long.
pub const INLINE_SCAN_ROWS: usize = 256;

/// The Catalog service.
pub struct CatalogService {
    db: Db,
    inventory: Arc<dyn InventoryPort>,
    gate: Gate,
    /// Rows of the last unfiltered listing (unknown at first): decides where the next scan runs.
    catalog_rows: AtomicUsize,
}

impl CatalogService {
    /// Opens `catalogo.db`; `inventory` answers live stock.
    pub fn open(env: &ServiceEnv, inventory: Arc<dyn InventoryPort>) -> ServiceResult<Self> {
        let db = env.open_db(ServiceName::Catalog, &format!("{SCHEMA}{OPERATIONS_TABLE}"))?;
        Ok(Self {
            db,
            inventory,
            gate: env.gate(ServiceName::Catalog),
            catalog_rows: AtomicUsize::new(usize::MAX),
        })
    }

    /// The service's database.
    pub fn db(&self) -> &Db {
        &self.db
    }
}

type Row = (i64, String, i64);

#[async_trait]
impl CatalogPort for CatalogService {
    async fn list_products(
        &self,
        ctx: CallCtx,
        filter: ProductFilter,
    ) -> ServiceResult<Vec<ProductInfo>> {
        if filter.max_price_cents.is_some_and(|p| p < 0) {
            return Err(ServiceError::invalid(
                "preco_maximo_centavos",
                "must not be negative",
            ));
        }
        let _admitted = self.gate.admit(ctx)?;
        if filter
            .name_contains
            .as_ref()
            .is_some_and(|n| n.chars().count() > MAX_NAME_FILTER)
        {
            return Err(ServiceError::invalid(
                "nome",
                format!("at most {MAX_NAME_FILTER} characters"),
            ));
        }
        let filtered = filter.name_contains.is_some() || filter.max_price_cents.is_some();
        let scan = move |conn: &rusqlite::Connection| {
            let pattern = filter
                .name_contains
                .map(|n| format!("%{}%", n.replace(['%', '_'], "")));
            let mut st = conn.prepare_cached(
                "SELECT id, nome, preco_centavos FROM produtos
                 WHERE (?1 IS NULL OR nome LIKE ?1) AND (?2 IS NULL OR preco_centavos <= ?2)
                 ORDER BY id",
            )?;
            let rows = st
                .query_map(rusqlite::params![pattern, filter.max_price_cents], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?
                .collect::<Result<Vec<Row>, _>>()?;
            Ok(rows)
        };
        // Every listing scans the whole table (the filters use no index), so the catalog's size
        // says what a scan costs.
        let rows: Vec<Row> = if self.catalog_rows.load(Ordering::Relaxed) <= INLINE_SCAN_ROWS {
            self.db.read(scan).await?
        } else {
            self.db.scan(scan).await?
        };
        if !filtered {
            self.catalog_rows.store(rows.len(), Ordering::Relaxed);
        }
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let ids = if filtered {
            rows.iter().map(|r| r.0).collect()
        } else {
            Vec::new()
        };
        let stock: HashMap<i64, i64> = self
            .inventory
            .stock_levels(ctx, ids)
            .await?
            .into_iter()
            .map(|s| (s.product_id, s.quantity))
            .collect();
        Ok(rows
            .into_iter()
            .map(|(id, name, price)| ProductInfo {
                id,
                name,
                price_cents: price,
                stock: stock.get(&id).copied().unwrap_or(0),
            })
            .collect())
    }

    async fn update_stock(
        &self,
        ctx: CallCtx,
        product_id: i64,
        delta: i64,
    ) -> ServiceResult<ProductInfo> {
        if product_id <= 0 {
            return Err(ServiceError::invalid("produto_id", "must be a positive id"));
        }
        let _admitted = self.gate.admit(ctx)?;
        let product: Option<Row> = self
            .db
            .read(move |conn| {
                Ok(conn
                    .prepare_cached("SELECT id, nome, preco_centavos FROM produtos WHERE id = ?1")?
                    .query_row([product_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .optional()?)
            })
            .await?;
        let (id, name, price) = product.ok_or(ServiceError::NotFound {
            entity: "produto",
            id: product_id,
        })?;
        let level = self.inventory.adjust_stock(ctx, product_id, delta).await?;
        Ok(ProductInfo {
            id,
            name,
            price_cents: price,
            stock: level.quantity,
        })
    }
}
