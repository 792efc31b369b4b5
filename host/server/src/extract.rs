//! Extractors whose every rejection is a JSON API error.
//!
//! axum's own `Path`, `Query` and `Multipart` answer a bad request with a
//! plain-text body. Clients of this API parse `{error, detail}` on every
//! failure, so these wrappers turn each rejection into an [`ApiError`] that
//! names what was wrong. [`Admin`] sits here too: it is checked from the
//! request head, before any body extractor reads and judges the body.

use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::auth::Caller;
use crate::error::ApiError;

/// Like [`axum::extract::Path`], but a segment that does not parse is a
/// 400 naming the segment and the reason.
#[derive(Debug)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(rejection) => Err(path_error(&rejection)),
        }
    }
}

fn path_error(rejection: &PathRejection) -> ApiError {
    match rejection {
        // An error in the route table, not the client's: it is logged and
        // answered as a 500 without the detail.
        PathRejection::MissingPathParams(e) => ApiError::internal(e),
        other => ApiError::bad_request(format!("bad path: {}", other.body_text())),
    }
}

/// Like [`axum::extract::Query`], but a query that does not parse is a
/// JSON 400.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(rejection) => Err(query_error(&rejection)),
        }
    }
}

fn query_error(rejection: &QueryRejection) -> ApiError {
    ApiError::bad_request(format!("bad query string: {}", rejection.body_text()))
}

/// Like [`axum::extract::Multipart`], but a body that is not multipart, or
/// has no boundary, is a JSON 415 or 400.
#[derive(Debug)]
pub struct Multipart(pub axum::extract::Multipart);

impl<S> FromRequest<S> for Multipart
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Multipart::from_request(req, state).await {
            Ok(multipart) => Ok(Multipart(multipart)),
            Err(rejection) => Err(multipart_rejection(&rejection)),
        }
    }
}

fn multipart_rejection(rejection: &MultipartRejection) -> ApiError {
    match rejection {
        MultipartRejection::InvalidBoundary(_) => ApiError::unsupported_media(
            "send the body as multipart/form-data with a boundary, such as Content-Type: multipart/form-data; boundary=x",
        ),
        other => ApiError::bad_request(format!("cannot read the multipart body: {}", other.body_text())),
    }
}

/// The caller, known to be an admin. Taking this extractor instead of
/// [`Caller`] refuses an agent with 403 before the body is read, so that
/// an agent never learns the shape of a body it may not send.
#[derive(Debug, Clone)]
pub struct Admin(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        caller.require_admin()?;
        Ok(Admin(caller))
    }
}
