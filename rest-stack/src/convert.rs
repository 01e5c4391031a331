//! Every conversion between the REST bodies ([`crate::wire`]) and the core's types, in one
//! place: the handlers and the clients only call these.

use checkout_core::*;

use crate::wire::*;

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

impl From<&ChainOrder> for PagamentoRequest {
    fn from(o: &ChainOrder) -> Self {
        Self {
            pedido_id: o.order_id,
            valor_centavos: o.amount_cents,
            chave_pedido: o.order_key.clone(),
            itens: o.lines.iter().map(ItemPedido::from).collect(),
        }
    }
}

impl From<PagamentoRequest> for ChainOrder {
    fn from(m: PagamentoRequest) -> Self {
        Self {
            order_id: m.pedido_id,
            order_key: m.chave_pedido,
            amount_cents: m.valor_centavos,
            lines: m.itens.into_iter().map(OrderLine::from).collect(),
        }
    }
}

impl From<&ChainOrder> for SepararEstoqueRequest {
    fn from(o: &ChainOrder) -> Self {
        Self {
            pedido_id: o.order_id,
            chave_pedido: o.order_key.clone(),
            valor_centavos: o.amount_cents,
            itens: o.lines.iter().map(ItemPedido::from).collect(),
        }
    }
}

impl From<SepararEstoqueRequest> for ChainOrder {
    fn from(m: SepararEstoqueRequest) -> Self {
        Self {
            order_id: m.pedido_id,
            order_key: m.chave_pedido,
            amount_cents: m.valor_centavos,
            lines: m.itens.into_iter().map(OrderLine::from).collect(),
        }
    }
}

impl From<PaymentReply> for PagamentoResponse {
    fn from(p: PaymentReply) -> Self {
        Self {
            pedido_id: p.order_id,
            sucesso: p.success,
            mensagem: p.message,
            metodo: p.method,
            atendimento: p.fulfilment.map(Atendimento::from),
        }
    }
}

impl From<PagamentoResponse> for PaymentReply {
    fn from(r: PagamentoResponse) -> Self {
        Self {
            order_id: r.pedido_id,
            success: r.sucesso,
            message: r.mensagem,
            method: r.metodo,
            fulfilment: r.atendimento.map(Fulfilment::from),
        }
    }
}

impl From<InvoiceRequest> for EmitirNotaFiscalRequest {
    fn from(r: InvoiceRequest) -> Self {
        Self {
            pedido_id: r.order_id,
            chave_pedido: r.order_key,
            valor_centavos: r.amount_cents,
        }
    }
}

impl From<EmitirNotaFiscalRequest> for InvoiceRequest {
    fn from(m: EmitirNotaFiscalRequest) -> Self {
        Self {
            order_id: m.pedido_id,
            order_key: m.chave_pedido,
            amount_cents: m.valor_centavos,
        }
    }
}

impl From<ShipmentRequest> for AgendarEnvioRequest {
    fn from(r: ShipmentRequest) -> Self {
        Self {
            pedido_id: r.order_id,
            chave_pedido: r.order_key,
            numero_nf: r.invoice_number,
        }
    }
}

impl From<AgendarEnvioRequest> for ShipmentRequest {
    fn from(m: AgendarEnvioRequest) -> Self {
        Self {
            order_id: m.pedido_id,
            order_key: m.chave_pedido,
            invoice_number: m.numero_nf,
        }
    }
}

impl From<ShipmentReply> for AgendarEnvioResponse {
    fn from(s: ShipmentReply) -> Self {
        Self {
            pedido_id: s.order_id,
            codigo_rastreamento: s.tracking_code,
        }
    }
}

impl From<AgendarEnvioResponse> for ShipmentReply {
    fn from(r: AgendarEnvioResponse) -> Self {
        Self {
            order_id: r.pedido_id,
            tracking_code: r.codigo_rastreamento,
        }
    }
}

impl From<ProductFilter> for ListarProdutosQuery {
    fn from(f: ProductFilter) -> Self {
        Self {
            nome: f.name_contains,
            preco_maximo_centavos: f.max_price_cents,
        }
    }
}

impl From<ListarProdutosQuery> for ProductFilter {
    fn from(q: ListarProdutosQuery) -> Self {
        Self {
            name_contains: q.nome,
            max_price_cents: q.preco_maximo_centavos,
        }
    }
}
