//! Initialises a data directory from an `ecommerce.db` with the seed's schema (ours, or one made
//! by the seed's own Python script): customers and prices to Orders, stock to Inventory, names and
//! prices to Catalog. The seed's `REAL` prices become integer cents here, at the boundary.
//! A service database that already holds master data is left as it is (a restart keeps state).

use std::path::Path;

use rusqlite::{Connection, OpenFlags, params};
use serde::Serialize;
use thiserror::Error;

use crate::services::{ServiceEnv, catalog, fiscal, inventory, logistics, orders, payments};
use crate::store::OPERATIONS_TABLE;
use crate::topology::ServiceName;

/// Why a seed database could not be imported.
#[derive(Debug, Error)]
pub enum SeedError {
    /// The file does not open as SQLite.
    #[error("cannot open {path}: {source}")]
    Open {
        /// The path given.
        path: String,
        /// SQLite's reason.
        source: rusqlite::Error,
    },
    /// A table or column of the seed schema is missing.
    #[error("{path} is not a seed ecommerce.db: missing {what}")]
    Schema {
        /// The path given.
        path: String,
        /// `table` or `table.column`.
        what: String,
    },
    /// A row holds a value the services cannot accept.
    #[error("bad value in {table} id {id}: {problem}")]
    BadRow {
        /// Table.
        table: &'static str,
        /// Row id.
        id: i64,
        /// What is wrong.
        problem: String,
    },
    /// Reading or writing failed.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// The data directory could not be created.
    #[error("cannot create data directory: {0}")]
    Io(#[from] std::io::Error),
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SeedSummary {
    /// Customers read.
    pub customers: usize,
    /// Products read.
    pub products: usize,
    /// Units of stock across all products.
    pub total_stock: i64,
    /// Services whose database already had master data and was kept.
    pub kept: Vec<ServiceName>,
}

struct Product {
    id: i64,
    name: String,
    price_cents: i64,
    stock: i64,
}

/// Converts a seed price (`REAL`, in reais) to cents, refusing what is not a sane price.
pub fn price_to_cents(price: f64) -> Option<i64> {
    let cents = (price * 100.0).round();
    (cents.is_finite() && (0.0..1e13).contains(&cents)).then_some(cents as i64)
}

fn require_columns(
    conn: &Connection,
    path: &str,
    table: &str,
    columns: &[&str],
) -> Result<(), SeedError> {
    let present: Vec<String> = conn
        .prepare(&format!("PRAGMA table_info({table})"))?
        .query_map([], |r| r.get::<_, String>(1))?
        .collect::<Result<_, _>>()?;
    if present.is_empty() {
        return Err(SeedError::Schema {
            path: path.into(),
            what: table.into(),
        });
    }
    match columns.iter().find(|c| !present.iter().any(|p| p == *c)) {
        Some(c) => Err(SeedError::Schema {
            path: path.into(),
            what: format!("{table}.{c}"),
        }),
        None => Ok(()),
    }
}

/// Reads `seed_db` and writes the master data of every service into `env.data_dir`.
pub fn init_data_dir(seed_db: &Path, env: &ServiceEnv) -> Result<SeedSummary, SeedError> {
    let path = seed_db.display().to_string();
    let src = Connection::open_with_flags(seed_db, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(
        |source| SeedError::Open {
            path: path.clone(),
            source,
        },
    )?;
    require_columns(&src, &path, "clientes", &["id", "nome", "email"])?;
    require_columns(
        &src,
        &path,
        "produtos",
        &["id", "nome", "preco", "quantidade_estoque"],
    )?;
    let customers: Vec<(i64, String, String)> = src
        .prepare("SELECT id, nome, email FROM clientes ORDER BY id")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let mut products = Vec::new();
    let mut st =
        src.prepare("SELECT id, nome, preco, quantidade_estoque FROM produtos ORDER BY id")?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let price: f64 = r.get(2)?;
        let stock: i64 = r.get(3)?;
        let price_cents = price_to_cents(price).ok_or_else(|| SeedError::BadRow {
            table: "produtos",
            id,
            problem: format!("price {price}"),
        })?;
        if stock < 0 {
            return Err(SeedError::BadRow {
                table: "produtos",
                id,
                problem: format!("stock {stock}"),
            });
        }
        products.push(Product {
            id,
            name: r.get(1)?,
            price_cents,
            stock,
        });
    }
    std::fs::create_dir_all(&env.data_dir)?;
    let mut summary = SeedSummary {
        customers: customers.len(),
        products: products.len(),
        total_stock: products.iter().map(|p| p.stock).sum(),
        kept: Vec::new(),
    };
    let open = |service: ServiceName, schema: &str| -> Result<Connection, SeedError> {
        let conn = Connection::open(env.data_dir.join(service.db_file()))?;
        conn.execute_batch(&format!(
            "PRAGMA journal_mode=WAL; {schema}{OPERATIONS_TABLE}"
        ))?;
        Ok(conn)
    };
    let has_rows = |conn: &Connection, table: &str| -> rusqlite::Result<bool> {
        conn.query_row(&format!("SELECT EXISTS (SELECT 1 FROM {table})"), [], |r| {
            r.get(0)
        })
    };

    let mut conn = open(ServiceName::Orders, orders::SCHEMA)?;
    if has_rows(&conn, "clientes")? {
        summary.kept.push(ServiceName::Orders);
    } else {
        let tx = conn.transaction()?;
        for (id, name, email) in &customers {
            tx.execute(
                "INSERT INTO clientes (id, nome, email) VALUES (?1, ?2, ?3)",
                params![id, name, email],
            )?;
        }
        for p in &products {
            tx.execute(
                "INSERT INTO precos (produto_id, preco_centavos) VALUES (?1, ?2)",
                params![p.id, p.price_cents],
            )?;
        }
        tx.commit()?;
    }

    let mut conn = open(ServiceName::Inventory, inventory::SCHEMA)?;
    if has_rows(&conn, "estoque")? {
        summary.kept.push(ServiceName::Inventory);
    } else {
        let tx = conn.transaction()?;
        for p in &products {
            tx.execute(
                "INSERT INTO estoque (produto_id, quantidade, inicial) VALUES (?1, ?2, ?2)",
                params![p.id, p.stock],
            )?;
        }
        tx.commit()?;
    }

    let mut conn = open(ServiceName::Catalog, catalog::SCHEMA)?;
    if has_rows(&conn, "produtos")? {
        summary.kept.push(ServiceName::Catalog);
    } else {
        let tx = conn.transaction()?;
        for p in &products {
            tx.execute(
                "INSERT INTO produtos (id, nome, preco_centavos) VALUES (?1, ?2, ?3)",
                params![p.id, p.name, p.price_cents],
            )?;
        }
        tx.commit()?;
    }

    open(ServiceName::Payments, payments::SCHEMA)?;
    open(ServiceName::Fiscal, fiscal::SCHEMA)?;
    open(ServiceName::Logistics, logistics::SCHEMA)?;
    Ok(summary)
}

/// Adds `units` to every product's stock in an initialised data directory (recorded as an
/// adjustment, so the audit's stock balance still holds): the bench's way to run a long sweep
/// without selling out.
pub fn top_up_stock(data_dir: &Path, units: i64) -> rusqlite::Result<()> {
    let conn = Connection::open(data_dir.join(ServiceName::Inventory.db_file()))?;
    conn.execute(
        "UPDATE estoque SET quantidade = quantidade + ?1, ajustado = ajustado + ?1",
        [units],
    )?;
    Ok(())
}
