//! Domain errors to HTTP answers and back, in one exhaustive `match`, with the same meanings as
//! the gRPC stack. Malformed JSON, a wrong content type, an oversized body or a bad path or query
//! parameter are refused here, before any handler runs, so nothing is persisted.

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use checkout_core::ServiceError;
use checkout_core::error::ErrorDetails;

use crate::wire::Erro;

/// Largest JSON body accepted; larger ones get 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The HTTP status a domain error maps to (DESIGN §4).
pub fn status_of(e: &ServiceError) -> StatusCode {
    match e {
        ServiceError::InvalidArgument { .. } => StatusCode::BAD_REQUEST,
        ServiceError::NotFound { .. } => StatusCode::NOT_FOUND,
        ServiceError::OutOfStock { .. } => StatusCode::CONFLICT,
        ServiceError::Aborted { .. } => StatusCode::CONFLICT,
        ServiceError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        ServiceError::DeadlineExceeded { .. } => StatusCode::GATEWAY_TIMEOUT,
        ServiceError::KeyReused => StatusCode::UNPROCESSABLE_ENTITY,
        ServiceError::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
        ServiceError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A domain error on its way out as an HTTP answer with an [`Erro`] body.
#[derive(Debug)]
pub struct ApiError(pub ServiceError);

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        status_of(&self.0)
    }
    fn error_response(&self) -> HttpResponse {
        let mut answer = HttpResponse::build(self.status_code());
        if let ServiceError::Overloaded { retry_after_ms, .. } = self.0 {
            // Retry-After counts whole seconds (RFC 9110 §10.2.3); the body keeps the milliseconds.
            answer.insert_header((
                "Retry-After",
                retry_after_ms.div_ceil(1000).max(1).to_string(),
            ));
        }
        answer.json(ErrorDetails::from(&self.0))
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        Self(e)
    }
}

/// An answer refused before the handler ran.
fn refused(
    status: StatusCode,
    erro: &str,
    campo: Option<String>,
    mensagem: String,
) -> actix_web::Error {
    let body = Erro {
        erro: erro.into(),
        mensagem,
        campo,
        ..Default::default()
    };
    actix_web::error::InternalError::from_response(
        erro.to_owned(),
        HttpResponse::build(status).json(body),
    )
    .into()
}

/// The JSON extractor's settings: size limit and our error bodies.
pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(MAX_BODY_BYTES)
        .error_handler(|e, _req: &HttpRequest| match e {
            JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
                refused(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    None,
                    format!("body larger than {MAX_BODY_BYTES} bytes"),
                )
            }
            JsonPayloadError::ContentType => refused(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                None,
                "expected Content-Type: application/json".into(),
            ),
            JsonPayloadError::Deserialize(de) => {
                let campo = field_of(&de.to_string());
                refused(
                    StatusCode::BAD_REQUEST,
                    "invalid_argument",
                    campo,
                    format!("invalid JSON: {de}"),
                )
            }
            other => refused(
                StatusCode::BAD_REQUEST,
                "invalid_argument",
                None,
                format!("invalid body: {other}"),
            ),
        })
}

/// The path extractor's settings: a non-numeric id is a 400 naming the parameter.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|e: PathError, req: &HttpRequest| {
        let name = req.match_info().iter().next().map(|(k, _)| k.to_owned());
        refused(
            StatusCode::BAD_REQUEST,
            "invalid_argument",
            name,
            format!("invalid path parameter: {e}"),
        )
    })
}

/// The query extractor's settings.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|e: QueryPayloadError, _req: &HttpRequest| {
        let campo = field_of(&e.to_string());
        refused(
            StatusCode::BAD_REQUEST,
            "invalid_argument",
            campo,
            format!("invalid query: {e}"),
        )
    })
}

/// The field serde names in an `unknown field` or `missing field` complaint (other complaints,
/// such as a wrong type, carry a value between backticks, not a field).
fn field_of(message: &str) -> Option<String> {
    if !(message.starts_with("unknown field") || message.starts_with("missing field")) {
        return None;
    }
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(message[start..start + len].to_owned())
}

/// Rebuilds the domain error from an answer of `peer` with a non-2xx status and `body`.
pub fn from_response(status: reqwest::StatusCode, body: &[u8], peer: &'static str) -> ServiceError {
    match serde_json::from_slice::<Erro>(body) {
        Ok(e)
            if !e.erro.is_empty()
                && !matches!(
                    e.erro.as_str(),
                    "payload_too_large" | "unsupported_media_type"
                ) =>
        {
            e.into_error(peer)
        }
        _ => match status.as_u16() {
            503 | 502 => ServiceError::Unavailable {
                service: peer,
                detail: format!("{peer} unavailable: HTTP {status}"),
            },
            504 => ServiceError::DeadlineExceeded { service: peer },
            400 | 413 | 415 => {
                ServiceError::invalid("", format!("{peer} refused the request: HTTP {status}"))
            }
            _ => ServiceError::Internal(format!("{peer}: HTTP {status}")),
        },
    }
}

/// Turns a transport failure of reqwest into a domain error about `peer`.
pub fn from_transport(e: &reqwest::Error, peer: &'static str) -> ServiceError {
    if e.is_timeout() {
        ServiceError::DeadlineExceeded { service: peer }
    } else {
        ServiceError::Unavailable {
            service: peer,
            detail: format!("{peer} unavailable: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_name_their_field() {
        assert_eq!(
            field_of("unknown field `foo`, expected one of"),
            Some("foo".into())
        );
        assert_eq!(
            field_of("missing field `itens` at line 1"),
            Some("itens".into())
        );
        assert_eq!(field_of("expected value at line 1 column 2"), None);
        assert_eq!(
            field_of("invalid type: integer `1`, expected a string"),
            None
        );
    }
}
