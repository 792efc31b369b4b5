//! `http`: outbound requests, only to granted hosts.

use switchboard_core::Capability;

use crate::bindings::channel::switchboard::plugin::http::{Host, Request, Response};
use crate::bindings::wit::PluginError;
use crate::host::HostState;

/// The most outbound requests one call may make.
const MAX_REQUESTS_PER_CALL: u32 = 16;

impl HostState {
    /// Checks the URL against the grants and returns it parsed.
    fn granted_url(&self, url: &str) -> Result<reqwest::Url, PluginError> {
        let parsed =
            reqwest::Url::parse(url).map_err(|e| PluginError::Permanent(format!("url \"{url}\" is not valid: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(PluginError::Permanent(format!("url \"{url}\" is not http or https")));
        }
        let host = parsed.host_str().unwrap_or_default().to_ascii_lowercase();
        let port = parsed.port_or_known_default().unwrap_or(80);
        if self.scope.grants.iter().any(|g| g.allows_http(&host, port)) {
            return Ok(parsed);
        }
        Err(self.scope.denied(&Capability::Http { host, port: Some(port) }))
    }
}

/// Sends a request whose URL was checked, reading at most `limit` bytes of
/// the response. It takes no `&HostState`, so that its future stays `Send`.
async fn send_granted(
    client: reqwest::Client,
    limit: usize,
    url: reqwest::Url,
    request: Request,
) -> Result<Response, PluginError> {
    {
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|_| PluginError::Permanent(format!("\"{}\" is not an HTTP method", request.method)))?;
        let mut builder = client.request(method, url.clone());
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let mut response = builder
            .body(request.body)
            .send()
            .await
            .map_err(|e| PluginError::Transient(format!("request to {url} failed: {e}")))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(n, v)| v.to_str().ok().map(|v| (n.as_str().to_owned(), v.to_owned())))
            .collect();
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| PluginError::Transient(format!("reading the response from {url} failed: {e}")))?
        {
            if body.len() + chunk.len() > limit {
                return Err(PluginError::Permanent(format!("response from {url} is over the limit of {limit} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response { status, headers, body })
    }
}

impl Host for HostState {
    async fn send(&mut self, request: Request) -> Result<Response, PluginError> {
        let url = self.granted_url(&request.url)?;
        if self.http_calls >= MAX_REQUESTS_PER_CALL {
            return Err(PluginError::RateLimited(format!("at most {MAX_REQUESTS_PER_CALL} requests per call")));
        }
        self.http_calls += 1;
        // Whatever the plugin wrote before this request must be on disk
        // before the request tells anyone about it.
        self.settle().await?;
        self.clock.host_begin();
        let (client, limit) = (self.services.http.clone(), self.services.max_http_body);
        let result = send_granted(client, limit, url, request).await;
        self.clock.host_end();
        if let Err(e) = &result {
            tracing::info!(plugin = %self.scope.plugin, team = %self.scope.team, error = ?e, "outbound request failed");
        }
        result
    }
}
