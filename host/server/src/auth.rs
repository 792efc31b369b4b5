//! Bearer tokens: generation, hashing, the first admin, and the check on
//! every API request.

use std::io::Write;
use std::path::Path;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use sha2::{Digest, Sha256};
use switchboard_core::{Author, Role, Timestamp, User};
use switchboard_store::{StoreError, UserStore};

use crate::error::ApiError;
use crate::state::AppState;

/// The name of the file the generated admin token is written to.
pub const ADMIN_TOKEN_FILE: &str = "admin-token";

/// A new random token: 32 bytes from the OS, hex-encoded, with a prefix
/// that makes leaked tokens easy to spot.
pub fn generate_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(format!("sb_{}", hex::encode(bytes)))
}

/// The hash a token is stored and looked up by. Tokens are long and random,
/// so a plain SHA-256 is enough; a slow password hash would only slow
/// every request.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Makes sure an admin can log in. With `configured` set, a user holding
/// that token is created if none exists. Otherwise, on a server with no
/// admin, a token is generated, written to `<data>/admin-token` with mode
/// 0600, and given to a new admin. Returns the path when a token file was
/// written.
pub async fn bootstrap_admin(
    store: &dyn UserStore,
    data_dir: &Path,
    configured: Option<&str>,
    now: Timestamp,
) -> Result<Option<std::path::PathBuf>, BootstrapError> {
    if let Some(token) = configured {
        let hash = hash_token(token);
        if store.user_by_token(&hash).await?.is_none() {
            let created = match store.create_user("admin", Role::Admin, Vec::new(), hash.clone(), now).await {
                Ok(write) => write.durable().await.map(drop),
                Err(e) => Err(e),
            };
            // Servers sharing one database start together: the one that
            // lost the race finds the admin the other made.
            if let Err(e) = created
                && store.user_by_token(&hash).await?.is_none()
            {
                return Err(e.into());
            }
        }
        return Ok(None);
    }
    if store.users().await?.iter().any(User::is_admin) {
        return Ok(None);
    }
    let token = generate_token().map_err(|e| BootstrapError::Random(e.to_string()))?;
    let path = data_dir.join(ADMIN_TOKEN_FILE);
    write_secret(&path, &token).map_err(|e| BootstrapError::TokenFile(path.display().to_string(), e))?;
    store.create_user("admin", Role::Admin, Vec::new(), hash_token(&token), now).await?.durable().await?;
    Ok(Some(path))
}

/// Writes a file only its owner can read.
fn write_secret(path: &Path, secret: &str) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    // The mode above applies only to a new file; an old one is tightened.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    writeln!(file, "{secret}")?;
    file.sync_all()
}

/// Why the first admin could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The OS gave no random bytes.
    #[error("no randomness for a token: {0}")]
    Random(String),
    /// The token file could not be written.
    #[error("cannot write admin token file \"{0}\": {1}")]
    TokenFile(String, std::io::Error),
}

/// The user a request is made by, put in place by [`require_token`].
#[derive(Debug, Clone)]
pub struct Caller(pub User);

impl Caller {
    /// Refuses the request unless the caller is an admin.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.0.is_admin() {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!("this route needs an admin token; user \"{}\" is an agent", self.0.name)))
        }
    }

    /// Refuses the request unless the caller works in team `slug`. Another
    /// team is "unknown", as one that does not exist is, so that an agent
    /// cannot learn which teams there are.
    pub fn require_team(&self, slug: &str) -> Result<(), ApiError> {
        if self.0.works_in(slug) { Ok(()) } else { Err(ApiError::not_found(format!("unknown team \"{slug}\""))) }
    }

    /// The caller as the author of thread entries.
    pub fn author(&self) -> Author {
        Author::User { id: self.0.id, name: self.0.name.clone() }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Caller>().cloned().ok_or_else(|| ApiError::unauthorized("missing bearer token"))
    }
}

/// The token a websocket request offers as the subprotocol
/// `bearer.<token>`.
fn subprotocol_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers.get(axum::http::header::UPGRADE)?;
    let offered = headers.get(axum::http::header::SEC_WEBSOCKET_PROTOCOL)?.to_str().ok()?;
    offered.split(',').map(str::trim).find_map(|p| p.strip_prefix("bearer.")).filter(|t| !t.is_empty())
}

/// How a request made with a console session cookie was signed in: what
/// the console's own routes need beyond the user.
#[derive(Debug, Clone)]
pub struct SessionAuth {
    /// The session's id (the hash of its secret).
    pub id: String,
    /// The session's CSRF token, for the pages to send back.
    pub csrf: String,
}

/// The user and session a console cookie names, if it names a live one.
/// A cookie from another site, or a write without the session's CSRF
/// token, is refused (see `console::session`).
pub(crate) async fn session_user(
    state: &AppState,
    method: &axum::http::Method,
    headers: &axum::http::HeaderMap,
) -> Result<Option<(User, SessionAuth)>, ApiError> {
    use crate::console::session;
    let Some(secret) = session::cookie(headers, session::COOKIE) else {
        return Ok(None);
    };
    let id = hash_token(secret);
    let now = state.clock.now();
    let Some(found) = state.stores.sessions.session(&id).await?.filter(|s| s.is_live(now)) else {
        return Ok(None);
    };
    session::check_cross_site(method, headers, secret)?;
    let Some(user) = state.stores.users.user(found.user).await? else {
        return Ok(None);
    };
    Ok(Some((user, SessionAuth { id, csrf: session::csrf_token(secret) })))
}

/// Middleware for `/api`: every request needs `Authorization: Bearer
/// <token>` naming a known user, or a live console session cookie (with
/// its CSRF token on writes).
pub async fn require_token(State(state): State<AppState>, mut req: Request, next: Next) -> Result<Response, ApiError> {
    let token = match req.headers().get(AUTHORIZATION) {
        Some(header) => header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::unauthorized("authorization header is not \"Bearer <token>\""))?,
        // A browser cannot set headers on a websocket: it offers the token
        // as a subprotocol instead, or signs in and sends its cookie.
        None => match subprotocol_token(req.headers()) {
            Some(token) => token,
            None => {
                let (user, session) = session_user(&state, req.method(), req.headers()).await?.ok_or_else(|| {
                    ApiError::unauthorized("missing bearer token; send Authorization: Bearer <token>")
                })?;
                req.extensions_mut().insert(Caller(user));
                req.extensions_mut().insert(session);
                return Ok(next.run(req).await);
            }
        },
    };
    let user = state
        .stores
        .users
        .user_by_token(&hash_token(token))
        .await?
        .ok_or_else(|| ApiError::unauthorized("invalid token"))?;
    req.extensions_mut().insert(Caller(user));
    Ok(next.run(req).await)
}
