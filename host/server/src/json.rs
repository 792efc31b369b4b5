//! A JSON body extractor whose rejections are API errors.

use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Like [`axum::Json`], but a bad body becomes a JSON error that says what
/// was wrong and where: the field path, line and column from serde.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ApiError::unsupported_media("send the body with Content-Type: application/json"));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::too_large("request body is over the size limit")
            } else {
                ApiError::bad_request(format!("could not read the body: {}", rejection.body_text()))
            }
        })?;
        // A repeated key means what the reader decides; it is refused
        // before the typed parse, which would keep the last one.
        if let Err(e) = unique_json::check(&bytes) {
            return Err(if e.is_data() {
                ApiError::bad_request(format!("body repeats a key: {e}"))
            } else {
                ApiError::bad_request(format!("body is not valid JSON: {e}"))
            });
        }
        // Every body of this API is an object. serde would also fill a
        // struct from an array of its fields in order (`[null, null]`),
        // which no client means and no schema allows.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(ApiError::invalid("body", "must be a JSON object"));
        }
        match axum::Json::<T>::from_bytes(&bytes) {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(rejection) => Err(rejection_to_error(&rejection)),
        }
    }
}

/// True for `application/json` and the `+json` types, with or without
/// parameters such as a charset.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The innermost cause, which for serde errors is the useful one.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

fn rejection_to_error(rejection: &JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::JsonDataError(e) => {
            let detail = root_cause(e);
            // serde_path_to_error puts the field path first: "title: invalid type…".
            match detail.split_once(": ") {
                Some((path, reason)) if !path.contains(' ') => ApiError::invalid(path, reason),
                _ => ApiError::invalid("body", detail),
            }
        }
        JsonRejection::JsonSyntaxError(e) => {
            ApiError::bad_request(format!("body is not valid JSON: {}", root_cause(e)))
        }
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::unsupported_media("send the body with Content-Type: application/json")
        }
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::too_large("request body is over the size limit")
        }
        other => ApiError::bad_request(format!("could not read the body: {}", other.body_text())),
    }
}

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}
