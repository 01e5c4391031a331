//! Domain types shared by the six services: what a checkout carries along the chain and what
//! each service answers. Money is always an integer number of cents.

use serde::{Deserialize, Serialize};

/// Status of an order, with the seed's names on the wire and in the databases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Created, chain not finished.
    Pendente,
    /// Payment approved (seen in imported seed data; the synchronous chain moves past it).
    PagamentoAprovado,
    /// Stock reserved.
    EmSeparacao,
    /// Invoice issued.
    NfEmitida,
    /// Shipment scheduled: the successful final status.
    Enviado,
    /// Cancelled, with a reason: the unsuccessful final status.
    Cancelado,
}

impl OrderStatus {
    /// The seed's name for this status.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pendente => "pendente",
            Self::PagamentoAprovado => "pagamento_aprovado",
            Self::EmSeparacao => "em_separacao",
            Self::NfEmitida => "nf_emitida",
            Self::Enviado => "enviado",
            Self::Cancelado => "cancelado",
        }
    }

    /// Parses the seed's name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pendente" => Self::Pendente,
            "pagamento_aprovado" => Self::PagamentoAprovado,
            "em_separacao" => Self::EmSeparacao,
            "nf_emitida" => Self::NfEmitida,
            "enviado" => Self::Enviado,
            "cancelado" => Self::Cancelado,
            _ => return None,
        })
    }

    /// True for the two statuses an order ends in.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Enviado | Self::Cancelado)
    }
}

/// One line of a checkout as the client sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemRequest {
    /// Product id.
    pub product_id: i64,
    /// Units wanted; must be at least 1.
    pub quantity: i64,
}

/// The client's checkout: who buys what, under an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutRequest {
    /// Client-chosen key: a retry with the same key returns the first outcome.
    pub idempotency_key: String,
    /// Customer id.
    pub customer_id: i64,
    /// Items; non-empty, one line per product.
    pub items: Vec<ItemRequest>,
}

/// A priced item as it travels down the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    /// Product id.
    pub product_id: i64,
    /// Units.
    pub quantity: i64,
    /// Unit price in cents, fixed when the order was placed.
    pub unit_price_cents: i64,
}

/// What the client gets back from a checkout (and from reading an order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderView {
    /// Order id assigned by Orders.
    pub order_id: i64,
    /// The idempotency key the order was placed with (empty for imported orders).
    pub idempotency_key: String,
    /// Customer id.
    pub customer_id: i64,
    /// Current status; final after a checkout returns.
    pub status: OrderStatus,
    /// Sum of the lines, in cents.
    pub total_cents: i64,
    /// Why the order was cancelled, if it was.
    pub reason: Option<String>,
    /// Invoice number, once issued.
    pub invoice_number: Option<String>,
    /// Shipment tracking code, once scheduled.
    pub tracking_code: Option<String>,
    /// The priced lines.
    pub lines: Vec<OrderLine>,
}

/// An order as it travels down the chain: what Payments authorises (seed `PagamentoRequest`,
/// plus what the rest of the chain needs) and what Inventory then reserves, all or none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainOrder {
    /// Order id.
    pub order_id: i64,
    /// The order's idempotency key: seeds every random decision for this order.
    pub order_key: String,
    /// Amount to authorise, in cents (passed on to Fiscal).
    pub amount_cents: i64,
    /// The priced lines, reserved by Inventory.
    pub lines: Vec<OrderLine>,
}

/// Payments' input.
pub type PaymentRequest = ChainOrder;

/// Inventory's input for a reservation: the same order, passed on by Payments.
pub type ReserveRequest = ChainOrder;

/// Payments' answer: seed `PagamentoResponse` plus the chain's results when approved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentReply {
    /// Order id.
    pub order_id: i64,
    /// True when approved and the rest of the chain completed.
    pub success: bool,
    /// Human-readable outcome.
    pub message: String,
    /// Payment method chosen by the simulation (`cartao_credito`, `boleto`, `pix`).
    pub method: String,
    /// Downstream results when `success`.
    pub fulfilment: Option<Fulfilment>,
}

/// Results of the chain below Payments: invoice and shipment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fulfilment {
    /// Invoice number.
    pub invoice_number: String,
    /// 44-digit access key of the invoice.
    pub access_key: String,
    /// Shipment tracking code.
    pub tracking_code: String,
}

/// Fiscal's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceRequest {
    /// Order id.
    pub order_id: i64,
    /// The order's key.
    pub order_key: String,
    /// Invoice amount in cents.
    pub amount_cents: i64,
}

/// Logistics' input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentRequest {
    /// Order id.
    pub order_id: i64,
    /// The order's key.
    pub order_key: String,
    /// Invoice number the shipment travels with.
    pub invoice_number: String,
}

/// Logistics' answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentReply {
    /// Order id.
    pub order_id: i64,
    /// Tracking code (Correios format, e.g. `AB123456785BR`).
    pub tracking_code: String,
}

/// A product as the catalog lists it: seed `ProdutoInfo` plus price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductInfo {
    /// Product id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Live stock, from Inventory.
    pub stock: i64,
    /// Unit price in cents.
    pub price_cents: i64,
}

/// Catalog query (seed 002): all products, or filtered by name and/or maximum price.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductFilter {
    /// Case-insensitive substring of the name.
    pub name_contains: Option<String>,
    /// Highest unit price in cents, inclusive.
    pub max_price_cents: Option<i64>,
}

/// Stock on hand for one product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLevel {
    /// Product id.
    pub product_id: i64,
    /// Units on hand (never negative).
    pub quantity: i64,
}
