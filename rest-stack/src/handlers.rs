//! The HTTP handlers, one per route, each documented for OpenAPI from the types it uses. A
//! handler reads the caller's deadline (`x-timeout-ms`), converts the body, calls the core
//! through its port, and maps the result; it stops at the deadline as the gRPC server does.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{HttpRequest, HttpResponse, web};
use checkout_core::ports::within;
use checkout_core::*;
use utoipa::OpenApi;

use crate::errors::ApiError;
use crate::wire::*;

/// Header carrying the caller's remaining budget in milliseconds.
pub const TIMEOUT_HEADER: &str = "x-timeout-ms";
/// The W3C trace context header every hop carries on.
pub const TRACE_HEADER: &str = "traceparent";

type Reply = Result<HttpResponse, ApiError>;

fn ctx_of(r: &HttpRequest) -> CallCtx {
    let ms = r
        .headers()
        .get(TIMEOUT_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let trace = r
        .headers()
        .get(TRACE_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(Trace::parse);
    CallCtx {
        deadline: ms.map(|ms| Instant::now() + Duration::from_millis(ms)),
        trace,
    }
}

fn ok<T: serde::Serialize>(v: T) -> Reply {
    Ok(HttpResponse::Ok().json(v))
}

/// `GET /health` on every service.
#[utoipa::path(get, path = "/health", responses((status = 200, body = Saude)))]
pub async fn health(service: web::Data<ServiceName>) -> HttpResponse {
    HttpResponse::Ok().json(Saude {
        status: "SERVING".into(),
        servico: service.as_str().into(),
    })
}

/// Any route no service has.
pub async fn no_route(r: HttpRequest) -> HttpResponse {
    HttpResponse::NotFound().json(Erro {
        erro: "not_found".into(),
        mensagem: format!("no route {} {}", r.method(), r.path()),
        ..Default::default()
    })
}

/// Places an order and runs the whole chain.
#[utoipa::path(post, path = "/pedidos", request_body = CriarPedidoRequest, responses(
    (status = 200, description = "The order in its final status (enviado, or cancelado with the reason)", body = Pedido),
    (status = 400, description = "Invalid input; `campo` names the field", body = Erro),
    (status = 404, description = "Unknown customer or product", body = Erro),
    (status = 413, body = Erro), (status = 415, body = Erro),
    (status = 422, description = "`chave_idempotencia` already used for a different request; nothing done", body = Erro),
    (status = 503, description = "A service of the chain is down; the order is cancelled", body = Erro),
    (status = 504, description = "The chain missed the deadline; the order is cancelled", body = Erro)))]
pub async fn criar_pedido(
    r: HttpRequest,
    port: web::Data<Arc<dyn OrdersPort>>,
    body: web::Json<CriarPedidoRequest>,
) -> Reply {
    let ctx = ctx_of(&r);
    ok(Pedido::from(
        within(
            ctx,
            "orders",
            port.place_order(ctx, body.into_inner().into()),
        )
        .await?,
    ))
}

/// Reads an order.
#[utoipa::path(get, path = "/pedidos/{pedido_id}", params(("pedido_id" = i64, Path, description = "Order id")),
    responses((status = 200, body = Pedido), (status = 400, body = Erro), (status = 404, body = Erro)))]
pub async fn consultar_pedido(
    r: HttpRequest,
    port: web::Data<Arc<dyn OrdersPort>>,
    id: web::Path<i64>,
) -> Reply {
    let ctx = ctx_of(&r);
    ok(Pedido::from(
        within(ctx, "orders", port.get_order(ctx, id.into_inner())).await?,
    ))
}

/// Authorises a payment and runs the rest of the chain.
#[utoipa::path(post, path = "/pagamentos", request_body = PagamentoRequest, responses(
    (status = 200, body = PagamentoResponse), (status = 400, body = Erro),
    (status = 409, description = "Out of stock (payment voided) or order already cancelled", body = Erro),
    (status = 503, body = Erro), (status = 504, body = Erro)))]
pub async fn processar_pagamento(
    r: HttpRequest,
    port: web::Data<Arc<dyn PaymentsPort>>,
    body: web::Json<PagamentoRequest>,
) -> Reply {
    let ctx = ctx_of(&r);
    let req = PaymentRequest::from(body.into_inner());
    let p = within(ctx, "payments", port.process_payment(ctx, req)).await?;
    ok(PagamentoResponse::from(p))
}

/// Voids an order's payment and everything below it.
#[utoipa::path(post, path = "/pagamentos/estornar", request_body = PedidoRef, responses((status = 204), (status = 503, body = Erro)))]
pub async fn estornar_pagamento(
    r: HttpRequest,
    port: web::Data<Arc<dyn PaymentsPort>>,
    body: web::Json<PedidoRef>,
) -> Reply {
    let ctx = ctx_of(&r);
    within(ctx, "payments", port.void_payment(ctx, body.pedido_id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Reserves every item, all or none, then asks Fiscal for the invoice.
#[utoipa::path(post, path = "/estoque/separar", request_body = SepararEstoqueRequest, responses(
    (status = 200, body = Atendimento), (status = 400, body = Erro), (status = 404, body = Erro),
    (status = 409, description = "Out of stock: nothing reserved", body = Erro), (status = 503, body = Erro), (status = 504, body = Erro)))]
pub async fn separar_estoque(
    r: HttpRequest,
    port: web::Data<Arc<dyn InventoryPort>>,
    body: web::Json<SepararEstoqueRequest>,
) -> Reply {
    let ctx = ctx_of(&r);
    let req = ReserveRequest::from(body.into_inner());
    ok(Atendimento::from(
        within(ctx, "inventory", port.reserve_stock(ctx, req)).await?,
    ))
}

/// Releases an order's reservation and cancels below.
#[utoipa::path(post, path = "/estoque/liberar", request_body = PedidoRef, responses((status = 204), (status = 503, body = Erro)))]
pub async fn liberar_estoque(
    r: HttpRequest,
    port: web::Data<Arc<dyn InventoryPort>>,
    body: web::Json<PedidoRef>,
) -> Reply {
    let ctx = ctx_of(&r);
    within(ctx, "inventory", port.release_stock(ctx, body.pedido_id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Stock on hand of the given products.
#[utoipa::path(post, path = "/estoque/consultar", request_body = ConsultarEstoqueRequest,
    responses((status = 200, body = ConsultarEstoqueResponse)))]
pub async fn consultar_estoque(
    r: HttpRequest,
    port: web::Data<Arc<dyn InventoryPort>>,
    body: web::Json<ConsultarEstoqueRequest>,
) -> Reply {
    let ctx = ctx_of(&r);
    let levels = within(
        ctx,
        "inventory",
        port.stock_levels(ctx, body.into_inner().produto_ids),
    )
    .await?;
    ok(ConsultarEstoqueResponse {
        niveis: levels.into_iter().map(NivelEstoque::from).collect(),
    })
}

/// Adds delta to a product's stock; never below zero.
#[utoipa::path(post, path = "/estoque/ajustar", request_body = AjustarEstoqueRequest, responses(
    (status = 200, body = NivelEstoque), (status = 400, body = Erro), (status = 404, body = Erro), (status = 409, body = Erro)))]
pub async fn ajustar_estoque(
    r: HttpRequest,
    port: web::Data<Arc<dyn InventoryPort>>,
    body: web::Json<AjustarEstoqueRequest>,
) -> Reply {
    let ctx = ctx_of(&r);
    ok(NivelEstoque::from(
        within(
            ctx,
            "inventory",
            port.adjust_stock(ctx, body.produto_id, body.delta),
        )
        .await?,
    ))
}

/// Issues the invoice, then asks Logistics for the shipment.
#[utoipa::path(post, path = "/notas-fiscais", request_body = EmitirNotaFiscalRequest, responses(
    (status = 200, body = Atendimento), (status = 400, body = Erro), (status = 409, body = Erro), (status = 503, body = Erro), (status = 504, body = Erro)))]
pub async fn emitir_nota_fiscal(
    r: HttpRequest,
    port: web::Data<Arc<dyn FiscalPort>>,
    body: web::Json<EmitirNotaFiscalRequest>,
) -> Reply {
    let ctx = ctx_of(&r);
    let req = InvoiceRequest::from(body.into_inner());
    ok(Atendimento::from(
        within(ctx, "fiscal", port.issue_invoice(ctx, req)).await?,
    ))
}

/// Cancels an order's invoice and its shipment.
#[utoipa::path(post, path = "/notas-fiscais/cancelar", request_body = PedidoRef, responses((status = 204), (status = 503, body = Erro)))]
pub async fn cancelar_nota_fiscal(
    r: HttpRequest,
    port: web::Data<Arc<dyn FiscalPort>>,
    body: web::Json<PedidoRef>,
) -> Reply {
    let ctx = ctx_of(&r);
    within(ctx, "fiscal", port.cancel_invoice(ctx, body.pedido_id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Schedules the shipment.
#[utoipa::path(post, path = "/envios", request_body = AgendarEnvioRequest, responses(
    (status = 200, body = AgendarEnvioResponse), (status = 400, body = Erro), (status = 409, body = Erro)))]
pub async fn agendar_envio(
    r: HttpRequest,
    port: web::Data<Arc<dyn LogisticsPort>>,
    body: web::Json<AgendarEnvioRequest>,
) -> Reply {
    let ctx = ctx_of(&r);
    let req = ShipmentRequest::from(body.into_inner());
    let s = within(ctx, "logistics", port.schedule_shipment(ctx, req)).await?;
    ok(AgendarEnvioResponse::from(s))
}

/// Cancels an order's shipment.
#[utoipa::path(post, path = "/envios/cancelar", request_body = PedidoRef, responses((status = 204)))]
pub async fn cancelar_envio(
    r: HttpRequest,
    port: web::Data<Arc<dyn LogisticsPort>>,
    body: web::Json<PedidoRef>,
) -> Reply {
    let ctx = ctx_of(&r);
    within(ctx, "logistics", port.cancel_shipment(ctx, body.pedido_id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Lists products with live stock: the seed's JSON array, optionally filtered (seed 002).
#[utoipa::path(get, path = "/produtos", params(ListarProdutosQuery), responses(
    (status = 200, description = "`[{\"id\":1,\"nome\":\"Produto A\",\"estoque\":10,\"preco_centavos\":1990}, …]`", body = [ProdutoInfo]),
    (status = 400, body = Erro), (status = 503, body = Erro)))]
pub async fn listar_produtos(
    r: HttpRequest,
    port: web::Data<Arc<dyn CatalogPort>>,
    q: web::Query<ListarProdutosQuery>,
) -> Reply {
    let ctx = ctx_of(&r);
    let filter = ProductFilter::from(q.into_inner());
    let products = within(ctx, "catalog", port.list_products(ctx, filter)).await?;
    ok(products
        .into_iter()
        .map(ProdutoInfo::from)
        .collect::<Vec<_>>())
}

/// Changes a product's stock by delta (seed 002's update).
#[utoipa::path(post, path = "/produtos/{id}/estoque", params(("id" = i64, Path, description = "Product id")),
    request_body = AtualizarEstoqueRequest, responses(
    (status = 200, body = ProdutoInfo), (status = 400, body = Erro), (status = 404, body = Erro), (status = 409, body = Erro)))]
pub async fn atualizar_estoque(
    r: HttpRequest,
    port: web::Data<Arc<dyn CatalogPort>>,
    id: web::Path<i64>,
    body: web::Json<AtualizarEstoqueRequest>,
) -> Reply {
    let ctx = ctx_of(&r);
    ok(ProdutoInfo::from(
        within(
            ctx,
            "catalog",
            port.update_stock(ctx, id.into_inner(), body.delta),
        )
        .await?,
    ))
}

/// OpenAPI of Orders.
#[derive(OpenApi)]
#[openapi(
    info(title = "Pedidos (Orders)"),
    paths(criar_pedido, consultar_pedido, health)
)]
pub struct PedidosApi;

/// OpenAPI of Payments.
#[derive(OpenApi)]
#[openapi(
    info(title = "Pagamentos (Payments)"),
    paths(processar_pagamento, estornar_pagamento, health)
)]
pub struct PagamentosApi;

/// OpenAPI of Inventory.
#[derive(OpenApi)]
#[openapi(
    info(title = "Estoque (Inventory)"),
    paths(
        separar_estoque,
        liberar_estoque,
        consultar_estoque,
        ajustar_estoque,
        health
    )
)]
pub struct EstoqueApi;

/// OpenAPI of Fiscal.
#[derive(OpenApi)]
#[openapi(
    info(title = "Notas fiscais (Fiscal)"),
    paths(emitir_nota_fiscal, cancelar_nota_fiscal, health)
)]
pub struct FiscalApi;

/// OpenAPI of Logistics.
#[derive(OpenApi)]
#[openapi(
    info(title = "Envios (Logistics)"),
    paths(agendar_envio, cancelar_envio, health)
)]
pub struct EnviosApi;

/// OpenAPI of Catalog.
#[derive(OpenApi)]
#[openapi(
    info(title = "Catálogo (Catalog)"),
    paths(listar_produtos, atualizar_estoque, health)
)]
pub struct CatalogoApi;

/// The OpenAPI document of `service`.
pub fn openapi_of(service: ServiceName) -> utoipa::openapi::OpenApi {
    match service {
        ServiceName::Orders => PedidosApi::openapi(),
        ServiceName::Payments => PagamentosApi::openapi(),
        ServiceName::Inventory => EstoqueApi::openapi(),
        ServiceName::Fiscal => FiscalApi::openapi(),
        ServiceName::Logistics => EnviosApi::openapi(),
        ServiceName::Catalog => CatalogoApi::openapi(),
    }
}
