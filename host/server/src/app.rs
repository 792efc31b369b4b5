//! The whole HTTP application: `/api`, `/health`, `/metrics`.

use axum::extract::{DefaultBodyLimit, State};
use axum::http::header::CONTENT_TYPE;
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

/// Prometheus text format. It needs a token like the API.
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let stats = (state.store_stats)();
    let mut body = format!(
        "# HELP switchboard_store_flushes_total Group-commit flushes (fsyncs) of the store.\n\
         # TYPE switchboard_store_flushes_total counter\n\
         switchboard_store_flushes_total {}\n\
         # HELP switchboard_store_durable_writes_total Writes made durable by those flushes.\n\
         # TYPE switchboard_store_durable_writes_total counter\n\
         switchboard_store_durable_writes_total {}\n",
        stats.flushes, stats.durable_writes
    );
    let runtime = state.runtime.stats();
    body.push_str(&format!(
        "# HELP switchboard_plugin_compilations_total Plugin components compiled by this process.\n\
         # TYPE switchboard_plugin_compilations_total counter\n\
         switchboard_plugin_compilations_total {}\n\
         # HELP switchboard_plugin_cache_loads_total Plugin components loaded precompiled from disk.\n\
         # TYPE switchboard_plugin_cache_loads_total counter\n\
         switchboard_plugin_cache_loads_total {}\n\
         # HELP switchboard_plugin_pooling Whether the pooling instance allocator is in use.\n\
         # TYPE switchboard_plugin_pooling gauge\n\
         switchboard_plugin_pooling {}\n\
         # HELP switchboard_store_handed_over_writes_total Writes run on the store's writer thread because the server was busy.\n\
         # TYPE switchboard_store_handed_over_writes_total counter\n\
         switchboard_store_handed_over_writes_total {}\n\
         # HELP switchboard_store_write_batches_total Transactions in which the store writer committed several writes.\n\
         # TYPE switchboard_store_write_batches_total counter\n\
         switchboard_store_write_batches_total {}\n\
         # HELP switchboard_store_batched_writes_total Writes committed in those transactions.\n\
         # TYPE switchboard_store_batched_writes_total counter\n\
         switchboard_store_batched_writes_total {}\n\
         # HELP switchboard_store_write_panics_total Writes that panicked on the writer thread and failed alone.\n\
         # TYPE switchboard_store_write_panics_total counter\n\
         switchboard_store_write_panics_total {}\n",
        runtime.compiled,
        runtime.cache_hits,
        u8::from(runtime.pooling),
        stats.handed_over,
        stats.batches,
        stats.batched_writes,
        stats.write_panics
    ));
    for (name, help, pick) in [
        ("switchboard_plugin_calls_total", "Plugin calls.", 0),
        ("switchboard_plugin_errors_total", "Plugin calls that failed.", 1),
        ("switchboard_plugin_busy_microseconds_total", "Wall-clock time spent in plugin calls.", 2),
    ] {
        body.push_str(&format!("# HELP {name} {help}\n# TYPE {name} counter\n"));
        for (plugin, s) in &runtime.plugins {
            let value = [s.calls, s.errors, s.busy_us][pick];
            body.push_str(&format!("{name}{{plugin=\"{plugin}\"}} {value}\n"));
        }
    }
    ([(CONTENT_TYPE, "text/plain; version=0.0.4")], body)
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
        .route("/c/{team}/{plugin}/{*path}", any(crate::public::nested));
    let metrics = Router::new()
        .route("/metrics", get(metrics))
        .layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .nest("/api", api)
        .merge(metrics)
        .merge(public)
        .route("/health", get(health))
        .fallback(no_route)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
