//! `/console/chat`: a minimal operator page for live chat. The page and
//! its script are public files; everything they show comes over the
//! operator websocket, which needs the agent's token (typed into the page,
//! kept for the browser tab only). A fuller console comes later.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// The page may load only its own script and stylesheet and talk only to
/// its own server; nothing may frame it.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; \
                   base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn file(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// The page.
pub(crate) async fn page() -> Response {
    file("text/html; charset=utf-8", include_str!("chat.html"))
}

/// Its script.
pub(crate) async fn script() -> Response {
    file("text/javascript; charset=utf-8", include_str!("chat.js"))
}

/// Its stylesheet.
pub(crate) async fn style() -> Response {
    file("text/css; charset=utf-8", include_str!("chat.css"))
}
