//! The data generator: writes an `ecommerce.db` with exactly the seven tables and columns of seed
//! 001 §4, the seed's proportions (80% of orders paid, half of those approved, 90% of approved
//! invoiced, 95% of invoiced shipped), Brazilian names, reproducible from a seed. Unlike the seed's
//! script it never invoices an unpaid order, and its access keys and tracking codes are valid.

use std::path::Path;

use chrono::{Duration as Days, NaiveDate, NaiveDateTime};
use fake::Fake;
use fake::faker::internet::raw::Username;
use fake::faker::name::raw::Name;
use fake::locales::PT_BR;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};

use crate::codes::{CITIES, TRACKING_PREFIXES, access_key, tracking_code};

/// The seed's DDL, table by table, as its script creates them.
pub const SEED_DDL: [&str; 7] = [
    "CREATE TABLE IF NOT EXISTS clientes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    nome TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE
);",
    "CREATE TABLE IF NOT EXISTS produtos (
    id INTEGER PRIMARY KEY,
    nome TEXT NOT NULL,
    preco REAL NOT NULL,
    quantidade_estoque INTEGER NOT NULL
);",
    "CREATE TABLE IF NOT EXISTS pedidos (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    cliente_id INTEGER NOT NULL,
    data_criacao TEXT NOT NULL,
    status TEXT NOT NULL, -- 'pendente', 'pagamento_aprovado', 'em_separacao', 'nf_emitida', 'enviado', 'cancelado'
    valor_total REAL,
    FOREIGN KEY (cliente_id) REFERENCES clientes (id)
);",
    "CREATE TABLE IF NOT EXISTS itens_pedido (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    pedido_id INTEGER NOT NULL,
    produto_id INTEGER NOT NULL,
    quantidade INTEGER NOT NULL,
    preco_unitario REAL NOT NULL,
    FOREIGN KEY (pedido_id) REFERENCES pedidos (id),
    FOREIGN KEY (produto_id) REFERENCES produtos (id)
);",
    "CREATE TABLE IF NOT EXISTS pagamentos (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    pedido_id INTEGER NOT NULL UNIQUE,
    data_processamento TEXT NOT NULL,
    status TEXT NOT NULL, -- 'aprovado', 'rejeitado', 'pendente'
    metodo TEXT,
    FOREIGN KEY (pedido_id) REFERENCES pedidos (id)
);",
    "CREATE TABLE IF NOT EXISTS notas_fiscais (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    pedido_id INTEGER NOT NULL UNIQUE,
    numero TEXT NOT NULL UNIQUE,
    data_emissao TEXT NOT NULL,
    chave_acesso TEXT,
    FOREIGN KEY (pedido_id) REFERENCES pedidos (id)
);",
    "CREATE TABLE IF NOT EXISTS envios (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    pedido_id INTEGER NOT NULL UNIQUE,
    nota_fiscal_id INTEGER NOT NULL UNIQUE,
    data_despacho TEXT,
    codigo_rastreamento TEXT,
    status TEXT NOT NULL, -- 'aguardando_envio', 'enviado', 'entregue'
    FOREIGN KEY (pedido_id) REFERENCES pedidos (id),
    FOREIGN KEY (nota_fiscal_id) REFERENCES notas_fiscais (id)
);",
];

/// The seed's tables with their columns, in order: what a seed `ecommerce.db` must hold.
pub const SEED_TABLES: [(&str, &[&str]); 7] = [
    ("clientes", &["id", "nome", "email"]),
    ("produtos", &["id", "nome", "preco", "quantidade_estoque"]),
    (
        "pedidos",
        &["id", "cliente_id", "data_criacao", "status", "valor_total"],
    ),
    (
        "itens_pedido",
        &[
            "id",
            "pedido_id",
            "produto_id",
            "quantidade",
            "preco_unitario",
        ],
    ),
    (
        "pagamentos",
        &["id", "pedido_id", "data_processamento", "status", "metodo"],
    ),
    (
        "notas_fiscais",
        &["id", "pedido_id", "numero", "data_emissao", "chave_acesso"],
    ),
    (
        "envios",
        &[
            "id",
            "pedido_id",
            "nota_fiscal_id",
            "data_despacho",
            "codigo_rastreamento",
            "status",
        ],
    ),
];

/// Portuguese product names and the seed's four categories.
pub(crate) const PRODUCTS: &[(&str, &str)] = &[
    ("Fone de Ouvido", "Eletrônico"),
    ("Carregador Portátil", "Eletrônico"),
    ("Caixa de Som", "Eletrônico"),
    ("Teclado Sem Fio", "Eletrônico"),
    ("Mouse Óptico", "Eletrônico"),
    ("Camiseta de Algodão", "Vestuário"),
    ("Calça Jeans", "Vestuário"),
    ("Jaqueta Corta-Vento", "Vestuário"),
    ("Tênis de Corrida", "Vestuário"),
    ("Boné Aba Curva", "Vestuário"),
    ("Dom Casmurro", "Livro"),
    ("Grande Sertão: Veredas", "Livro"),
    ("O Cortiço", "Livro"),
    ("Vidas Secas", "Livro"),
    ("Capitães da Areia", "Livro"),
    ("Café Torrado", "Alimento"),
    ("Doce de Leite", "Alimento"),
    ("Farinha de Mandioca", "Alimento"),
    ("Goiabada Cascão", "Alimento"),
    ("Pão de Queijo Congelado", "Alimento"),
    // Seed 002's produce shop (hortifruti): its client searches these by name.
    ("Banana Prata", "Alimento"),
    ("Maçã Fuji", "Alimento"),
    ("Tomate Italiano", "Alimento"),
    ("Alface Crespa", "Alimento"),
];

const VARIANTS: &[&str] = &[
    "Clássico",
    "Premium",
    "Econômico",
    "Tradicional",
    "Especial",
    "Compacto",
    "Plus",
    "Artesanal",
];

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatagenConfig {
    /// Customers (seed default 50).
    pub customers: usize,
    /// Products (seed default 30).
    pub products: usize,
    /// Historical orders (seed default 100).
    pub orders: usize,
    /// Random seed: the same seed writes the same rows.
    pub seed: u64,
}

impl Default for DatagenConfig {
    fn default() -> Self {
        Self {
            customers: 50,
            products: 30,
            orders: 100,
            seed: 42,
        }
    }
}

/// Row counts written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DatagenSummary {
    /// Customers.
    pub customers: usize,
    /// Products.
    pub products: usize,
    /// Orders.
    pub orders: usize,
    /// Payments.
    pub payments: usize,
    /// Invoices.
    pub invoices: usize,
    /// Shipments.
    pub shipments: usize,
}

fn text(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// Writes a fresh `ecommerce.db` at `path` (replacing any file there).
pub fn generate(path: &Path, cfg: DatagenConfig) -> rusqlite::Result<DatagenSummary> {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let mut conn = Connection::open(path)?;
    for ddl in SEED_DDL {
        conn.execute_batch(ddl)?;
    }
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let now = NaiveDate::from_ymd_opt(2025, 6, 30)
        .and_then(|d| d.and_hms_opt(12, 0, 0))
        .expect("valid date");
    let mut out = DatagenSummary {
        customers: cfg.customers,
        products: cfg.products,
        ..Default::default()
    };
    let tx = conn.transaction()?;
    for i in 0..cfg.customers {
        let name: String = Name(PT_BR).fake_with_rng(&mut rng);
        let user: String = Username(PT_BR).fake_with_rng(&mut rng);
        tx.execute(
            "INSERT INTO clientes (nome, email) VALUES (?1, ?2)",
            params![name, format!("cliente_{i}_{user}@exemplo.com")],
        )?;
    }
    let mut prices = Vec::with_capacity(cfg.products);
    // Product kinds are dealt like cards: every kind once (in a random order) before any twice,
    // so a catalog at least as large as the list has every kind (the produce a client looks for).
    let mut deck: Vec<usize> = Vec::new();
    for i in 0..cfg.products {
        if deck.is_empty() {
            deck = (0..PRODUCTS.len()).collect();
            deck.shuffle(&mut rng);
        }
        let (noun, category) = PRODUCTS[deck.pop().expect("dealt above")];
        let variant = VARIANTS[rng.random_range(0..VARIANTS.len())];
        let price = (rng.random_range(10.5..500.99f64) * 100.0).round() / 100.0;
        let stock: i64 = rng.random_range(0..=100);
        tx.execute(
            "INSERT INTO produtos (id, nome, preco, quantidade_estoque) VALUES (?1, ?2, ?3, ?4)",
            params![
                i as i64 + 1,
                format!("{noun} {variant} ({category})"),
                price,
                stock
            ],
        )?;
        prices.push(price);
    }
    if cfg.customers > 0 && cfg.products > 0 {
        for _ in 0..cfg.orders {
            generate_order(&tx, &mut rng, now, cfg, &prices, &mut out)?;
        }
    }
    tx.commit()?;
    Ok(out)
}

fn generate_order(
    tx: &rusqlite::Transaction<'_>,
    rng: &mut StdRng,
    now: NaiveDateTime,
    cfg: DatagenConfig,
    prices: &[f64],
    out: &mut DatagenSummary,
) -> rusqlite::Result<()> {
    let customer = rng.random_range(1..=cfg.customers as i64);
    let created = now - Days::seconds(rng.random_range(0..90 * 86_400));
    tx.execute(
        "INSERT INTO pedidos (cliente_id, data_criacao, status) VALUES (?1, ?2, 'pendente')",
        params![customer, text(created)],
    )?;
    let order = tx.last_insert_rowid();
    out.orders += 1;
    let lines = rng.random_range(1..=5usize).min(prices.len());
    let mut chosen: Vec<usize> = Vec::with_capacity(lines);
    let mut total_cents: i64 = 0;
    while chosen.len() < lines {
        let p = rng.random_range(0..prices.len());
        if chosen.contains(&p) {
            continue;
        }
        chosen.push(p);
        let qty: i64 = rng.random_range(1..=3);
        total_cents += qty * (prices[p] * 100.0).round() as i64;
        tx.execute(
            "INSERT INTO itens_pedido (pedido_id, produto_id, quantidade, preco_unitario) VALUES (?1, ?2, ?3, ?4)",
            params![order, p as i64 + 1, qty, prices[p]],
        )?;
    }
    tx.execute(
        "UPDATE pedidos SET valor_total = ?1 WHERE id = ?2",
        params![total_cents as f64 / 100.0, order],
    )?;
    if !rng.random_bool(0.8) {
        return Ok(());
    }
    let paid_at = created + Days::seconds(rng.random_range(60..86_400));
    let approved = rng.random_bool(0.5);
    let method = ["cartao_credito", "boleto", "pix"][rng.random_range(0..3usize)];
    tx.execute(
        "INSERT INTO pagamentos (pedido_id, data_processamento, status, metodo) VALUES (?1, ?2, ?3, ?4)",
        params![order, text(paid_at), if approved { "aprovado" } else { "rejeitado" }, method],
    )?;
    out.payments += 1;
    let status = if approved {
        "pagamento_aprovado"
    } else {
        "cancelado"
    };
    tx.execute(
        "UPDATE pedidos SET status = ?1 WHERE id = ?2",
        params![status, order],
    )?;
    if !approved || !rng.random_bool(0.9) {
        return Ok(());
    }
    let issued = paid_at + Days::seconds(rng.random_range(60..2 * 86_400));
    let yymm = issued.format("%y%m").to_string();
    let uf = CITIES[rng.random_range(0..CITIES.len())].2;
    let key = access_key(uf, &yymm, 1, order as u64, rng.random_range(0..100_000_000));
    tx.execute(
        "INSERT INTO notas_fiscais (pedido_id, numero, data_emissao, chave_acesso) VALUES (?1, ?2, ?3, ?4)",
        params![order, format!("NF{}-{order}", rng.random_range(10_000..=99_999)), text(issued), key],
    )?;
    let invoice = tx.last_insert_rowid();
    out.invoices += 1;
    tx.execute(
        "UPDATE pedidos SET status = 'nf_emitida' WHERE id = ?1",
        [order],
    )?;
    if !rng.random_bool(0.95) {
        return Ok(());
    }
    let shipped = issued + Days::seconds(rng.random_range(3_600..3 * 86_400));
    let prefix = TRACKING_PREFIXES[rng.random_range(0..TRACKING_PREFIXES.len())];
    let code = tracking_code(prefix, rng.random_range(0..100_000_000));
    let ship_status = ["aguardando_envio", "enviado", "entregue"][rng.random_range(0..3usize)];
    tx.execute(
        "INSERT INTO envios (pedido_id, nota_fiscal_id, data_despacho, codigo_rastreamento, status)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![order, invoice, text(shipped), code, ship_status],
    )?;
    out.shipments += 1;
    if ship_status != "aguardando_envio" {
        tx.execute(
            "UPDATE pedidos SET status = 'enviado' WHERE id = ?1",
            [order],
        )?;
    }
    Ok(())
}
