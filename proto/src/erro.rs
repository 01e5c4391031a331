//! A domain error as the wire's `comum.Erro` and back: every protobuf stack carries it beside its
//! own status code (gRPC in the status details, raw TCP in the error frame), so the caller
//! rebuilds the exact error the callee raised.

use checkout_core::ServiceError;
use checkout_core::error::ErrorDetails;

use crate::pb::comum::Erro;

/// The structured error of `e`, ready to encode.
pub fn erro_of(e: &ServiceError) -> Erro {
    let d = ErrorDetails::from(e);
    Erro {
        erro: d.erro,
        mensagem: d.mensagem,
        campo: d.campo,
        entidade: d.entidade,
        id: d.id,
        produto_id: d.produto_id,
        solicitado: d.solicitado,
        disponivel: d.disponivel,
        servico: d.servico,
        tentar_apos_ms: d.tentar_apos_ms,
    }
}

/// The domain error a decoded `Erro` from `peer` stands for; `None` when it names none (an
/// empty message: the peer sent no details).
pub fn error_of(e: Erro, peer: &'static str) -> Option<ServiceError> {
    if e.erro.is_empty() {
        return None;
    }
    let d = ErrorDetails {
        erro: e.erro,
        mensagem: e.mensagem,
        campo: e.campo,
        entidade: e.entidade,
        id: e.id,
        produto_id: e.produto_id,
        solicitado: e.solicitado,
        disponivel: e.disponivel,
        servico: e.servico,
        tentar_apos_ms: e.tentar_apos_ms,
    };
    Some(d.into_error(peer))
}
