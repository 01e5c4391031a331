//! The services' APIs as traits: "the next hop". Each core service implements its own trait and
//! holds its downstream peer as `Arc<dyn …Port>`, so Orders calls Payments without knowing whether
//! the call crosses gRPC, REST or nothing at all. The stacks implement these traits over their
//! clients; the bench drives any target through [`OrdersPort`] and [`CatalogPort`].

use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::error::{ServiceError, ServiceResult};
use crate::model::*;

/// Per-call context: the deadline by which the caller stops waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallCtx {
    /// Instant after which the caller gives up; `None` means no deadline.
    pub deadline: Option<Instant>,
}

impl CallCtx {
    /// A context whose deadline is `budget` from now.
    pub fn with_timeout(budget: Duration) -> Self {
        Self {
            deadline: Some(Instant::now() + budget),
        }
    }

    /// A context with no deadline.
    pub fn unbounded() -> Self {
        Self { deadline: None }
    }

    /// Time left before the deadline (zero once passed); `None` without a deadline.
    pub fn remaining(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// The earlier of this deadline and `budget` from now: what a service uses when it has a
    /// default timeout of its own and the caller may have a tighter one.
    pub fn capped(&self, budget: Duration) -> Self {
        let own = Instant::now() + budget;
        Self {
            deadline: Some(self.deadline.map_or(own, |d| d.min(own))),
        }
    }
}

/// Orders (Pedidos): the checkout's entry point.
#[async_trait]
pub trait OrdersPort: Send + Sync {
    /// Places an order and runs the whole chain; returns the order in its final status.
    async fn place_order(&self, ctx: CallCtx, req: CheckoutRequest) -> ServiceResult<OrderView>;
    /// Reads an order.
    async fn get_order(&self, ctx: CallCtx, order_id: i64) -> ServiceResult<OrderView>;
}

/// Payments (Pagamentos).
#[async_trait]
pub trait PaymentsPort: Send + Sync {
    /// Authorises the payment and, when approved, runs the rest of the chain.
    async fn process_payment(
        &self,
        ctx: CallCtx,
        req: PaymentRequest,
    ) -> ServiceResult<PaymentReply>;
    /// Voids the order's payment (or records that none may be taken) and everything below it.
    async fn void_payment(&self, ctx: CallCtx, order_id: i64) -> ServiceResult<()>;
}

/// Inventory (Estoque).
#[async_trait]
pub trait InventoryPort: Send + Sync {
    /// Reserves every line of the order, all or none, then asks Fiscal for the invoice.
    async fn reserve_stock(&self, ctx: CallCtx, req: ReserveRequest) -> ServiceResult<Fulfilment>;
    /// Releases the order's reservation (or records that none may be made) and cancels below.
    async fn release_stock(&self, ctx: CallCtx, order_id: i64) -> ServiceResult<()>;
    /// Stock on hand for the given products (all products when `product_ids` is empty).
    async fn stock_levels(
        &self,
        ctx: CallCtx,
        product_ids: Vec<i64>,
    ) -> ServiceResult<Vec<StockLevel>>;
    /// Adds `delta` (may be negative) to a product's stock; refuses to go below zero.
    async fn adjust_stock(
        &self,
        ctx: CallCtx,
        product_id: i64,
        delta: i64,
    ) -> ServiceResult<StockLevel>;
}

/// Fiscal (Notas fiscais).
#[async_trait]
pub trait FiscalPort: Send + Sync {
    /// Issues the invoice, then asks Logistics for the shipment.
    async fn issue_invoice(&self, ctx: CallCtx, req: InvoiceRequest) -> ServiceResult<Fulfilment>;
    /// Cancels the order's invoice (or records that none may be issued) and the shipment.
    async fn cancel_invoice(&self, ctx: CallCtx, order_id: i64) -> ServiceResult<()>;
}

/// Logistics (Envios): the end of the chain.
#[async_trait]
pub trait LogisticsPort: Send + Sync {
    /// Schedules the shipment and returns its tracking code.
    async fn schedule_shipment(
        &self,
        ctx: CallCtx,
        req: ShipmentRequest,
    ) -> ServiceResult<ShipmentReply>;
    /// Cancels the order's shipment (or records that none may be scheduled).
    async fn cancel_shipment(&self, ctx: CallCtx, order_id: i64) -> ServiceResult<()>;
}

/// Catalog (Catálogo).
#[async_trait]
pub trait CatalogPort: Send + Sync {
    /// Lists products with live stock, optionally filtered (seed 002 queries).
    async fn list_products(
        &self,
        ctx: CallCtx,
        filter: ProductFilter,
    ) -> ServiceResult<Vec<ProductInfo>>;
    /// Changes a product's stock by `delta` (seed 002 stock update); returns the product.
    async fn update_stock(
        &self,
        ctx: CallCtx,
        product_id: i64,
        delta: i64,
    ) -> ServiceResult<ProductInfo>;
}

/// Runs `call` until the context's deadline; past it, answers `DeadlineExceeded` for `service`.
/// Every way of reaching a port (a direct call, a gRPC or REST client, a server handler) bounds
/// the call with it.
pub async fn within<T>(
    ctx: CallCtx,
    service: &'static str,
    call: impl std::future::Future<Output = ServiceResult<T>>,
) -> ServiceResult<T> {
    match ctx.deadline {
        None => call.await,
        Some(d) => tokio::time::timeout_at(d.into(), call)
            .await
            .unwrap_or(Err(ServiceError::DeadlineExceeded { service })),
    }
}
