//! The ingestion sink's messages ↔ the core's types.

use checkout_core::ingest::{ErroEvento, Estado, Evento, Progresso, Recibo};

use crate::pb::ingestao as pb;

impl From<pb::Evento> for Evento {
    fn from(e: pb::Evento) -> Self {
        Self {
            id_evento: e.id_evento,
            cliente: e.cliente,
            produto: e.produto,
            quantidade: e.quantidade,
            centro_logistico: e.centro_logistico,
            canal_venda: e.canal_venda,
            valor_centavos: e.valor_centavos,
            emitido_em_us: e.emitido_em_us,
        }
    }
}

impl From<Evento> for pb::Evento {
    fn from(e: Evento) -> Self {
        Self {
            id_evento: e.id_evento,
            cliente: e.cliente,
            produto: e.produto,
            quantidade: e.quantidade,
            centro_logistico: e.centro_logistico,
            canal_venda: e.canal_venda,
            valor_centavos: e.valor_centavos,
            emitido_em_us: e.emitido_em_us,
        }
    }
}

fn erros_to_pb(erros: Vec<ErroEvento>) -> Vec<pb::ErroEvento> {
    erros
        .into_iter()
        .map(|e| pb::ErroEvento {
            posicao: e.posicao,
            motivo: e.motivo,
        })
        .collect()
}

fn erros_from_pb(erros: Vec<pb::ErroEvento>) -> Vec<ErroEvento> {
    erros
        .into_iter()
        .map(|e| ErroEvento {
            posicao: e.posicao,
            motivo: e.motivo,
        })
        .collect()
}

impl From<Recibo> for pb::Recibo {
    fn from(r: Recibo) -> Self {
        Self {
            inseridos: r.inseridos,
            repetidos: r.repetidos,
            invalidos: r.invalidos,
            erros: erros_to_pb(r.erros),
        }
    }
}

impl From<pb::Recibo> for Recibo {
    fn from(r: pb::Recibo) -> Self {
        Self {
            inseridos: r.inseridos,
            repetidos: r.repetidos,
            invalidos: r.invalidos,
            erros: erros_from_pb(r.erros),
        }
    }
}

impl From<Progresso> for pb::Progresso {
    fn from(p: Progresso) -> Self {
        Self {
            id: p.id,
            estado: p.estado.as_str().to_owned(),
            bytes: p.bytes,
            bytes_lidos: p.bytes_lidos,
            linhas: p.linhas,
            inseridos: p.inseridos,
            repetidos: p.repetidos,
            invalidos: p.invalidos,
            erros: erros_to_pb(p.erros),
            falha: p.falha.unwrap_or_default(),
        }
    }
}

impl From<pb::Progresso> for Progresso {
    fn from(p: pb::Progresso) -> Self {
        Self {
            id: p.id,
            estado: Estado::parse(&p.estado),
            bytes: p.bytes,
            bytes_lidos: p.bytes_lidos,
            linhas: p.linhas,
            inseridos: p.inseridos,
            repetidos: p.repetidos,
            invalidos: p.invalidos,
            erros: erros_from_pb(p.erros),
            falha: (!p.falha.is_empty()).then_some(p.falha),
        }
    }
}
