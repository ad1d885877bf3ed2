//! The one error type of the request path. Each variant knows its status, its body in the
//! API's error format (DRF's `{"detail": ...}` or field errors), and whether the client or
//! the gateway caused it.

use http::StatusCode;
use serde_json::{Map, Value, json};

/// The 412's detail: the client's copy is stale (or the row is gone), so it reads again.
pub const PRECONDITION_FAILED: &str =
    "Precondition failed: the resource has changed (or does not exist); read it again.";

/// Messages per field, in report order. Rendered as `{"field": ["message", ...]}`.
pub type FieldErrors = Vec<(String, Vec<String>)>;

/// Everything that can stop a request before it gets its normal answer.
#[derive(Debug)]
pub enum ApiError {
    /// No route, or no row, for the request.
    NotFound,
    /// The route exists but does not serve this method.
    MethodNotAllowed(String),
    /// No representation the client accepts.
    NotAcceptable,
    /// A body of a media type the gateway does not read (the type as sent).
    UnsupportedMediaType(String),
    /// A body that could not be parsed; the detail says why.
    Parse(String),
    /// A body or parameter that failed validation, per field.
    Invalid(FieldErrors),
    /// An `If-Match` or `If-None-Match` that does not hold for the row as it is now (412).
    PreconditionFailed,
    /// A body larger than the configured limit.
    PayloadTooLarge,
    /// A body that did not arrive in time.
    BodyTimeout,
    /// A query string longer than the configured limit.
    QueryTooLong,
    /// More query parameters than the configured limit.
    TooManyParameters,
    /// A query string whose names or values are not UTF-8 once percent-decoded.
    QueryNotUtf8,
    /// A JSON body nested deeper than the configured limit.
    TooDeep(usize),
    /// The request took longer than the configured limit.
    Timeout,
    /// The database cannot be reached; the cause is for the log.
    Unavailable(String),
    /// A response that violates its schema under `response_validation: enforce`; the
    /// violations are for the log (and counted apart from other faults).
    ResponseInvalid(String),
    /// A proxied request's upstream gave no usable answer.
    Upstream(UpstreamFault),
    /// A request to an imported operation violates its OpenAPI document (parameters, body):
    /// a 400 naming each violation; the upstream is never called.
    RequestViolation(Vec<String>),
    /// A proxied upstream's answer violates the contract (`validate: enforce`).
    UpstreamViolation(Vec<String>),
    /// No credentials (401); the `WWW-Authenticate` challenge.
    NotAuthenticated(String),
    /// Credentials that do not check out (401); the `WWW-Authenticate` challenge.
    BadCredentials(String),
    /// Valid credentials without the permission (403); the `WWW-Authenticate` challenge,
    /// or empty.
    Forbidden(String),
    /// A bug or an unexpected failure; the cause is for the log.
    Internal(String),
    /// Over a rate limit: a 429 saying in how many seconds (rounded up) a request is
    /// expected to be allowed.
    Throttled(u64),
    /// A rate limit's shared store cannot be asked and the limit says `deny`.
    LimitUnavailable,
}

/// Why an upstream gave no usable answer.
#[derive(Debug)]
pub enum UpstreamFault {
    /// No connection could be opened (refused, unreachable, connect timeout).
    Connect(String),
    /// The whole answer did not arrive within the response timeout.
    Timeout,
    /// The answer's body is larger than the upstream's limit.
    TooLarge(usize),
    /// The connection broke, or what came back is not HTTP.
    Protocol(String),
}

impl UpstreamFault {
    /// What the client is told.
    pub fn detail(&self) -> &'static str {
        match self {
            UpstreamFault::Connect(_) => "The upstream service is unreachable; try again shortly.",
            UpstreamFault::Timeout => "The upstream service did not answer in time.",
            UpstreamFault::TooLarge(_) => "The upstream service's answer is too large.",
            UpstreamFault::Protocol(_) => "The upstream service's answer is broken.",
        }
    }

    /// The label of the fault in metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            UpstreamFault::Connect(_) => "connect",
            UpstreamFault::Timeout => "timeout",
            UpstreamFault::TooLarge(_) => "too_large",
            UpstreamFault::Protocol(_) => "protocol",
        }
    }
}

impl ApiError {
    /// The `WWW-Authenticate` challenge of a 401 or 403, when there is one.
    pub fn challenge(&self) -> Option<&str> {
        match self {
            ApiError::NotAuthenticated(c)
            | ApiError::BadCredentials(c)
            | ApiError::Forbidden(c) => Some(c.as_str()).filter(|c| !c.is_empty()),
            _ => None,
        }
    }

    /// The HTTP status of the answer.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Parse(_) | ApiError::Invalid(_) => StatusCode::BAD_REQUEST,
            ApiError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::QueryTooLong => StatusCode::URI_TOO_LONG,
            ApiError::TooManyParameters
            | ApiError::QueryNotUtf8
            | ApiError::TooDeep(_)
            | ApiError::RequestViolation(_) => StatusCode::BAD_REQUEST,
            ApiError::NotAuthenticated(_) | ApiError::BadCredentials(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Timeout => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Upstream(UpstreamFault::Timeout) => StatusCode::GATEWAY_TIMEOUT,
            ApiError::Upstream(_) | ApiError::UpstreamViolation(_) => StatusCode::BAD_GATEWAY,
            ApiError::ResponseInvalid(_) | ApiError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            ApiError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::LimitUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// Whether the gateway, not the client, is at fault (logged as an error).
    pub fn is_server_fault(&self) -> bool {
        matches!(
            self,
            ApiError::Unavailable(_)
                | ApiError::ResponseInvalid(_)
                | ApiError::Internal(_)
                | ApiError::Timeout
        )
    }

    /// The body of the answer.
    pub fn body(&self) -> Value {
        let detail = match self {
            ApiError::NotFound => "Not found.".to_owned(),
            ApiError::MethodNotAllowed(method) => format!("Method \"{method}\" not allowed."),
            ApiError::NotAcceptable => "Could not satisfy the request Accept header.".to_owned(),
            ApiError::UnsupportedMediaType(media) => {
                format!("Unsupported media type \"{media}\" in request.")
            }
            ApiError::Parse(detail) => detail.clone(),
            ApiError::Invalid(errors) => {
                let map: Map<String, Value> = errors
                    .iter()
                    .map(|(field, messages)| (field.clone(), json!(messages)))
                    .collect();
                return Value::Object(map);
            }
            ApiError::PreconditionFailed => PRECONDITION_FAILED.to_owned(),
            ApiError::PayloadTooLarge => "Request body too large.".to_owned(),
            ApiError::BodyTimeout => "The request body did not arrive in time.".to_owned(),
            ApiError::QueryTooLong => "The query string is too long.".to_owned(),
            ApiError::TooManyParameters => "Too many query parameters.".to_owned(),
            ApiError::QueryNotUtf8 => {
                "The query string is not valid UTF-8 once percent-decoded.".to_owned()
            }
            ApiError::TooDeep(limit) => {
                format!("JSON parse error - nested deeper than {limit} levels")
            }
            ApiError::NotAuthenticated(_) => {
                "Authentication credentials were not provided.".to_owned()
            }
            ApiError::BadCredentials(_) => "Incorrect authentication credentials.".to_owned(),
            ApiError::Forbidden(_) => {
                "You do not have permission to perform this action.".to_owned()
            }
            ApiError::Timeout => "The request took too long; try again shortly.".to_owned(),
            ApiError::Unavailable(_) => {
                "The database is unavailable; try again shortly.".to_owned()
            }
            ApiError::Upstream(fault) => fault.detail().to_owned(),
            ApiError::RequestViolation(violations) => {
                return json!({
                    "type": "about:blank",
                    "title": "Bad Request",
                    "status": 400,
                    "detail": "The request violates the contract.",
                    "violations": violations,
                });
            }
            ApiError::UpstreamViolation(violations) => {
                return json!({
                    "type": "about:blank",
                    "title": "Bad Gateway",
                    "status": 502,
                    "detail": "The upstream's response violates the contract.",
                    "violations": violations,
                });
            }
            ApiError::ResponseInvalid(_) | ApiError::Internal(_) => {
                "A server error occurred.".to_owned()
            }
            ApiError::Throttled(wait) => crate::compat::drf::throttled(*wait),
            ApiError::LimitUnavailable => {
                "Service temporarily unavailable, try again later.".to_owned()
            }
        };
        json!({ "detail": detail })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_render_in_drf_format() {
        assert_eq!(ApiError::NotFound.body(), json!({"detail": "Not found."}));
        assert_eq!(
            ApiError::MethodNotAllowed("DELETE".into()).body(),
            json!({"detail": "Method \"DELETE\" not allowed."})
        );
        assert_eq!(
            ApiError::UnsupportedMediaType(String::new()).body(),
            json!({"detail": "Unsupported media type \"\" in request."})
        );
        let invalid = ApiError::Invalid(vec![
            ("b".into(), vec!["first".into()]),
            ("a".into(), vec!["second".into(), "third".into()]),
        ]);
        assert_eq!(
            serde_json::to_string(&invalid.body()).unwrap_or_default(),
            r#"{"b":["first"],"a":["second","third"]}"#
        );
        assert_eq!(invalid.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn only_gateway_faults_are_server_faults() {
        assert!(ApiError::Internal("x".into()).is_server_fault());
        assert!(ApiError::Unavailable("x".into()).is_server_fault());
        assert!(!ApiError::NotFound.is_server_fault());
        assert_eq!(
            ApiError::Unavailable("x".into()).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
}
