//! The services' APIs as traits: "the next hop". Each core service implements its own trait and
//! holds its downstream peer as `Arc<dyn …Port>`, so Orders calls Payments without knowing whether
//! the call crosses gRPC, REST or nothing at all. The stacks implement these traits over their
//! clients; the bench drives any target through [`OrdersPort`] and [`CatalogPort`].

use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::error::{ServiceError, ServiceResult};
use crate::model::*;

/// A call's W3C trace context (`traceparent`): the trace it belongs to and the span that made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trace {
    /// The trace every hop of one request shares (never zero).
    pub trace_id: u128,
    /// The calling span (never zero).
    pub parent_id: u64,
}

/// A fresh non-zero random number of 64 bits (time, a counter and the process id, mixed).
fn random_u64() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mixed =
        crate::sim::splitmix(now ^ crate::sim::splitmix(n ^ ((std::process::id() as u64) << 32)));
    mixed.max(1)
}

impl Trace {
    /// A new trace, started here.
    pub fn new() -> Self {
        Self {
            trace_id: ((random_u64() as u128) << 64) | random_u64() as u128,
            parent_id: random_u64(),
        }
    }

    /// The same trace, as a call made from a new span of this hop.
    pub fn child(self) -> Self {
        Self {
            parent_id: random_u64(),
            ..self
        }
    }

    /// The trace id as 32 lowercase hex digits.
    pub fn trace_hex(&self) -> String {
        format!("{:032x}", self.trace_id)
    }

    /// The `traceparent` header value (version 00, sampled).
    pub fn header(&self) -> String {
        format!("00-{:032x}-{:016x}-01", self.trace_id, self.parent_id)
    }

    /// Reads a `traceparent` value; `None` when it is not one (wrong shape, zero ids, version ff).
    pub fn parse(v: &str) -> Option<Self> {
        let mut parts = v.trim().split('-');
        let (version, trace, parent, flags) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let hex = |s: &str, len: usize| {
            s.len() == len
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        if !hex(version, 2)
            || version == "ff"
            || !hex(trace, 32)
            || !hex(parent, 16)
            || !hex(flags, 2)
        {
            return None;
        }
        if version == "00" && parts.next().is_some() {
            return None;
        }
        let trace_id = u128::from_str_radix(trace, 16).ok()?;
        let parent_id = u64::from_str_radix(parent, 16).ok()?;
        (trace_id != 0 && parent_id != 0).then_some(Self {
            trace_id,
            parent_id,
        })
    }
}

impl Default for Trace {
    fn default() -> Self {
        Self::new()
    }
}

/// Per-call context: the deadline by which the caller stops waiting, and the trace the call
/// belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallCtx {
    /// Instant after which the caller gives up; `None` means no deadline.
    pub deadline: Option<Instant>,
    /// The W3C trace context it carries to the next hop, if any.
    pub trace: Option<Trace>,
}

impl CallCtx {
    /// A context whose deadline is `budget` from now.
    pub fn with_timeout(budget: Duration) -> Self {
        Self {
            deadline: Some(Instant::now() + budget),
            trace: None,
        }
    }

    /// A context with no deadline.
    pub fn unbounded() -> Self {
        Self {
            deadline: None,
            trace: None,
        }
    }

    /// The same context, part of `trace`.
    pub fn traced(self, trace: Trace) -> Self {
        Self {
            trace: Some(trace),
            ..self
        }
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
            ..*self
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

#[cfg(test)]
mod trace_tests {
    use super::*;

    #[test]
    fn traceparent_round_trips_and_malformed_values_are_refused() {
        let t = Trace::new();
        assert_eq!(Trace::parse(&t.header()), Some(t));
        let w3c = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let p = Trace::parse(w3c).unwrap();
        assert_eq!(p.trace_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(p.header(), w3c);
        let c = p.child();
        assert_eq!(c.trace_id, p.trace_id);
        assert_ne!(c.parent_id, p.parent_id);
        for bad in [
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "garbage",
        ] {
            assert_eq!(Trace::parse(bad), None, "{bad}");
        }
        let ctx = CallCtx::with_timeout(Duration::from_secs(1)).traced(p);
        assert_eq!(ctx.capped(Duration::from_millis(10)).trace, Some(p));
    }
}
