//! The whole HTTP application: `/api`, `/health`, `/metrics`.

use axum::extract::{DefaultBodyLimit, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{Method, Uri};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Router, middleware};
use serde_json::json;
use tower_http::trace::TraceLayer;

use crate::auth::require_token;
use crate::error::ApiError;
use crate::state::AppState;

/// Liveness: answers without a token, and checks that the store reads.
async fn health(State(state): State<AppState>) -> impl IntoResponse {
    match state.store.teams() {
        Ok(_) => axum::Json(json!({"status": "ok"})).into_response(),
        Err(e) => ApiError::internal(&e).into_response(),
    }
}

/// Prometheus text format. It needs a token like the API.
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let stats = state.store.stats();
    let body = format!(
        "# HELP switchboard_store_flushes_total Group-commit flushes (fsyncs) of the store.\n\
         # TYPE switchboard_store_flushes_total counter\n\
         switchboard_store_flushes_total {}\n\
         # HELP switchboard_store_durable_writes_total Writes made durable by those flushes.\n\
         # TYPE switchboard_store_durable_writes_total counter\n\
         switchboard_store_durable_writes_total {}\n",
        stats.flushes, stats.durable_writes
    );
    ([(CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}

async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(format!("no route for {method} {uri}"))
}

/// Builds the application for `state`, refusing bodies over `body_limit`.
pub fn app(state: AppState, body_limit: usize) -> Router {
    let api = crate::api::router(state.clone());
    let metrics = Router::new()
        .route("/metrics", get(metrics))
        .layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .nest("/api", api)
        .merge(metrics)
        .route("/health", get(health))
        .fallback(no_route)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
