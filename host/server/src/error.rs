//! HTTP errors: JSON `{error, detail}` with the right status.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use switchboard_core::CoreError;
use switchboard_runtime::RuntimeError;
use switchboard_store::{StoreError, StoredAnswer};
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable, machine-readable code such as `not_found`.
    pub error: &'static str,
    /// What was wrong, for a person: it names the field or value at fault.
    pub detail: String,
    /// The request field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// When a plugin failed a public request: the id under which the
    /// cause is logged and listed for admins (it is also sent as
    /// `X-Request-Id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// An error an API handler returns.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
    retry_after: Option<u64>,
    /// The answer kept for an idempotency key, sent again as it was. Boxed:
    /// replays are rare, and every `ApiResult` carries this type's size.
    replay: Option<Box<StoredAnswer>>,
}

impl ApiError {
    fn new(status: StatusCode, error: &'static str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            body: ErrorBody { error, detail: detail.into(), field: None, request_id: None },
            retry_after: None,
            replay: None,
        }
    }

    /// 400: the request is malformed.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", detail)
    }

    /// 422: a field's value is not acceptable.
    pub fn invalid(field: &str, reason: impl std::fmt::Display) -> Self {
        let mut e = Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", format!("{field}: {reason}"));
        e.body.field = Some(field.to_owned());
        e
    }

    /// 422 with a detail that already names where the problem is, such as
    /// a plugin's `settings.fields[2].type: unknown variant "colour"`; a
    /// detail that does not start with `field` gets it in front.
    pub fn invalid_at(field: &str, detail: String) -> Self {
        if detail.starts_with(field) {
            let mut e = Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", detail);
            e.body.field = Some(field.to_owned());
            e
        } else {
            Self::invalid(field, detail)
        }
    }

    /// 401: no token or an unknown token.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    /// 403: the token is valid but its user may not do this.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    /// 404: the thing named does not exist.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    /// 405: the path exists but not with this method.
    pub fn method_not_allowed(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", detail)
    }

    /// 409: the change conflicts with what exists.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", detail)
    }

    /// 413: the body is over the limit.
    pub fn too_large(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", detail)
    }

    /// 415: the body is not JSON.
    pub fn unsupported_media(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", detail)
    }

    /// 429: too many requests; `retry_after` is sent as `Retry-After`.
    pub fn too_many_requests(retry_after: std::time::Duration) -> Self {
        let secs = retry_after.as_secs_f64().ceil().max(1.0) as u64;
        Self::busy(format!("too many requests from this address; retry in {secs} s"), secs)
    }

    /// 429 with a `Retry-After` of `secs` and a detail saying what is busy.
    pub fn busy(detail: String, secs: u64) -> Self {
        let mut e = Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", detail);
        e.retry_after = Some(secs);
        e
    }

    /// 502: a plugin failed; the detail names the plugin and the cause.
    pub fn plugin_failed(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_GATEWAY, "plugin_failed", detail)
    }

    /// 504: a plugin ran out of time.
    pub fn plugin_timeout(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::GATEWAY_TIMEOUT, "plugin_timeout", detail)
    }

    /// 503: a plugin is installed but could not be loaded.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", detail)
    }

    /// 500: something broke inside. The cause is logged here and never
    /// sent to the client.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error; see the server log")
    }

    /// The status this error is sent with.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// What was wrong, as the detail says it.
    pub fn detail(&self) -> &str {
        &self.body.detail
    }

    /// The body this error is sent with.
    pub fn body(&self) -> &ErrorBody {
        &self.body
    }

    /// This error as an anonymous caller may see it: the same status and
    /// code, and a request id instead of the cause, which names the
    /// plugin's insides (a trap, a capability, a team).
    pub fn hidden(self, request_id: &str) -> Self {
        let detail =
            format!("the service could not answer this request; its operator can look up request id {request_id}");
        let mut e = Self::new(self.status, self.body.error, detail);
        e.body.request_id = Some(request_id.to_owned());
        // When to try again is the caller's to know, and says nothing of
        // the plugin.
        e.retry_after = self.retry_after;
        e
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Some(answer) = self.replay {
            let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
            let mut response = (status, answer.body).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
            return response;
        }
        let request_id = self.body.request_id.as_deref().and_then(|id| HeaderValue::from_str(id).ok());
        let mut response = (self.status, axum::Json(self.body)).into_response();
        if let Some(id) = request_id {
            response.headers_mut().insert("x-request-id", id);
        }
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::Invalid { field, reason } => ApiError::invalid(field, reason),
            CoreError::UnknownStage(_) | CoreError::UnknownPolicy(_) => ApiError::not_found(e.to_string()),
            CoreError::Conflict(detail) => ApiError::conflict(detail),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Rule(e) => e.into(),
            StoreError::UnknownTeam(_)
            | StoreError::UnknownTicket(_)
            | StoreError::UnknownContact(_)
            | StoreError::UnknownUser(_)
            | StoreError::UnknownPlugin(_)
            | StoreError::UnknownJob(_)
            | StoreError::UnknownMessage { .. }
            | StoreError::UnknownAttachment { .. }
            | StoreError::UnknownConversation(_)
            | StoreError::UnknownChatMessage { .. }
            | StoreError::UnknownChatAttachment { .. }
            | StoreError::NotEnabled { .. } => ApiError::not_found(e.to_string()),
            StoreError::SlugTaken(_)
            | StoreError::AliasTaken { .. }
            | StoreError::StageInUse { .. }
            | StoreError::PluginInUse { .. }
            | StoreError::StorageFull { .. }
            | StoreError::ExternalKeyTaken { .. }
            | StoreError::LeaseLost { .. }
            | StoreError::TokenTaken
            | StoreError::JobNotFailed(_) => ApiError::conflict(e.to_string()),
            StoreError::Replayed { answer, .. } => {
                let mut replayed = ApiError::new(StatusCode::OK, "replayed", "");
                replayed.replay = Some(Box::new(answer));
                replayed
            }
            StoreError::KeyReused(_) => ApiError::invalid("Idempotency-Key", format!("{e}; use a new key")),
            StoreError::Unavailable(_) => {
                tracing::error!(error = %e, "store unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the store is not taking requests; try again later",
                )
            }
            StoreError::SchemaMismatch { .. } | StoreError::Corrupt { .. } | StoreError::Backend(_) => {
                ApiError::internal(&e)
            }
        }
    }
}

impl From<RuntimeError> for ApiError {
    fn from(e: RuntimeError) -> Self {
        match e {
            RuntimeError::CpuBudget { .. } | RuntimeError::Timeout { .. } => ApiError::plugin_timeout(e.to_string()),
            RuntimeError::Memory { .. }
            | RuntimeError::Trap { .. }
            | RuntimeError::ResponseTooLarge { .. }
            | RuntimeError::Plugin { .. }
            | RuntimeError::WrongKind { .. }
            | RuntimeError::NoMailHandler(_)
            | RuntimeError::NoReplyHandler(_)
            | RuntimeError::NotStageRobot(_)
            | RuntimeError::NoChatHandler(_) => ApiError::plugin_failed(e.to_string()),
            RuntimeError::NotLoaded(_) => ApiError::unavailable(e.to_string()),
            // Nothing ran: the client may send the same request again.
            RuntimeError::Busy { .. } => {
                let mut busy = ApiError::unavailable(e.to_string());
                busy.retry_after = Some(1);
                busy
            }
            RuntimeError::InvalidComponent { .. } | RuntimeError::WorldMismatch { .. } => {
                ApiError::invalid("component", e)
            }
            RuntimeError::UnsupportedWit { .. } | RuntimeError::WitMismatch { .. } => {
                ApiError::invalid("manifest.wit", e)
            }
            RuntimeError::Engine(_) | RuntimeError::Cache { .. } | RuntimeError::Durability { .. } => {
                ApiError::internal(&e)
            }
        }
    }
}

/// What API handlers return.
pub type ApiResult<T> = Result<T, ApiError>;
