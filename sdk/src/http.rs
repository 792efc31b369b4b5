//! HTTP requests a channel receives and the responses it gives, as plain
//! Rust values with the helpers plugins need: query and form parsing, JSON
//! bodies, HTML and redirects.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A request to the plugin's public route, `/c/<team>/<plugin>/<path>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// The method, such as `GET`.
    pub method: String,
    /// The path below the plugin's route, starting with `/`.
    pub path: String,
    /// The raw query string without `?`.
    pub query: String,
    /// Header names (lowercase) and values.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// The client's IP address as the host determined it.
    pub client_addr: String,
}

impl Request {
    /// The first value of a header, by lowercase name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The media type of the body, lowercase, without parameters.
    pub fn content_type(&self) -> Option<String> {
        self.header("content-type").map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
    }

    /// Whether the client prefers JSON to HTML.
    pub fn wants_json(&self) -> bool {
        let accept = self.header("accept").unwrap_or_default();
        self.content_type().as_deref() == Some("application/json")
            || (accept.contains("application/json") && !accept.contains("text/html"))
    }

    /// The query string as name-value pairs, percent-decoded.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(self.query.as_bytes()).into_owned().collect()
    }

    /// The first value of a query parameter.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query_pairs().into_iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// An `application/x-www-form-urlencoded` body as name-value pairs.
    pub fn form_pairs(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(&self.body).into_owned().collect()
    }

    /// The body parsed as JSON into `T` with [`parse_json`]; the error says
    /// what was wrong.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, String> {
        parse_json(&self.body)
    }
}

/// Parses JSON into `T`, refusing a document in which an object repeats a
/// key: readers disagree on which value counts, so the host refuses such
/// bodies too. The error says what was wrong and where.
///
/// ```
/// # use switchboard_sdk::http::parse_json;
/// let err = parse_json::<serde_json::Value>(br#"{"name": "a", "name": "b"}"#).unwrap_err();
/// assert!(err.contains(r#"duplicate key "name""#));
/// ```
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    unique_json::check(body).map_err(|e| format!("body is not the JSON expected: {e}"))?;
    serde_json::from_slice(body).map_err(|e| format!("body is not the JSON expected: {e}"))
}

/// A response to send back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header names and values.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// A response with a body of the given content type.
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Response { status, headers: vec![("content-type".into(), content_type.into())], body: body.into() }
    }

    /// Plain text.
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Self::new(status, "text/plain; charset=utf-8", body.into())
    }

    /// HTML. Escape what you put in it: see [`escape_html`].
    pub fn html(status: u16, body: impl Into<String>) -> Self {
        Self::new(status, "text/html; charset=utf-8", body.into())
    }

    /// A JSON body.
    pub fn json<T: Serialize>(status: u16, value: &T) -> Self {
        // Serializing plain data to a Vec does not fail.
        let body = serde_json::to_vec(value).unwrap_or_default();
        Self::new(status, "application/json", body)
    }

    /// A `303 See Other` redirect.
    pub fn redirect(location: &str) -> Self {
        Response { status: 303, headers: vec![("location".into(), location.into())], body: Vec::new() }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_query_form_and_headers() {
        let req = Request {
            query: "a=1&b=x%20y".into(),
            headers: vec![("Content-Type".into(), "application/x-www-form-urlencoded; charset=utf-8".into())],
            body: b"title=Hi+there&x=%3Cb%3E".to_vec(),
            ..Request::default()
        };
        assert_eq!(req.query_param("b").as_deref(), Some("x y"));
        assert_eq!(req.content_type().as_deref(), Some("application/x-www-form-urlencoded"));
        assert_eq!(req.form_pairs(), [("title".into(), "Hi there".into()), ("x".into(), "<b>".into())]);
        assert!(!req.wants_json());
    }

    #[test]
    fn escapes_html() {
        assert_eq!(escape_html(r#"<script>"&'"#), "&lt;script&gt;&quot;&amp;&#x27;");
    }
}

/// The value of an `Authorization` header for HTTP basic authentication
/// (RFC 7617): `Basic` and the base64 of `user:password`.
pub fn basic_auth(user: &str, password: &str) -> String {
    format!("Basic {}", crate::compose::base64(format!("{user}:{password}").as_bytes()))
}

/// A body of `application/x-www-form-urlencoded` fields, in order.
pub fn form_body(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (name, value) in fields {
        form.append_pair(name, value);
    }
    form.finish().into_bytes()
}

#[cfg(test)]
mod encoding_tests {
    use super::*;

    #[test]
    fn basic_auth_encodes_user_and_password() {
        // RFC 7617, section 2.
        assert_eq!(basic_auth("Aladdin", "open sesame"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    }

    #[test]
    fn a_form_body_escapes_its_values() {
        assert_eq!(form_body(&[("To", "+15551234567"), ("Body", "Hi & bye")]), b"To=%2B15551234567&Body=Hi+%26+bye");
    }
}
