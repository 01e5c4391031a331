//! The shop's client (seed 002): list the products, search them by name, filter by maximum
//! price, update a product's stock, place an order and follow it through payment, invoice and
//! shipment, look an order up — over gRPC or REST, against a stack started by `serve` or by the
//! bench. The same actions as one-shot commands (`client produtos --nome banana --json`) for
//! scripts, and as a numbered menu read line by line from standard input: a plain menu works in
//! any terminal and through a pipe (so it can be scripted and tested), with no dependency.
//! Errors are shown as the documented error (kind and message), never a stack trace.

pub mod import;

use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use checkout_core::node::Peers;
use checkout_core::*;

/// How the client reaches the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// gRPC (tonic).
    Grpc,
    /// REST over HTTP/1.1.
    Rest,
    /// REST over HTTP/2 (prior knowledge).
    RestH2,
    /// Protobuf frames over plain TCP.
    Tcp,
}

impl Transport {
    /// `grpc`, `rest`, `rest-h2` or `tcp`.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "grpc" => Ok(Self::Grpc),
            "rest" | "rest-h1" => Ok(Self::Rest),
            "rest-h2" => Ok(Self::RestH2),
            "tcp" => Ok(Self::Tcp),
            other => Err(format!("{other:?}: expected grpc, rest, rest-h2 or tcp")),
        }
    }

    /// The name `parse` reads.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Grpc => "grpc",
            Self::Rest => "rest",
            Self::RestH2 => "rest-h2",
            Self::Tcp => "tcp",
        }
    }

    /// Where a stack started by `serve` with its default ports has Orders.
    pub fn default_orders(self) -> SocketAddr {
        let port = match self {
            Self::Grpc => 50051,
            Self::Rest | Self::RestH2 => 8080,
            Self::Tcp => 7070,
        };
        SocketAddr::from(([127, 0, 0, 1], port))
    }
}

/// What the client can do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Lists the products, optionally by name (substring) and maximum price (cents).
    Produtos {
        /// Part of the name.
        nome: Option<String>,
        /// Highest price, cents.
        preco_max_centavos: Option<i64>,
    },
    /// Changes a product's stock by `delta` units.
    Estoque {
        /// Product id.
        produto: i64,
        /// Units to add (negative to remove).
        delta: i64,
    },
    /// Places an order.
    Pedido {
        /// Customer id.
        cliente: i64,
        /// (product, quantity) lines.
        itens: Vec<(i64, i64)>,
        /// Idempotency key (a retry with the same key gets the first outcome).
        chave: String,
    },
    /// Looks an order up.
    Consultar {
        /// Order id.
        pedido: i64,
    },
}

/// TLS for the bench's own clients (`client`, `import`).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ClientTls {
    /// Reach the services over TLS with the chain's material in this folder (`tls` in the data
    /// directory of `serve --tls`, or its --tls-dir): trust its CA only, and present its
    /// certificate (which mutual TLS asks for).
    #[arg(long)]
    pub tls_dir: Option<std::path::PathBuf>,
}

impl ClientTls {
    /// The chain's material, when a folder was given.
    pub fn load(&self) -> anyhow::Result<Option<Arc<checkout_core::tls::Tls>>> {
        self.tls_dir
            .as_deref()
            .map(|d| {
                checkout_core::tls::Tls::load(d, false)
                    .map(Arc::new)
                    .map_err(|e| anyhow::anyhow!("--tls-dir: {e}"))
            })
            .transpose()
    }
}

/// A connected client.
pub struct Client {
    orders: Arc<dyn OrdersPort>,
    catalog: Arc<dyn CatalogPort>,
    timeout: Duration,
}

/// `R$ 19,90` for 1990 cents.
pub fn reais(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.abs();
    format!("{sign}R$ {},{:02}", c / 100, c % 100)
}

/// `19,90` or `19.90` (reais) as cents.
pub fn parse_reais(s: &str) -> Result<i64, String> {
    let t = s.trim().trim_start_matches("R$").trim().replace(',', ".");
    let v: f64 = t
        .parse()
        .map_err(|_| format!("{s:?}: expected a price in reais, e.g. 19,90"))?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("{s:?}: a price is a positive number of reais"));
    }
    Ok((v * 100.0).round() as i64)
}

/// `3:2` (product 3, two units) as a line.
pub fn parse_item(s: &str) -> Result<(i64, i64), String> {
    let (p, q) = s.split_once(':').unwrap_or((s, "1"));
    let num = |x: &str| {
        x.trim()
            .parse::<i64>()
            .map_err(|_| format!("{s:?}: expected PRODUTO:QUANTIDADE, e.g. 3:2"))
    };
    Ok((num(p)?, num(q)?))
}

fn products_text(ps: &[ProductInfo]) -> String {
    if ps.is_empty() {
        return "nenhum produto encontrado\n".into();
    }
    // Columns as wide as the longest name (in characters, as a terminal shows them).
    let w = ps.iter().map(|p| p.name.chars().count()).max().unwrap_or(0);
    let mut out = format!(
        "{:>6}  {:<w$} {:>12} {:>10}\n",
        "id", "nome", "preço", "estoque"
    );
    for p in ps {
        out.push_str(&format!(
            "{:>6}  {:<w$} {:>12} {:>10}\n",
            p.id,
            p.name,
            reais(p.price_cents),
            p.stock
        ));
    }
    out
}

fn order_text(o: &OrderView) -> String {
    let mut out = format!(
        "pedido {}: {} — total {} (cliente {}, chave {})\n",
        o.order_id,
        o.status.as_str(),
        reais(o.total_cents),
        o.customer_id,
        o.idempotency_key
    );
    // The chain as it went: payment, then invoice, then shipment, or why it stopped.
    match o.status {
        OrderStatus::Enviado => out.push_str(
            "  pagamento aprovado → estoque separado → nota fiscal emitida → envio agendado\n",
        ),
        OrderStatus::Cancelado => out.push_str(&format!(
            "  cancelado: {}\n",
            o.reason.as_deref().unwrap_or("motivo não informado")
        )),
        _ => out.push_str("  em andamento\n"),
    }
    if let Some(nf) = &o.invoice_number {
        out.push_str(&format!("  nota fiscal: {nf}\n"));
    }
    if let Some(t) = &o.tracking_code {
        out.push_str(&format!("  rastreio: {t}\n"));
    }
    for l in &o.lines {
        out.push_str(&format!(
            "  {}× produto {} a {}\n",
            l.quantity,
            l.product_id,
            reais(l.unit_price_cents)
        ));
    }
    out
}

fn error_text(e: &ServiceError) -> String {
    format!("erro ({}): {e}\n", e.kind())
}

impl Client {
    /// A client over `transport` with Orders at `orders` and Catalog at `catalog`, over TLS with
    /// `tls`.
    pub fn connect(
        transport: Transport,
        orders: SocketAddr,
        catalog: SocketAddr,
        tls: Option<Arc<checkout_core::tls::Tls>>,
    ) -> Self {
        let mut peers = Peers::from_base(orders.ip(), 0).with_tls(tls);
        peers.set(ServiceName::Orders, orders);
        peers.set(ServiceName::Catalog, catalog);
        let (o, c): (Arc<dyn OrdersPort>, Arc<dyn CatalogPort>) = match transport {
            Transport::Grpc => {
                let c = grpc_stack::GrpcClients::new(&peers);
                (Arc::new(c.orders), Arc::new(c.catalog))
            }
            Transport::Rest | Transport::RestH2 => {
                let c = rest_stack::RestClients::new(&peers, transport == Transport::RestH2);
                (Arc::new(c.orders), Arc::new(c.catalog))
            }
            Transport::Tcp => {
                let c = tcp_stack::TcpClients::new(&peers);
                (Arc::new(c.orders), Arc::new(c.catalog))
            }
        };
        Self::over(o, c)
    }

    /// A client over ports already at hand (any wiring).
    pub fn over(orders: Arc<dyn OrdersPort>, catalog: Arc<dyn CatalogPort>) -> Self {
        Self {
            orders,
            catalog,
            timeout: Duration::from_secs(10),
        }
    }

    fn ctx(&self) -> CallCtx {
        CallCtx::with_timeout(self.timeout)
    }

    /// Runs one action: its answer as text (or JSON), or the documented error as text.
    pub async fn run(&self, action: &Action, json: bool) -> Result<String, String> {
        let shown = |v: &dyn erased::Show, text: String| {
            if json { v.json() } else { text }
        };
        let result = match action {
            Action::Produtos {
                nome,
                preco_max_centavos,
            } => self
                .catalog
                .list_products(
                    self.ctx(),
                    ProductFilter {
                        name_contains: nome.clone(),
                        max_price_cents: *preco_max_centavos,
                    },
                )
                .await
                .map(|ps| shown(&ps, products_text(&ps))),
            Action::Estoque { produto, delta } => self
                .catalog
                .update_stock(self.ctx(), *produto, *delta)
                .await
                .map(|p| shown(&p, products_text(std::slice::from_ref(&p)))),
            Action::Pedido {
                cliente,
                itens,
                chave,
            } => {
                let req = CheckoutRequest {
                    idempotency_key: chave.clone(),
                    customer_id: *cliente,
                    items: itens
                        .iter()
                        .map(|&(product_id, quantity)| ItemRequest {
                            product_id,
                            quantity,
                        })
                        .collect(),
                };
                self.orders
                    .place_order(self.ctx(), req)
                    .await
                    .map(|o| shown(&o, order_text(&o)))
            }
            Action::Consultar { pedido } => self
                .orders
                .get_order(self.ctx(), *pedido)
                .await
                .map(|o| shown(&o, order_text(&o))),
        };
        result.map_err(|e| error_text(&e))
    }
}

/// JSON of whatever an action answers, behind one object-safe trait.
mod erased {
    /// Something the client can print as JSON.
    pub trait Show {
        fn json(&self) -> String;
    }

    impl<T: serde::Serialize> Show for T {
        fn json(&self) -> String {
            serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
        }
    }
}

/// A fresh idempotency key for an order placed from this client.
pub fn new_key() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("cliente-{}-{}", std::process::id(), now.as_micros())
}

const MENU: &str = "\n1) Listar produtos\n2) Buscar por nome\n3) Filtrar por preço máximo\n4) Atualizar estoque\n5) Fazer pedido\n6) Consultar pedido\n0) Sair\n> ";

/// Reads one answer to `prompt`; `None` at the end of the input.
fn ask(input: &mut impl BufRead, out: &mut impl Write, prompt: &str) -> Option<String> {
    let _ = write!(out, "{prompt}");
    let _ = out.flush();
    let mut line = String::new();
    match input.read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim().to_owned()),
    }
}

/// Reads what an action needs; `Err` says why the answer was not understood.
fn read_action(
    choice: &str,
    input: &mut impl BufRead,
    out: &mut impl Write,
) -> Option<Result<Action, String>> {
    let num = |s: String, what: &str| {
        s.parse::<i64>()
            .map_err(|_| format!("{s:?}: {what} é um número inteiro"))
    };
    Some(match choice {
        "1" => Ok(Action::Produtos {
            nome: None,
            preco_max_centavos: None,
        }),
        "2" => Ok(Action::Produtos {
            nome: Some(ask(input, out, "nome (ou parte): ")?),
            preco_max_centavos: None,
        }),
        "3" => {
            let p = ask(input, out, "preço máximo (R$): ")?;
            parse_reais(&p).map(|c| Action::Produtos {
                nome: None,
                preco_max_centavos: Some(c),
            })
        }
        "4" => {
            let id = ask(input, out, "produto (id): ")?;
            let d = ask(input, out, "variação do estoque (ex.: 10 ou -3): ")?;
            num(id, "o produto").and_then(|produto| {
                num(d, "a variação").map(|delta| Action::Estoque { produto, delta })
            })
        }
        "5" => {
            let c = ask(input, out, "cliente (id): ")?;
            let i = ask(
                input,
                out,
                "itens PRODUTO:QUANTIDADE separados por espaço (ex.: 1:2 3:1): ",
            )?;
            num(c, "o cliente").and_then(|cliente| {
                let itens: Result<Vec<_>, _> = i.split_whitespace().map(parse_item).collect();
                itens.map(|itens| Action::Pedido {
                    cliente,
                    itens,
                    chave: new_key(),
                })
            })
        }
        "6" => {
            let p = ask(input, out, "pedido (id): ")?;
            num(p, "o pedido").map(|pedido| Action::Consultar { pedido })
        }
        other => Err(format!("opção {other:?} não existe")),
    })
}

/// The menu: reads choices from `input` until `0` or its end, answering on `out`.
pub async fn interactive(client: &Client, mut input: impl BufRead, mut out: impl Write) {
    while let Some(choice) = ask(&mut input, &mut out, MENU) {
        if choice == "0" {
            break;
        }
        let answer = match read_action(&choice, &mut input, &mut out) {
            None => break,
            Some(Err(why)) => format!("erro: {why}\n"),
            Some(Ok(action)) => match client.run(&action, false).await {
                Ok(text) | Err(text) => text,
            },
        };
        let _ = write!(out, "{answer}");
    }
    let _ = writeln!(out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_items_and_transports_are_read_as_a_person_types_them() {
        assert_eq!(reais(1990), "R$ 19,90");
        assert_eq!(reais(5), "R$ 0,05");
        assert_eq!(parse_reais("19,90"), Ok(1990));
        assert_eq!(parse_reais("R$ 5"), Ok(500));
        assert!(parse_reais("barato").is_err());
        assert!(parse_reais("-1").is_err());
        assert_eq!(parse_item("3:2"), Ok((3, 2)));
        assert_eq!(parse_item("7"), Ok((7, 1)));
        assert!(parse_item("a:b").is_err());
        assert_eq!(Transport::parse("rest-h2"), Ok(Transport::RestH2));
        assert_eq!(Transport::parse("tcp"), Ok(Transport::Tcp));
        assert!(Transport::parse("soap").is_err());
    }
}
