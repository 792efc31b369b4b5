//! The console's pages: sign-in and sign-out, and the page shells the
//! scripts fill in. Pages are rendered on the server with minijinja, which
//! escapes every value put into them; the scripts put text in with
//! `textContent`, never as markup.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{ConnectInfo, Form, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::Environment;
use serde::{Deserialize, Serialize};
use switchboard_core::{Role, Session, User};

use super::i18n::{LANGS, Lang, negotiate};
use super::session;
use crate::auth::{SessionAuth, generate_token, hash_token, session_user};
use crate::error::ApiError;
use crate::extract::Path;
use crate::state::AppState;

/// Sign-in attempts a client may make per second, and in a burst.
const SIGN_IN_RATE: f64 = 1.0;
const SIGN_IN_BURST: f64 = 10.0;

/// The templates, parsed once. They are part of the build, and a test
/// renders every one, so one that does not parse fails the tests, not a
/// user's request.
fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in super::assets::TEMPLATES {
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(template = name, error = %e, "a console template does not parse");
            }
        }
        env
    })
}

/// A language in the picker.
#[derive(Serialize)]
struct LangChoice {
    code: &'static str,
    name: &'static str,
}

/// What every page is rendered with.
#[derive(Serialize)]
struct PageContext<'a> {
    lang: &'static str,
    t: &'static std::collections::BTreeMap<String, String>,
    catalog: &'static str,
    langs: Vec<LangChoice>,
    page: &'a str,
    title: String,
    csrf: &'a str,
    user_name: &'a str,
    user_id: u64,
    role: &'a str,
    admin: bool,
    ticket_id: u64,
    team: &'a str,
    error: Option<&'a str>,
}

/// Renders template `name` as a full HTML response with `status`.
fn render(status: StatusCode, name: &str, ctx: &PageContext<'_>) -> Response {
    let body = templates().get_template(name).and_then(|t| t.render(minijinja::value::Serde(ctx)));
    match body {
        Ok(html) => {
            let mut response = (status, html).into_response();
            super::secure_headers(response.headers_mut(), "text/html; charset=utf-8");
            response
        }
        Err(e) => ApiError::internal(&format!("console template {name}: {e}")).into_response(),
    }
}

fn lang_choices() -> Vec<LangChoice> {
    let name = |l: Lang| match l {
        Lang::En => "English",
        Lang::Uk => "Українська",
        Lang::Es => "Español",
    };
    LANGS.into_iter().map(|l| LangChoice { code: l.code(), name: name(l) }).collect()
}

/// The context of page `page` for `user`, in `lang`.
fn context<'a>(lang: Lang, page: &'a str, user: Option<(&'a User, &'a SessionAuth)>) -> PageContext<'a> {
    let catalog = lang.catalog();
    PageContext {
        lang: lang.code(),
        t: catalog,
        catalog: lang.catalog_json(),
        langs: lang_choices(),
        page,
        title: lang.text(&format!("title_{}", page.replace('-', "_"))).to_owned(),
        csrf: user.map_or("", |(_, s)| s.csrf.as_str()),
        user_name: user.map_or("", |(u, _)| u.name.as_str()),
        user_id: user.map_or(0, |(u, _)| u.id),
        role: user.map_or("", |(u, _)| if u.is_admin() { "admin" } else { "agent" }),
        admin: user.is_some_and(|(u, _)| u.role == Role::Admin),
        ticket_id: 0,
        team: "",
        error: None,
    }
}

/// `/` and `/console/sign-in`: the sign-in page, or the board for a
/// browser that is signed in already.
pub(crate) async fn sign_in_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Ok(Some(_)) = session_user(&state, &axum::http::Method::GET, &headers).await {
        return Redirect::to("/console/board").into_response();
    }
    render(StatusCode::OK, "sign-in.html", &context(negotiate(&headers), "sign-in", None))
}

/// The sign-in form.
#[derive(Deserialize)]
pub(crate) struct SignIn {
    token: String,
}

/// Signs a browser in with a user's token: a new session, its cookie,
/// and the board.
pub(crate) async fn sign_in(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<SignIn>,
) -> Result<Response, ApiError> {
    session::check_origin(&headers)?;
    let lang = negotiate(&headers);
    let client = crate::client_addr::client_addr(peer.ip(), &headers, &state.trusted_proxies);
    let limited = match state.sign_in_limiter.lock() {
        Ok(mut buckets) => buckets.take(client, SIGN_IN_RATE, SIGN_IN_BURST, Instant::now()),
        Err(_) => Err(std::time::Duration::from_secs(1)),
    };
    if let Err(wait) = limited {
        let mut ctx = context(lang, "sign-in", None);
        let error = lang.text("sign_in_too_many");
        ctx.error = Some(error);
        let mut response = render(StatusCode::TOO_MANY_REQUESTS, "sign-in.html", &ctx);
        let secs = HeaderValue::from(wait.as_secs().max(1));
        response.headers_mut().insert(header::RETRY_AFTER, secs);
        return Ok(response);
    }
    let token = form.token.trim();
    let user = if token.is_empty() { None } else { state.stores.users.user_by_token(&hash_token(token)).await? };
    let Some(user) = user else {
        let mut ctx = context(lang, "sign-in", None);
        ctx.error = Some(lang.text("sign_in_wrong_token"));
        return Ok(render(StatusCode::UNAUTHORIZED, "sign-in.html", &ctx));
    };
    let secret = generate_token().map_err(|e| ApiError::internal(&e))?;
    let agent = headers.get(header::USER_AGENT).and_then(|h| h.to_str().ok()).unwrap_or("");
    let started = Session::start(hash_token(&secret), user.id, agent, state.clock.now());
    let max_age = started.expires_at.duration_since(started.created_at).as_secs();
    state.stores.sessions.create_session(started).await?.durable().await?;
    tracing::info!(user = user.id, "console sign-in");
    let mut response = Redirect::to("/console/board").into_response();
    let cookie = session::set_cookie(&secret, max_age, session::over_tls(&headers));
    let cookie = HeaderValue::from_str(&cookie).map_err(|e| ApiError::internal(&e))?;
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}

/// The sign-out form: the session's CSRF token.
#[derive(Deserialize)]
pub(crate) struct SignOut {
    csrf: String,
}

/// Ends the browser's session and removes its cookie.
pub(crate) async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SignOut>,
) -> Result<Response, ApiError> {
    session::check_origin(&headers)?;
    if let Some(secret) = session::cookie(&headers, session::COOKIE) {
        if !session::constant_time_eq(form.csrf.as_bytes(), session::csrf_token(secret).as_bytes()) {
            return Err(ApiError::forbidden("wrong csrf token for this session"));
        }
        let id = hash_token(secret);
        if let Some(found) = state.stores.sessions.session(&id).await? {
            state.stores.sessions.end_session(found.user, &id).await?.durable().await?;
        }
    }
    let mut response = Redirect::to("/").into_response();
    let cookie = HeaderValue::from_str(&session::clear_cookie(session::over_tls(&headers)))
        .map_err(|e| ApiError::internal(&e))?;
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}

/// The signed-in user, or the response that sends a browser to sign in.
async fn signed_in(state: &AppState, headers: &HeaderMap) -> Result<(User, SessionAuth), Response> {
    match session_user(state, &axum::http::Method::GET, headers).await {
        Ok(Some(found)) => Ok(found),
        Ok(None) => Err(Redirect::to("/").into_response()),
        Err(e) => Err(e.into_response()),
    }
}

/// A page any signed-in user may open.
async fn user_page(state: &AppState, headers: &HeaderMap, page: &str, ticket_id: u64) -> Response {
    let (user, auth) = match signed_in(state, headers).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let mut ctx = context(negotiate(headers), page, Some((&user, &auth)));
    ctx.ticket_id = ticket_id;
    render(StatusCode::OK, &format!("{page}.html"), &ctx)
}

/// An admin page: an agent gets 403 and a page that says why.
async fn admin_page(state: &AppState, headers: &HeaderMap, page: &str, team: &str) -> Response {
    let (user, auth) = match signed_in(state, headers).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let lang = negotiate(headers);
    if !user.is_admin() {
        let ctx = context(lang, "forbidden", Some((&user, &auth)));
        return render(StatusCode::FORBIDDEN, "forbidden.html", &ctx);
    }
    let mut ctx = context(lang, page, Some((&user, &auth)));
    ctx.team = team;
    render(StatusCode::OK, &format!("{page}.html"), &ctx)
}

/// `/console/board`.
pub(crate) async fn board(State(state): State<AppState>, headers: HeaderMap) -> Response {
    user_page(&state, &headers, "board", 0).await
}

/// `/console/tickets/{id}`.
pub(crate) async fn ticket(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    match crate::api::tickets_parse_id(&id) {
        Ok(id) => user_page(&state, &headers, "ticket", id).await,
        Err(e) => e.into_response(),
    }
}

/// `/console/chat`.
pub(crate) async fn chat(State(state): State<AppState>, headers: HeaderMap) -> Response {
    user_page(&state, &headers, "chat", 0).await
}

/// `/console/sessions`.
pub(crate) async fn sessions(State(state): State<AppState>, headers: HeaderMap) -> Response {
    user_page(&state, &headers, "sessions", 0).await
}

/// `/console/admin`: teams.
pub(crate) async fn admin_teams(State(state): State<AppState>, headers: HeaderMap) -> Response {
    admin_page(&state, &headers, "admin-teams", "").await
}

/// `/console/admin/teams/{slug}`: one team's stages, SLA policies,
/// members and embed snippets.
pub(crate) async fn admin_team(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
) -> Response {
    admin_page(&state, &headers, "admin-team", &slug).await
}

/// `/console/admin/users`.
pub(crate) async fn admin_users(State(state): State<AppState>, headers: HeaderMap) -> Response {
    admin_page(&state, &headers, "admin-users", "").await
}

/// `/console/admin/plugins`.
pub(crate) async fn admin_plugins(State(state): State<AppState>, headers: HeaderMap) -> Response {
    admin_page(&state, &headers, "admin-plugins", "").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_renders_in_every_language_and_escapes_what_it_shows() {
        let user = User {
            id: 7,
            name: "<script>alert(1)</script>".into(),
            role: Role::Admin,
            teams: Vec::new(),
            token_hash: String::new(),
            created_at: switchboard_core::Timestamp::UNIX_EPOCH,
        };
        let auth = SessionAuth { id: "i".into(), csrf: "c\"sv".into() };
        for lang in LANGS {
            for (name, _) in super::super::assets::TEMPLATES {
                if name == "layout.html" {
                    continue;
                }
                let page = name.trim_end_matches(".html");
                let ctx = context(lang, page, Some((&user, &auth)));
                let html = templates()
                    .get_template(name)
                    .and_then(|t| t.render(minijinja::value::Serde(&ctx)))
                    .unwrap_or_else(|e| panic!("{name} in {}: {e}", lang.code()));
                assert!(html.contains(&format!("<html lang=\"{}\">", lang.code())), "{name}");
                assert!(!html.contains("<script>alert"), "{name} shows a user name unescaped");
                assert!(html.contains("&lt;script&gt;alert(1)"), "{name} shows the user");
                assert!(!html.contains("c\"sv"), "{name} puts the csrf token in unescaped");
                assert!(!html.contains("<script>"), "{name} has an inline script");
                let key = format!("title_{}", page.replace('-', "_"));
                let title = lang.text(&key);
                assert_ne!(title, key, "{name} has no title in {}", lang.code());
                assert!(html.contains(&format!("<title>{title} · Switchboard</title>")), "{name} lacks its title");
            }
        }
    }
}
