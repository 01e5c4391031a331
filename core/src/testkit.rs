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

/// One sample of a Prometheus text exposition: metric name, labels, value.
#[derive(Debug, Clone, PartialEq)]
pub struct PromSample {
    /// Metric name (with `_bucket`, `_sum`, `_count` for histograms).
    pub name: String,
    /// Labels in the order written.
    pub labels: Vec<(String, String)>,
    /// Value.
    pub value: f64,
}

/// Parses the Prometheus text exposition format (0.0.4) strictly: `# HELP` and `# TYPE` lines
/// (one TYPE per family, before its samples, of a known type), sample lines `name{l="v",...}
/// value` with valid metric and label names and escaped label values, values that are numbers
/// or ±Inf/NaN, no duplicate series; and for every histogram, `le` buckets that never decrease
/// and end at `+Inf` equal to `_count`. Returns every sample, or the first line that breaks it.
pub fn parse_prometheus(text: &str) -> Result<Vec<PromSample>, String> {
    fn name_ok(n: &str, colon: bool) -> bool {
        let mut c = n.chars();
        c.next()
            .is_some_and(|f| f.is_ascii_alphabetic() || f == '_' || (colon && f == ':'))
            && c.all(|x| x.is_ascii_alphanumeric() || x == '_' || (colon && x == ':'))
    }
    let mut types: std::collections::BTreeMap<String, String> = Default::default();
    let mut out: Vec<PromSample> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (i, line) in text.lines().enumerate() {
        let bad = |why: &str| Err(format!("line {}: {why}: {line:?}", i + 1));
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut w = rest.splitn(3, ' ');
            match (w.next(), w.next(), w.next()) {
                (Some("HELP"), Some(n), _) if name_ok(n, true) => {}
                (Some("TYPE"), Some(n), Some(t)) if name_ok(n, true) => {
                    if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&t) {
                        return bad("unknown type");
                    }
                    if types.insert(n.to_owned(), t.to_owned()).is_some() {
                        return bad("second TYPE for one family");
                    }
                }
                (Some("HELP" | "TYPE"), _, _) => return bad("malformed HELP or TYPE"),
                _ => {}
            }
            continue;
        }
        let (series, value) = match line.rsplit_once(' ') {
            Some(x) => x,
            None => return bad("no value"),
        };
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            v => match v.parse() {
                Ok(x) => x,
                Err(_) => return bad("value is not a number"),
            },
        };
        let (name, labels) = match series.split_once('{') {
            None => (series, Vec::new()),
            Some((n, rest)) => {
                let Some(body) = rest.strip_suffix('}') else {
                    return bad("unclosed labels");
                };
                let mut labels = Vec::new();
                let mut chars = body.chars().peekable();
                while chars.peek().is_some() {
                    let key: String = chars.by_ref().take_while(|&c| c != '=').collect();
                    if !name_ok(&key, false) || chars.next() != Some('"') {
                        return bad("bad label");
                    }
                    let mut val = String::new();
                    loop {
                        match chars.next() {
                            Some('\\') => match chars.next() {
                                Some('n') => val.push('\n'),
                                Some(c @ ('\\' | '"')) => val.push(c),
                                _ => return bad("bad escape in a label value"),
                            },
                            Some('"') => break,
                            Some(c) => val.push(c),
                            None => return bad("unterminated label value"),
                        }
                    }
                    labels.push((key, val));
                    match chars.next() {
                        Some(',') | None => {}
                        Some(_) => return bad("labels not separated by commas"),
                    }
                }
                (n, labels)
            }
        };
        if !name_ok(name, true) {
            return bad("bad metric name");
        }
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                name.strip_suffix(s)
                    .filter(|f| types.get(*f).is_some_and(|t| t == "histogram"))
            })
            .unwrap_or(name);
        if !types.contains_key(family) {
            return bad("sample before its TYPE");
        }
        if !seen.insert(series.to_owned()) {
            return bad("duplicate series");
        }
        out.push(PromSample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    // Histograms: cumulative buckets ending at +Inf = _count, per series.
    for (family, _) in types.iter().filter(|(_, t)| *t == "histogram") {
        let key = |s: &PromSample| {
            s.labels
                .iter()
                .filter(|(k, _)| k != "le")
                .cloned()
                .collect::<Vec<_>>()
        };
        let bucket = format!("{family}_bucket");
        // Each series (its labels but `le`) to its (bound, count) buckets.
        type Series = Vec<(String, String)>;
        let mut groups: std::collections::BTreeMap<Series, Vec<(f64, f64)>> = Default::default();
        for s in out.iter().filter(|s| s.name == bucket) {
            let le = s
                .labels
                .iter()
                .find(|(k, _)| k == "le")
                .ok_or(format!("{bucket} without le"))?;
            let bound = if le.1 == "+Inf" {
                f64::INFINITY
            } else {
                le.1.parse()
                    .map_err(|_| format!("{bucket}: le {:?}", le.1))?
            };
            groups.entry(key(s)).or_default().push((bound, s.value));
        }
        for (labels, buckets) in groups {
            if buckets
                .windows(2)
                .any(|w| w[1].0 <= w[0].0 || w[1].1 < w[0].1)
            {
                return Err(format!(
                    "{bucket}{labels:?}: buckets not increasing and cumulative"
                ));
            }
            let last = buckets.last().copied().unwrap_or((0.0, 0.0));
            let count = out
                .iter()
                .find(|s| s.name == format!("{family}_count") && key(s) == labels)
                .map(|s| s.value);
            if last.0 != f64::INFINITY || count != Some(last.1) {
                return Err(format!(
                    "{bucket}{labels:?}: +Inf bucket {last:?} against count {count:?}"
                ));
            }
        }
    }
    Ok(out)
}
