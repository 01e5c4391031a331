//! actix-web servers around the core services: one server per service, each on its own listener
//! and database, with an explicit worker count, accepting HTTP/1.1 and HTTP/2 (h2c, prior
//! knowledge) on the same port, and draining in-flight requests on shutdown.

use std::sync::Arc;

use actix_web::{App, HttpResponse, web};
use checkout_core::metrics;
use checkout_core::node::{BoxError, Peers, Serving, Shutdown};
use checkout_core::services::catalog::CatalogService;
use checkout_core::services::fiscal::FiscalService;
use checkout_core::services::inventory::InventoryService;
use checkout_core::services::logistics::LogisticsService;
use checkout_core::services::orders::OrdersService;
use checkout_core::services::payments::PaymentsService;
use checkout_core::store::Db;
use checkout_core::telemetry::{self, Hop};
use checkout_core::*;

use crate::client::RestClients;
use crate::errors::{json_config, path_config, query_config};
use crate::handlers::*;
use crate::listen::{Sizing, listen};

/// How the REST services run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestOptions {
    /// actix workers (threads) per service.
    pub workers: usize,
    /// Next-hop clients speak HTTP/2 with prior knowledge instead of HTTP/1.1.
    pub http2: bool,
}

impl Default for RestOptions {
    fn default() -> Self {
        Self {
            workers: 2,
            http2: false,
        }
    }
}

/// The routes and state of one service.
#[derive(Clone)]
enum Routes {
    Orders(Arc<dyn OrdersPort>),
    Payments(Arc<dyn PaymentsPort>),
    Inventory(Arc<dyn InventoryPort>),
    Fiscal(Arc<dyn FiscalPort>),
    Logistics(Arc<dyn LogisticsPort>),
    Catalog(Arc<dyn CatalogPort>),
}

impl Routes {
    fn configure(&self, cfg: &mut web::ServiceConfig) {
        match self.clone() {
            Routes::Orders(p) => {
                cfg.app_data(web::Data::new(p))
                    .route("/pedidos", web::post().to(criar_pedido))
                    .route("/pedidos/{pedido_id}", web::get().to(consultar_pedido));
            }
            Routes::Payments(p) => {
                cfg.app_data(web::Data::new(p))
                    .route("/pagamentos", web::post().to(processar_pagamento))
                    .route("/pagamentos/estornar", web::post().to(estornar_pagamento));
            }
            Routes::Inventory(p) => {
                cfg.app_data(web::Data::new(p))
                    .route("/estoque/separar", web::post().to(separar_estoque))
                    .route("/estoque/liberar", web::post().to(liberar_estoque))
                    .route("/estoque/consultar", web::post().to(consultar_estoque))
                    .route("/estoque/ajustar", web::post().to(ajustar_estoque));
            }
            Routes::Fiscal(p) => {
                cfg.app_data(web::Data::new(p))
                    .route("/notas-fiscais", web::post().to(emitir_nota_fiscal))
                    .route(
                        "/notas-fiscais/cancelar",
                        web::post().to(cancelar_nota_fiscal),
                    );
            }
            Routes::Logistics(p) => {
                cfg.app_data(web::Data::new(p))
                    .route("/envios", web::post().to(agendar_envio))
                    .route("/envios/cancelar", web::post().to(cancelar_envio));
            }
            Routes::Catalog(p) => {
                cfg.app_data(web::Data::new(p))
                    .route("/produtos", web::get().to(listar_produtos))
                    .route("/produtos/{id}/estoque", web::post().to(atualizar_estoque));
            }
        }
    }
}

/// One service opened on its database, with REST clients for its peers, ready to serve.
pub struct RestNode {
    service: ServiceName,
    db: Db,
    routes: Routes,
    options: RestOptions,
    /// Where its database (and its outbox) is, for `/metrics`.
    data_dir: std::path::PathBuf,
    /// The chain's TLS material, when it serves over TLS.
    tls: Option<Arc<checkout_core::tls::Tls>>,
}

impl RestNode {
    /// Opens `service`'s database in `env` and builds clients for its next hop in `peers`.
    pub fn open(
        service: ServiceName,
        env: &ServiceEnv,
        peers: &Peers,
        options: RestOptions,
    ) -> ServiceResult<Self> {
        let c = RestClients::new(peers, options.http2);
        let (db, routes) = match service {
            ServiceName::Orders => {
                let s = OrdersService::open(env, Arc::new(c.payments))?;
                (s.db().clone(), Routes::Orders(Arc::new(s)))
            }
            ServiceName::Payments => {
                let s = Arc::new(PaymentsService::open(env, Arc::new(c.inventory))?);
                (s.db().clone(), Routes::Payments(s))
            }
            ServiceName::Inventory => {
                let s = Arc::new(InventoryService::open(env, Arc::new(c.fiscal))?);
                (s.db().clone(), Routes::Inventory(s))
            }
            ServiceName::Fiscal => {
                let s = Arc::new(FiscalService::open(env, Arc::new(c.logistics))?);
                (s.db().clone(), Routes::Fiscal(s))
            }
            ServiceName::Logistics => {
                let s = Arc::new(LogisticsService::open(env)?);
                (s.db().clone(), Routes::Logistics(s))
            }
            ServiceName::Catalog => {
                let s = Arc::new(CatalogService::open(env, Arc::new(c.inventory))?);
                (s.db().clone(), Routes::Catalog(s))
            }
        };
        Ok(Self {
            service,
            db,
            routes,
            options,
            data_dir: env.data_dir.clone(),
            tls: peers.tls().cloned(),
        })
    }

    /// Serves on `listener` until `shutdown` resolves, then drains in-flight requests and closes
    /// the database.
    pub async fn serve(
        self,
        listener: std::net::TcpListener,
        shutdown: Shutdown,
    ) -> Result<(), BoxError> {
        let (service, routes) = (self.service, self.routes.clone());
        let openapi = web::Data::new(openapi_of(service));
        let data_dir = web::Data::new(self.data_dir.clone());
        let app = move || {
            let routes = routes.clone();
            App::new()
                // Every request but the scrape itself is counted, by status, and timed.
                .wrap_fn(move |mut req, srv| {
                    use actix_web::dev::Service as _;
                    let counted = (req.path() != "/metrics")
                        .then(|| (metrics::start(service), traced(service, &mut req)));
                    let span = counted
                        .as_ref()
                        .map_or_else(tracing::Span::none, |(_, hop)| hop.span.clone());
                    let answer = tracing::Instrument::instrument(srv.call(req), span);
                    async move {
                        let res = answer.await;
                        if let Some((m, hop)) = counted {
                            let status = match &res {
                                Ok(r) => r.status(),
                                Err(e) => e.as_response_error().status_code(),
                            };
                            m.finish(status.as_str());
                            hop.finish(status.as_str(), status.is_server_error());
                        }
                        res
                    }
                })
                .app_data(json_config())
                .app_data(path_config())
                .app_data(query_config())
                .app_data(web::Data::new(service))
                .app_data(openapi.clone())
                .app_data(data_dir.clone())
                .configure(move |cfg| routes.configure(cfg))
                .route("/health", web::get().to(health))
                .route("/metrics", web::get().to(prometheus))
                .route("/openapi.json", web::get().to(openapi_json))
                .default_service(web::to(no_route))
        };
        // Connections each worker holds at once: a client's two lanes fit (HTTP/1.1 needs one
        // connection per request in flight); admission refuses what the service cannot finish.
        let sizing = Sizing {
            workers: self.options.workers,
            max_connections: Some(2 * checkout_core::admission::PEER_IN_FLIGHT),
        };
        let server = listen(app, listener, self.tls.as_deref(), sizing)?;
        run_until(server, shutdown).await?;
        self.db.close();
        Ok(())
    }
}

/// Runs an actix server until `shutdown` resolves, then lets in-flight requests finish.
pub(crate) async fn run_until(
    server: actix_web::dev::Server,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let handle = server.handle();
    let stopper = tokio::spawn(async move {
        shutdown.await;
        handle.stop(true).await;
    });
    let out = server.await;
    stopper.abort();
    out
}

/// The request's hop: its span, joined to the caller's trace (its `traceparent`) or starting
/// one, and written back into the request as the trace the handler's own calls carry.
fn traced(service: ServiceName, req: &mut actix_web::dev::ServiceRequest) -> Hop {
    let header = crate::handlers::TRACE_HEADER;
    let incoming = req
        .headers()
        .get(header)
        .and_then(|v| v.to_str().ok())
        .and_then(Trace::parse);
    let hop = telemetry::hop(service, incoming, req.path());
    if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&hop.trace.header()) {
        req.headers_mut()
            .insert(actix_web::http::header::HeaderName::from_static(header), v);
    }
    hop
}

/// `GET /metrics`: the service's Prometheus metrics (text exposition format 0.0.4).
async fn prometheus(
    service: web::Data<ServiceName>,
    data_dir: web::Data<std::path::PathBuf>,
) -> HttpResponse {
    let (service, dir) = (**service, data_dir.get_ref().clone());
    let text =
        web::block(move || metrics::render(&[service], |s| metrics::outbox_backlog(&dir, s)))
            .await
            .unwrap_or_default();
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text)
}

async fn openapi_json(doc: web::Data<utoipa::openapi::OpenApi>) -> HttpResponse {
    HttpResponse::Ok().json(doc.get_ref())
}

/// The REST transport's start function for [`checkout_core::node::run_services`] and
/// [`checkout_core::node::spawn_services`].
pub fn start(
    options: RestOptions,
) -> impl Fn(
    ServiceName,
    &ServiceEnv,
    &Peers,
    std::net::TcpListener,
    Shutdown,
) -> Result<Serving, BoxError> {
    move |service, env, peers, listener, shutdown| {
        let node = RestNode::open(service, env, peers, options)?;
        Ok(Box::pin(node.serve(listener, shutdown)))
    }
}
