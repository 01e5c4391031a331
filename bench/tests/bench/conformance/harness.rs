//! Spawns one whole app of a wiring on a temp directory and hands out the same interface for all.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use checkout_core::admission::Admission;
use checkout_core::node::{LocalStack, Peers, spawn_services};
use checkout_core::services::catalog::CatalogService;
use checkout_core::services::fiscal::FiscalService;
use checkout_core::services::inventory::InventoryService;
use checkout_core::services::logistics::LogisticsService;
use checkout_core::services::orders::OrdersService;
use checkout_core::services::payments::PaymentsService;
use checkout_core::testkit::{Probe, SeedProduct, init_env, request};
use checkout_core::wiring::Direct;
use checkout_core::*;
use tempfile::TempDir;

/// The ways the six services can be connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wiring {
    InProcess,
    Grpc,
    Rest {
        http2: bool,
    },
    Tcp,
    /// A networked wiring (`Grpc`, `Rest` or `Tcp`) with every hop, the test's own calls
    /// included, over mutual TLS with a CA made for the test.
    Mtls(&'static Wiring),
    /// The same over TLS that asks callers for no certificate.
    Tls(&'static Wiring),
}

/// TLS material for a test, made in `dir/tls` (a CA of its own).
pub fn test_tls(dir: &std::path::Path, mutual: bool) -> Arc<checkout_core::tls::Tls> {
    Arc::new(checkout_core::tls::Tls::load_or_create(&dir.join("tls"), mutual).unwrap())
}

/// Fiscal reached in-process through a switch: off, it answers as a stopped server would.
struct Switched {
    inner: Direct<FiscalService>,
    down: Arc<AtomicBool>,
}

#[async_trait]
impl FiscalPort for Switched {
    async fn issue_invoice(&self, ctx: CallCtx, req: InvoiceRequest) -> ServiceResult<Fulfilment> {
        self.check()?;
        self.inner.issue_invoice(ctx, req).await
    }
    async fn cancel_invoice(&self, ctx: CallCtx, order_id: i64) -> ServiceResult<()> {
        self.check()?;
        self.inner.cancel_invoice(ctx, order_id).await
    }
}

impl Switched {
    fn check(&self) -> ServiceResult<()> {
        if self.down.load(Ordering::SeqCst) {
            return Err(ServiceError::Unavailable {
                service: "fiscal",
                detail: "fiscal unavailable: stopped".into(),
            });
        }
        Ok(())
    }
}

pub struct App {
    _dir: TempDir,
    pub orders: Arc<dyn OrdersPort>,
    pub catalog: Arc<dyn CatalogPort>,
    pub probe: Probe,
    stack: Option<LocalStack>,
    fiscal_down: Arc<AtomicBool>,
}

/// The test's clients of Orders and Catalog at `peers` over a networked `wiring` (over TLS when
/// `peers` say so).
pub fn clients(wiring: Wiring, peers: &Peers) -> (Arc<dyn OrdersPort>, Arc<dyn CatalogPort>) {
    match wiring {
        Wiring::Grpc => {
            let c = grpc_stack::GrpcClients::new(peers);
            (Arc::new(c.orders), Arc::new(c.catalog))
        }
        Wiring::Tcp => {
            let c = tcp_stack::TcpClients::new(peers);
            (Arc::new(c.orders), Arc::new(c.catalog))
        }
        Wiring::Rest { http2 } => {
            let c = rest_stack::RestClients::new(peers, http2);
            (Arc::new(c.orders), Arc::new(c.catalog))
        }
        Wiring::Mtls(inner) | Wiring::Tls(inner) => clients(*inner, peers),
        Wiring::InProcess => unreachable!("in-process has no clients of its own"),
    }
}

pub async fn spawn(wiring: Wiring, products: &[SeedProduct], sim: Simulation) -> App {
    spawn_admitting(wiring, products, sim, Admission::default()).await
}

/// [`spawn`], every service admitting as `admission` says.
pub async fn spawn_admitting(
    wiring: Wiring,
    products: &[SeedProduct],
    sim: Simulation,
    admission: Admission,
) -> App {
    let dir = TempDir::new().unwrap();
    let mut env = init_env(dir.path(), products, sim);
    env.admission = admission;
    let probe = Probe(env.data_dir.clone());
    let fiscal_down = Arc::new(AtomicBool::new(false));
    let (wiring, tls) = match wiring {
        Wiring::Mtls(inner) => (*inner, Some(test_tls(dir.path(), true))),
        Wiring::Tls(inner) => (*inner, Some(test_tls(dir.path(), false))),
        w => (w, None),
    };
    let peers = Peers::from_base(IpAddr::V4(Ipv4Addr::LOCALHOST), 0).with_tls(tls);
    let (orders, catalog, stack): (Arc<dyn OrdersPort>, Arc<dyn CatalogPort>, _) = match wiring {
        Wiring::InProcess => {
            let logistics = Arc::new(LogisticsService::open(&env).unwrap());
            let fiscal = Arc::new(FiscalService::open(&env, Arc::new(Direct(logistics))).unwrap());
            let switched = Switched {
                inner: Direct(fiscal),
                down: fiscal_down.clone(),
            };
            let inventory = Arc::new(InventoryService::open(&env, Arc::new(switched)).unwrap());
            let payments =
                Arc::new(PaymentsService::open(&env, Arc::new(Direct(inventory.clone()))).unwrap());
            let orders = OrdersService::open(&env, Arc::new(Direct(payments))).unwrap();
            let catalog = CatalogService::open(&env, Arc::new(Direct(inventory))).unwrap();
            (Arc::new(orders), Arc::new(catalog), None)
        }
        Wiring::Grpc => {
            // Every service on two threads of its own, a runtime each (`--grpc-runtime
            // per-thread`; the grpc crate's own tests run the shared runtime). The first setting
            // in this test process holds for all of it.
            grpc_stack::threads::set_model(grpc_stack::threads::Model::PerThread(2));
            let stack =
                spawn_services(&ServiceName::ALL, peers, &env, grpc_stack::start, |_, _| {})
                    .await
                    .unwrap();
            let (orders, catalog) = clients(wiring, &stack.peers);
            (orders, catalog, Some(stack))
        }
        Wiring::Tcp => {
            let stack = spawn_services(&ServiceName::ALL, peers, &env, tcp_stack::start, |_, _| {})
                .await
                .unwrap();
            let (orders, catalog) = clients(wiring, &stack.peers);
            (orders, catalog, Some(stack))
        }
        Wiring::Rest { http2 } => {
            let options = rest_stack::RestOptions { workers: 1, http2 };
            let stack = spawn_services(
                &ServiceName::ALL,
                peers,
                &env,
                rest_stack::start(options),
                |_, _| {},
            )
            .await
            .unwrap();
            let (orders, catalog) = clients(wiring, &stack.peers);
            (orders, catalog, Some(stack))
        }
        Wiring::Mtls(_) | Wiring::Tls(_) => unreachable!("unwrapped above"),
    };
    App {
        _dir: dir,
        orders,
        catalog,
        probe,
        stack,
        fiscal_down,
    }
}

impl App {
    pub async fn checkout(
        &self,
        key: &str,
        customer: i64,
        items: &[(i64, i64)],
    ) -> ServiceResult<OrderView> {
        self.orders
            .place_order(
                CallCtx::with_timeout(std::time::Duration::from_secs(10)),
                request(key, customer, items),
            )
            .await
    }

    /// Where each service listens (networked wirings only).
    pub fn peers(&self) -> Option<&Peers> {
        self.stack.as_ref().map(|s| &s.peers)
    }

    /// Takes Fiscal down: its server stops (or, in-process, its port refuses).
    pub async fn stop_fiscal(&mut self) {
        match self.stack.as_mut() {
            Some(stack) => stack.stop(ServiceName::Fiscal).await.unwrap(),
            None => self.fiscal_down.store(true, Ordering::SeqCst),
        }
    }

    pub async fn shutdown(self) {
        // Clients go first, so no server waits for their idle connections.
        let App {
            stack,
            orders,
            catalog,
            ..
        } = self;
        drop((orders, catalog));
        if let Some(stack) = stack {
            stack.stop_all().await.unwrap();
        }
    }
}
