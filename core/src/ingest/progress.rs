//! Where an import is, as every follower sees it.

use serde::{Deserialize, Serialize};

use super::ErroEvento;

/// Where an import is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Estado {
    /// Its file is stored; its events are being validated and stored.
    Processando,
    /// Every line was processed.
    Concluida,
    /// It stopped on an error that is not an event's (named in `falha`).
    Falhou,
}

impl Estado {
    /// As stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Processando => "processando",
            Self::Concluida => "concluida",
            Self::Falhou => "falhou",
        }
    }

    /// Parses [`Estado::as_str`] (anything else reads as failed).
    pub fn parse(s: &str) -> Self {
        match s {
            "processando" => Self::Processando,
            "concluida" => Self::Concluida,
            _ => Self::Falhou,
        }
    }

    /// True once nothing more will change.
    pub fn terminal(self) -> bool {
        self != Self::Processando
    }
}

/// An import's progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Progresso {
    /// The import's id.
    pub id: u64,
    /// Where it is.
    pub estado: Estado,
    /// Size of the file.
    pub bytes: u64,
    /// Bytes processed so far.
    pub bytes_lidos: u64,
    /// Lines processed so far (the header included).
    pub linhas: u64,
    /// Events stored.
    pub inseridos: u64,
    /// Events already stored (same id).
    pub repetidos: u64,
    /// Lines refused, by line number and reason.
    pub invalidos: u64,
    /// The first invalid lines.
    pub erros: Vec<ErroEvento>,
    /// Why it failed, when it did.
    pub falha: Option<String>,
}
