//! The web consoles: sign-in, the agent board and ticket page, the
//! operator chat console, and the admin pages.
//!
//! Pages are rendered on the server (minijinja) in the reader's language
//! and filled in by small scripts of our own (`assets/`), which talk to
//! the same JSON API as every other client, with the session cookie and
//! its CSRF token in place of a bearer token. No script or style is inline,
//! so the Content-Security-Policy allows only the server's own files.

pub(crate) mod assets;
mod events;
pub(crate) mod i18n;
mod pages;
pub(crate) mod session;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware;
use axum::routing::{get, post};

use crate::state::AppState;

/// Pages may load only the server's own scripts, styles and images, talk
/// only to the server itself, and post forms only to it; nothing may
/// frame them.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; \
                   media-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The headers every console response carries.
pub(crate) fn secure_headers(headers: &mut HeaderMap, content_type: &'static str) {
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
}

/// The console's routes.
pub(crate) fn router(state: AppState) -> Router<AppState> {
    let feed = Router::new()
        .route("/console/events/{team}", get(events::feed))
        .layer(middleware::from_fn_with_state(state, crate::auth::require_token));
    Router::new()
        .route("/", get(pages::sign_in_page))
        .route("/console/sign-in", get(pages::sign_in_page).post(pages::sign_in))
        .route("/console/sign-out", post(pages::sign_out))
        .route("/console", get(pages::board))
        .route("/console/board", get(pages::board))
        .route("/console/tickets/{id}", get(pages::ticket))
        .route("/console/chat", get(pages::chat))
        .route("/console/sessions", get(pages::sessions))
        .route("/console/admin", get(pages::admin_teams))
        .route("/console/admin/teams/{slug}", get(pages::admin_team))
        .route("/console/admin/users", get(pages::admin_users))
        .route("/console/admin/plugins", get(pages::admin_plugins))
        .route("/console/assets/{name}", get(assets::asset))
        .merge(feed)
}
