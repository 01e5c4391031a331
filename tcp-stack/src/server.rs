//! The server side: one listener per service (its connections in `listen`). Each call is
//! decoded, bounded by the deadline it carries, served by the core through its port, counted in
//! the service's metrics and traced like on the other stacks.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use checkout_core::metrics;
use checkout_core::node::Peers;
use checkout_core::ports::within;
use checkout_core::services::catalog::CatalogService;
use checkout_core::services::fiscal::FiscalService;
use checkout_core::services::inventory::InventoryService;
use checkout_core::services::logistics::LogisticsService;
use checkout_core::services::orders::OrdersService;
use checkout_core::services::payments::PaymentsService;
use checkout_core::store::Db;
use checkout_core::telemetry;
use checkout_core::*;
use checkout_proto::convert::*;
use checkout_proto::pb::{catalogo, comum, estoque};
use prost::Message;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tracing::Instrument;

use crate::client::TcpClients;
use crate::frame::{self, Method};
use crate::listen::{Received, accept};

/// A service's face on the wire: its port, whichever service it is.
enum Face {
    Orders(Arc<dyn OrdersPort>),
    Payments(Arc<dyn PaymentsPort>),
    Inventory(Arc<dyn InventoryPort>),
    Fiscal(Arc<dyn FiscalPort>),
    Logistics(Arc<dyn LogisticsPort>),
    Catalog(Arc<dyn CatalogPort>),
    /// The calibration echo: answers `Ecoar` with the payment request it carried, nothing else.
    Echo,
}

fn decoded<M: Message + Default>(payload: &[u8]) -> ServiceResult<M> {
    M::decode(payload)
        .map_err(|e| ServiceError::invalid("", format!("mensagem protobuf inválida: {e}")))
}

fn empty(r: ServiceResult<()>) -> ServiceResult<comum::Vazio> {
    r.map(|()| comum::Vazio {})
}

/// The answer frame of call `id`: the reply, or the error.
fn answer<M: Message>(id: u64, r: ServiceResult<M>) -> (Vec<u8>, Option<ServiceError>) {
    match r {
        Ok(m) => (frame::ok(id, &m), None),
        Err(e) => (frame::error(id, &e), Some(e)),
    }
}

impl Face {
    /// Serves `method` with the request in `p`; the answer frame, and the error if it failed.
    async fn serve(
        &self,
        id: u64,
        method: Method,
        ctx: CallCtx,
        p: &[u8],
    ) -> (Vec<u8>, Option<ServiceError>) {
        use Method::*;
        match (self, method) {
            (Face::Orders(s), CriarPedido) => answer(
                id,
                match decoded(p) {
                    Ok(m) => s
                        .place_order(ctx, checkout_from_wire(m))
                        .await
                        .map(order_to_wire),
                    Err(e) => Err(e),
                },
            ),
            (Face::Orders(s), ConsultarPedido) => answer(
                id,
                match decoded::<comum::PedidoRef>(p) {
                    Ok(m) => s.get_order(ctx, m.pedido_id).await.map(order_to_wire),
                    Err(e) => Err(e),
                },
            ),
            (Face::Payments(s), ProcessarPagamento) => answer(
                id,
                match decoded(p) {
                    Ok(m) => s
                        .process_payment(ctx, payment_from_wire(m))
                        .await
                        .map(payment_reply_to_wire),
                    Err(e) => Err(e),
                },
            ),
            (Face::Payments(s), EstornarPagamento) => answer(
                id,
                match decoded::<comum::PedidoRef>(p) {
                    Ok(m) => empty(s.void_payment(ctx, m.pedido_id).await),
                    Err(e) => Err(e),
                },
            ),
            (Face::Inventory(s), SepararEstoque) => answer(
                id,
                match decoded(p) {
                    Ok(m) => s
                        .reserve_stock(ctx, reserve_from_wire(m))
                        .await
                        .map(fulfilment_to_wire),
                    Err(e) => Err(e),
                },
            ),
            (Face::Inventory(s), LiberarEstoque) => answer(
                id,
                match decoded::<comum::PedidoRef>(p) {
                    Ok(m) => empty(s.release_stock(ctx, m.pedido_id).await),
                    Err(e) => Err(e),
                },
            ),
            (Face::Inventory(s), ConsultarEstoque) => answer(
                id,
                match decoded::<estoque::ConsultarEstoqueRequest>(p) {
                    Ok(m) => s.stock_levels(ctx, m.produto_ids).await.map(|levels| {
                        estoque::ConsultarEstoqueResponse {
                            niveis: levels.into_iter().map(level_to_wire).collect(),
                        }
                    }),
                    Err(e) => Err(e),
                },
            ),
            (Face::Inventory(s), AjustarEstoque) => answer(
                id,
                match decoded::<estoque::AjustarEstoqueRequest>(p) {
                    Ok(m) => s
                        .adjust_stock(ctx, m.produto_id, m.delta)
                        .await
                        .map(level_to_wire),
                    Err(e) => Err(e),
                },
            ),
            (Face::Fiscal(s), EmitirNotaFiscal) => answer(
                id,
                match decoded(p) {
                    Ok(m) => s
                        .issue_invoice(ctx, invoice_from_wire(m))
                        .await
                        .map(fulfilment_to_wire),
                    Err(e) => Err(e),
                },
            ),
            (Face::Fiscal(s), CancelarNotaFiscal) => answer(
                id,
                match decoded::<comum::PedidoRef>(p) {
                    Ok(m) => empty(s.cancel_invoice(ctx, m.pedido_id).await),
                    Err(e) => Err(e),
                },
            ),
            (Face::Logistics(s), AgendarEnvio) => answer(
                id,
                match decoded(p) {
                    Ok(m) => s
                        .schedule_shipment(ctx, shipment_from_wire(m))
                        .await
                        .map(shipment_reply_to_wire),
                    Err(e) => Err(e),
                },
            ),
            (Face::Logistics(s), CancelarEnvio) => answer(
                id,
                match decoded::<comum::PedidoRef>(p) {
                    Ok(m) => empty(s.cancel_shipment(ctx, m.pedido_id).await),
                    Err(e) => Err(e),
                },
            ),
            (Face::Catalog(s), ListarProdutos) => answer(
                id,
                match decoded(p) {
                    Ok(m) => s.list_products(ctx, filter_from_wire(m)).await.map(|ps| {
                        catalogo::ListaProdutosResponse {
                            produtos: ps.into_iter().map(product_to_wire).collect(),
                        }
                    }),
                    Err(e) => Err(e),
                },
            ),
            (Face::Catalog(s), AtualizarEstoque) => answer(
                id,
                match decoded::<catalogo::AtualizarEstoqueRequest>(p) {
                    Ok(m) => s
                        .update_stock(ctx, m.produto_id, m.delta)
                        .await
                        .map(product_to_wire),
                    Err(e) => Err(e),
                },
            ),
            (Face::Echo, Ecoar) => answer(
                id,
                decoded::<checkout_proto::pb::pagamento::PagamentoRequest>(p),
            ),
            (_, m) => answer::<comum::Vazio>(
                id,
                Err(ServiceError::invalid(
                    "",
                    format!("método {} não é servido aqui", m.path()),
                )),
            ),
        }
    }
}

/// What every connection of one server shares.
pub(crate) struct Shared {
    /// The service served (`None`: the echo, which is neither counted nor traced).
    service: Option<ServiceName>,
    /// Its name, in logs and refusals.
    pub(crate) name: &'static str,
    face: Face,
    data_dir: PathBuf,
}

/// One service opened on its database, with TCP clients for its peers, ready to serve.
pub struct TcpNode {
    shared: Arc<Shared>,
    db: Db,
    /// TLS with the chain's material, or none.
    tls: Option<TlsAcceptor>,
}

impl TcpNode {
    /// Opens `service`'s database in `env` and its (lazy) connections to its next hop in `peers`.
    pub fn open(service: ServiceName, env: &ServiceEnv, peers: &Peers) -> ServiceResult<Self> {
        let c = TcpClients::new(peers);
        let (db, face) = match service {
            ServiceName::Orders => {
                let s = OrdersService::open(env, Arc::new(c.payments))?;
                (s.db().clone(), Face::Orders(Arc::new(s)))
            }
            ServiceName::Payments => {
                let s = PaymentsService::open(env, Arc::new(c.inventory))?;
                (s.db().clone(), Face::Payments(Arc::new(s)))
            }
            ServiceName::Inventory => {
                let s = InventoryService::open(env, Arc::new(c.fiscal))?;
                (s.db().clone(), Face::Inventory(Arc::new(s)))
            }
            ServiceName::Fiscal => {
                let s = FiscalService::open(env, Arc::new(c.logistics))?;
                (s.db().clone(), Face::Fiscal(Arc::new(s)))
            }
            ServiceName::Logistics => {
                let s = LogisticsService::open(env)?;
                (s.db().clone(), Face::Logistics(Arc::new(s)))
            }
            ServiceName::Catalog => {
                let s = CatalogService::open(env, Arc::new(c.inventory))?;
                (s.db().clone(), Face::Catalog(Arc::new(s)))
            }
        };
        Ok(Self {
            shared: Arc::new(Shared {
                service: Some(service),
                name: service.as_str(),
                face,
                data_dir: env.data_dir.clone(),
            }),
            db,
            tls: match peers.tls() {
                Some(t) => Some(TlsAcceptor::from(Arc::new(
                    t.server_config(&[])
                        .map_err(|e| ServiceError::Internal(e.to_string()))?,
                ))),
                None => None,
            },
        })
    }

    /// Serves on `listener` until `shutdown` resolves; then stops reading new calls, lets the
    /// calls in flight answer, and closes the database.
    pub async fn serve(self, listener: TcpListener, shutdown: impl Future<Output = ()> + Send) {
        accept(listener, self.shared, self.tls, shutdown).await;
        self.db.close();
    }
}

/// Serves the calibration echo on `listener` until `shutdown` resolves: the same connections,
/// frames and task per call as a service, with no core, metrics or tracing behind them.
pub async fn serve_echo(listener: TcpListener, shutdown: impl Future<Output = ()> + Send) {
    let shared = Arc::new(Shared {
        service: None,
        name: "echo",
        face: Face::Echo,
        data_dir: PathBuf::new(),
    });
    accept(listener, shared, None, shutdown).await;
}

/// Serves one call frame (already known to parse) and returns its answer frame.
pub(crate) async fn serve_call(shared: &Shared, call: &Received) -> Vec<u8> {
    let Some(method) = Method::from_u8(call.method) else {
        let e = ServiceError::invalid("", format!("método {} desconhecido", call.method));
        return frame::error(call.id, &e);
    };
    let deadline = call.deadline.map(|d| Instant::now() + d);
    let Some(service) = shared.service else {
        let ctx = CallCtx {
            deadline,
            trace: None,
        };
        return shared
            .face
            .serve(call.id, method, ctx, call.payload())
            .await
            .0;
    };
    if method == Method::Metrics {
        let dir = shared.data_dir.clone();
        let text = tokio::task::spawn_blocking(move || {
            metrics::render(&[service], |s| metrics::outbox_backlog(&dir, s))
        })
        .await
        .unwrap_or_default();
        return frame::ok_bytes(call.id, text.as_bytes());
    }
    let m = metrics::start(service);
    let hop = telemetry::hop(service, call.trace().and_then(Trace::parse), method.path());
    let ctx = CallCtx {
        deadline,
        trace: Some(hop.trace),
    };
    let (answer, failed) = within(ctx, service.as_str(), async {
        Ok(shared
            .face
            .serve(call.id, method, ctx, call.payload())
            .await)
    })
    .instrument(hop.span.clone())
    .await
    .unwrap_or_else(|e| (frame::error(call.id, &e), Some(e)));
    let code = failed.as_ref().map_or("ok", |e| e.kind());
    m.finish(code);
    hop.finish(code, failed.as_ref().is_some_and(server_error));
    answer
}

/// An error the server is to blame for (what HTTP would answer with a 5xx): its span is an error.
fn server_error(e: &ServiceError) -> bool {
    matches!(
        e,
        ServiceError::Unavailable { .. }
            | ServiceError::DeadlineExceeded { .. }
            | ServiceError::Overloaded { .. }
            | ServiceError::Internal(_)
    )
}

/// The raw-TCP transport's start function for [`checkout_core::node::run_services`] and
/// [`checkout_core::node::spawn_services`]: opens `service` and returns its serving future.
pub fn start(
    service: ServiceName,
    env: &ServiceEnv,
    peers: &Peers,
    listener: std::net::TcpListener,
    shutdown: checkout_core::node::Shutdown,
) -> Result<checkout_core::node::Serving, checkout_core::node::BoxError> {
    let node = TcpNode::open(service, env, peers)?;
    listener.set_nonblocking(true)?;
    let listener = TcpListener::from_std(listener)?;
    Ok(Box::pin(async move {
        node.serve(listener, shutdown).await;
        Ok(())
    }))
}
