use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The one error type of every handler; it becomes an RFC 9457 problem.
#[derive(Debug)]
pub enum AppError {
    /// No such resource.
    NotFound,
    /// The request is malformed; the detail says how (never echoing values).
    BadRequest(String),
    /// Something failed inside; it is logged and the client gets a generic body.
    Internal(String),
}

impl AppError {
    /// Wraps an internal failure; its text is logged, not sent.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        AppError::Internal(error.to_string())
    }
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
            AppError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                problem_response(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error", None)
            }
        }
    }
}
