//! The one error type every service operation returns.
//!
//! Each variant is a decision the transports must map (see DESIGN §4): the gRPC and REST stacks
//! translate it with one exhaustive `match`, so a new variant forces both to decide.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Why a service operation did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ServiceError {
    /// The request is malformed: `field` names the offending input.
    #[error("invalid {field}: {message}")]
    InvalidArgument {
        /// Wire name of the field at fault (e.g. `itens[2].quantidade`).
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// A referenced entity does not exist.
    #[error("{entity} {id} not found")]
    NotFound {
        /// Kind of entity (`produto`, `cliente`, `pedido`).
        entity: &'static str,
        /// The id that was looked up.
        id: i64,
    },
    /// Not enough stock for one of the items; nothing was reserved.
    #[error("out of stock: produto {product_id} has {available}, {requested} requested")]
    OutOfStock {
        /// Product that is short.
        product_id: i64,
        /// Quantity asked for.
        requested: i64,
        /// Quantity on hand.
        available: i64,
    },
    /// The order was already compensated (cancelled) at this service; the forward step is refused.
    #[error("pedido {order_id} already cancelled at {service}")]
    Aborted {
        /// Service that holds the cancellation.
        service: &'static str,
        /// The order.
        order_id: i64,
    },
    /// A downstream service could not be reached.
    #[error("{}", unavailable(service, .detail))]
    Unavailable {
        /// Service that could not be reached.
        service: &'static str,
        /// Short description of the failure; the transports write it as `SERVICE unavailable:
        /// why`, and the message names the service once whether or not it does.
        detail: String,
    },
    /// The call's deadline passed before a downstream answered.
    #[error("deadline exceeded waiting for {service}")]
    DeadlineExceeded {
        /// Service that was too slow.
        service: &'static str,
    },
    /// The idempotency key was already used for a different request (another customer or other
    /// items): the first outcome belongs to that request, so nothing is answered from it and
    /// nothing is done.
    #[error("chave_idempotencia already used for a different request")]
    KeyReused,
    /// The service (or the client's pool for it) refused the request before doing any of its
    /// work: more is in flight than it admits, or the time left before the deadline is shorter
    /// than the service's recent median. Nothing was written; the caller may retry after
    /// `retry_after_ms`.
    #[error(
        "{service} overloaded: request refused before any work, retry after {retry_after_ms} ms"
    )]
    Overloaded {
        /// Service that refused.
        service: &'static str,
        /// When a retry may succeed, in milliseconds.
        retry_after_ms: u64,
    },
    /// Anything else: a storage failure or a broken invariant. Logged where it happens.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    /// Shorthand for [`ServiceError::InvalidArgument`].
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidArgument {
            field: field.into(),
            message: message.into(),
        }
    }

    /// True when the failing peer may have done durable work before failing, so the caller must
    /// send a compensation downstream as well as undo its own step.
    pub fn is_uncertain(&self) -> bool {
        matches!(
            self,
            Self::Unavailable { .. } | Self::DeadlineExceeded { .. } | Self::Internal(_)
        )
    }

    /// The variant, without its data.
    pub fn error_kind(&self) -> ErrorKind {
        match self {
            Self::InvalidArgument { .. } => ErrorKind::InvalidArgument,
            Self::NotFound { .. } => ErrorKind::NotFound,
            Self::OutOfStock { .. } => ErrorKind::OutOfStock,
            Self::Aborted { .. } => ErrorKind::Aborted,
            Self::Unavailable { .. } => ErrorKind::Unavailable,
            Self::DeadlineExceeded { .. } => ErrorKind::DeadlineExceeded,
            Self::KeyReused => ErrorKind::KeyReused,
            Self::Overloaded { .. } => ErrorKind::Overloaded,
            Self::Internal(_) => ErrorKind::Internal,
        }
    }

    /// A stable, short name of the variant, used for error counting and logs.
    pub fn kind(&self) -> &'static str {
        self.error_kind().as_str()
    }
}

/// The kinds of [`ServiceError`], as named on the wire (`erro`). Both directions go through this
/// enum with exhaustive matches, so a new error variant cannot silently become `Internal` on its
/// way back through a stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// [`ServiceError::InvalidArgument`].
    InvalidArgument,
    /// [`ServiceError::NotFound`].
    NotFound,
    /// [`ServiceError::OutOfStock`].
    OutOfStock,
    /// [`ServiceError::Aborted`].
    Aborted,
    /// [`ServiceError::Unavailable`].
    Unavailable,
    /// [`ServiceError::DeadlineExceeded`].
    DeadlineExceeded,
    /// [`ServiceError::KeyReused`].
    KeyReused,
    /// [`ServiceError::Overloaded`].
    Overloaded,
    /// [`ServiceError::Internal`].
    Internal,
}

impl ErrorKind {
    /// Every kind.
    pub const ALL: [ErrorKind; 9] = [
        Self::InvalidArgument,
        Self::NotFound,
        Self::OutOfStock,
        Self::Aborted,
        Self::Unavailable,
        Self::DeadlineExceeded,
        Self::KeyReused,
        Self::Overloaded,
        Self::Internal,
    ];

    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidArgument => "invalid_argument",
            Self::NotFound => "not_found",
            Self::OutOfStock => "out_of_stock",
            Self::Aborted => "aborted",
            Self::Unavailable => "unavailable",
            Self::DeadlineExceeded => "deadline_exceeded",
            Self::KeyReused => "key_reused",
            Self::Overloaded => "overloaded",
            Self::Internal => "internal",
        }
    }

    /// Parses [`ErrorKind::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Result of a service operation.
pub type ServiceResult<T> = Result<T, ServiceError>;

/// A [`ServiceError`] as plain data, the same on every transport: the gRPC stack carries it in the
/// status details (`comum.Erro`), the REST stack as the JSON body of every non-2xx answer (its
/// OpenAPI schema `Erro`, with the `openapi` feature). Field names are the wire's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Erro))]
pub struct ErrorDetails {
    /// Kind: `invalid_argument`, `not_found`, `out_of_stock`, `aborted`, `unavailable`,
    /// `deadline_exceeded`, `key_reused`, `overloaded` or `internal` ([`ErrorKind`]); REST also answers `payload_too_large`
    /// and `unsupported_media_type` before any work.
    pub erro: String,
    /// Human-readable message.
    pub mensagem: String,
    /// `invalid_argument`: the offending field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campo: Option<String>,
    /// `not_found`: `produto`, `cliente` or `pedido`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entidade: Option<String>,
    /// `not_found`: the id looked up; `aborted`: the order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// `out_of_stock`: the product that is short.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub produto_id: Option<i64>,
    /// `out_of_stock`: units asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solicitado: Option<i64>,
    /// `out_of_stock`: units on hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disponivel: Option<i64>,
    /// `unavailable`, `deadline_exceeded`, `aborted`, `overloaded`: the service concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub servico: Option<String>,
    /// `overloaded`: milliseconds after which a retry may be admitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tentar_apos_ms: Option<u64>,
}

impl From<&ServiceError> for ErrorDetails {
    fn from(e: &ServiceError) -> Self {
        let mut d = ErrorDetails {
            erro: e.kind().to_owned(),
            mensagem: e.to_string(),
            ..Default::default()
        };
        match e {
            ServiceError::InvalidArgument { field, .. } => d.campo = Some(field.clone()),
            ServiceError::NotFound { entity, id } => {
                d.entidade = Some((*entity).to_owned());
                d.id = Some(*id);
            }
            ServiceError::OutOfStock {
                product_id,
                requested,
                available,
            } => {
                (d.produto_id, d.solicitado, d.disponivel) =
                    (Some(*product_id), Some(*requested), Some(*available));
            }
            ServiceError::Aborted { service, order_id } => {
                d.servico = Some((*service).to_owned());
                d.id = Some(*order_id);
            }
            ServiceError::Unavailable { service, .. }
            | ServiceError::DeadlineExceeded { service } => d.servico = Some((*service).to_owned()),
            ServiceError::KeyReused => d.campo = Some("chave_idempotencia".into()),
            ServiceError::Overloaded {
                service,
                retry_after_ms,
            } => {
                d.servico = Some((*service).to_owned());
                d.tentar_apos_ms = Some(*retry_after_ms);
            }
            ServiceError::Internal(_) => d.mensagem = "internal error".into(),
        }
        d
    }
}

impl ErrorDetails {
    /// Rebuilds the error a peer reported. `peer` names the service that answered, used when the
    /// details do not say which service was unavailable or too slow.
    pub fn into_error(self, peer: &'static str) -> ServiceError {
        let service = self.servico.as_deref().map_or(peer, static_service_name);
        match ErrorKind::parse(&self.erro) {
            Some(ErrorKind::InvalidArgument) => ServiceError::InvalidArgument {
                field: self.campo.unwrap_or_default(),
                message: self.mensagem,
            },
            Some(ErrorKind::NotFound) => ServiceError::NotFound {
                entity: match self.entidade.as_deref() {
                    Some("produto") => "produto",
                    Some("cliente") => "cliente",
                    Some("pedido") => "pedido",
                    _ => "registro",
                },
                id: self.id.unwrap_or_default(),
            },
            Some(ErrorKind::OutOfStock) => ServiceError::OutOfStock {
                product_id: self.produto_id.unwrap_or_default(),
                requested: self.solicitado.unwrap_or_default(),
                available: self.disponivel.unwrap_or_default(),
            },
            Some(ErrorKind::Aborted) => ServiceError::Aborted {
                service,
                order_id: self.id.unwrap_or_default(),
            },
            Some(ErrorKind::Unavailable) => ServiceError::Unavailable {
                service,
                detail: self.mensagem,
            },
            Some(ErrorKind::DeadlineExceeded) => ServiceError::DeadlineExceeded { service },
            Some(ErrorKind::KeyReused) => ServiceError::KeyReused,
            Some(ErrorKind::Overloaded) => ServiceError::Overloaded {
                service,
                retry_after_ms: self.tentar_apos_ms.unwrap_or(1),
            },
            // An internal error, or a kind this build does not know (a newer peer).
            Some(ErrorKind::Internal) | None => {
                ServiceError::Internal(format!("{peer}: {}", self.mensagem))
            }
        }
    }
}

/// The `'static` name of a service given on the wire; unknown names become `"unknown"`.
pub fn static_service_name(name: &str) -> &'static str {
    crate::topology::ServiceName::parse(name).map_or("unknown", |s| s.as_str())
}

/// `SERVICE unavailable: DETAIL`, unless the detail already says so (as it does once it has
/// crossed a wire: the callee's message is the caller's detail).
fn unavailable(service: &str, detail: &str) -> String {
    let named = detail
        .strip_prefix(service)
        .is_some_and(|rest| rest.starts_with(" unavailable"));
    if named {
        detail.to_owned()
    } else {
        format!("{service} unavailable: {detail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_one_wire_name() {
        for k in ErrorKind::ALL {
            assert_eq!(ErrorKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(ErrorKind::parse("teapot"), None);
    }

    #[test]
    fn every_error_survives_the_trip_through_its_details() {
        let cases = [
            ServiceError::invalid("itens[0].quantidade", "must be at least 1"),
            ServiceError::NotFound {
                entity: "produto",
                id: 9,
            },
            ServiceError::OutOfStock {
                product_id: 3,
                requested: 5,
                available: 2,
            },
            ServiceError::Aborted {
                service: "fiscal",
                order_id: 4,
            },
            ServiceError::Unavailable {
                service: "logistics",
                detail: "logistics unavailable: refused".into(),
            },
            ServiceError::DeadlineExceeded {
                service: "inventory",
            },
            ServiceError::KeyReused,
            ServiceError::Overloaded {
                service: "orders",
                retry_after_ms: 7,
            },
        ];
        for e in cases {
            let back = ErrorDetails::from(&e).into_error("payments");
            match (&e, &back) {
                (
                    ServiceError::InvalidArgument { field: a, .. },
                    ServiceError::InvalidArgument { field: b, .. },
                ) => {
                    assert_eq!(a, b)
                }
                (
                    ServiceError::Unavailable { service: a, .. },
                    ServiceError::Unavailable { service: b, .. },
                ) => {
                    assert_eq!(a, b)
                }
                _ => assert_eq!(e, back),
            }
        }
        let hidden = ErrorDetails::from(&ServiceError::Internal("disk full at /secret".into()));
        assert!(!hidden.mensagem.contains("secret"));
    }

    #[test]
    fn an_unreachable_service_is_named_once_however_many_hops_carry_it() {
        let first = ServiceError::Unavailable {
            service: "fiscal",
            detail: "fiscal unavailable: connection refused".into(),
        };
        // Inventory passes it to Payments, Payments to Orders, each through the wire's details.
        let mut e = first.clone();
        for caller in ["inventory", "payments"] {
            e = ErrorDetails::from(&e).into_error(caller);
        }
        assert_eq!(e.to_string(), "fiscal unavailable: connection refused");
        let bare = ServiceError::Unavailable {
            service: "logistics",
            detail: "connection reset".into(),
        };
        assert_eq!(bare.to_string(), "logistics unavailable: connection reset");
    }
}
