//! The whole HTTP application: `/api`, `/health`, `/metrics`.

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Method, Uri};
use axum::response::IntoResponse;
use axum::routing::{any, get};
use axum::{Router, middleware};
use serde_json::json;
use tower_http::trace::TraceLayer;

use crate::auth::require_token;
use crate::error::ApiError;
use crate::state::AppState;

/// Liveness: answers without a token, and checks that the store reads.
async fn health(State(state): State<AppState>) -> impl IntoResponse {
    match state.stores.teams.teams().await {
        Ok(_) => axum::Json(json!({"status": "ok"})).into_response(),
        Err(e) => ApiError::internal(&e).into_response(),
    }
}

async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(format!("no route for {method} {uri}"))
}

/// Builds the application for `state`, refusing bodies over `body_limit`.
pub fn app(state: AppState, body_limit: usize) -> Router {
    let api = crate::api::router(state.clone());
    let public = Router::new()
        .route("/c/{team}/{plugin}", any(crate::public::root))
        .route("/c/{team}/{plugin}/", any(crate::public::index))
        .route("/c/{team}/{plugin}/ws", any(crate::chat::visitor_socket))
        .route("/c/{team}/{plugin}/{*path}", any(crate::public::nested));
    let metrics = Router::new()
        .route("/metrics", get(crate::metrics::metrics))
        .layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .nest("/api", api)
        .merge(metrics)
        .merge(public)
        .route("/health", get(health))
        .merge(crate::console::router(state.clone()))
        .fallback(no_route)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
