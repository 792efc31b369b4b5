//! `Idempotency-Key` on the API's write routes (the IETF httpapi draft, as
//! Stripe does it): a client that retries a POST or PATCH after a timeout
//! or a dropped connection gets the first answer again instead of a second
//! write.
//!
//! The middleware reads the key and hashes the request (method, path,
//! query, body). A key it has seen with the same request is answered from
//! the record at once; with another request, it is a 422. Otherwise the
//! handler makes its write with the key, and the store keeps the answer in
//! the same transaction as the write, so that a crash between the two
//! cannot happen and two concurrent retries make one write (see
//! `switchboard_store::Idempotency`). Records last 24 hours.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jiff::SignedDuration;
use serde::Serialize;
use sha2::{Digest, Sha256};
use switchboard_core::Timestamp;
use switchboard_store::{Idempotency, StoreError, StoredAnswer};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// The header.
pub const HEADER: &str = "idempotency-key";

/// How long an answer is kept for its key.
const KEEP: SignedDuration = SignedDuration::from_hours(24);

/// The longest key accepted.
const MAX_KEY: usize = 255;

/// The routes (below `/api`) whose writes keep their answer for a key.
const SUPPORTED: &[(Method, &str)] = &[
    (Method::POST, "/teams"),
    (Method::PATCH, "/teams/{slug}"),
    (Method::POST, "/teams/{slug}/stages"),
    (Method::PATCH, "/teams/{slug}/stages/{id}"),
    (Method::POST, "/teams/{slug}/sla-policies"),
    (Method::POST, "/teams/{slug}/tickets"),
    (Method::PATCH, "/tickets/{id}"),
    (Method::POST, "/tickets/{id}/messages"),
];

/// Why the other POST routes refuse a key rather than ignore it.
const REFUSED: &[(&str, &str)] = &[
    ("/users", "its answer holds a token that is shown once and never stored"),
    ("/users/{id}/token", "its answer holds a token that is shown once and never stored"),
    ("/users/{id}", "it sets the teams to the list given, so a repeat is harmless"),
    ("/plugins", "installing the same bundle again is an upgrade to the same version, which is safe to repeat"),
    ("/tickets/{id}/robots/{plugin}", "a robot run acts outside the store; runs are claimed once by the robot"),
    ("/teams/{slug}/stages/{id}/robots/dry-run", "a dry run writes and sends nothing, so a repeat is harmless"),
    (
        "/teams/{slug}/mail/failed/{receipt}/retry",
        "a message runs again only while it has failed; a repeat finds it pending and is refused with 409",
    ),
];

/// A request's key and hash, for the handler (see [`Idem`]).
#[derive(Debug, Clone)]
struct KeyedRequest {
    key: String,
    fingerprint: [u8; 32],
}

/// The idempotency key of the request, if it came with one. Handlers of
/// the routes in [`SUPPORTED`] pass [`Idem::keep`] to their write.
#[derive(Debug, Clone, Default)]
pub struct Idem(Option<KeyedRequest>);

impl<S: Send + Sync> FromRequestParts<S> for Idem {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Idem(parts.extensions.get::<KeyedRequest>().cloned()))
    }
}

impl Idem {
    /// The key for the store, answering with `status` and the JSON of
    /// `render(value)`: the same rendering the handler answers with.
    pub fn keep<T, O: Serialize>(
        &self,
        caller: &Caller,
        now: Timestamp,
        status: StatusCode,
        render: impl Fn(&T) -> O + Send + Sync + 'static,
    ) -> Option<Idempotency<T>> {
        let keyed = self.0.as_ref()?;
        Some(Idempotency {
            scope: scope(caller),
            key: keyed.key.clone(),
            fingerprint: keyed.fingerprint,
            now,
            expires_at: now + KEEP,
            answer: Arc::new(move |value| StoredAnswer {
                status: status.as_u16(),
                // Our own output types serialize without fail.
                body: serde_json::to_vec(&render(value)).unwrap_or_default(),
            }),
        })
    }
}

/// Whose keys these are: each user's keys are their own.
fn scope(caller: &Caller) -> String {
    format!("user {}", caller.0.id)
}

/// The key in the header, checked: 1 to 255 visible ASCII characters, with
/// the draft's structured-field quotes or without.
fn read_key(request: &Request) -> Result<Option<String>, ApiError> {
    let Some(value) = request.headers().get(HEADER) else { return Ok(None) };
    let bad = || ApiError::invalid("Idempotency-Key", format!("must be 1 to {MAX_KEY} visible ASCII characters"));
    let text = value.to_str().map_err(|_| bad())?.trim();
    let key = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(text);
    if key.is_empty() || key.len() > MAX_KEY || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad());
    }
    Ok(Some(key.to_owned()))
}

/// Middleware for the `/api` routes: checks the key, answers a repeated
/// request from its record, and hands the key to the handler otherwise.
pub async fn middleware(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match prepare(&state, request).await {
        Ok(request) => next.run(request).await,
        // A replayed answer comes this way too (see `StoreError::Replayed`).
        Err(e) => e.into_response(),
    }
}

/// The request for the handler, with its key and hash, or the answer to
/// send instead.
async fn prepare(state: &AppState, request: Request) -> Result<Request, ApiError> {
    let Some(key) = read_key(&request)? else { return Ok(request) };
    let method = request.method().clone();
    if method != Method::POST && method != Method::PATCH {
        // PUT and DELETE are idempotent by themselves; the key adds nothing.
        return Ok(request);
    }
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_default();
    let route = route.strip_prefix("/api").unwrap_or(&route).to_owned();
    if !SUPPORTED.iter().any(|(m, r)| *m == method && *r == route) {
        let why = REFUSED.iter().find(|(r, _)| *r == route).map_or("it makes no single write", |(_, why)| why);
        return Err(ApiError::invalid("Idempotency-Key", format!("is not supported on {method} /api{route}: {why}")));
    }
    let caller =
        request.extensions().get::<Caller>().cloned().ok_or_else(|| ApiError::unauthorized("missing bearer token"))?;
    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, state.body_limit)
        .await
        .map_err(|_| ApiError::too_large("request body is over the size limit"))?;
    let mut hash = Sha256::new();
    for part in [method.as_str().as_bytes(), parts.uri.path().as_bytes(), parts.uri.query().unwrap_or("").as_bytes()] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    hash.update(&bytes);
    let fingerprint: [u8; 32] = hash.finalize().into();
    let now = state.clock.now();
    if let Some(record) = state.stores.idempotency.idempotency_record(&scope(&caller), &key, now).await? {
        return if record.fingerprint == fingerprint {
            Err(StoreError::Replayed { key, answer: record.answer }.into())
        } else {
            Err(StoreError::KeyReused(key).into())
        };
    }
    let mut request = Request::from_parts(parts, Body::from(bytes));
    request.extensions_mut().insert(KeyedRequest { key, fingerprint });
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_key(value: &str) -> Request {
        Request::builder().header(HEADER, value).body(Body::empty()).expect("request")
    }

    #[test]
    fn keys_are_visible_ascii_with_or_without_quotes() {
        assert_eq!(read_key(&with_key("abc-123")).expect("key").as_deref(), Some("abc-123"));
        assert_eq!(read_key(&with_key("\"8e03978e\"")).expect("key").as_deref(), Some("8e03978e"));
        for bad in ["", "\"\"", "two words", &"k".repeat(256)] {
            let e = read_key(&with_key(bad)).expect_err(bad);
            assert_eq!(e.status(), StatusCode::UNPROCESSABLE_ENTITY);
        }
        let none = Request::builder().body(Body::empty()).expect("request");
        assert_eq!(read_key(&none).expect("no key"), None);
    }

    #[test]
    fn every_post_and_patch_route_either_keeps_answers_or_says_why_not() {
        let doc = crate::api::openapi();
        for (path, item) in &doc.paths.paths {
            let route = path.strip_prefix("/api").unwrap_or(path);
            for (method, present) in [(Method::POST, item.post.is_some()), (Method::PATCH, item.patch.is_some())] {
                if !present {
                    continue;
                }
                let kept = SUPPORTED.iter().any(|(m, r)| *m == method && *r == route);
                let refused = REFUSED.iter().any(|(r, _)| *r == route);
                assert!(kept || refused, "{method} {path} neither keeps answers nor says why not");
            }
        }
    }
}
