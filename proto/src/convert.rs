//! Wire messages to domain types and back, every one of them: the servers and clients only call
//! these. Pure data mapping; validation is the core's.

use checkout_core::*;

use crate::pb::{catalogo, comum, estoque, fiscal, logistica, pagamento, pedidos};

/// Domain lines to wire items.
pub fn items_to_wire(lines: &[OrderLine]) -> Vec<comum::ItemPedido> {
    lines
        .iter()
        .map(|l| comum::ItemPedido {
            produto_id: l.product_id,
            quantidade: l.quantity,
            preco_unitario_centavos: l.unit_price_cents,
        })
        .collect()
}

/// Wire items to domain lines.
pub fn items_from_wire(items: Vec<comum::ItemPedido>) -> Vec<OrderLine> {
    items
        .into_iter()
        .map(|i| OrderLine {
            product_id: i.produto_id,
            quantity: i.quantidade,
            unit_price_cents: i.preco_unitario_centavos,
        })
        .collect()
}

/// Fulfilment to the wire.
pub fn fulfilment_to_wire(f: Fulfilment) -> comum::Atendimento {
    comum::Atendimento {
        numero_nf: f.invoice_number,
        chave_acesso: f.access_key,
        codigo_rastreamento: f.tracking_code,
    }
}

/// Fulfilment from the wire.
pub fn fulfilment_from_wire(a: comum::Atendimento) -> Fulfilment {
    Fulfilment {
        invoice_number: a.numero_nf,
        access_key: a.chave_acesso,
        tracking_code: a.codigo_rastreamento,
    }
}

/// Checkout request from the wire.
pub fn checkout_from_wire(r: pedidos::CriarPedidoRequest) -> CheckoutRequest {
    CheckoutRequest {
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

/// Checkout request to the wire.
pub fn checkout_to_wire(r: CheckoutRequest) -> pedidos::CriarPedidoRequest {
    pedidos::CriarPedidoRequest {
        chave_idempotencia: r.idempotency_key,
        cliente_id: r.customer_id,
        itens: r
            .items
            .into_iter()
            .map(|i| pedidos::ItemSolicitado {
                produto_id: i.product_id,
                quantidade: i.quantity,
            })
            .collect(),
    }
}

/// Order to the wire.
pub fn order_to_wire(o: OrderView) -> pedidos::Pedido {
    pedidos::Pedido {
        pedido_id: o.order_id,
        chave_idempotencia: o.idempotency_key,
        cliente_id: o.customer_id,
        status: o.status.as_str().to_owned(),
        valor_total_centavos: o.total_cents,
        motivo: o.reason,
        numero_nf: o.invoice_number,
        codigo_rastreamento: o.tracking_code,
        itens: items_to_wire(&o.lines),
    }
}

/// Order from the wire; an unknown status is an error of the peer.
pub fn order_from_wire(p: pedidos::Pedido) -> ServiceResult<OrderView> {
    Ok(OrderView {
        order_id: p.pedido_id,
        idempotency_key: p.chave_idempotencia,
        customer_id: p.cliente_id,
        status: OrderStatus::parse(&p.status)
            .ok_or_else(|| ServiceError::Internal(format!("unknown status {:?}", p.status)))?,
        total_cents: p.valor_total_centavos,
        reason: p.motivo,
        invoice_number: p.numero_nf,
        tracking_code: p.codigo_rastreamento,
        lines: items_from_wire(p.itens),
    })
}

/// Product to the wire (the seed's `ProdutoInfo`, with 64-bit id and stock).
pub fn product_to_wire(p: ProductInfo) -> catalogo::ProdutoInfo {
    catalogo::ProdutoInfo {
        id: p.id,
        nome: p.name,
        estoque: p.stock,
        preco_centavos: p.price_cents,
    }
}

/// Product from the wire.
pub fn product_from_wire(p: catalogo::ProdutoInfo) -> ProductInfo {
    ProductInfo {
        id: p.id,
        name: p.nome,
        stock: p.estoque,
        price_cents: p.preco_centavos,
    }
}

/// The order down the chain to Payments' wire request.
pub fn payment_to_wire(o: &ChainOrder) -> pagamento::PagamentoRequest {
    pagamento::PagamentoRequest {
        pedido_id: o.order_id,
        valor_centavos: o.amount_cents,
        chave_pedido: o.order_key.clone(),
        itens: items_to_wire(&o.lines),
    }
}

/// Payments' wire request to the order down the chain.
pub fn payment_from_wire(m: pagamento::PagamentoRequest) -> ChainOrder {
    ChainOrder {
        order_id: m.pedido_id,
        order_key: m.chave_pedido,
        amount_cents: m.valor_centavos,
        lines: items_from_wire(m.itens),
    }
}

/// Payments' answer to the wire.
pub fn payment_reply_to_wire(p: PaymentReply) -> pagamento::PagamentoResponse {
    pagamento::PagamentoResponse {
        pedido_id: p.order_id,
        sucesso: p.success,
        mensagem: p.message,
        metodo: p.method,
        atendimento: p.fulfilment.map(fulfilment_to_wire),
    }
}

/// Payments' answer from the wire.
pub fn payment_reply_from_wire(r: pagamento::PagamentoResponse) -> PaymentReply {
    PaymentReply {
        order_id: r.pedido_id,
        success: r.sucesso,
        message: r.mensagem,
        method: r.metodo,
        fulfilment: r.atendimento.map(fulfilment_from_wire),
    }
}

/// The order down the chain to Inventory's wire request.
pub fn reserve_to_wire(o: &ChainOrder) -> estoque::SepararEstoqueRequest {
    estoque::SepararEstoqueRequest {
        pedido_id: o.order_id,
        chave_pedido: o.order_key.clone(),
        valor_centavos: o.amount_cents,
        itens: items_to_wire(&o.lines),
    }
}

/// Inventory's wire request to the order down the chain.
pub fn reserve_from_wire(m: estoque::SepararEstoqueRequest) -> ChainOrder {
    ChainOrder {
        order_id: m.pedido_id,
        order_key: m.chave_pedido,
        amount_cents: m.valor_centavos,
        lines: items_from_wire(m.itens),
    }
}

/// A stock level to the wire.
pub fn level_to_wire(l: StockLevel) -> estoque::NivelEstoque {
    estoque::NivelEstoque {
        produto_id: l.product_id,
        quantidade: l.quantity,
    }
}

/// A stock level from the wire.
pub fn level_from_wire(n: estoque::NivelEstoque) -> StockLevel {
    StockLevel {
        product_id: n.produto_id,
        quantity: n.quantidade,
    }
}

/// Fiscal's request to the wire.
pub fn invoice_to_wire(r: InvoiceRequest) -> fiscal::EmitirNotaFiscalRequest {
    fiscal::EmitirNotaFiscalRequest {
        pedido_id: r.order_id,
        chave_pedido: r.order_key,
        valor_centavos: r.amount_cents,
    }
}

/// Fiscal's request from the wire.
pub fn invoice_from_wire(m: fiscal::EmitirNotaFiscalRequest) -> InvoiceRequest {
    InvoiceRequest {
        order_id: m.pedido_id,
        order_key: m.chave_pedido,
        amount_cents: m.valor_centavos,
    }
}

/// Logistics' request to the wire.
pub fn shipment_to_wire(r: ShipmentRequest) -> logistica::AgendarEnvioRequest {
    logistica::AgendarEnvioRequest {
        pedido_id: r.order_id,
        chave_pedido: r.order_key,
        numero_nf: r.invoice_number,
    }
}

/// Logistics' request from the wire.
pub fn shipment_from_wire(m: logistica::AgendarEnvioRequest) -> ShipmentRequest {
    ShipmentRequest {
        order_id: m.pedido_id,
        order_key: m.chave_pedido,
        invoice_number: m.numero_nf,
    }
}

/// Logistics' answer to the wire.
pub fn shipment_reply_to_wire(s: ShipmentReply) -> logistica::AgendarEnvioResponse {
    logistica::AgendarEnvioResponse {
        pedido_id: s.order_id,
        codigo_rastreamento: s.tracking_code,
    }
}

/// Logistics' answer from the wire.
pub fn shipment_reply_from_wire(r: logistica::AgendarEnvioResponse) -> ShipmentReply {
    ShipmentReply {
        order_id: r.pedido_id,
        tracking_code: r.codigo_rastreamento,
    }
}

/// Catalog's filters to the wire.
pub fn filter_to_wire(f: ProductFilter) -> catalogo::ListarProdutosRequest {
    catalogo::ListarProdutosRequest {
        nome: f.name_contains,
        preco_maximo_centavos: f.max_price_cents,
    }
}

/// Catalog's filters from the wire.
pub fn filter_from_wire(m: catalogo::ListarProdutosRequest) -> ProductFilter {
    ProductFilter {
        name_contains: m.nome,
        max_price_cents: m.preco_maximo_centavos,
    }
}
