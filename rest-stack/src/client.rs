//! The core's port traits over reqwest: pooled keep-alive clients per peer (forward calls and
//! compensations apart, each lane bounded; one pool per calling thread), HTTP/1.1 by default or
//! HTTP/2 with prior knowledge, the caller's deadline sent as `x-timeout-ms` and enforced
//! locally, and error bodies turned back into domain errors.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use checkout_core::admission::{Lanes, PeerLimit};
use checkout_core::node::Peers;
use checkout_core::ports::within;
use checkout_core::tls::{Tls, alpn};
use checkout_core::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::errors::{from_response, from_transport};
use crate::handlers::{TIMEOUT_HEADER, TRACE_HEADER};
use crate::wire::*;

/// One peer: its base URL and two pooled clients that reach it — forward calls on one,
/// compensations on the other (their own connections) — each lane bounded on its own
/// ([`Lanes`]), the clients one pair per calling thread ([`ThreadClients`]).
#[derive(Clone)]
pub struct Peer {
    clients: Arc<ThreadClients>,
    lanes: Arc<Lanes>,
    /// `http(s)://ADDR` of every replica, taken in turn (client-side round robin).
    /// Parsed once: a request's URL is its replica's with the path set, with no parsing of
    /// scheme and host (nor their IDNA pass) per call.
    bases: Arc<[reqwest::Url]>,
    next: Arc<std::sync::atomic::AtomicUsize>,
    name: &'static str,
}

/// The pooled keep-alive client every peer (and the calibration echo and the sink's client) uses:
/// HTTP/1.1, or HTTP/2 with prior knowledge; over TLS with the chain's material when `tls` is
/// given (ALPN offering only the version asked for).
pub fn http_client(http2: bool, tls: Option<&Tls>) -> reqwest::Client {
    checkout_core::tls::install_crypto();
    let b = reqwest::Client::builder()
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(1))
        .pool_idle_timeout(Duration::from_secs(60))
        .no_proxy();
    let b = match tls {
        Some(t) => {
            let alpn = if http2 { alpn::H2 } else { alpn::HTTP1 };
            let config = t
                .client_config(&[alpn])
                .expect("the chain's TLS material was checked when it was read");
            b.tls_backend_preconfigured(config)
        }
        // In the clear it never verifies a certificate: trusting no roots spares every client
        // the system's certificate store, which reqwest otherwise loads and parses when built.
        None => b.tls_certs_only(std::iter::empty::<reqwest::Certificate>()),
    };
    let b = if http2 {
        b.http2_prior_knowledge()
    } else {
        b.http1_only()
    };
    b.build().expect("reqwest client")
}

/// A peer's clients, a pair per thread that calls it. reqwest runs a connection's task on the
/// runtime of the thread that opened it, and each actix worker is a runtime of its own: with one
/// client shared by a service's workers, a request accepted by one worker had its next-hop call
/// carried by a connection another worker opened, and each call woke that worker and was woken
/// back (an eventfd write each way, seen under strace on Catalog's listing), so how the accepted
/// connections happened to fall on the workers decided part of the hop's cost. Per thread, a
/// request's whole path stays on the worker that accepted it. Lanes stay shared: the bounds are
/// per peer.
struct ThreadClients {
    forward: thread_local::ThreadLocal<reqwest::Client>,
    undo: thread_local::ThreadLocal<reqwest::Client>,
    http2: bool,
    tls: Option<Arc<Tls>>,
}

impl ThreadClients {
    fn new(http2: bool, tls: Option<Arc<Tls>>) -> Self {
        Self {
            forward: thread_local::ThreadLocal::new(),
            undo: thread_local::ThreadLocal::new(),
            http2,
            tls,
        }
    }

    /// This thread's client for forward calls (`undo` false) or compensations.
    fn get(&self, undo: bool) -> &reqwest::Client {
        let slot = if undo { &self.undo } else { &self.forward };
        slot.get_or(|| http_client(self.http2, self.tls.as_deref()))
    }
}

/// `https://ADDR` with TLS, `http://ADDR` without.
pub fn base_url(addr: std::net::SocketAddr, tls: Option<&Tls>) -> String {
    let scheme = if tls.is_some() { "https" } else { "http" };
    format!("{scheme}://{addr}")
}

impl Peer {
    /// A client for `service`'s `replicas` (at least one), each request to the next in turn,
    /// over TLS with `tls`; the pools hold connections to all of them.
    pub fn replicated(
        service: ServiceName,
        replicas: &[std::net::SocketAddr],
        http2: bool,
        tls: Option<&Arc<Tls>>,
    ) -> Self {
        let tls = tls.cloned();
        Self {
            clients: Arc::new(ThreadClients::new(http2, tls.clone())),
            lanes: Arc::new(Lanes::new(service.as_str())),
            bases: replicas
                .iter()
                .map(|&a| {
                    reqwest::Url::parse(&base_url(a, tls.as_deref()))
                        .expect("a socket address makes a URL")
                })
                .collect(),
            next: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
            name: service.as_str(),
        }
    }

    /// `path` on the next replica.
    fn url(&self, path: &str) -> reqwest::Url {
        let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut url = self.bases[i % self.bases.len()].clone();
        url.set_path(path);
        url
    }

    /// Sends `req` once `lane` lets it go (refused, with nothing sent, when it is throttled or has
    /// no slot).
    async fn send<T: DeserializeOwned>(
        &self,
        ctx: CallCtx,
        lane: &PeerLimit,
        req: reqwest::RequestBuilder,
    ) -> ServiceResult<T> {
        let name = self.name;
        // Built once the lane lets the request go, so the deadline it carries is what is left then.
        let call = within(ctx, name, async move {
            let req = match ctx.remaining() {
                Some(left) => req.header(TIMEOUT_HEADER, left.as_millis().max(1).to_string()),
                None => req,
            };
            let req = match ctx.trace {
                Some(t) => req.header(TRACE_HEADER, t.header()),
                None => req,
            };
            let resp = req.send().await.map_err(|e| from_transport(&e, name))?;
            let status = resp.status();
            let body = resp.bytes().await.map_err(|e| from_transport(&e, name))?;
            if !status.is_success() {
                return Err(from_response(status, &body, name));
            }
            let body: &[u8] = if body.is_empty() { b"null" } else { &body };
            serde_json::from_slice(body)
                .map_err(|e| ServiceError::Internal(format!("{name}: bad answer: {e}")))
        });
        lane.run(ctx, call).await
    }

    /// POSTs `body` as JSON to `path`.
    pub async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        ctx: CallCtx,
        path: &str,
        body: &B,
    ) -> ServiceResult<T> {
        let req = self.clients.get(false).post(self.url(path)).json(body);
        self.send(ctx, &self.lanes.forward, req).await
    }

    /// POSTs a compensation (`body` as JSON to `path`) on the compensation lane.
    pub async fn post_undo<B: Serialize, T: DeserializeOwned>(
        &self,
        ctx: CallCtx,
        path: &str,
        body: &B,
    ) -> ServiceResult<T> {
        let req = self.clients.get(true).post(self.url(path)).json(body);
        self.send(ctx, &self.lanes.undo, req).await
    }

    /// GETs `path` with `query`.
    pub async fn get<Q: Serialize, T: DeserializeOwned>(
        &self,
        ctx: CallCtx,
        path: &str,
        query: &Q,
    ) -> ServiceResult<T> {
        let req = self.clients.get(false).get(self.url(path)).query(query);
        self.send(ctx, &self.lanes.forward, req).await
    }
}

/// Orders over REST.
#[derive(Clone)]
pub struct RestOrders(pub Peer);

#[async_trait]
impl OrdersPort for RestOrders {
    async fn place_order(&self, ctx: CallCtx, req: CheckoutRequest) -> ServiceResult<OrderView> {
        let p: Pedido = self
            .0
            .post(ctx, "/pedidos", &CriarPedidoRequest::from(req))
            .await?;
        p.try_into()
    }
    async fn get_order(&self, ctx: CallCtx, order_id: i64) -> ServiceResult<OrderView> {
        let p: Pedido = self
            .0
            .get(ctx, &format!("/pedidos/{order_id}"), &())
            .await?;
        p.try_into()
    }
}

/// Payments over REST.
#[derive(Clone)]
pub struct RestPayments(pub Peer);

#[async_trait]
impl PaymentsPort for RestPayments {
    async fn process_payment(
        &self,
        ctx: CallCtx,
        req: PaymentRequest,
    ) -> ServiceResult<PaymentReply> {
        let body = PagamentoRequest::from(&req);
        let r: PagamentoResponse = self.0.post(ctx, "/pagamentos", &body).await?;
        Ok(r.into())
    }
    async fn void_payment(&self, ctx: CallCtx, order_id: i64) -> ServiceResult<()> {
        self.0
            .post_undo(
                ctx,
                "/pagamentos/estornar",
                &PedidoRef {
                    pedido_id: order_id,
                },
            )
            .await
    }
}

/// Inventory over REST.
#[derive(Clone)]
pub struct RestInventory(pub Peer);

#[async_trait]
impl InventoryPort for RestInventory {
    async fn reserve_stock(&self, ctx: CallCtx, req: ReserveRequest) -> ServiceResult<Fulfilment> {
        let body = SepararEstoqueRequest::from(&req);
        let a: Atendimento = self.0.post(ctx, "/estoque/separar", &body).await?;
        Ok(a.into())
    }
    async fn release_stock(&self, ctx: CallCtx, order_id: i64) -> ServiceResult<()> {
        self.0
            .post_undo(
                ctx,
                "/estoque/liberar",
                &PedidoRef {
                    pedido_id: order_id,
                },
            )
            .await
    }
    async fn stock_levels(
        &self,
        ctx: CallCtx,
        product_ids: Vec<i64>,
    ) -> ServiceResult<Vec<StockLevel>> {
        let body = ConsultarEstoqueRequest {
            produto_ids: product_ids,
        };
        let r: ConsultarEstoqueResponse = self.0.post(ctx, "/estoque/consultar", &body).await?;
        Ok(r.niveis.into_iter().map(StockLevel::from).collect())
    }
    async fn adjust_stock(
        &self,
        ctx: CallCtx,
        product_id: i64,
        delta: i64,
    ) -> ServiceResult<StockLevel> {
        let n: NivelEstoque = self
            .0
            .post(
                ctx,
                "/estoque/ajustar",
                &AjustarEstoqueRequest {
                    produto_id: product_id,
                    delta,
                },
            )
            .await?;
        Ok(n.into())
    }
}

/// Fiscal over REST.
#[derive(Clone)]
pub struct RestFiscal(pub Peer);

#[async_trait]
impl FiscalPort for RestFiscal {
    async fn issue_invoice(&self, ctx: CallCtx, req: InvoiceRequest) -> ServiceResult<Fulfilment> {
        let body = EmitirNotaFiscalRequest::from(req);
        let a: Atendimento = self.0.post(ctx, "/notas-fiscais", &body).await?;
        Ok(a.into())
    }
    async fn cancel_invoice(&self, ctx: CallCtx, order_id: i64) -> ServiceResult<()> {
        self.0
            .post_undo(
                ctx,
                "/notas-fiscais/cancelar",
                &PedidoRef {
                    pedido_id: order_id,
                },
            )
            .await
    }
}

/// Logistics over REST.
#[derive(Clone)]
pub struct RestLogistics(pub Peer);

#[async_trait]
impl LogisticsPort for RestLogistics {
    async fn schedule_shipment(
        &self,
        ctx: CallCtx,
        req: ShipmentRequest,
    ) -> ServiceResult<ShipmentReply> {
        let body = AgendarEnvioRequest::from(req);
        let r: AgendarEnvioResponse = self.0.post(ctx, "/envios", &body).await?;
        Ok(r.into())
    }
    async fn cancel_shipment(&self, ctx: CallCtx, order_id: i64) -> ServiceResult<()> {
        self.0
            .post_undo(
                ctx,
                "/envios/cancelar",
                &PedidoRef {
                    pedido_id: order_id,
                },
            )
            .await
    }
}

/// Catalog over REST.
#[derive(Clone)]
pub struct RestCatalog(pub Peer);

#[async_trait]
impl CatalogPort for RestCatalog {
    async fn list_products(
        &self,
        ctx: CallCtx,
        filter: ProductFilter,
    ) -> ServiceResult<Vec<ProductInfo>> {
        let q = ListarProdutosQuery::from(filter);
        let ps: Vec<ProdutoInfo> = self.0.get(ctx, "/produtos", &q).await?;
        Ok(ps.into_iter().map(ProductInfo::from).collect())
    }
    async fn update_stock(
        &self,
        ctx: CallCtx,
        product_id: i64,
        delta: i64,
    ) -> ServiceResult<ProductInfo> {
        let p: ProdutoInfo = self
            .0
            .post(
                ctx,
                &format!("/produtos/{product_id}/estoque"),
                &AtualizarEstoqueRequest { delta },
            )
            .await?;
        Ok(p.into())
    }
}

/// Clients of all six services at the given addresses, each with its own pool.
pub struct RestClients {
    /// Orders.
    pub orders: RestOrders,
    /// Payments.
    pub payments: RestPayments,
    /// Inventory.
    pub inventory: RestInventory,
    /// Fiscal.
    pub fiscal: RestFiscal,
    /// Logistics.
    pub logistics: RestLogistics,
    /// Catalog.
    pub catalog: RestCatalog,
}

impl RestClients {
    /// Clients for every service in `peers`, over HTTP/2 (prior knowledge) when `http2`, over
    /// TLS when `peers` say so.
    pub fn new(peers: &Peers, http2: bool) -> Self {
        let p = |s: ServiceName| Peer::replicated(s, peers.replicas(s), http2, peers.tls());
        Self {
            orders: RestOrders(p(ServiceName::Orders)),
            payments: RestPayments(p(ServiceName::Payments)),
            inventory: RestInventory(p(ServiceName::Inventory)),
            fiscal: RestFiscal(p(ServiceName::Fiscal)),
            logistics: RestLogistics(p(ServiceName::Logistics)),
            catalog: RestCatalog(p(ServiceName::Catalog)),
        }
    }
}
