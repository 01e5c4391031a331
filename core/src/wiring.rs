//! The in-process wiring: the six core services connected by direct calls. It is the core's test
//! harness and the bench's zero-transport baseline (what the checkout costs with no network).
//! Each hop still honours the caller's deadline, as a remote call would.

use std::sync::Arc;

use async_trait::async_trait;

use crate::error::ServiceResult;
use crate::model::*;
use crate::ports::*;
use crate::services::ServiceEnv;
use crate::services::catalog::CatalogService;
use crate::services::fiscal::FiscalService;
use crate::services::inventory::InventoryService;
use crate::services::logistics::LogisticsService;
use crate::services::orders::OrdersService;
use crate::services::payments::PaymentsService;
use crate::store::Db;

/// A port reached by a direct call that still stops at the caller's deadline.
pub struct Direct<S>(pub Arc<S>);

#[async_trait]
impl<S: PaymentsPort + 'static> PaymentsPort for Direct<S> {
    async fn process_payment(
        &self,
        ctx: CallCtx,
        req: PaymentRequest,
    ) -> ServiceResult<PaymentReply> {
        within(ctx, "payments", self.0.process_payment(ctx, req)).await
    }
    async fn void_payment(&self, ctx: CallCtx, order_id: i64) -> ServiceResult<()> {
        within(ctx, "payments", self.0.void_payment(ctx, order_id)).await
    }
}

#[async_trait]
impl<S: InventoryPort + 'static> InventoryPort for Direct<S> {
    async fn reserve_stock(&self, ctx: CallCtx, req: ReserveRequest) -> ServiceResult<Fulfilment> {
        within(ctx, "inventory", self.0.reserve_stock(ctx, req)).await
    }
    async fn release_stock(&self, ctx: CallCtx, order_id: i64) -> ServiceResult<()> {
        within(ctx, "inventory", self.0.release_stock(ctx, order_id)).await
    }
    async fn stock_levels(&self, ctx: CallCtx, ids: Vec<i64>) -> ServiceResult<Vec<StockLevel>> {
        within(ctx, "inventory", self.0.stock_levels(ctx, ids)).await
    }
    async fn adjust_stock(
        &self,
        ctx: CallCtx,
        product_id: i64,
        delta: i64,
    ) -> ServiceResult<StockLevel> {
        within(
            ctx,
            "inventory",
            self.0.adjust_stock(ctx, product_id, delta),
        )
        .await
    }
}

#[async_trait]
impl<S: FiscalPort + 'static> FiscalPort for Direct<S> {
    async fn issue_invoice(&self, ctx: CallCtx, req: InvoiceRequest) -> ServiceResult<Fulfilment> {
        within(ctx, "fiscal", self.0.issue_invoice(ctx, req)).await
    }
    async fn cancel_invoice(&self, ctx: CallCtx, order_id: i64) -> ServiceResult<()> {
        within(ctx, "fiscal", self.0.cancel_invoice(ctx, order_id)).await
    }
}

#[async_trait]
impl<S: LogisticsPort + 'static> LogisticsPort for Direct<S> {
    async fn schedule_shipment(
        &self,
        ctx: CallCtx,
        req: ShipmentRequest,
    ) -> ServiceResult<ShipmentReply> {
        within(ctx, "logistics", self.0.schedule_shipment(ctx, req)).await
    }
    async fn cancel_shipment(&self, ctx: CallCtx, order_id: i64) -> ServiceResult<()> {
        within(ctx, "logistics", self.0.cancel_shipment(ctx, order_id)).await
    }
}

/// The six services wired by direct calls, each on its own database in one data directory.
pub struct InProcess {
    /// Orders, the entry point.
    pub orders: OrdersService,
    /// Payments.
    pub payments: Arc<PaymentsService>,
    /// Inventory.
    pub inventory: Arc<InventoryService>,
    /// Fiscal.
    pub fiscal: Arc<FiscalService>,
    /// Logistics.
    pub logistics: Arc<LogisticsService>,
    /// Catalog.
    pub catalog: Arc<CatalogService>,
}

impl InProcess {
    /// Opens all six services in `env.data_dir` (initialise it first with [`crate::seed_import`]).
    pub fn open(env: &ServiceEnv) -> ServiceResult<Self> {
        let logistics = Arc::new(LogisticsService::open(env)?);
        let fiscal = Arc::new(FiscalService::open(
            env,
            Arc::new(Direct(logistics.clone())),
        )?);
        let inventory = Arc::new(InventoryService::open(
            env,
            Arc::new(Direct(fiscal.clone())),
        )?);
        let payments = Arc::new(PaymentsService::open(
            env,
            Arc::new(Direct(inventory.clone())),
        )?);
        let orders = OrdersService::open(env, Arc::new(Direct(payments.clone())))?;
        let catalog = Arc::new(CatalogService::open(
            env,
            Arc::new(Direct(inventory.clone())),
        )?);
        Ok(Self {
            orders,
            payments,
            inventory,
            fiscal,
            logistics,
            catalog,
        })
    }

    /// The six databases, in [`crate::topology::ServiceName::ALL`] order.
    pub fn databases(&self) -> [&Db; 6] {
        [
            self.orders.db(),
            self.payments.db(),
            self.inventory.db(),
            self.fiscal.db(),
            self.logistics.db(),
            self.catalog.db(),
        ]
    }

    /// Lets queued writes commit and closes every database.
    pub fn close(&self) {
        for db in self.databases() {
            db.close();
        }
    }
}
