//! `/c/{team}/{plugin}/…`: the public routes of channel plugins. No token;
//! a per-client rate limit, a body cap, and the plugin's answer passed on.

use std::net::SocketAddr;
use std::time::Instant;

use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use switchboard_runtime::{HttpRequest, RuntimeError};
use switchboard_store::StoreError;

use crate::client_addr::client_addr;
use crate::error::ApiError;
use crate::extract::Path;
use crate::failures::{self, Failure};
use crate::state::AppState;

/// Response headers a plugin may not set: the server owns framing and
/// connection handling.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "content-length",
    "transfer-encoding",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "proxy-authenticate",
];

/// `/c/{team}/{plugin}` with no path below it. A page (GET or HEAD) is
/// redirected to the same address with a trailing slash, as a web server
/// does for a directory, so that its relative links (`form.css`, `thanks`)
/// resolve below the route. Anything else is served as the plugin's root:
/// many webhook senders do not follow a redirect on POST.
pub async fn root(
    state: State<AppState>,
    Path((team, plugin)): Path<(String, String)>,
    peer: ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return handle(state, team, plugin, "/".into(), peer, request).await;
    }
    let uri = request.uri();
    let location = match uri.query() {
        Some(query) => format!("{}/?{query}", uri.path()),
        None => format!("{}/", uri.path()),
    };
    match HeaderValue::try_from(location) {
        Ok(location) => (StatusCode::PERMANENT_REDIRECT, [(header::LOCATION, location)]).into_response(),
        Err(_) => ApiError::not_found("no such public route").into_response(),
    }
}

/// `/c/{team}/{plugin}/`: the plugin's own root, path `/`.
pub async fn index(
    state: State<AppState>,
    Path((team, plugin)): Path<(String, String)>,
    peer: ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    handle(state, team, plugin, "/".into(), peer, request).await
}

/// `/c/{team}/{plugin}/{*path}`.
pub async fn nested(
    state: State<AppState>,
    Path((team, plugin, path)): Path<(String, String, String)>,
    peer: ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    handle(state, team, plugin, format!("/{path}"), peer, request).await
}

pub(crate) async fn handle(
    State(state): State<AppState>,
    team: String,
    plugin: String,
    path: String,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    match serve_plugin(&state, &team, &plugin, path, peer, request).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

fn not_found(team: &str, plugin: &str) -> ApiError {
    ApiError::not_found(format!("no channel \"{plugin}\" is enabled for team \"{team}\""))
}

async fn serve_plugin(
    state: &AppState,
    team: &str,
    plugin: &str,
    path: String,
    peer: SocketAddr,
    request: Request,
) -> Result<Response, ApiError> {
    let client = client_addr(peer.ip(), request.headers(), &state.trusted_proxies);
    // The installation's own limits apply, so it is read first: one lookup
    // in the store's record cache, before the body is read.
    let installation = match state.stores.plugins.installation(team, plugin).await {
        Ok(i) => i,
        Err(StoreError::NotEnabled { .. } | StoreError::UnknownTeam(_)) => {
            state.public_limiter.check_unknown(client, Instant::now()).map_err(ApiError::too_many_requests)?;
            return Err(not_found(team, plugin));
        }
        Err(e) => return Err(e.into()),
    };
    state.public_limiter.check(client, &installation, Instant::now()).map_err(ApiError::too_many_requests)?;
    let limit = installation.public_limits.body_bytes.map_or(state.public_body_limit, |b| b as usize);
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::too_large(format!("request body is over the limit of this route, {limit} bytes")))?;
    let headers = parts
        .headers
        .iter()
        .filter(|(name, _)| *name != header::AUTHORIZATION && *name != header::COOKIE)
        .filter_map(|(n, v)| v.to_str().ok().map(|v| (n.as_str().to_owned(), v.to_owned())))
        .collect();
    let http = HttpRequest {
        method: parts.method.to_string(),
        path,
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers,
        body: body.to_vec(),
        client_addr: client.to_string(),
    };
    // The runtime knows the loaded plugin's kind, so a robot (or a plugin
    // that is not loaded) is a 404 here without reading its record.
    let secrets =
        state.secret_key.secrets_of(&installation).map_err(|e| hidden(state, team, plugin, ApiError::internal(&e)))?;
    let answer = match state.runtime.handle_http(&installation, &secrets, http).await {
        Ok(answer) => answer,
        Err(RuntimeError::WrongKind { .. } | RuntimeError::NotLoaded(_)) => return Err(not_found(team, plugin)),
        Err(e) => return Err(hidden(state, team, plugin, e.into())),
    };
    let status = StatusCode::from_u16(answer.status).ok().filter(|s| !s.is_informational()).ok_or_else(|| {
        hidden(
            state,
            team,
            plugin,
            ApiError::plugin_failed(format!("plugin \"{plugin}\" answered with status {}", answer.status)),
        )
    })?;
    let mut response = Response::new(Body::from(answer.body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in answer.headers {
        let lower = name.to_ascii_lowercase();
        if HOP_BY_HOP.contains(&lower.as_str()) {
            continue;
        }
        match (HeaderName::try_from(lower.as_str()), HeaderValue::try_from(value.as_str())) {
            (Ok(n), Ok(v)) => {
                headers.append(n, v);
            }
            _ => {
                tracing::warn!(plugin, header = %name, "dropping an invalid response header from a plugin")
            }
        }
    }
    headers.entry(header::X_CONTENT_TYPE_OPTIONS).or_insert(HeaderValue::from_static("nosniff"));
    deny_framing_unless_chosen(headers);
    Ok(response)
}

/// A plugin's failure as the anonymous caller sees it: a request id in
/// place of the cause, which goes to the log and to the plugin's recent
/// failures under that id.
fn hidden(state: &AppState, team: &str, plugin: &str, e: ApiError) -> ApiError {
    let request_id = failures::request_id();
    let status = e.status().as_u16();
    tracing::warn!(request_id, team, plugin, status, detail = e.detail(), "a plugin failed a public request");
    let failure = Failure {
        at: state.clock.now().to_string(),
        request_id: request_id.clone(),
        team: team.to_owned(),
        status,
        detail: e.detail().to_owned(),
    };
    state.failures.record(plugin, failure);
    e.hidden(&request_id)
}

/// Pages of a plugin may not be framed by other sites (clickjacking), unless
/// the plugin decides otherwise by sending its own `frame-ancestors`
/// directive, as the chat widget must to be embedded. A policy the plugin
/// sends without that directive stays, and a second policy is added: a
/// browser enforces every policy it gets.
fn deny_framing_unless_chosen(headers: &mut axum::http::HeaderMap) {
    let chosen = headers
        .get_all(header::CONTENT_SECURITY_POLICY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|policy| policy.split(';').any(|d| d.trim().to_ascii_lowercase().starts_with("frame-ancestors")));
    if !chosen {
        headers.append(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("frame-ancestors 'none'"));
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue, header};

    use super::deny_framing_unless_chosen;

    fn policies(headers: &HeaderMap) -> Vec<&str> {
        headers.get_all(header::CONTENT_SECURITY_POLICY).iter().filter_map(|v| v.to_str().ok()).collect()
    }

    #[test]
    fn a_page_without_a_choice_may_not_be_framed() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'self'"));
        deny_framing_unless_chosen(&mut headers);
        assert_eq!(policies(&headers), ["default-src 'self'", "frame-ancestors 'none'"]);
        assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
    }

    #[test]
    fn a_plugin_that_names_its_framers_keeps_its_choice() {
        let mut headers = HeaderMap::new();
        let chosen = "default-src 'self'; Frame-Ancestors https://shop.example";
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(chosen));
        deny_framing_unless_chosen(&mut headers);
        assert_eq!(policies(&headers), [chosen]);
        assert!(headers.get(header::X_FRAME_OPTIONS).is_none());
    }
}
