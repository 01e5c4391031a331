//! Orders (Pedidos): takes the checkout, validates and prices it, persists the order, runs the
//! chain through Payments, and records the final status. A retry with the same idempotency key
//! returns the first outcome and writes nothing; concurrent duplicates wait for the first.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::{Connection, params};
use tokio::sync::watch;

use super::ServiceEnv;
mod interrupted;
mod record;

use record::{OrderRef, load_order};

use super::outbox::{self, OUTBOX_TABLE, Outbox};
use crate::admission::Gate;
use crate::error::{ServiceError, ServiceResult};
use crate::model::*;
use crate::ports::{CallCtx, OrdersPort, PaymentsPort};
use crate::store::{Db, OPERATIONS_TABLE, log_operation, now_text};
use crate::topology::ServiceName;

/// Schema of `pedidos.db`: the seed's `pedidos` and `itens_pedido` (money in cents), plus the
/// customers and the price book Orders validates and prices against.
pub const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS clientes (
    id INTEGER PRIMARY KEY,
    nome TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS precos (
    produto_id INTEGER PRIMARY KEY,
    preco_centavos INTEGER NOT NULL CHECK (preco_centavos >= 0)
);
CREATE TABLE IF NOT EXISTS pedidos (
    id INTEGER PRIMARY KEY,
    chave_idempotencia TEXT NOT NULL UNIQUE,
    cliente_id INTEGER NOT NULL REFERENCES clientes (id),
    data_criacao TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pendente', 'pagamento_aprovado', 'em_separacao',
                                           'nf_emitida', 'enviado', 'cancelado')),
    valor_total_centavos INTEGER NOT NULL,
    motivo TEXT,
    numero_nf TEXT,
    codigo_rastreamento TEXT
);
CREATE TABLE IF NOT EXISTS itens_pedido (
    id INTEGER PRIMARY KEY,
    pedido_id INTEGER NOT NULL REFERENCES pedidos (id),
    produto_id INTEGER NOT NULL,
    quantidade INTEGER NOT NULL CHECK (quantidade > 0),
    preco_unitario_centavos INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS itens_pedido_pedido ON itens_pedido (pedido_id);";

/// Longest idempotency key accepted.
pub const MAX_KEY_LEN: usize = 128;

type Outcome = Option<ServiceResult<OrderView>>;

/// The Orders service. Cheap to clone; each checkout runs in its own task, so a client that
/// disconnects mid-chain cannot leave its order `pendente`.
#[derive(Clone)]
pub struct OrdersService {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    env: ServiceEnv,
    payments: Arc<dyn PaymentsPort>,
    prices: HashMap<i64, i64>,
    customers: HashSet<i64>,
    in_flight: Mutex<HashMap<String, (RequestPrint, watch::Receiver<Outcome>)>>,
    outbox: Outbox,
    gate: Gate,
}

impl OrdersService {
    /// Opens `pedidos.db` and loads its customers and price book; `payments` is the next hop.
    pub fn open(env: &ServiceEnv, payments: Arc<dyn PaymentsPort>) -> ServiceResult<Self> {
        let db = env.open_db(
            ServiceName::Orders,
            &format!("{SCHEMA}{OPERATIONS_TABLE}{OUTBOX_TABLE}"),
        )?;
        let conn = Connection::open(db.path())?;
        let prices = conn
            .prepare("SELECT produto_id, preco_centavos FROM precos")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<HashMap<i64, i64>, _>>()?;
        let customers = conn
            .prepare("SELECT id FROM clientes")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let next = payments.clone();
        let outbox = Outbox::start(
            db.clone(),
            ServiceName::Orders,
            env.compensation_timeout,
            Arc::new(move |ctx, id| {
                let next = next.clone();
                Box::pin(async move { next.void_payment(ctx, id).await })
            }),
        );
        let inner = Arc::new(Inner {
            db,
            env: env.clone(),
            payments,
            prices,
            customers,
            in_flight: Mutex::new(HashMap::new()),
            outbox,
            gate: env.gate(ServiceName::Orders),
        });
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(interrupted::sweep(Arc::downgrade(&inner)));
        }
        Ok(Self { inner })
    }

    /// The service's database.
    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    /// Checks the request and prices its lines; nothing is written.
    pub fn validate(&self, req: &CheckoutRequest) -> ServiceResult<(Vec<OrderLine>, i64)> {
        self.inner.validate(req)
    }
}

impl Inner {
    fn validate(&self, req: &CheckoutRequest) -> ServiceResult<(Vec<OrderLine>, i64)> {
        let key = req.idempotency_key.trim();
        if key.is_empty() || key.len() > MAX_KEY_LEN || key.len() != req.idempotency_key.len() {
            return Err(ServiceError::invalid(
                "chave_idempotencia",
                format!("must be 1 to {MAX_KEY_LEN} characters without surrounding spaces"),
            ));
        }
        if req.customer_id <= 0 {
            return Err(ServiceError::invalid("cliente_id", "must be a positive id"));
        }
        let lines: Vec<(i64, i64)> = req
            .items
            .iter()
            .map(|i| (i.product_id, i.quantity))
            .collect();
        super::lines::check_lines(&lines)?;
        if !self.customers.contains(&req.customer_id) {
            return Err(ServiceError::NotFound {
                entity: "cliente",
                id: req.customer_id,
            });
        }
        let mut total: i64 = 0;
        let mut lines = Vec::with_capacity(req.items.len());
        for item in &req.items {
            let price = *self
                .prices
                .get(&item.product_id)
                .ok_or(ServiceError::NotFound {
                    entity: "produto",
                    id: item.product_id,
                })?;
            total = price
                .checked_mul(item.quantity)
                .and_then(|t| t.checked_add(total))
                .ok_or_else(|| ServiceError::invalid("itens", "order total overflows"))?;
            lines.push(OrderLine {
                product_id: item.product_id,
                quantity: item.quantity,
                unit_price_cents: price,
            });
        }
        if total <= 0 {
            return Err(ServiceError::invalid(
                "itens",
                "order total must be positive",
            ));
        }
        Ok((lines, total))
    }

    async fn run_checkout(
        &self,
        ctx: CallCtx,
        req: CheckoutRequest,
        lines: Vec<OrderLine>,
        total: i64,
    ) -> ServiceResult<OrderView> {
        let key = req.idempotency_key.clone();
        let customer = req.customer_id;
        let print = RequestPrint::of_request(&req);
        // Orders is the one service that commits twice per checkout, and must: the order (its
        // id, key and lines, `pendente`) is made durable before any other service hears of it.
        // Were it committed only with the final status, a crash mid-chain would leave Payments,
        // Inventory, Fiscal and Logistics holding records of an order id Orders never stored —
        // one it could hand to the next checkout — and no `pendente` row for the interrupted
        // sweep to find and cancel (write-ahead intent). The services downstream commit once.
        let created = self
            .db
            .write(move |conn| {
                if let Some(view) = load_order(conn, OrderRef::Key(&key))? {
                    // A retry answers with the first outcome only if it is the same request.
                    if RequestPrint::of_order(&view) != print {
                        return Err(ServiceError::KeyReused);
                    }
                    return Ok(view);
                }
                conn.prepare_cached(
                    "INSERT INTO pedidos (chave_idempotencia, cliente_id, data_criacao, status, valor_total_centavos)
                     VALUES (?1, ?2, ?3, 'pendente', ?4)",
                )?
                .execute(params![key, customer, now_text(), total])?;
                let order_id = conn.last_insert_rowid();
                let mut item = conn.prepare_cached(
                    "INSERT INTO itens_pedido (pedido_id, produto_id, quantidade, preco_unitario_centavos)
                     VALUES (?1, ?2, ?3, ?4)",
                )?;
                for l in &lines {
                    item.execute(params![order_id, l.product_id, l.quantity, l.unit_price_cents])?;
                }
                log_operation(conn, "criar_pedido", Some(order_id), &key)?;
                Ok(OrderView {
                    order_id,
                    idempotency_key: key,
                    customer_id: customer,
                    status: OrderStatus::Pendente,
                    total_cents: total,
                    reason: None,
                    invoice_number: None,
                    tracking_code: None,
                    lines,
                })
            })
            .await?;
        if created.status.is_final() {
            return Ok(created);
        }
        // New, or pendente from an interrupted run: every hop is idempotent, so run (again).
        let order_id = created.order_id;
        let payment = PaymentRequest {
            order_id,
            order_key: created.idempotency_key.clone(),
            amount_cents: created.total_cents,
            lines: created.lines.clone(),
        };
        let (status, reason, fulfilment, error) =
            match self.payments.process_payment(ctx, payment).await {
                Ok(r) if r.success => (OrderStatus::Enviado, None, r.fulfilment, None),
                Ok(r) => (OrderStatus::Cancelado, Some(r.message), None, None),
                Err(e) => {
                    let reason = Some(e.to_string());
                    let passes_through = !matches!(
                        e,
                        ServiceError::OutOfStock { .. } | ServiceError::Aborted { .. }
                    );
                    (
                        OrderStatus::Cancelado,
                        reason,
                        None,
                        passes_through.then_some(e),
                    )
                }
            };
        if status == OrderStatus::Enviado && fulfilment.is_none() {
            return Err(ServiceError::Internal(
                "approved payment without fulfilment".into(),
            ));
        }
        let view = OrderView {
            status,
            reason: reason.clone(),
            invoice_number: fulfilment.as_ref().map(|f| f.invoice_number.clone()),
            tracking_code: fulfilment.as_ref().map(|f| f.tracking_code.clone()),
            ..created
        };
        let (invoice, tracking) = (view.invoice_number.clone(), view.tracking_code.clone());
        // When the failure leaves it unknown what Payments and the rest did, the void travels
        // through the outbox, recorded with the cancellation itself.
        let compensate = error.as_ref().is_some_and(ServiceError::is_uncertain);
        self.db
            .write_undo(move |conn| {
                if compensate {
                    outbox::enqueue(conn, order_id)?;
                }
                conn.prepare_cached(
                    "UPDATE pedidos SET status = ?2, motivo = ?3, numero_nf = ?4, codigo_rastreamento = ?5
                     WHERE id = ?1",
                )?
                .execute(params![order_id, status.as_str(), reason, invoice, tracking])?;
                log_operation(conn, "finalizar_pedido", Some(order_id), status.as_str())?;
                Ok(())
            })
            .await?;
        if compensate {
            self.outbox.deliver(order_id).await;
        }
        match error {
            Some(e) => Err(e),
            None => Ok(view),
        }
    }
}

/// What makes two checkouts the same request: the customer and the items (product, quantity),
/// in any order. A key reused with a different print is refused (`KeyReused`), as the IETF
/// `Idempotency-Key` draft and Stripe do, instead of answering with someone else's order.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RequestPrint {
    customer_id: i64,
    items: Vec<(i64, i64)>,
}

impl RequestPrint {
    fn new(customer_id: i64, items: impl Iterator<Item = (i64, i64)>) -> Self {
        let mut items: Vec<(i64, i64)> = items.collect();
        items.sort_unstable();
        Self { customer_id, items }
    }

    fn of_request(r: &CheckoutRequest) -> Self {
        Self::new(
            r.customer_id,
            r.items.iter().map(|i| (i.product_id, i.quantity)),
        )
    }

    fn of_order(o: &OrderView) -> Self {
        Self::new(
            o.customer_id,
            o.lines.iter().map(|l| (l.product_id, l.quantity)),
        )
    }
}

/// Removes an idempotency key from the in-flight table when its checkout ends, however it ends.
struct InFlightGuard {
    inner: Arc<Inner>,
    key: String,
    tx: watch::Sender<Outcome>,
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.inner
            .in_flight
            .lock()
            .expect("in-flight table poisoned")
            .remove(&self.key);
    }
}

#[async_trait]
impl OrdersPort for OrdersService {
    async fn place_order(&self, ctx: CallCtx, req: CheckoutRequest) -> ServiceResult<OrderView> {
        let inner = self.inner.clone();
        let (lines, total) = inner.validate(&req)?;
        // Refused before anything is written; admitted, the checkout holds its place until it
        // ends, also when the caller stops waiting.
        let admitted = inner.gate.admit(ctx)?;
        let ctx = ctx.capped(inner.env.chain_timeout);
        let print = RequestPrint::of_request(&req);
        let waiting = {
            let mut table = inner.in_flight.lock().expect("in-flight table poisoned");
            match table.get(&req.idempotency_key) {
                // The same key, under way for another request: refused at once.
                Some((first, _)) if *first != print => return Err(ServiceError::KeyReused),
                Some((_, rx)) => Err(rx.clone()),
                None => {
                    let (tx, rx) = watch::channel(None);
                    table.insert(req.idempotency_key.clone(), (print, rx));
                    Ok(tx)
                }
            }
        };
        match waiting {
            Ok(tx) => {
                let task = tokio::spawn(async move {
                    let guard = InFlightGuard {
                        inner: inner.clone(),
                        key: req.idempotency_key.clone(),
                        tx,
                    };
                    let result = inner.run_checkout(ctx, req, lines, total).await;
                    guard.tx.send_replace(Some(result.clone()));
                    drop(admitted);
                    result
                });
                task.await
                    .map_err(|e| ServiceError::Internal(format!("checkout task failed: {e}")))?
            }
            Err(mut rx) => {
                let outcome = rx.wait_for(Option::is_some).await.map(|v| v.clone());
                match outcome {
                    Ok(Some(result)) => result,
                    // The first attempt was dropped mid-way: its record is pendente; resume it.
                    _ => inner.run_checkout(ctx, req, lines, total).await,
                }
            }
        }
    }

    async fn get_order(&self, ctx: CallCtx, order_id: i64) -> ServiceResult<OrderView> {
        if order_id <= 0 {
            return Err(ServiceError::invalid("pedido_id", "must be a positive id"));
        }
        let _admitted = self.inner.gate.admit(ctx)?;
        self.inner
            .db
            .read(move |conn| load_order(conn, OrderRef::Id(order_id)))
            .await?
            .ok_or(ServiceError::NotFound {
                entity: "pedido",
                id: order_id,
            })
    }
}
