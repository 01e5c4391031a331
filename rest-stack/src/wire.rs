//! The JSON bodies, with the same field names as the proto messages. The handlers take and
//! return exactly these types, and the OpenAPI documents are derived from them, so the two
//! cannot drift. Their conversions to and from the core's types are all in [`crate::convert`].

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

/// The error body of every non-2xx answer: the core's [`ErrorDetails`], the same fields as
/// gRPC's `comum.Erro`, with its OpenAPI schema derived in the core.
pub use checkout_core::error::ErrorDetails as Erro;
