//! Support for tests of any wiring (in-process, gRPC, REST): seed databases with known products,
//! initialised environments, requests, and probes that read a service's database directly.

use std::path::Path;
use std::sync::Arc;

use rusqlite::{Connection, params};

use crate::datagen::SEED_DDL;
use crate::model::{CheckoutRequest, ItemRequest};
use crate::seed_import::init_data_dir;
use crate::services::ServiceEnv;
use crate::sim::Simulation;
use crate::topology::ServiceName;

/// A product row of a seed database: id, name, price in reais (REAL, as the seed stores it), stock.
pub type SeedProduct = (i64, &'static str, f64, i64);

/// Default test products: plenty of stock, one scarce product (id 3, 2 units), one sold out (id 4).
pub const PRODUCTS: &[SeedProduct] = &[
    (1, "Café Torrado", 19.90, 1000),
    (2, "Dom Casmurro", 45.50, 1000),
    (3, "Fone de Ouvido", 129.99, 2),
    (4, "Calça Jeans", 159.00, 0),
];

/// Writes a database with the seed's exact DDL (as the seed's Python script would), holding
/// `customers` customers (ids 1..=customers) and the given products.
pub fn write_seed_db(
    path: &Path,
    customers: usize,
    products: &[SeedProduct],
) -> rusqlite::Result<()> {
    let conn = Connection::open(path)?;
    for ddl in SEED_DDL {
        conn.execute_batch(ddl)?;
    }
    for i in 0..customers {
        conn.execute(
            "INSERT INTO clientes (nome, email) VALUES (?1, ?2)",
            params![format!("Cliente {i}"), format!("cliente_{i}@exemplo.com")],
        )?;
    }
    for (id, name, price, stock) in products {
        conn.execute(
            "INSERT INTO produtos (id, nome, preco, quantidade_estoque) VALUES (?1, ?2, ?3, ?4)",
            params![id, name, price, stock],
        )?;
    }
    Ok(())
}

/// An environment in `dir/data` initialised from a seed database of 10 customers and `products`.
pub fn init_env(dir: &Path, products: &[SeedProduct], sim: Simulation) -> ServiceEnv {
    let seed = dir.join("ecommerce.db");
    write_seed_db(&seed, 10, products).expect("write seed db");
    let mut env = ServiceEnv::new(dir.join("data"));
    env.sim = Arc::new(sim);
    init_data_dir(&seed, &env).expect("initialise data dir");
    env
}

/// Knobs under which every payment is approved.
pub fn approving() -> Simulation {
    Simulation {
        approval_rate: 1.0,
        ..Simulation::with_seed(7)
    }
}

/// The first key `key-N` whose payment `sim` approves (or declines).
pub fn key_where(sim: &Simulation, approved: bool) -> String {
    (0..)
        .map(|i| format!("key-{i}"))
        .find(|k| sim.approves(k) == approved)
        .expect("some key")
}

/// A checkout request from `(product, quantity)` pairs.
pub fn request(key: &str, customer: i64, items: &[(i64, i64)]) -> CheckoutRequest {
    CheckoutRequest {
        idempotency_key: key.to_owned(),
        customer_id: customer,
        items: items
            .iter()
            .map(|&(product_id, quantity)| ItemRequest {
                product_id,
                quantity,
            })
            .collect(),
    }
}

/// Reads the databases of a data directory directly.
#[derive(Debug, Clone)]
pub struct Probe(pub std::path::PathBuf);

impl Probe {
    /// One integer from `sql` against `service`'s database.
    pub fn int(&self, service: ServiceName, sql: &str) -> i64 {
        let conn = Connection::open(self.0.join(service.db_file())).expect("open db");
        conn.query_row(sql, [], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// One text value from `sql` against `service`'s database.
    pub fn text(&self, service: ServiceName, sql: &str) -> String {
        let conn = Connection::open(self.0.join(service.db_file())).expect("open db");
        conn.query_row(sql, [], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Rows across the chain services' business tables and operation logs: unchanged means
    /// nothing was persisted.
    pub fn total_rows(&self) -> i64 {
        const TABLES: &[(ServiceName, &[&str])] = &[
            (
                ServiceName::Orders,
                &["pedidos", "itens_pedido", "operacoes"],
            ),
            (ServiceName::Payments, &["pagamentos", "operacoes"]),
            (
                ServiceName::Inventory,
                &["reservas", "itens_reserva", "operacoes"],
            ),
            (ServiceName::Fiscal, &["notas_fiscais", "operacoes"]),
            (ServiceName::Logistics, &["envios", "operacoes"]),
        ];
        TABLES
            .iter()
            .flat_map(|(s, ts)| ts.iter().map(move |t| (*s, *t)))
            .map(|(s, t)| self.int(s, &format!("SELECT count(*) FROM {t}")))
            .sum()
    }

    /// Units on hand of `product`.
    pub fn stock(&self, product: i64) -> i64 {
        self.int(
            ServiceName::Inventory,
            &format!("SELECT quantidade FROM estoque WHERE produto_id = {product}"),
        )
    }

    /// The audit of this data directory.
    pub fn audit(&self) -> crate::audit::AuditReport {
        crate::audit::audit(&self.0).expect("audit")
    }
}
