//! A downstream failure leaves no half-done state: every hop undoes its own step.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use checkout_core::services::fiscal::FiscalService;
use checkout_core::services::inventory::InventoryService;
use checkout_core::services::logistics::LogisticsService;
use checkout_core::services::orders::OrdersService;
use checkout_core::services::payments::PaymentsService;
use checkout_core::sim::WorkTime;
use checkout_core::store::StoreConfig;
use checkout_core::wiring::{Direct, InProcess};
use checkout_core::*;

use crate::harness::*;
use checkout_core::testkit::request;

/// Logistics that does its work and then loses the reply (answering `error`): the worst case
/// for the caller. It also refuses its first `refusals` cancellations.
struct LostReply {
    inner: Arc<LogisticsService>,
    error: ServiceError,
    refusals: AtomicU32,
}

impl LostReply {
    fn new(inner: Arc<LogisticsService>, error: ServiceError, refusals: u32) -> Self {
        Self {
            inner,
            error,
            refusals: AtomicU32::new(refusals),
        }
    }
}

#[async_trait]
impl LogisticsPort for LostReply {
    async fn schedule_shipment(
        &self,
        ctx: CallCtx,
        req: ShipmentRequest,
    ) -> ServiceResult<ShipmentReply> {
        self.inner.schedule_shipment(ctx, req).await?;
        Err(self.error.clone())
    }
    async fn cancel_shipment(&self, ctx: CallCtx, order_id: i64) -> ServiceResult<()> {
        if self
            .refusals
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(ServiceError::Unavailable {
                service: "logistics",
                detail: "down".into(),
            });
        }
        self.inner.cancel_shipment(ctx, order_id).await
    }
}

/// Orders → Payments → Inventory → Fiscal by direct calls, with `logistics` as Fiscal's next hop.
fn chain_over(env: &ServiceEnv, logistics: LostReply) -> OrdersService {
    let fiscal = Arc::new(FiscalService::open(env, Arc::new(logistics)).unwrap());
    let inventory = Arc::new(InventoryService::open(env, Arc::new(Direct(fiscal))).unwrap());
    let payments = Arc::new(PaymentsService::open(env, Arc::new(Direct(inventory))).unwrap());
    OrdersService::open(env, Arc::new(Direct(payments))).unwrap()
}

#[tokio::test]
async fn a_failing_last_hop_leaves_no_half_done_state() {
    let (_dir, env) = env_with(PRODUCTS, approving());
    let logistics = Arc::new(LogisticsService::open(&env).unwrap());
    let reset = ServiceError::Unavailable {
        service: "logistics",
        detail: "connection reset".into(),
    };
    let orders = chain_over(&env, LostReply::new(logistics, reset, 0));

    let err = orders
        .place_order(CallCtx::unbounded(), request("k-fail", 1, &[(1, 3)]))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ServiceError::Unavailable {
                service: "logistics",
                ..
            }
        ),
        "{err:?}"
    );
    let view = orders.get_order(CallCtx::unbounded(), 1).await.unwrap();
    assert_eq!(view.status, OrderStatus::Cancelado);
    assert!(view.reason.unwrap().contains("logistics unavailable"));
    let report = checkout_core::audit::audit(&env.data_dir).unwrap();
    assert!(report.is_clean(), "{:?}", report.violations);
    let q = |s: ServiceName, sql: &str| -> String {
        rusqlite::Connection::open(env.data_dir.join(s.db_file()))
            .unwrap()
            .query_row(sql, [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(
        q(ServiceName::Payments, "SELECT status FROM pagamentos"),
        "estornado"
    );
    assert_eq!(
        q(ServiceName::Inventory, "SELECT status FROM reservas"),
        "liberada"
    );
    assert_eq!(
        q(ServiceName::Fiscal, "SELECT status FROM notas_fiscais"),
        "cancelada"
    );
    assert_eq!(
        q(ServiceName::Logistics, "SELECT status FROM envios"),
        "cancelado"
    );
    assert_eq!(
        q(
            ServiceName::Inventory,
            "SELECT CAST(quantidade AS TEXT) FROM estoque WHERE produto_id = 1"
        ),
        "1000"
    );

    // A retry of the same key returns the cancelled outcome; the chain is not re-run.
    let retry = orders
        .place_order(CallCtx::unbounded(), request("k-fail", 1, &[(1, 3)]))
        .await
        .unwrap();
    assert_eq!(retry.status, OrderStatus::Cancelado);
}

#[tokio::test]
async fn a_slow_hop_past_the_deadline_cancels_cleanly() {
    let sim = approving().with_work(
        ServiceName::Fiscal,
        WorkTime::fixed(Duration::from_millis(400)),
    );
    let (_dir, mut env) = env_with(PRODUCTS, sim);
    env.chain_timeout = Duration::from_millis(100);
    let app = InProcess::open(&env).unwrap();
    let err = app
        .orders
        .place_order(CallCtx::unbounded(), request("k-slow", 1, &[(2, 1)]))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ServiceError::DeadlineExceeded { .. }),
        "{err:?}"
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    let report = checkout_core::audit::audit(&env.data_dir).unwrap();
    assert!(report.is_clean(), "{:?}", report.violations);
    assert_eq!(report.cancelled, 1);
    let stock: i64 = rusqlite::Connection::open(env.data_dir.join("estoque.db"))
        .unwrap()
        .query_row(
            "SELECT quantidade FROM estoque WHERE produto_id = 2",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stock, 1000);
}

#[tokio::test]
async fn an_unacknowledged_compensation_is_retried_until_it_lands() {
    let (_dir, env) = env_with(PRODUCTS, approving());
    let logistics = Arc::new(LogisticsService::open(&env).unwrap());
    let lost = ServiceError::DeadlineExceeded {
        service: "logistics",
    };
    let orders = chain_over(&env, LostReply::new(logistics, lost, 3));

    let err = orders
        .place_order(CallCtx::unbounded(), request("k-retry-comp", 1, &[(1, 1)]))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ServiceError::DeadlineExceeded { .. }),
        "{err:?}"
    );
    let probe = checkout_core::testkit::Probe(env.data_dir.clone());
    // Right after the failure the shipment is still live and Fiscal owes its cancellation.
    assert_eq!(
        probe.text(ServiceName::Logistics, "SELECT status FROM envios"),
        "aguardando_envio"
    );
    assert_eq!(
        probe.int(ServiceName::Fiscal, "SELECT count(*) FROM compensacoes"),
        1
    );
    // The retrier keeps trying, with backoff, until Logistics acknowledges.
    let mut waited = 0;
    while probe.int(ServiceName::Fiscal, "SELECT count(*) FROM compensacoes") > 0 && waited < 100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    assert_eq!(
        probe.text(ServiceName::Logistics, "SELECT status FROM envios"),
        "cancelado"
    );
    let report = probe.audit();
    assert!(report.is_clean(), "{:?}", report.violations);
}

#[tokio::test]
async fn a_payment_whose_reservation_was_refused_for_overload_is_voided_even_when_its_writer_is_full()
 {
    let (_dir, env) = env_with(PRODUCTS, approving());
    // Payments and Inventory with a writer that refuses every forward write (none may wait, none
    // commits inline): Inventory refuses the reservation before doing anything, and Payments'
    // void of the payment it approved must still land, as every compensation does.
    let full = ServiceEnv {
        store: StoreConfig {
            inline_commit: false,
            max_queue: 0,
            ..env.store
        },
        ..env.clone()
    };
    let logistics = Arc::new(LogisticsService::open(&env).unwrap());
    let fiscal = Arc::new(FiscalService::open(&env, logistics).unwrap());
    let inventory = Arc::new(InventoryService::open(&full, Arc::new(Direct(fiscal))).unwrap());
    let payments = Arc::new(PaymentsService::open(&full, Arc::new(Direct(inventory))).unwrap());
    let orders = OrdersService::open(&env, Arc::new(Direct(payments))).unwrap();

    let err = orders
        .place_order(CallCtx::unbounded(), request("k-full", 1, &[(1, 2)]))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ServiceError::Overloaded {
                service: "inventory",
                ..
            }
        ),
        "{err:?}"
    );
    let view = orders.get_order(CallCtx::unbounded(), 1).await.unwrap();
    assert_eq!(view.status, OrderStatus::Cancelado);
    let status: String =
        rusqlite::Connection::open(env.data_dir.join(ServiceName::Payments.db_file()))
            .unwrap()
            .query_row("SELECT status FROM pagamentos", [], |r| r.get(0))
            .unwrap();
    assert_eq!(status, "estornado", "the approved payment was voided");
    let report = checkout_core::audit::audit(&env.data_dir).unwrap();
    assert!(report.is_clean(), "{:?}", report.violations);
}
