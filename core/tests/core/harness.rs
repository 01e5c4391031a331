//! Builds seed databases and whole in-process apps for the tests.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use checkout_core::datagen::SEED_DDL;
use checkout_core::seed_import::init_data_dir;
use checkout_core::wiring::InProcess;
use checkout_core::*;
use rusqlite::{Connection, params};
use tempfile::TempDir;

/// A product row of a seed database: id, name, price in reais (REAL, as the seed stores it), stock.
pub type SeedProduct = (i64, &'static str, f64, i64);

/// Default products: plenty of stock, one scarce product (id 3, 2 units), one sold out (id 4).
pub const PRODUCTS: &[SeedProduct] = &[
    (1, "Café Torrado", 19.90, 1000),
    (2, "Dom Casmurro", 45.50, 1000),
    (3, "Fone de Ouvido", 129.99, 2),
    (4, "Calça Jeans", 159.00, 0),
];

/// Writes a database with the seed's exact DDL (as the seed's Python script would), holding
/// `customers` customers and the given products.
pub fn write_seed_db(path: &Path, customers: usize, products: &[SeedProduct]) {
    let conn = Connection::open(path).unwrap();
    for ddl in SEED_DDL {
        conn.execute_batch(ddl).unwrap();
    }
    for i in 0..customers {
        conn.execute(
            "INSERT INTO clientes (nome, email) VALUES (?1, ?2)",
            params![format!("Cliente {i}"), format!("cliente_{i}@exemplo.com")],
        )
        .unwrap();
    }
    for (id, name, price, stock) in products {
        conn.execute(
            "INSERT INTO produtos (id, nome, preco, quantidade_estoque) VALUES (?1, ?2, ?3, ?4)",
            params![id, name, price, stock],
        )
        .unwrap();
    }
}

/// An in-process app on its own temp directory.
pub struct App {
    pub _dir: TempDir,
    pub env: ServiceEnv,
    pub app: InProcess,
}

impl App {
    pub fn data_dir(&self) -> PathBuf {
        self.env.data_dir.clone()
    }

    pub async fn checkout(
        &self,
        key: &str,
        customer: i64,
        items: &[(i64, i64)],
    ) -> ServiceResult<OrderView> {
        self.app
            .orders
            .place_order(CallCtx::unbounded(), request(key, customer, items))
            .await
    }

    pub fn audit(&self) -> checkout_core::audit::AuditReport {
        checkout_core::audit::audit(&self.data_dir()).unwrap()
    }

    /// Runs a query returning one integer against one service's database.
    pub fn count(&self, service: ServiceName, sql: &str) -> i64 {
        let conn = Connection::open(self.data_dir().join(service.db_file())).unwrap();
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    /// Total rows across the five chain services' business tables and operation logs.
    pub fn total_rows(&self) -> i64 {
        let tables: &[(ServiceName, &[&str])] = &[
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
        tables
            .iter()
            .flat_map(|(s, ts)| ts.iter().map(move |t| (*s, *t)))
            .map(|(s, t)| self.count(s, &format!("SELECT count(*) FROM {t}")))
            .sum()
    }

    pub fn stock(&self, product: i64) -> i64 {
        self.count(
            ServiceName::Inventory,
            &format!("SELECT quantidade FROM estoque WHERE produto_id = {product}"),
        )
    }
}

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

/// An environment on a fresh temp directory initialised from a seed database of `products`.
pub fn env_with(products: &[SeedProduct], sim: Simulation) -> (TempDir, ServiceEnv) {
    let dir = TempDir::new().unwrap();
    let seed = dir.path().join("ecommerce.db");
    write_seed_db(&seed, 10, products);
    let mut env = ServiceEnv::new(dir.path().join("data"));
    env.sim = Arc::new(sim);
    init_data_dir(&seed, &env).unwrap();
    (dir, env)
}

pub fn app_with(products: &[SeedProduct], sim: Simulation) -> App {
    let (dir, env) = env_with(products, sim);
    let app = InProcess::open(&env).unwrap();
    App {
        _dir: dir,
        env,
        app,
    }
}

/// Default products, every payment approved.
pub fn app() -> App {
    app_with(PRODUCTS, approving())
}

pub fn approving() -> Simulation {
    Simulation {
        approval_rate: 1.0,
        ..Simulation::with_seed(7)
    }
}

/// The first key `key-N` whose payment the simulation approves (or declines).
pub fn key_where(sim: &Simulation, approved: bool) -> String {
    (0..)
        .map(|i| format!("key-{i}"))
        .find(|k| sim.approves(k) == approved)
        .unwrap()
}
