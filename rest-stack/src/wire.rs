//! The JSON bodies, with the same field names as the proto messages. The handlers take and
//! return exactly these types, and the OpenAPI documents are derived from them, so the two
//! cannot drift.

use checkout_core::error::ErrorDetails;
use checkout_core::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A line of the client's checkout.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemSolicitado {
    /// Product id.
    pub produto_id: i64,
    /// Units, 1 to 10 000.
    pub quantidade: i64,
}

/// `POST /pedidos`: the checkout.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CriarPedidoRequest {
    /// Client-chosen key; a retry with the same key returns the first outcome.
    pub chave_idempotencia: String,
    /// Customer id.
    pub cliente_id: i64,
    /// One line per product, at least one, at most 100.
    pub itens: Vec<ItemSolicitado>,
}

/// A priced line of an order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemPedido {
    /// Product id.
    pub produto_id: i64,
    /// Units.
    pub quantidade: i64,
    /// Unit price in cents.
    pub preco_unitario_centavos: i64,
}

/// An order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Pedido {
    /// Order id.
    pub pedido_id: i64,
    /// The key it was placed with.
    pub chave_idempotencia: String,
    /// Customer id.
    pub cliente_id: i64,
    /// `pendente`, `pagamento_aprovado`, `em_separacao`, `nf_emitida`, `enviado` or `cancelado`.
    pub status: String,
    /// Total in cents.
    pub valor_total_centavos: i64,
    /// Why it was cancelled.
    pub motivo: Option<String>,
    /// Invoice number.
    pub numero_nf: Option<String>,
    /// Tracking code.
    pub codigo_rastreamento: Option<String>,
    /// The priced lines.
    pub itens: Vec<ItemPedido>,
}

/// Names an order (compensations).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PedidoRef {
    /// Order id.
    pub pedido_id: i64,
}

/// What the chain below Payments produced.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Atendimento {
    /// Invoice number.
    pub numero_nf: String,
    /// 44-digit NF-e access key.
    pub chave_acesso: String,
    /// Tracking code.
    pub codigo_rastreamento: String,
}

/// `POST /pagamentos` (the seed's `PagamentoRequest`, money in cents).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PagamentoRequest {
    /// Order id.
    pub pedido_id: i64,
    /// Amount in cents.
    pub valor_centavos: i64,
    /// The order's key (seeds the simulation).
    pub chave_pedido: String,
    /// The priced lines, passed on to Inventory.
    pub itens: Vec<ItemPedido>,
}

/// The seed's `PagamentoResponse`, plus what the chain produced.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PagamentoResponse {
    /// Order id.
    pub pedido_id: i64,
    /// Approved and fulfilled.
    pub sucesso: bool,
    /// Outcome.
    pub mensagem: String,
    /// `cartao_credito`, `boleto` or `pix`.
    pub metodo: String,
    /// Invoice and shipment, when approved.
    pub atendimento: Option<Atendimento>,
}

/// `POST /estoque/separar`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SepararEstoqueRequest {
    /// Order id.
    pub pedido_id: i64,
    /// The order's key.
    pub chave_pedido: String,
    /// Amount in cents, passed on to Fiscal.
    pub valor_centavos: i64,
    /// Lines to reserve, all or none.
    pub itens: Vec<ItemPedido>,
}

/// Stock of one product.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NivelEstoque {
    /// Product id.
    pub produto_id: i64,
    /// Units on hand.
    pub quantidade: i64,
}

/// `POST /estoque/consultar` answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConsultarEstoqueResponse {
    /// One level per product found.
    pub niveis: Vec<NivelEstoque>,
}

/// `POST /estoque/consultar`: stock of the given products (all products when the list is empty).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsultarEstoqueRequest {
    /// Product ids.
    #[serde(default)]
    pub produto_ids: Vec<i64>,
}

/// `POST /estoque/ajustar`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AjustarEstoqueRequest {
    /// Product id.
    pub produto_id: i64,
    /// Units to add (negative to remove).
    pub delta: i64,
}

/// `POST /notas-fiscais`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmitirNotaFiscalRequest {
    /// Order id.
    pub pedido_id: i64,
    /// The order's key.
    pub chave_pedido: String,
    /// Amount in cents.
    pub valor_centavos: i64,
}

/// `POST /envios`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgendarEnvioRequest {
    /// Order id.
    pub pedido_id: i64,
    /// The order's key.
    pub chave_pedido: String,
    /// Invoice number.
    pub numero_nf: String,
}

/// `POST /envios` answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AgendarEnvioResponse {
    /// Order id.
    pub pedido_id: i64,
    /// Tracking code.
    pub codigo_rastreamento: String,
}

/// The seed's product entry: `{"id":1,"nome":"Produto A","estoque":10}`, plus the price.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProdutoInfo {
    /// Product id.
    pub id: i64,
    /// Name.
    pub nome: String,
    /// Live stock.
    pub estoque: i64,
    /// Unit price in cents.
    pub preco_centavos: i64,
}

/// `GET /produtos` query (seed 002's filters).
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListarProdutosQuery {
    /// Case-insensitive substring of the name.
    pub nome: Option<String>,
    /// Highest price in cents, inclusive.
    pub preco_maximo_centavos: Option<i64>,
}

/// `POST /produtos/{id}/estoque`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AtualizarEstoqueRequest {
    /// Units to add (negative to remove).
    pub delta: i64,
}

/// `GET /health` answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Saude {
    /// `SERVING`.
    pub status: String,
    /// Which service answered.
    pub servico: String,
}

/// The error body of every non-2xx answer (the same fields as gRPC's `comum.Erro`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct Erro {
    /// Kind: `invalid_argument`, `not_found`, `out_of_stock`, `aborted`, `unavailable`,
    /// `deadline_exceeded`, `payload_too_large`, `unsupported_media_type` or `internal`.
    pub erro: String,
    /// Human-readable message.
    pub mensagem: String,
    /// `invalid_argument`: the offending field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campo: Option<String>,
    /// `not_found`: `produto`, `cliente` or `pedido`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entidade: Option<String>,
    /// `not_found`: the id; `aborted`: the order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// `out_of_stock`: the product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub produto_id: Option<i64>,
    /// `out_of_stock`: units asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solicitado: Option<i64>,
    /// `out_of_stock`: units on hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disponivel: Option<i64>,
    /// `unavailable`, `deadline_exceeded`, `aborted`: the service concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub servico: Option<String>,
}

impl From<ErrorDetails> for Erro {
    fn from(d: ErrorDetails) -> Self {
        let ErrorDetails {
            erro,
            mensagem,
            campo,
            entidade,
            id,
            produto_id,
            solicitado,
            disponivel,
            servico,
        } = d;
        Self {
            erro,
            mensagem,
            campo,
            entidade,
            id,
            produto_id,
            solicitado,
            disponivel,
            servico,
        }
    }
}

impl From<Erro> for ErrorDetails {
    fn from(e: Erro) -> Self {
        let Erro {
            erro,
            mensagem,
            campo,
            entidade,
            id,
            produto_id,
            solicitado,
            disponivel,
            servico,
        } = e;
        Self {
            erro,
            mensagem,
            campo,
            entidade,
            id,
            produto_id,
            solicitado,
            disponivel,
            servico,
        }
    }
}

impl From<&OrderLine> for ItemPedido {
    fn from(l: &OrderLine) -> Self {
        Self {
            produto_id: l.product_id,
            quantidade: l.quantity,
            preco_unitario_centavos: l.unit_price_cents,
        }
    }
}

impl From<ItemPedido> for OrderLine {
    fn from(i: ItemPedido) -> Self {
        Self {
            product_id: i.produto_id,
            quantity: i.quantidade,
            unit_price_cents: i.preco_unitario_centavos,
        }
    }
}

impl From<Fulfilment> for Atendimento {
    fn from(f: Fulfilment) -> Self {
        Self {
            numero_nf: f.invoice_number,
            chave_acesso: f.access_key,
            codigo_rastreamento: f.tracking_code,
        }
    }
}

impl From<Atendimento> for Fulfilment {
    fn from(a: Atendimento) -> Self {
        Self {
            invoice_number: a.numero_nf,
            access_key: a.chave_acesso,
            tracking_code: a.codigo_rastreamento,
        }
    }
}

impl From<CriarPedidoRequest> for CheckoutRequest {
    fn from(r: CriarPedidoRequest) -> Self {
        Self {
            idempotency_key: r.chave_idempotencia,
            customer_id: r.cliente_id,
            items: r
                .itens
                .into_iter()
                .map(|i| ItemRequest {
                    product_id: i.produto_id,
                    quantity: i.quantidade,
                })
                .collect(),
        }
    }
}

impl From<CheckoutRequest> for CriarPedidoRequest {
    fn from(r: CheckoutRequest) -> Self {
        Self {
            chave_idempotencia: r.idempotency_key,
            cliente_id: r.customer_id,
            itens: r
                .items
                .into_iter()
                .map(|i| ItemSolicitado {
                    produto_id: i.product_id,
                    quantidade: i.quantity,
                })
                .collect(),
        }
    }
}

impl From<OrderView> for Pedido {
    fn from(o: OrderView) -> Self {
        Self {
            pedido_id: o.order_id,
            itens: o.lines.iter().map(ItemPedido::from).collect(),
            chave_idempotencia: o.idempotency_key,
            cliente_id: o.customer_id,
            status: o.status.as_str().to_owned(),
            valor_total_centavos: o.total_cents,
            motivo: o.reason,
            numero_nf: o.invoice_number,
            codigo_rastreamento: o.tracking_code,
        }
    }
}

impl TryFrom<Pedido> for OrderView {
    type Error = ServiceError;
    fn try_from(p: Pedido) -> ServiceResult<Self> {
        Ok(Self {
            order_id: p.pedido_id,
            idempotency_key: p.chave_idempotencia,
            customer_id: p.cliente_id,
            status: OrderStatus::parse(&p.status)
                .ok_or_else(|| ServiceError::Internal(format!("unknown status {:?}", p.status)))?,
            total_cents: p.valor_total_centavos,
            reason: p.motivo,
            invoice_number: p.numero_nf,
            tracking_code: p.codigo_rastreamento,
            lines: p.itens.into_iter().map(OrderLine::from).collect(),
        })
    }
}

impl From<ProductInfo> for ProdutoInfo {
    fn from(p: ProductInfo) -> Self {
        Self {
            id: p.id,
            nome: p.name,
            estoque: p.stock,
            preco_centavos: p.price_cents,
        }
    }
}

impl From<ProdutoInfo> for ProductInfo {
    fn from(p: ProdutoInfo) -> Self {
        Self {
            id: p.id,
            name: p.nome,
            stock: p.estoque,
            price_cents: p.preco_centavos,
        }
    }
}

impl From<StockLevel> for NivelEstoque {
    fn from(l: StockLevel) -> Self {
        Self {
            produto_id: l.product_id,
            quantidade: l.quantity,
        }
    }
}

impl From<NivelEstoque> for StockLevel {
    fn from(n: NivelEstoque) -> Self {
        Self {
            product_id: n.produto_id,
            quantity: n.quantidade,
        }
    }
}
