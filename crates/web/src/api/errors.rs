//! The API's one error shape, `{"error": {"code": "not_found", "message": "no such domain: x.test"}}`,
//! and the one place store errors and extractor rejections become HTTP statuses.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use yubin_store::ErrorKind;

/// An error answer: its status, a stable machine-readable code and a message for people.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    /// An error with `status`, `code` and `message`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 `invalid`: the request is well-formed JSON but its content is not acceptable.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid", message)
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 401 `unauthorized`; the response carries `WWW-Authenticate: Bearer` (RFC 6750 §3).
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl From<yubin_store::Error> for ApiError {
    fn from(e: yubin_store::Error) -> Self {
        let (status, code) = match e.kind() {
            ErrorKind::NotFound | ErrorKind::Expunged => (StatusCode::NOT_FOUND, "not_found"),
            ErrorKind::AlreadyExists => (StatusCode::CONFLICT, "already_exists"),
            ErrorKind::Conflict => (StatusCode::CONFLICT, "conflict"),
            ErrorKind::Limit => (StatusCode::CONFLICT, "limit_reached"),
            ErrorKind::OverQuota => (StatusCode::CONFLICT, "over_quota"),
            ErrorKind::TooBig => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            ErrorKind::InvalidData => (StatusCode::BAD_REQUEST, "invalid"),
            ErrorKind::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            _ => {
                // The details (a corrupt record, a failed disk) are for the operator's log, not
                // for the API client.
                tracing::error!(error = %e, "admin API request failed");
                return Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error; the server log has the details",
                );
            }
        };
        Self::new(status, code, e.message())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let code = match &r {
            JsonRejection::JsonSyntaxError(_) => "malformed_json",
            JsonRejection::JsonDataError(_) => "invalid",
            JsonRejection::MissingJsonContentType(_) => "unsupported_media_type",
            _ if r.status() == StatusCode::PAYLOAD_TOO_LARGE => "too_large",
            _ => "bad_request",
        };
        // axum answers a body that parses but does not fit with 422; this API uses 400 for
        // every request the client has to fix, so a client needs one rule.
        let status = match r.status() {
            StatusCode::UNPROCESSABLE_ENTITY => StatusCode::BAD_REQUEST,
            other => other,
        };
        Self::new(status, code, r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        Self::invalid(r.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": {"code": self.code, "message": self.message}});
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"yubin\""),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_map_to_statuses_once() {
        let status = |kind| ApiError::from(yubin_store::Error::new(kind, "x")).status();
        assert_eq!(status(ErrorKind::NotFound), StatusCode::NOT_FOUND);
        assert_eq!(status(ErrorKind::AlreadyExists), StatusCode::CONFLICT);
        assert_eq!(status(ErrorKind::Conflict), StatusCode::CONFLICT);
        assert_eq!(status(ErrorKind::InvalidData), StatusCode::BAD_REQUEST);
        assert_eq!(status(ErrorKind::TooBig), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            status(ErrorKind::Unavailable),
            StatusCode::SERVICE_UNAVAILABLE
        );
        let internal = ApiError::from(yubin_store::Error::new(ErrorKind::Internal, "disk"));
        assert_eq!(internal.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!internal.message.contains("disk"), "{internal:?}");
    }
}
