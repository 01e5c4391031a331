//! The core's port traits over raw TCP: per peer replica, one connection for forward calls and
//! one for compensations (each lane bounded by the core's [`Lanes`]), every call on it multiplexed
//! by request id, the caller's deadline sent in the frame and enforced locally too, and error
//! frames turned back into domain errors. A broken connection fails its calls as `Unavailable`
//! and the next call connects again.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use checkout_core::admission::{Lanes, PeerLimit};
use checkout_core::node;
use checkout_core::ports::within;
use checkout_core::*;
use checkout_proto::convert::*;
use checkout_proto::pb::{catalogo, comum, estoque};
use prost::Message;

use crate::conn::Conn;
use crate::frame::{self, Answer, Method};

/// One peer's connections: forward calls and compensations on separate connections, each lane
/// bounded on its own; a peer with several replicas gets both to each, and calls take the
/// replicas in turn (client-side round robin).
pub struct Link {
    peer: &'static str,
    chain: Vec<Conn>,
    undo: Vec<Conn>,
    next: AtomicUsize,
    lanes: Lanes,
}

impl Link {
    /// Lazy connections to every replica of `service` in `peers`.
    pub fn new(peers: &node::Peers, service: ServiceName) -> Arc<Self> {
        let peer = service.as_str();
        let replicas = peers.replicas(service);
        let tls = peers.tls().map(|t| &**t);
        Arc::new(Self {
            peer,
            chain: replicas.iter().map(|&a| Conn::new(peer, a, tls)).collect(),
            undo: replicas.iter().map(|&a| Conn::new(peer, a, tls)).collect(),
            next: AtomicUsize::new(0),
            lanes: Lanes::new(peer),
        })
    }

    async fn send<M: Message + Default>(
        &self,
        lane: &PeerLimit,
        conns: &[Conn],
        method: Method,
        ctx: CallCtx,
        msg: &impl Message,
    ) -> ServiceResult<M> {
        let conn = &conns[self.next.fetch_add(1, Ordering::Relaxed) % conns.len()];
        lane.run(ctx, within(ctx, self.peer, conn.call(method, ctx, msg)))
            .await
    }

    /// A forward call.
    pub async fn forward<M: Message + Default>(
        &self,
        method: Method,
        ctx: CallCtx,
        msg: &impl Message,
    ) -> ServiceResult<M> {
        self.send(&self.lanes.forward, &self.chain, method, ctx, msg)
            .await
    }

    /// A compensation, on its own connection and lane.
    async fn undo(&self, method: Method, ctx: CallCtx, order_id: i64) -> ServiceResult<()> {
        let msg = comum::PedidoRef {
            pedido_id: order_id,
        };
        self.send::<comum::Vazio>(&self.lanes.undo, &self.undo, method, ctx, &msg)
            .await
            .map(|_| ())
    }

    /// The text of the first replica's Prometheus metrics.
    pub async fn metrics(&self, ctx: CallCtx) -> ServiceResult<String> {
        let body = within(
            ctx,
            self.peer,
            self.chain[0].call_raw(Method::Metrics, ctx, &comum::Vazio {}),
        )
        .await?;
        match frame::parse_answer(&body) {
            Ok((_, Answer::Ok(text))) => Ok(String::from_utf8_lossy(text).into_owned()),
            _ => Err(ServiceError::Internal(format!(
                "{}: metrics not answered",
                self.peer
            ))),
        }
    }
}

/// Orders over TCP: what the bench and the tests drive.
#[derive(Clone)]
pub struct TcpOrders(pub Arc<Link>);

#[async_trait]
impl OrdersPort for TcpOrders {
    async fn place_order(&self, ctx: CallCtx, req: CheckoutRequest) -> ServiceResult<OrderView> {
        let msg = checkout_to_wire(req);
        order_from_wire(self.0.forward(Method::CriarPedido, ctx, &msg).await?)
    }
    async fn get_order(&self, ctx: CallCtx, order_id: i64) -> ServiceResult<OrderView> {
        let msg = comum::PedidoRef {
            pedido_id: order_id,
        };
        order_from_wire(self.0.forward(Method::ConsultarPedido, ctx, &msg).await?)
    }
}

/// Payments over TCP: Orders' next hop.
#[derive(Clone)]
pub struct TcpPayments(pub Arc<Link>);

#[async_trait]
impl PaymentsPort for TcpPayments {
    async fn process_payment(
        &self,
        ctx: CallCtx,
        req: PaymentRequest,
    ) -> ServiceResult<PaymentReply> {
        let msg = payment_to_wire(&req);
        let r = self
            .0
            .forward(Method::ProcessarPagamento, ctx, &msg)
            .await?;
        Ok(payment_reply_from_wire(r))
    }
    async fn void_payment(&self, ctx: CallCtx, order_id: i64) -> ServiceResult<()> {
        self.0.undo(Method::EstornarPagamento, ctx, order_id).await
    }
}

/// Inventory over TCP: Payments' next hop and Catalog's stock source.
#[derive(Clone)]
pub struct TcpInventory(pub Arc<Link>);

#[async_trait]
impl InventoryPort for TcpInventory {
    async fn reserve_stock(&self, ctx: CallCtx, req: ReserveRequest) -> ServiceResult<Fulfilment> {
        let msg = reserve_to_wire(&req);
        let r = self.0.forward(Method::SepararEstoque, ctx, &msg).await?;
        Ok(fulfilment_from_wire(r))
    }
    async fn release_stock(&self, ctx: CallCtx, order_id: i64) -> ServiceResult<()> {
        self.0.undo(Method::LiberarEstoque, ctx, order_id).await
    }
    async fn stock_levels(
        &self,
        ctx: CallCtx,
        product_ids: Vec<i64>,
    ) -> ServiceResult<Vec<StockLevel>> {
        let msg = estoque::ConsultarEstoqueRequest {
            produto_ids: product_ids,
        };
        let r: estoque::ConsultarEstoqueResponse =
            self.0.forward(Method::ConsultarEstoque, ctx, &msg).await?;
        Ok(r.niveis.into_iter().map(level_from_wire).collect())
    }
    async fn adjust_stock(
        &self,
        ctx: CallCtx,
        product_id: i64,
        delta: i64,
    ) -> ServiceResult<StockLevel> {
        let msg = estoque::AjustarEstoqueRequest {
            produto_id: product_id,
            delta,
        };
        let n = self.0.forward(Method::AjustarEstoque, ctx, &msg).await?;
        Ok(level_from_wire(n))
    }
}

/// Fiscal over TCP: Inventory's next hop.
#[derive(Clone)]
pub struct TcpFiscal(pub Arc<Link>);

#[async_trait]
impl FiscalPort for TcpFiscal {
    async fn issue_invoice(&self, ctx: CallCtx, req: InvoiceRequest) -> ServiceResult<Fulfilment> {
        let msg = invoice_to_wire(req);
        let r = self.0.forward(Method::EmitirNotaFiscal, ctx, &msg).await?;
        Ok(fulfilment_from_wire(r))
    }
    async fn cancel_invoice(&self, ctx: CallCtx, order_id: i64) -> ServiceResult<()> {
        self.0.undo(Method::CancelarNotaFiscal, ctx, order_id).await
    }
}

/// Logistics over TCP: Fiscal's next hop.
#[derive(Clone)]
pub struct TcpLogistics(pub Arc<Link>);

#[async_trait]
impl LogisticsPort for TcpLogistics {
    async fn schedule_shipment(
        &self,
        ctx: CallCtx,
        req: ShipmentRequest,
    ) -> ServiceResult<ShipmentReply> {
        let msg = shipment_to_wire(req);
        let r = self.0.forward(Method::AgendarEnvio, ctx, &msg).await?;
        Ok(shipment_reply_from_wire(r))
    }
    async fn cancel_shipment(&self, ctx: CallCtx, order_id: i64) -> ServiceResult<()> {
        self.0.undo(Method::CancelarEnvio, ctx, order_id).await
    }
}

/// Catalog over TCP: what the bench and the tests drive.
#[derive(Clone)]
pub struct TcpCatalog(pub Arc<Link>);

#[async_trait]
impl CatalogPort for TcpCatalog {
    async fn list_products(
        &self,
        ctx: CallCtx,
        filter: ProductFilter,
    ) -> ServiceResult<Vec<ProductInfo>> {
        let msg = filter_to_wire(filter);
        let r: catalogo::ListaProdutosResponse =
            self.0.forward(Method::ListarProdutos, ctx, &msg).await?;
        Ok(r.produtos.into_iter().map(product_from_wire).collect())
    }
    async fn update_stock(
        &self,
        ctx: CallCtx,
        product_id: i64,
        delta: i64,
    ) -> ServiceResult<ProductInfo> {
        let msg = catalogo::AtualizarEstoqueRequest {
            produto_id: product_id,
            delta,
        };
        let p = self.0.forward(Method::AtualizarEstoque, ctx, &msg).await?;
        Ok(product_from_wire(p))
    }
}

/// Clients of all six services at the given addresses, each on its own connections.
pub struct TcpClients {
    /// Orders.
    pub orders: TcpOrders,
    /// Payments.
    pub payments: TcpPayments,
    /// Inventory.
    pub inventory: TcpInventory,
    /// Fiscal.
    pub fiscal: TcpFiscal,
    /// Logistics.
    pub logistics: TcpLogistics,
    /// Catalog.
    pub catalog: TcpCatalog,
}

impl TcpClients {
    /// Lazily connected clients for every service in `peers`.
    pub fn new(peers: &node::Peers) -> Self {
        Self {
            orders: TcpOrders(Link::new(peers, ServiceName::Orders)),
            payments: TcpPayments(Link::new(peers, ServiceName::Payments)),
            inventory: TcpInventory(Link::new(peers, ServiceName::Inventory)),
            fiscal: TcpFiscal(Link::new(peers, ServiceName::Fiscal)),
            logistics: TcpLogistics(Link::new(peers, ServiceName::Logistics)),
            catalog: TcpCatalog(Link::new(peers, ServiceName::Catalog)),
        }
    }
}
