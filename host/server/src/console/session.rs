//! Console sign-in: a session cookie for a browser, in place of the bearer
//! token an API client sends.
//!
//! The cookie holds a random secret; the store keeps only its hash, as it
//! does for tokens. The cookie is `HttpOnly` (scripts cannot read it),
//! `SameSite=Strict` (no other site's page sends it) and `Secure` when the
//! request came over TLS through a proxy. Every state-changing request a
//! session makes must also carry the session's CSRF token, a value derived
//! from the secret that pages get from the server and another site cannot
//! learn, and a request whose `Origin` names another site is refused.

use axum::http::{HeaderMap, Method, header};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// The session cookie's name.
pub(crate) const COOKIE: &str = "sb_session";

/// The header a session's state-changing requests carry its CSRF token in.
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";

/// The value of cookie `name` in a request, if it sent one.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// The CSRF token of the session whose secret is `secret`. A hash of the
/// secret under a label of its own: it reveals nothing of the secret, and
/// is the same for every page of one session, so tabs do not invalidate
/// each other.
pub(crate) fn csrf_token(secret: &str) -> String {
    hex::encode(Sha256::digest(format!("switchboard csrf\0{secret}").as_bytes()))
}

/// Whether `method` changes nothing, so that it needs no CSRF token.
fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Refuses a request made with a session cookie from another site: one
/// whose `Origin` is not this server's own `Host`, or a state-changing
/// one without the session's CSRF token. Websocket upgrades are GETs, so
/// the `Origin` check is what keeps another site's page from opening an
/// operator socket with a visitor's cookie.
pub(crate) fn check_cross_site(method: &Method, headers: &HeaderMap, secret: &str) -> Result<(), ApiError> {
    check_origin(headers)?;
    if is_safe(method) {
        return Ok(());
    }
    let sent = headers.get(CSRF_HEADER).and_then(|h| h.to_str().ok()).unwrap_or("");
    if sent.is_empty() {
        return Err(ApiError::forbidden(format!("missing csrf token; send the session's token in {CSRF_HEADER}")));
    }
    if !constant_time_eq(sent.as_bytes(), csrf_token(secret).as_bytes()) {
        return Err(ApiError::forbidden("wrong csrf token for this session"));
    }
    Ok(())
}

/// Refuses a request whose `Origin` is not this server: what a page of
/// another site sends. The sign-in form checks it too, so that another
/// site cannot sign a visitor in as someone else (login CSRF).
pub(crate) fn check_origin(headers: &HeaderMap) -> Result<(), ApiError> {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
        let origin = origin.to_str().unwrap_or("");
        let origin_host = origin.split_once("://").map_or("", |(_, rest)| rest);
        if origin_host != host {
            return Err(ApiError::forbidden(format!(
                "a request from origin \"{origin}\" cannot use this server's session cookie"
            )));
        }
    }
    Ok(())
}

/// Compares two byte strings in time that depends only on their lengths.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether the browser reached the server over TLS (through a proxy that
/// says so), so that the cookie may be marked `Secure`.
pub(crate) fn over_tls(headers: &HeaderMap) -> bool {
    headers.get("x-forwarded-proto").and_then(|h| h.to_str().ok()).is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

/// The `Set-Cookie` value that gives a browser session `secret`.
pub(crate) fn set_cookie(secret: &str, max_age: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={secret}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}")
}

/// The `Set-Cookie` value that removes the session cookie.
pub(crate) fn clear_cookie(secure: bool) -> String {
    set_cookie("", 0, secure)
}

#[cfg(test)]
pub(crate) mod tests {
    use axum::http::HeaderValue;

    use super::*;

    /// A header map of `pairs`, for the console's tests.
    pub(crate) fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).expect("header"));
        }
        h
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let h = headers(&[("cookie", "a=1; sb_session=s3cret ; b=2"), ("cookie", "c=3")]);
        assert_eq!(cookie(&h, COOKIE), Some("s3cret"));
        assert_eq!(cookie(&h, "c"), Some("3"));
        assert_eq!(cookie(&headers(&[("cookie", "sb_session=")]), COOKIE), None);
    }

    #[test]
    fn reads_need_no_token_but_writes_need_the_sessions_own() {
        let token = csrf_token("s");
        assert!(check_cross_site(&Method::GET, &headers(&[]), "s").is_ok());
        let err = check_cross_site(&Method::POST, &headers(&[]), "s").expect_err("no token");
        assert!(err.detail().starts_with("missing csrf token"), "{}", err.detail());
        let other = csrf_token("t");
        let err = check_cross_site(&Method::PATCH, &headers(&[(CSRF_HEADER, &other)]), "s").expect_err("wrong");
        assert_eq!(err.detail(), "wrong csrf token for this session");
        assert!(check_cross_site(&Method::DELETE, &headers(&[(CSRF_HEADER, &token)]), "s").is_ok());
    }

    #[test]
    fn another_sites_origin_is_refused_even_for_reads() {
        let same = headers(&[("host", "desk.example:8080"), ("origin", "http://desk.example:8080")]);
        assert!(check_cross_site(&Method::GET, &same, "s").is_ok());
        let other = headers(&[("host", "desk.example:8080"), ("origin", "https://evil.example")]);
        let err = check_cross_site(&Method::GET, &other, "s").expect_err("cross-site");
        assert!(err.detail().contains("\"https://evil.example\""), "{}", err.detail());
    }

    #[test]
    fn the_cookie_is_http_only_and_strict_and_secure_over_tls() {
        let c = set_cookie("x", 60, true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.ends_with("; Secure"), "{c}");
        assert!(!set_cookie("x", 60, false).contains("Secure"));
        assert!(clear_cookie(false).contains("Max-Age=0"));
    }
}
