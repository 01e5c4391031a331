//! The core's port traits over tonic: two long-lived channels per peer, one for forward calls and
//! one for compensations, each lane bounded (HTTP/2 multiplexes every request over its channel,
//! which reconnects by itself after the peer restarts), the caller's deadline
//! sent as `grpc-timeout` and enforced locally too, and statuses turned back into domain errors.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use async_trait::async_trait;
use checkout_core::admission::PeerLimit;
use checkout_core::node;
use checkout_core::ports::within;
use checkout_core::tls::{self, Tls};
use checkout_core::*;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic::{Request, Response, Status};

use crate::convert::*;
use crate::pb::catalogo::catalogo_client::CatalogoClient;
use crate::pb::estoque::estoque_client::EstoqueClient;
use crate::pb::fiscal::fiscal_client::FiscalClient;
use crate::pb::logistica::logistica_client::LogisticaClient;
use crate::pb::pagamento::pagamento_client::PagamentoClient;
use crate::pb::pedidos::pedidos_client::PedidosClient;
use crate::pb::{catalogo, comum, estoque};
use crate::status::from_status;
use checkout_core::coalesce::Coalesce;

pub use crate::link::{CHANNELS_PER_THREAD, Link};

/// A lazily connected channel to `addr`: no traffic until the first call, reconnects on demand
/// (through [`CoalescingConnector`]); over TLS with the chain's material when `tls` is given.
pub fn channel(addr: SocketAddr, tls: Option<&Tls>) -> Channel {
    let scheme = if tls.is_some() { "https" } else { "http" };
    let endpoint = Endpoint::from_shared(format!("{scheme}://{addr}"))
        .expect("a socket address is a valid URI")
        .connect_timeout(Duration::from_secs(1));
    let endpoint = match tls {
        Some(t) => endpoint
            .tls_config(client_tls(t))
            .expect("the chain's TLS material was checked when it was read"),
        None => endpoint,
    };
    endpoint.connect_with_connector_lazy(CoalescingConnector(addr))
}

/// Connects to one address with `TCP_NODELAY`, the stream wrapped in [`Coalesce`] so that a
/// call's HEADERS and DATA frames leave in one segment.
#[derive(Clone, Copy)]
struct CoalescingConnector(SocketAddr);

impl tonic::codegen::Service<tonic::codegen::http::Uri> for CoalescingConnector {
    type Response = hyper_util::rt::TokioIo<Coalesce<tokio::net::TcpStream>>;
    type Error = std::io::Error;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>,
    >;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: tonic::codegen::http::Uri) -> Self::Future {
        let addr = self.0;
        Box::pin(async move {
            let s = tokio::net::TcpStream::connect(addr).await?;
            s.set_nodelay(true)?;
            Ok(hyper_util::rt::TokioIo::new(Coalesce::new(s)))
        })
    }
}

/// The client side of the chain's TLS: trust its CA only, check the server for
/// [`tls::CHAIN_NAME`], present the chain's certificate unless told not to.
pub fn client_tls(t: &Tls) -> ClientTlsConfig {
    let config = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&t.ca_pem))
        .domain_name(tls::CHAIN_NAME);
    if t.present_cert {
        config.identity(Identity::from_pem(&t.cert_pem, &t.key_pem))
    } else {
        config
    }
}

fn request<T>(ctx: CallCtx, msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    if let Some(left) = ctx.remaining() {
        r.set_timeout(left);
    }
    if let Some(v) = ctx.trace.and_then(|t| t.header().parse().ok()) {
        r.metadata_mut().insert("traceparent", v);
    }
    r
}

/// Sends `msg` through `rpc` once `lane` lets it go (refused, with nothing sent, when it is
/// throttled or has no slot). The request is built only then, so the `grpc-timeout` it carries
/// is the time left once the lane let it go, not before it waited.
async fn call<M, T, F>(
    ctx: CallCtx,
    peer: &'static str,
    lane: &PeerLimit,
    msg: M,
    rpc: impl FnOnce(Request<M>) -> F,
) -> ServiceResult<T>
where
    F: Future<Output = Result<Response<T>, Status>>,
{
    lane.run(
        ctx,
        within(ctx, peer, async {
            rpc(request(ctx, msg))
                .await
                .map(Response::into_inner)
                .map_err(|s| from_status(&s, peer))
        }),
    )
    .await
}

fn order_ref(order_id: i64) -> comum::PedidoRef {
    comum::PedidoRef {
        pedido_id: order_id,
    }
}

/// Orders over gRPC: what the bench and the tests drive.
#[derive(Clone)]
pub struct GrpcOrders(pub Link<PedidosClient<Channel>>);

#[async_trait]
impl OrdersPort for GrpcOrders {
    async fn place_order(&self, ctx: CallCtx, req: CheckoutRequest) -> ServiceResult<OrderView> {
        let msg = checkout_to_wire(req);
        order_from_wire(
            call(ctx, "orders", &self.0.lanes.forward, msg, |r| async move {
                self.0.chain().criar_pedido(r).await
            })
            .await?,
        )
    }
    async fn get_order(&self, ctx: CallCtx, order_id: i64) -> ServiceResult<OrderView> {
        let msg = order_ref(order_id);
        order_from_wire(
            call(ctx, "orders", &self.0.lanes.forward, msg, |r| async move {
                self.0.chain().consultar_pedido(r).await
            })
            .await?,
        )
    }
}

/// Payments over gRPC: Orders' next hop.
#[derive(Clone)]
pub struct GrpcPayments(pub Link<PagamentoClient<Channel>>);

#[async_trait]
impl PaymentsPort for GrpcPayments {
    async fn process_payment(
        &self,
        ctx: CallCtx,
        req: PaymentRequest,
    ) -> ServiceResult<PaymentReply> {
        let msg = payment_to_wire(&req);
        let r = call(
            ctx,
            "payments",
            &self.0.lanes.forward,
            msg,
            |r| async move { self.0.chain().processar_pagamento(r).await },
        )
        .await?;
        Ok(payment_reply_from_wire(r))
    }
    async fn void_payment(&self, ctx: CallCtx, order_id: i64) -> ServiceResult<()> {
        call(
            ctx,
            "payments",
            &self.0.lanes.undo,
            order_ref(order_id),
            |r| async move { self.0.undo().estornar_pagamento(r).await },
        )
        .await?;
        Ok(())
    }
}

/// Inventory over gRPC: Payments' next hop and Catalog's stock source.
#[derive(Clone)]
pub struct GrpcInventory(pub Link<EstoqueClient<Channel>>);

#[async_trait]
impl InventoryPort for GrpcInventory {
    async fn reserve_stock(&self, ctx: CallCtx, req: ReserveRequest) -> ServiceResult<Fulfilment> {
        let msg = reserve_to_wire(&req);
        Ok(fulfilment_from_wire(
            call(
                ctx,
                "inventory",
                &self.0.lanes.forward,
                msg,
                |r| async move { self.0.chain().separar_estoque(r).await },
            )
            .await?,
        ))
    }
    async fn release_stock(&self, ctx: CallCtx, order_id: i64) -> ServiceResult<()> {
        call(
            ctx,
            "inventory",
            &self.0.lanes.undo,
            order_ref(order_id),
            |r| async move { self.0.undo().liberar_estoque(r).await },
        )
        .await?;
        Ok(())
    }
    async fn stock_levels(
        &self,
        ctx: CallCtx,
        product_ids: Vec<i64>,
    ) -> ServiceResult<Vec<StockLevel>> {
        let msg = estoque::ConsultarEstoqueRequest {
            produto_ids: product_ids,
        };
        let r = call(
            ctx,
            "inventory",
            &self.0.lanes.forward,
            msg,
            |r| async move { self.0.chain().consultar_estoque(r).await },
        )
        .await?;
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
        let n = call(
            ctx,
            "inventory",
            &self.0.lanes.forward,
            msg,
            |r| async move { self.0.chain().ajustar_estoque(r).await },
        )
        .await?;
        Ok(level_from_wire(n))
    }
}

/// Fiscal over gRPC: Inventory's next hop.
#[derive(Clone)]
pub struct GrpcFiscal(pub Link<FiscalClient<Channel>>);

#[async_trait]
impl FiscalPort for GrpcFiscal {
    async fn issue_invoice(&self, ctx: CallCtx, req: InvoiceRequest) -> ServiceResult<Fulfilment> {
        let msg = invoice_to_wire(req);
        Ok(fulfilment_from_wire(
            call(ctx, "fiscal", &self.0.lanes.forward, msg, |r| async move {
                self.0.chain().emitir_nota_fiscal(r).await
            })
            .await?,
        ))
    }
    async fn cancel_invoice(&self, ctx: CallCtx, order_id: i64) -> ServiceResult<()> {
        call(
            ctx,
            "fiscal",
            &self.0.lanes.undo,
            order_ref(order_id),
            |r| async move { self.0.undo().cancelar_nota_fiscal(r).await },
        )
        .await?;
        Ok(())
    }
}

/// Logistics over gRPC: Fiscal's next hop.
#[derive(Clone)]
pub struct GrpcLogistics(pub Link<LogisticaClient<Channel>>);

#[async_trait]
impl LogisticsPort for GrpcLogistics {
    async fn schedule_shipment(
        &self,
        ctx: CallCtx,
        req: ShipmentRequest,
    ) -> ServiceResult<ShipmentReply> {
        let msg = shipment_to_wire(req);
        let r = call(
            ctx,
            "logistics",
            &self.0.lanes.forward,
            msg,
            |r| async move { self.0.chain().agendar_envio(r).await },
        )
        .await?;
        Ok(shipment_reply_from_wire(r))
    }
    async fn cancel_shipment(&self, ctx: CallCtx, order_id: i64) -> ServiceResult<()> {
        call(
            ctx,
            "logistics",
            &self.0.lanes.undo,
            order_ref(order_id),
            |r| async move { self.0.undo().cancelar_envio(r).await },
        )
        .await?;
        Ok(())
    }
}

/// Catalog over gRPC: what the bench and the tests drive.
#[derive(Clone)]
pub struct GrpcCatalog(pub Link<CatalogoClient<Channel>>);

#[async_trait]
impl CatalogPort for GrpcCatalog {
    async fn list_products(
        &self,
        ctx: CallCtx,
        filter: ProductFilter,
    ) -> ServiceResult<Vec<ProductInfo>> {
        let msg = filter_to_wire(filter);
        let r = call(ctx, "catalog", &self.0.lanes.forward, msg, |r| async move {
            self.0.chain().listar_produtos(r).await
        })
        .await?;
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
        Ok(product_from_wire(
            call(ctx, "catalog", &self.0.lanes.forward, msg, |r| async move {
                self.0.chain().atualizar_estoque(r).await
            })
            .await?,
        ))
    }
}

/// Clients of all six services at the given addresses, each on its own channel.
pub struct GrpcClients {
    /// Orders.
    pub orders: GrpcOrders,
    /// Payments.
    pub payments: GrpcPayments,
    /// Inventory.
    pub inventory: GrpcInventory,
    /// Fiscal.
    pub fiscal: GrpcFiscal,
    /// Logistics.
    pub logistics: GrpcLogistics,
    /// Catalog.
    pub catalog: GrpcCatalog,
}

impl GrpcClients {
    /// Lazily connected clients for every service in `peers`.
    pub fn new(peers: &node::Peers) -> Self {
        Self {
            orders: GrpcOrders(Link::new(peers, ServiceName::Orders, PedidosClient::new)),
            payments: GrpcPayments(Link::new(
                peers,
                ServiceName::Payments,
                PagamentoClient::new,
            )),
            inventory: GrpcInventory(Link::new(peers, ServiceName::Inventory, EstoqueClient::new)),
            fiscal: GrpcFiscal(Link::new(peers, ServiceName::Fiscal, FiscalClient::new)),
            logistics: GrpcLogistics(Link::new(
                peers,
                ServiceName::Logistics,
                LogisticaClient::new,
            )),
            catalog: GrpcCatalog(Link::new(peers, ServiceName::Catalog, CatalogoClient::new)),
        }
    }
}
