//! tonic servers around the core services: each handler converts the message, derives the call's
//! deadline from `grpc-timeout`, calls the core through its port, and maps the result. One server
//! per service, each on its own listener with health and reflection beside it.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use checkout_core::metrics;
use checkout_core::node::Peers;
use checkout_core::services::catalog::CatalogService;
use checkout_core::services::fiscal::FiscalService;
use checkout_core::services::inventory::InventoryService;
use checkout_core::services::logistics::LogisticsService;
use checkout_core::services::orders::OrdersService;
use checkout_core::services::payments::PaymentsService;
use checkout_core::store::Db;
use checkout_core::tls::Tls;
use checkout_core::*;
use tokio::net::TcpListener;
use tonic::server::NamedService;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic::{Request, Response, Status};

use crate::client::*;
use crate::convert::*;
use crate::pb::catalogo::catalogo_server::{Catalogo, CatalogoServer};
use crate::pb::estoque::estoque_server::{Estoque, EstoqueServer};
use crate::pb::fiscal::fiscal_server::{Fiscal, FiscalServer};
use crate::pb::logistica::logistica_server::{Logistica, LogisticaServer};
use crate::pb::pagamento::pagamento_server::{Pagamento, PagamentoServer};
use crate::pb::pedidos::pedidos_server::{Pedidos, PedidosServer};
use crate::pb::{self, catalogo, comum, estoque, fiscal, logistica, pagamento, pedidos};
use crate::status::to_status;

/// Parses a `grpc-timeout` value (`<digits><unit>`, unit one of H M S m u n).
pub fn parse_grpc_timeout(v: &str) -> Option<Duration> {
    let (digits, unit) = v.split_at(v.len().checked_sub(1)?);
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.checked_mul(3600)?),
        "M" => Duration::from_secs(n.checked_mul(60)?),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

fn ctx_of<T>(r: &Request<T>) -> CallCtx {
    let timeout = r
        .metadata()
        .get("grpc-timeout")
        .and_then(|v| v.to_str().ok())
        .and_then(parse_grpc_timeout);
    let trace = r
        .metadata()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .and_then(Trace::parse);
    CallCtx {
        deadline: timeout.map(|t| Instant::now() + t),
        trace,
    }
}

fn reply<T, U>(r: ServiceResult<T>, f: impl FnOnce(T) -> U) -> Result<Response<U>, Status> {
    r.map(|v| Response::new(f(v))).map_err(|e| to_status(&e))
}

/// Orders' gRPC face.
pub struct PedidosGrpc(pub Arc<dyn OrdersPort>);

#[tonic::async_trait]
impl Pedidos for PedidosGrpc {
    async fn criar_pedido(
        &self,
        r: Request<pedidos::CriarPedidoRequest>,
    ) -> Result<Response<pedidos::Pedido>, Status> {
        let ctx = ctx_of(&r);
        reply(
            self.0
                .place_order(ctx, checkout_from_wire(r.into_inner()))
                .await,
            order_to_wire,
        )
    }
    async fn consultar_pedido(
        &self,
        r: Request<comum::PedidoRef>,
    ) -> Result<Response<pedidos::Pedido>, Status> {
        let ctx = ctx_of(&r);
        reply(
            self.0.get_order(ctx, r.into_inner().pedido_id).await,
            order_to_wire,
        )
    }
}

/// Payments' gRPC face.
pub struct PagamentoGrpc(pub Arc<dyn PaymentsPort>);

#[tonic::async_trait]
impl Pagamento for PagamentoGrpc {
    async fn processar_pagamento(
        &self,
        r: Request<pagamento::PagamentoRequest>,
    ) -> Result<Response<pagamento::PagamentoResponse>, Status> {
        let ctx = ctx_of(&r);
        let req = payment_from_wire(r.into_inner());
        reply(
            self.0.process_payment(ctx, req).await,
            payment_reply_to_wire,
        )
    }
    async fn estornar_pagamento(
        &self,
        r: Request<comum::PedidoRef>,
    ) -> Result<Response<comum::Vazio>, Status> {
        let ctx = ctx_of(&r);
        reply(
            self.0.void_payment(ctx, r.into_inner().pedido_id).await,
            |()| comum::Vazio {},
        )
    }
}

/// Inventory's gRPC face.
pub struct EstoqueGrpc(pub Arc<dyn InventoryPort>);

#[tonic::async_trait]
impl Estoque for EstoqueGrpc {
    async fn separar_estoque(
        &self,
        r: Request<estoque::SepararEstoqueRequest>,
    ) -> Result<Response<comum::Atendimento>, Status> {
        let ctx = ctx_of(&r);
        let req = reserve_from_wire(r.into_inner());
        reply(self.0.reserve_stock(ctx, req).await, fulfilment_to_wire)
    }
    async fn liberar_estoque(
        &self,
        r: Request<comum::PedidoRef>,
    ) -> Result<Response<comum::Vazio>, Status> {
        let ctx = ctx_of(&r);
        reply(
            self.0.release_stock(ctx, r.into_inner().pedido_id).await,
            |()| comum::Vazio {},
        )
    }
    async fn consultar_estoque(
        &self,
        r: Request<estoque::ConsultarEstoqueRequest>,
    ) -> Result<Response<estoque::ConsultarEstoqueResponse>, Status> {
        let ctx = ctx_of(&r);
        reply(
            self.0.stock_levels(ctx, r.into_inner().produto_ids).await,
            |levels| estoque::ConsultarEstoqueResponse {
                niveis: levels.into_iter().map(level_to_wire).collect(),
            },
        )
    }
    async fn ajustar_estoque(
        &self,
        r: Request<estoque::AjustarEstoqueRequest>,
    ) -> Result<Response<estoque::NivelEstoque>, Status> {
        let ctx = ctx_of(&r);
        let m = r.into_inner();
        reply(
            self.0.adjust_stock(ctx, m.produto_id, m.delta).await,
            level_to_wire,
        )
    }
}

/// Fiscal's gRPC face.
pub struct FiscalGrpc(pub Arc<dyn FiscalPort>);

#[tonic::async_trait]
impl Fiscal for FiscalGrpc {
    async fn emitir_nota_fiscal(
        &self,
        r: Request<fiscal::EmitirNotaFiscalRequest>,
    ) -> Result<Response<comum::Atendimento>, Status> {
        let ctx = ctx_of(&r);
        let req = invoice_from_wire(r.into_inner());
        reply(self.0.issue_invoice(ctx, req).await, fulfilment_to_wire)
    }
    async fn cancelar_nota_fiscal(
        &self,
        r: Request<comum::PedidoRef>,
    ) -> Result<Response<comum::Vazio>, Status> {
        let ctx = ctx_of(&r);
        reply(
            self.0.cancel_invoice(ctx, r.into_inner().pedido_id).await,
            |()| comum::Vazio {},
        )
    }
}

/// Logistics' gRPC face.
pub struct LogisticaGrpc(pub Arc<dyn LogisticsPort>);

#[tonic::async_trait]
impl Logistica for LogisticaGrpc {
    async fn agendar_envio(
        &self,
        r: Request<logistica::AgendarEnvioRequest>,
    ) -> Result<Response<logistica::AgendarEnvioResponse>, Status> {
        let ctx = ctx_of(&r);
        let req = shipment_from_wire(r.into_inner());
        reply(
            self.0.schedule_shipment(ctx, req).await,
            shipment_reply_to_wire,
        )
    }
    async fn cancelar_envio(
        &self,
        r: Request<comum::PedidoRef>,
    ) -> Result<Response<comum::Vazio>, Status> {
        let ctx = ctx_of(&r);
        reply(
            self.0.cancel_shipment(ctx, r.into_inner().pedido_id).await,
            |()| comum::Vazio {},
        )
    }
}

/// Catalog's gRPC face.
pub struct CatalogoGrpc(pub Arc<dyn CatalogPort>);

#[tonic::async_trait]
impl Catalogo for CatalogoGrpc {
    async fn listar_produtos(
        &self,
        r: Request<catalogo::ListarProdutosRequest>,
    ) -> Result<Response<catalogo::ListaProdutosResponse>, Status> {
        let ctx = ctx_of(&r);
        let filter = filter_from_wire(r.into_inner());
        reply(self.0.list_products(ctx, filter).await, |ps| {
            catalogo::ListaProdutosResponse {
                produtos: ps.into_iter().map(product_to_wire).collect(),
            }
        })
    }
    async fn atualizar_estoque(
        &self,
        r: Request<catalogo::AtualizarEstoqueRequest>,
    ) -> Result<Response<catalogo::ProdutoInfo>, Status> {
        let ctx = ctx_of(&r);
        let m = r.into_inner();
        reply(
            self.0.update_stock(ctx, m.produto_id, m.delta).await,
            product_to_wire,
        )
    }
}

/// One service opened on its database, with gRPC clients for its peers, ready to serve.
pub struct GrpcNode {
    service: ServiceName,
    db: Db,
    router: tonic::service::Routes,
    name: &'static str,
    /// Where its database (and its outbox) is, for `/metrics`.
    data_dir: std::path::PathBuf,
    /// The chain's TLS material, when it serves over TLS.
    tls: Option<Arc<Tls>>,
}

/// A tonic server builder, serving over TLS with the chain's certificate when `tls` is given (ALPN
/// h2), and then refusing a caller without a certificate of the chain's CA when TLS is mutual.
pub fn builder(tls: Option<&Tls>) -> Result<Server, tonic::transport::Error> {
    let builder = Server::builder();
    let Some(t) = tls else {
        return Ok(builder);
    };
    let mut config = ServerTlsConfig::new().identity(Identity::from_pem(&t.cert_pem, &t.key_pem));
    if t.mutual {
        config = config.client_ca_root(Certificate::from_pem(&t.ca_pem));
    }
    builder.tls_config(config)
}

impl GrpcNode {
    /// Opens `service`'s database in `env` and connects (lazily) to its next hop in `peers`.
    pub fn open(service: ServiceName, env: &ServiceEnv, peers: &Peers) -> ServiceResult<Self> {
        let c = GrpcClients::new(peers);
        let (db, routes, name) = match service {
            ServiceName::Orders => {
                let s = OrdersService::open(env, Arc::new(c.payments))?;
                (
                    s.db().clone(),
                    tonic::service::Routes::new(PedidosServer::new(PedidosGrpc(Arc::new(s)))),
                    name_of::<PedidosServer<PedidosGrpc>>(),
                )
            }
            ServiceName::Payments => {
                let s = Arc::new(PaymentsService::open(env, Arc::new(c.inventory))?);
                (
                    s.db().clone(),
                    tonic::service::Routes::new(PagamentoServer::new(PagamentoGrpc(s))),
                    name_of::<PagamentoServer<PagamentoGrpc>>(),
                )
            }
            ServiceName::Inventory => {
                let s = Arc::new(InventoryService::open(env, Arc::new(c.fiscal))?);
                (
                    s.db().clone(),
                    tonic::service::Routes::new(EstoqueServer::new(EstoqueGrpc(s))),
                    name_of::<EstoqueServer<EstoqueGrpc>>(),
                )
            }
            ServiceName::Fiscal => {
                let s = Arc::new(FiscalService::open(env, Arc::new(c.logistics))?);
                (
                    s.db().clone(),
                    tonic::service::Routes::new(FiscalServer::new(FiscalGrpc(s))),
                    name_of::<FiscalServer<FiscalGrpc>>(),
                )
            }
            ServiceName::Logistics => {
                let s = Arc::new(LogisticsService::open(env)?);
                (
                    s.db().clone(),
                    tonic::service::Routes::new(LogisticaServer::new(LogisticaGrpc(s))),
                    name_of::<LogisticaServer<LogisticaGrpc>>(),
                )
            }
            ServiceName::Catalog => {
                let s = Arc::new(CatalogService::open(env, Arc::new(c.inventory))?);
                (
                    s.db().clone(),
                    tonic::service::Routes::new(CatalogoServer::new(CatalogoGrpc(s))),
                    name_of::<CatalogoServer<CatalogoGrpc>>(),
                )
            }
        };
        Ok(Self {
            service,
            db,
            router: routes,
            name,
            data_dir: env.data_dir.clone(),
            tls: peers.tls().cloned(),
        })
    }

    /// Which service this is.
    pub fn service(&self) -> ServiceName {
        self.service
    }

    /// The fully qualified gRPC service name (e.g. `pagamento.Pagamento`).
    pub fn grpc_name(&self) -> &'static str {
        self.name
    }

    /// Serves on `listener` until `shutdown` resolves, then drains in-flight calls and closes the
    /// database. Health reports SERVING while it runs.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send,
    ) -> anyhow::Result<()> {
        let (reporter, health) = tonic_health::server::health_reporter();
        reporter
            .set_service_status(self.name, tonic_health::ServingStatus::Serving)
            .await;
        // Reflection in both versions: `v1`, and `v1alpha` for the clients that speak only it
        // (Python's grpcio-reflection, older grpcurl and Postman).
        let reflection = || {
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
                .with_service_name(self.name)
                .with_service_name("grpc.health.v1.Health")
        };
        let (v1, v1alpha) = (reflection().build_v1()?, reflection().build_v1alpha()?);
        let (service, dir) = (self.service, self.data_dir.clone());
        // `GET /metrics` on the same port (HTTP/1.1 accepted beside HTTP/2, so plain curl and
        // a Prometheus scraper reach it), and every call counted by gRPC code and timed.
        let router = self
            .router
            .add_service(health)
            .add_service(v1)
            .add_service(v1alpha)
            .into_axum_router()
            .route(
                "/metrics",
                axum::routing::get(move || {
                    let dir = dir.clone();
                    async move {
                        let text = tokio::task::spawn_blocking(move || {
                            metrics::render(&[service], |s| metrics::outbox_backlog(&dir, s))
                        })
                        .await
                        .unwrap_or_default();
                        (
                            [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
                            text,
                        )
                    }
                }),
            )
            .layer(axum::middleware::from_fn_with_state(
                service,
                crate::edge::count_call,
            ));
        let mut server = builder(self.tls.as_deref())?
            .accept_http1(true)
            .tcp_nodelay(true)
            // Streams one connection may hold open at once: a client's forward lane fits
            // (`PEER_IN_FLIGHT`); admission refuses what the service cannot finish in time.
            .max_concurrent_streams(Some(checkout_core::admission::PEER_IN_FLIGHT as u32));
        let routes = tonic::service::Routes::from(router);
        match crate::threads::model() {
            crate::threads::Model::Shared => {
                server
                    .add_routes(routes)
                    // Socket options given to the builder do not apply to a provided listener:
                    // set them here.
                    .serve_with_incoming_shutdown(crate::conn::incoming(listener), shutdown)
                    .await?
            }
            crate::threads::Model::PerThread(n) => {
                crate::threads::serve(n, server, routes, listener, shutdown).await?
            }
        }
        self.db.close();
        Ok(())
    }
}

fn name_of<S: NamedService>() -> &'static str {
    S::NAME
}

/// The gRPC transport's start function for [`checkout_core::node::run_services`] and
/// [`checkout_core::node::spawn_services`]: opens `service` and returns its serving future.
pub fn start(
    service: ServiceName,
    env: &ServiceEnv,
    peers: &Peers,
    listener: std::net::TcpListener,
    shutdown: checkout_core::node::Shutdown,
) -> Result<checkout_core::node::Serving, checkout_core::node::BoxError> {
    let node = GrpcNode::open(service, env, peers)?;
    let listener = TcpListener::from_std(listener)?;
    Ok(Box::pin(async move {
        node.serve(listener, shutdown).await.map_err(Into::into)
    }))
}
