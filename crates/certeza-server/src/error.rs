use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The one error type of every handler; it becomes an RFC 9457 problem.
#[derive(Debug)]
pub enum AppError {
    /// No such resource.
    NotFound,
    /// The request is malformed; the detail says how (never echoing values).
    BadRequest(String),
    /// Missing or wrong credentials.
    Unauthorized,
    /// Authenticated, but the policy does not allow this; the detail says what.
    Forbidden(String),
    /// Well-formed, but not processable (e.g. a purpose the policy lacks).
    Unprocessable(String),
    /// Too many requests; retry after this many seconds.
    TooManyRequests {
        /// Seconds until a retry may succeed.
        retry_after_seconds: u64,
        /// Which limit was hit.
        detail: &'static str,
    },
    /// The request body is larger than allowed.
    PayloadTooLarge,
    /// The body is not the JSON the endpoint takes (415 or 422 per RFC 9110 use).
    UnsupportedMediaType,
    /// The service cannot answer now; the detail says why.
    Unavailable(String),
    /// Something failed inside; it is logged and the client gets a generic body.
    Internal(String),
}

impl AppError {
    /// Wraps an internal failure; its text is logged, not sent.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        AppError::Internal(error.to_string())
    }

    /// Maps a JSON extractor rejection to a precise 4xx problem.
    pub fn from_json_rejection(rejection: axum::extract::rejection::JsonRejection) -> Self {
        use axum::extract::rejection::JsonRejection;
        match rejection {
            JsonRejection::MissingJsonContentType(_) => AppError::UnsupportedMediaType,
            JsonRejection::BytesRejection(_) => AppError::PayloadTooLarge,
            JsonRejection::JsonDataError(error) => AppError::BadRequest(describe_json_data_error(&error.body_text())),
            JsonRejection::JsonSyntaxError(_) => AppError::BadRequest("the body is not valid JSON".to_owned()),
            _ => AppError::BadRequest("the body could not be read".to_owned()),
        }
    }
}

/// Keeps only the field name from a serde message: the value a client sent
/// (possibly personal data) is never echoed.
fn describe_json_data_error(message: &str) -> String {
    for marker in ["missing field `", "unknown field `"] {
        if let Some(start) = message.find(marker) {
            let rest = &message[start + marker.len()..];
            if let Some(end) = rest.find('`') {
                return format!("{}{}`", marker, &rest[..end]);
            }
        }
    }
    "a field has the wrong type or an invalid value".to_owned()
}

/// Builds an `application/problem+json` response.
pub fn problem_response(status: StatusCode, title: &str, detail: Option<&str>) -> Response {
    let mut body = serde_json::json!({
        "type": "about:blank",
        "title": title,
        "status": status.as_u16(),
    });
    if let Some(detail) = detail {
        body["detail"] = serde_json::Value::from(detail);
    }
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    response
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::NotFound => problem_response(StatusCode::NOT_FOUND, "Not Found", None),
            AppError::BadRequest(detail) => problem_response(StatusCode::BAD_REQUEST, "Bad Request", Some(&detail)),
            AppError::Unauthorized => {
                let mut response = problem_response(
                    StatusCode::UNAUTHORIZED,
                    "Unauthorized",
                    Some("a valid bearer token is required"),
                );
                response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                response
            }
            AppError::Forbidden(detail) => problem_response(StatusCode::FORBIDDEN, "Forbidden", Some(&detail)),
            AppError::Unprocessable(detail) => {
                problem_response(StatusCode::UNPROCESSABLE_ENTITY, "Unprocessable Content", Some(&detail))
            }
            AppError::TooManyRequests { retry_after_seconds, detail } => {
                let mut response = problem_response(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests", Some(detail));
                if let Ok(value) = HeaderValue::from_str(&retry_after_seconds.max(1).to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
                response
            }
            AppError::PayloadTooLarge => problem_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Payload Too Large",
                Some("the request body is larger than this endpoint accepts"),
            ),
            AppError::UnsupportedMediaType => problem_response(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported Media Type",
                Some("send the body as application/json"),
            ),
            AppError::Unavailable(detail) => {
                problem_response(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable", Some(&detail))
            }
            AppError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                problem_response(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error", None)
            }
        }
    }
}
