//! The generator writes the seed's schema and proportions, reproducibly; any database with the
//! seed's schema initialises the services.

use checkout_core::datagen::{DatagenConfig, SEED_TABLES, generate};
use checkout_core::seed_import::{SeedError, init_data_dir};
use checkout_core::wiring::InProcess;
use checkout_core::*;
use rusqlite::Connection;
use tempfile::TempDir;

use checkout_core::testkit::write_seed_db;

fn columns(conn: &Connection, table: &str) -> Vec<String> {
    conn.prepare(&format!("PRAGMA table_info({table})"))
        .unwrap()
        .query_map([], |r| r.get(1))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn dump(path: &std::path::Path) -> Vec<String> {
    let conn = Connection::open(path).unwrap();
    let mut rows = Vec::new();
    for (table, _) in SEED_TABLES {
        let mut st = conn
            .prepare(&format!("SELECT * FROM {table} ORDER BY id"))
            .unwrap();
        let n = st.column_count();
        let mut q = st.query([]).unwrap();
        while let Some(r) = q.next().unwrap() {
            let cells: Vec<String> = (0..n)
                .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                .collect();
            rows.push(format!("{table}: {}", cells.join("|")));
        }
    }
    rows
}

#[test]
fn generated_db_has_the_seed_tables_columns_and_proportions() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("ecommerce.db");
    let cfg = DatagenConfig {
        customers: 50,
        products: 30,
        orders: 2000,
        seed: 3,
    };
    let summary = generate(&path, cfg).unwrap();
    let conn = Connection::open(&path).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut expected: Vec<String> = SEED_TABLES.iter().map(|(t, _)| t.to_string()).collect();
    expected.sort();
    assert_eq!(tables, expected);
    for (table, cols) in SEED_TABLES {
        assert_eq!(columns(&conn, table), cols.to_vec(), "{table}");
    }
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT count(*) FROM clientes"), 50);
    assert_eq!(count("SELECT count(*) FROM produtos"), 30);
    assert_eq!(count("SELECT count(*) FROM pedidos"), 2000);
    let paid = count("SELECT count(*) FROM pagamentos");
    let approved = count("SELECT count(*) FROM pagamentos WHERE status = 'aprovado'");
    let invoiced = count("SELECT count(*) FROM notas_fiscais");
    let shipped = count("SELECT count(*) FROM envios");
    assert_eq!(
        (paid as usize, invoiced as usize, shipped as usize),
        (summary.payments, summary.invoices, summary.shipments)
    );
    let ratio = |a: i64, b: i64| a as f64 / b as f64;
    assert!((0.76..0.84).contains(&ratio(paid, 2000)), "paid {paid}");
    assert!(
        (0.45..0.55).contains(&ratio(approved, paid)),
        "approved {approved}"
    );
    assert!(
        (0.86..0.94).contains(&ratio(invoiced, approved)),
        "invoiced {invoiced}"
    );
    assert!(
        (0.92..0.98).contains(&ratio(shipped, invoiced)),
        "shipped {shipped}"
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM notas_fiscais nf JOIN pagamentos p USING (pedido_id) WHERE p.status != 'aprovado'"
        ),
        0
    );
    assert_eq!(
        count("SELECT count(*) FROM notas_fiscais WHERE length(chave_acesso) != 44"),
        0
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM produtos WHERE preco < 10.5 OR preco > 500.99 OR quantidade_estoque NOT BETWEEN 0 AND 100"
        ),
        0
    );
    let email_dupes = count("SELECT count(*) - count(DISTINCT email) FROM clientes");
    assert_eq!(email_dupes, 0);
    // 30 products deal every kind at least once: the seed-002 client finds its produce.
    for kind in [
        "Banana Prata",
        "Tomate Italiano",
        "Café Torrado",
        "Dom Casmurro",
    ] {
        let n = count(&format!(
            "SELECT count(*) FROM produtos WHERE nome LIKE '{kind} %'"
        ));
        assert!(n >= 1, "{kind}: {n}");
    }
}

#[test]
fn the_same_seed_writes_the_same_rows() {
    let dir = TempDir::new().unwrap();
    let (a, b, c) = (
        dir.path().join("a.db"),
        dir.path().join("b.db"),
        dir.path().join("c.db"),
    );
    let cfg = DatagenConfig::default();
    generate(&a, cfg).unwrap();
    generate(&b, cfg).unwrap();
    generate(
        &c,
        DatagenConfig {
            seed: cfg.seed + 1,
            ..cfg
        },
    )
    .unwrap();
    assert_eq!(dump(&a), dump(&b));
    assert_ne!(dump(&a), dump(&c));
    assert_eq!(
        dump(&a)
            .iter()
            .filter(|r| r.starts_with("pedidos:"))
            .count(),
        100
    );
}

#[tokio::test]
async fn a_database_with_the_seed_schema_initialises_the_services() {
    let dir = TempDir::new().unwrap();
    let seed = dir.path().join("ecommerce.db");
    // Written with the seed's own DDL and REAL prices, as its Python script does.
    write_seed_db(
        &seed,
        3,
        &[
            (1, "Produto A", 10.0, 10),
            (5, "Produto B", 0.1 + 0.2, 0),
            (12, "Produto C", 500.99, 5),
        ],
    )
    .unwrap();
    let env = ServiceEnv::new(dir.path().join("data"));
    let summary = init_data_dir(&seed, &env).unwrap();
    assert_eq!(
        (summary.customers, summary.products, summary.total_stock),
        (3, 3, 15)
    );
    let app = InProcess::open(&env).unwrap();
    let listed = app
        .catalog
        .list_products(CallCtx::unbounded(), ProductFilter::default())
        .await
        .unwrap();
    let seen: Vec<(i64, &str, i64, i64)> = listed
        .iter()
        .map(|p| (p.id, p.name.as_str(), p.stock, p.price_cents))
        .collect();
    assert_eq!(
        seen,
        [
            (1, "Produto A", 10, 1000),
            (5, "Produto B", 0, 30),
            (12, "Produto C", 5, 50099)
        ]
    );
    // A second import keeps the state the services already have.
    app.close();
    let again = init_data_dir(&seed, &env).unwrap();
    assert_eq!(
        again.kept,
        [
            ServiceName::Orders,
            ServiceName::Inventory,
            ServiceName::Catalog
        ]
    );
}

#[test]
fn our_generated_db_initialises_the_services_and_a_wrong_file_is_refused() {
    let dir = TempDir::new().unwrap();
    let seed = dir.path().join("ecommerce.db");
    generate(&seed, DatagenConfig::default()).unwrap();
    let env = ServiceEnv::new(dir.path().join("data"));
    let summary = init_data_dir(&seed, &env).unwrap();
    assert_eq!((summary.customers, summary.products), (50, 30));

    let wrong = dir.path().join("wrong.db");
    Connection::open(&wrong)
        .unwrap()
        .execute_batch("CREATE TABLE clientes (id INTEGER, nome TEXT);")
        .unwrap();
    let err = init_data_dir(&wrong, &ServiceEnv::new(dir.path().join("data2"))).unwrap_err();
    assert!(
        matches!(&err, SeedError::Schema { what, .. } if what == "clientes.email"),
        "{err}"
    );
}
