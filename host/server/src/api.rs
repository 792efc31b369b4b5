//! The `/api` router and its OpenAPI document.

mod attachments;
pub(crate) mod board;
mod chat_embed;
mod contacts;
mod error_docs;
mod installations;
mod mail;
mod messages;
mod plugins;
mod robots;
mod sessions;
mod sla_policies;
mod stage_robots;
mod stages;
mod teams;
mod tickets;
mod triggers;
pub(crate) mod users;
mod wire;

use std::sync::Arc;

use axum::extract::OriginalUri;
use axum::http::Method;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::{Extension, Router, middleware};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::require_token;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Switchboard API", description = "Teams, tickets, stages, SLA policies, contacts and users. Every route needs `Authorization: Bearer <token>`. Errors are JSON `{error, detail}`."),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "teams", description = "Teams and their e-mail aliases"),
        (name = "stages", description = "A team's ordered stages"),
        (name = "sla", description = "A team's SLA policies"),
        (name = "tickets", description = "Tickets and their threads"),
        (name = "contacts", description = "Customers"),
        (name = "users", description = "Admins and agents"),
        (name = "plugins", description = "Channel and robot plugins, and their installation per team"),
        (name = "chat", description = "Live chat and WhatsApp: the operator websocket and the files customers send"),
        (name = "meta", description = "This document")
    )
)]
struct ApiDoc;

/// Declares the bearer-token scheme every route uses.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// The rendered OpenAPI document, shared with its handler.
#[derive(Clone)]
struct OpenApiJson(Arc<str>);

/// This OpenAPI document.
#[utoipa::path(get, path = "/openapi.json", tag = "meta", responses((status = 200, description = "OpenAPI 3.1 document")))]
async fn openapi_json(Extension(doc): Extension<OpenApiJson>) -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], doc.0.to_string())
}

async fn no_route(method: Method, OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::not_found(format!("no route for {method} {uri}"))
}

async fn wrong_method(method: Method, OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::method_not_allowed(format!("{method} is not allowed on {uri}"))
}

/// The `/api` routes with the OpenAPI document they make up.
fn documented(upload_limit: usize) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    // Plugin uploads are large; every other route keeps the default limit.
    let uploads = OpenApiRouter::new()
        .routes(routes!(plugins::install_plugin, plugins::list_plugins))
        .layer(axum::extract::DefaultBodyLimit::max(upload_limit));
    let routes = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(teams::create_team, teams::list_teams))
        .routes(routes!(teams::get_team, teams::patch_team))
        .routes(routes!(stages::list_stages, stages::create_stage))
        .routes(routes!(stages::patch_stage, stages::delete_stage))
        .routes(routes!(stages::reorder_stages))
        .routes(routes!(stage_robots::list_stage_robots, stage_robots::put_stage_robots))
        .routes(routes!(triggers::list_triggers, triggers::put_triggers))
        .routes(routes!(stage_robots::dry_run))
        .routes(routes!(sla_policies::list_policies, sla_policies::create_policy))
        .routes(routes!(sla_policies::put_policy, sla_policies::delete_policy))
        .routes(routes!(tickets::create_ticket, tickets::list_tickets))
        .routes(routes!(tickets::get_ticket, tickets::patch_ticket))
        .routes(routes!(messages::create_message, messages::list_messages))
        .routes(routes!(attachments::get_attachment))
        .routes(routes!(attachments::get_chat_attachment))
        .routes(routes!(users::create_user, users::list_users))
        .routes(routes!(users::patch_user))
        .routes(routes!(users::new_token))
        .routes(routes!(sessions::me))
        .routes(routes!(sessions::list_sessions))
        .routes(routes!(sessions::end_session))
        .routes(routes!(board::get_board))
        .routes(routes!(contacts::find_contact))
        .routes(routes!(contacts::get_contact))
        .merge(uploads)
        .routes(routes!(plugins::get_plugin, plugins::delete_plugin))
        .routes(routes!(plugins::plugin_failures))
        .routes(routes!(plugins::get_install))
        .routes(routes!(installations::list_installations))
        .routes(routes!(installations::enable_plugin, installations::get_installation, installations::disable_plugin))
        .routes(routes!(robots::run_robot))
        .routes(routes!(mail::list_failed_mail))
        .routes(routes!(mail::retry_failed_mail))
        .routes(routes!(crate::chat::operator::operator_socket))
        .routes(routes!(openapi_json));
    let (router, mut openapi) = routes.split_for_parts();
    // The router is nested under /api by the caller; the document shows
    // the full paths clients use.
    openapi.paths.paths = std::mem::take(&mut openapi.paths.paths)
        .into_iter()
        .map(|(path, item)| (format!("/api{path}"), item))
        .collect();
    error_docs::add_shared_errors(&mut openapi);
    (router, openapi)
}

/// The OpenAPI document of the `/api` routes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    documented(0).1
}

/// Builds the routes under `/api`, every one behind the token check.
pub fn router(state: AppState) -> Router<AppState> {
    let (api, openapi) = documented(state.plugin_upload_limit);
    // Serializing a document built from our own annotations cannot fail.
    let doc: Arc<str> = openapi.to_pretty_json().unwrap_or_default().into();
    api.route_layer(middleware::from_fn_with_state(state.clone(), crate::idempotency::middleware))
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(Extension(OpenApiJson(doc)))
        .layer(middleware::from_fn_with_state(state, require_token))
}
pub(crate) use tickets::parse_id as tickets_parse_id;
