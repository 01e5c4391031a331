//! The request sequence: request `i` of a scenario is a pure function of (run seed, scenario,
//! step, i), so every target receives the identical customers, items and idempotency keys.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use checkout_core::sim::splitmix;
use checkout_core::*;

/// Requests of one step.
#[derive(Debug, Clone)]
pub struct Workload {
    seed: u64,
    prefix: String,
    customers: u64,
    products: u64,
}

impl Workload {
    /// The sequence of `scenario`'s step `step` against data with the given counts.
    pub fn new(seed: u64, scenario: &str, step: usize, customers: usize, products: usize) -> Self {
        Self {
            seed,
            prefix: format!("s{seed}-{scenario}-{step}"),
            customers: customers as u64,
            products: products as u64,
        }
    }

    fn draw(&self, i: u64, purpose: u64) -> u64 {
        splitmix(self.seed ^ splitmix(i.wrapping_mul(0x9e37_79b9).wrapping_add(purpose)))
    }

    /// Checkout `i`: a customer, 1–5 distinct products, 1–3 units each (the seed's shape).
    pub fn checkout(&self, i: u64) -> CheckoutRequest {
        let customer = 1 + (self.draw(i, 1) % self.customers) as i64;
        let lines = 1 + self.draw(i, 2) % 5.min(self.products);
        let mut items: Vec<ItemRequest> = Vec::with_capacity(lines as usize);
        let mut k = 3;
        while items.len() < lines as usize {
            let product = 1 + (self.draw(i, k) % self.products) as i64;
            k += 1;
            if items.iter().any(|it| it.product_id == product) {
                continue;
            }
            items.push(ItemRequest {
                product_id: product,
                quantity: 1 + (self.draw(i, 100 + k) % 3) as i64,
            });
        }
        CheckoutRequest {
            idempotency_key: format!("{}-{i}", self.prefix),
            customer_id: customer,
            items,
        }
    }
}

/// The outcome of one request: a label on success (`enviado`, `cancelado`, `ok`), an error kind
/// otherwise.
pub type Outcome = Result<&'static str, &'static str>;

/// What the load engine sends: request `i` of the sequence, to some target.
#[async_trait]
pub trait Call: Send + Sync + 'static {
    /// Sends request `i`, meant to start at `intended`, and reports how it ended. Its deadline
    /// counts from `intended`, so a request the generator dispatched late has that much less
    /// time, and none outlives its deadline.
    async fn call(&self, i: u64, intended: Instant) -> Outcome;
}

/// The context of a request meant to start at `intended` with `budget` to finish.
fn deadline_from(intended: Instant, budget: Duration) -> CallCtx {
    CallCtx {
        deadline: Some(intended + budget),
        trace: None,
    }
}

/// Checkouts through a target's Orders.
pub struct CheckoutCall {
    /// The target's Orders.
    pub orders: Arc<dyn OrdersPort>,
    /// The sequence.
    pub workload: Workload,
    /// Deadline of each checkout.
    pub deadline: Duration,
}

#[async_trait]
impl Call for CheckoutCall {
    async fn call(&self, i: u64, intended: Instant) -> Outcome {
        match self
            .orders
            .place_order(
                deadline_from(intended, self.deadline),
                self.workload.checkout(i),
            )
            .await
        {
            Ok(o) => Ok(o.status.as_str()),
            Err(e) => Err(e.kind()),
        }
    }
}

/// Full catalog listings through a target's Catalog.
pub struct CatalogCall {
    /// The target's Catalog.
    pub catalog: Arc<dyn CatalogPort>,
    /// Products the listing must return.
    pub expected: usize,
    /// Deadline of each listing.
    pub deadline: Duration,
}

#[async_trait]
impl Call for CatalogCall {
    async fn call(&self, _i: u64, intended: Instant) -> Outcome {
        match self
            .catalog
            .list_products(
                deadline_from(intended, self.deadline),
                ProductFilter::default(),
            )
            .await
        {
            Ok(list) if list.len() == self.expected => Ok("ok"),
            Ok(_) => Err("wrong_answer"),
            Err(e) => Err(e.kind()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sequence_is_deterministic_and_well_formed() {
        let a = Workload::new(7, "checkout-open", 2, 50, 30);
        let b = Workload::new(7, "checkout-open", 2, 50, 30);
        for i in 0..500 {
            let r = a.checkout(i);
            assert_eq!(r, b.checkout(i));
            assert!((1..=5).contains(&r.items.len()));
            assert!((1..=50).contains(&r.customer_id));
            let mut ids: Vec<i64> = r.items.iter().map(|x| x.product_id).collect();
            ids.sort_unstable();
            ids.dedup();
            assert_eq!(ids.len(), r.items.len(), "distinct products");
            assert!(
                r.items
                    .iter()
                    .all(|x| (1..=30).contains(&x.product_id) && (1..=3).contains(&x.quantity))
            );
        }
        assert_ne!(
            a.checkout(1),
            Workload::new(8, "checkout-open", 2, 50, 30).checkout(1)
        );
    }
}
