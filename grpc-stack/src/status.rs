//! Domain errors to gRPC statuses and back, in one exhaustive `match`. The structured details
//! (`comum.Erro`) travel in the status details so the caller rebuilds the exact error.

use checkout_core::ServiceError;
use checkout_proto::erro::{erro_of, error_of};
use prost::Message;
use tonic::{Code, Status};

use crate::pb::comum::Erro;

/// The status a domain error maps to (DESIGN §4).
pub fn code_of(e: &ServiceError) -> Code {
    match e {
        ServiceError::InvalidArgument { .. } => Code::InvalidArgument,
        ServiceError::NotFound { .. } => Code::NotFound,
        ServiceError::OutOfStock { .. } => Code::FailedPrecondition,
        ServiceError::Aborted { .. } => Code::Aborted,
        ServiceError::Unavailable { .. } => Code::Unavailable,
        ServiceError::DeadlineExceeded { .. } => Code::DeadlineExceeded,
        ServiceError::KeyReused => Code::FailedPrecondition,
        ServiceError::Overloaded { .. } => Code::ResourceExhausted,
        ServiceError::Internal(_) => Code::Internal,
    }
}

/// Turns a domain error into a status whose details carry the structured error.
pub fn to_status(e: &ServiceError) -> Status {
    let wire = erro_of(e);
    let message = wire.mensagem.clone();
    Status::with_details(code_of(e), message, wire.encode_to_vec().into())
}

/// Rebuilds the domain error from a status returned by `peer`. Statuses without our details
/// (transport failures, a peer that is down) map by code.
pub fn from_status(s: &Status, peer: &'static str) -> ServiceError {
    if let Some(e) = Erro::decode(s.details())
        .ok()
        .and_then(|e| error_of(e, peer))
    {
        return e;
    }
    match s.code() {
        Code::Unavailable | Code::Cancelled | Code::Unknown => ServiceError::Unavailable {
            service: peer,
            detail: format!("{peer} unavailable: {}", s.message()),
        },
        Code::DeadlineExceeded => ServiceError::DeadlineExceeded { service: peer },
        // tonic's own concurrency limits and h2's refused streams: nothing was started.
        Code::ResourceExhausted => ServiceError::Overloaded {
            service: peer,
            retry_after_ms: 1,
        },
        Code::InvalidArgument => ServiceError::invalid("", s.message()),
        _ => ServiceError::Internal(format!("{peer}: {:?} {}", s.code(), s.message())),
    }
}
