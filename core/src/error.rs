//! The one error type every service operation returns.
//!
//! Each variant is a decision the transports must map (see DESIGN §4): the gRPC and REST stacks
//! translate it with one exhaustive `match`, so a new variant forces both to decide.

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
    #[error("{service} unavailable: {detail}")]
    Unavailable {
        /// Service that could not be reached.
        service: &'static str,
        /// Short description of the failure.
        detail: String,
    },
    /// The call's deadline passed before a downstream answered.
    #[error("deadline exceeded waiting for {service}")]
    DeadlineExceeded {
        /// Service that was too slow.
        service: &'static str,
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

    /// A stable, short name of the variant, used for error counting and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::InvalidArgument { .. } => "invalid_argument",
            Self::NotFound { .. } => "not_found",
            Self::OutOfStock { .. } => "out_of_stock",
            Self::Aborted { .. } => "aborted",
            Self::Unavailable { .. } => "unavailable",
            Self::DeadlineExceeded { .. } => "deadline_exceeded",
            Self::Internal(_) => "internal",
        }
    }
}

impl From<crate::store::StoreError> for ServiceError {
    fn from(e: crate::store::StoreError) -> Self {
        tracing::error!(error = %e, "storage failure");
        Self::Internal("storage failure".into())
    }
}

/// Result of a service operation.
pub type ServiceResult<T> = Result<T, ServiceError>;
