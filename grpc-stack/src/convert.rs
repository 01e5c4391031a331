//! Wire messages to domain types and back. Pure data mapping; validation is the core's.

use checkout_core::*;

use crate::pb::{catalogo, comum, pedidos};

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

/// Product to the wire (the seed's `ProdutoInfo`: 32-bit id and stock).
pub fn product_to_wire(p: ProductInfo) -> catalogo::ProdutoInfo {
    catalogo::ProdutoInfo {
        id: p.id as i32,
        nome: p.name,
        estoque: p.stock.clamp(0, i64::from(i32::MAX)) as i32,
        preco_centavos: p.price_cents,
    }
}

/// Product from the wire.
pub fn product_from_wire(p: catalogo::ProdutoInfo) -> ProductInfo {
    ProductInfo {
        id: p.id.into(),
        name: p.nome,
        stock: p.estoque.into(),
        price_cents: p.preco_centavos,
    }
}
