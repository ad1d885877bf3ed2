//! A JWKS fetched from a URL: cached for its time to live, fetched again at once when a
//! token names a `kid` the cache lacks (a key rotation), but never more often than
//! [`MIN_REFETCH`], so a stream of tokens with made-up `kid`s cannot turn the gateway into a
//! flood against the key server. `https://` URLs are fetched over TLS with the roots the
//! contract names (the system's by default).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use jsonwebtoken::jwk::JwkSet;
use tokio::sync::Mutex;

/// The shortest time between two fetches.
pub const MIN_REFETCH: Duration = Duration::from_secs(5);
/// How long one fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest JWKS document read.
const MAX_BYTES: usize = 1024 * 1024;

/// The keys of one JWKS URL.
pub struct Remote {
    url: http::Uri,
    ttl: Duration,
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
    cache: Mutex<State>,
}

/// What was fetched, and when a fetch was last tried.
#[derive(Default)]
struct State {
    /// The keys, with when they were fetched.
    keys: Option<(Arc<JwkSet>, Instant)>,
    /// The last fetch, whether or not it worked.
    tried: Option<Instant>,
    /// Why the last fetch failed, while no keys were ever fetched.
    failure: Option<String>,
}

impl Remote {
    /// Keys from `url`, kept for `ttl`; an https URL's certificate must chain to `tls`'s
    /// roots.
    pub fn new(url: &str, ttl: Duration, tls: rustls::ClientConfig) -> Result<Remote, String> {
        let uri: http::Uri = url.parse().map_err(|e| format!("jwks_url {url:?}: {e}"))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) {
            return Err(format!(
                "jwks_url {url:?} must start with http:// or https://"
            ));
        }
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(FETCH_TIMEOUT));
        http.enforce_http(false);
        let connector = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Ok(Remote {
            url: uri,
            ttl,
            client: Client::builder(TokioExecutor::new()).build(connector),
            cache: Mutex::new(State::default()),
        })
    }

    /// The keys to try for a token with `kid`: the cached set while it is fresh and has the
    /// `kid` (or the token names none); otherwise a new fetch, if the last one is at least
    /// [`MIN_REFETCH`] old. A failed fetch keeps the cached keys.
    pub async fn keys(&self, kid: Option<&str>) -> Result<Arc<JwkSet>, String> {
        let mut state = self.cache.lock().await;
        let recent = state.tried.is_some_and(|t| t.elapsed() < MIN_REFETCH);
        match &state.keys {
            Some((keys, fetched)) => {
                let fresh = fetched.elapsed() < self.ttl;
                let has_kid = kid.is_none_or(|k| keys.find(k).is_some());
                if (fresh && has_kid) || recent {
                    return Ok(keys.clone());
                }
            }
            None if recent => {
                let why = state.failure.clone().unwrap_or_default();
                return Err(why);
            }
            None => {}
        }
        state.tried = Some(Instant::now());
        match self.fetch().await {
            Ok(keys) => {
                let keys = Arc::new(keys);
                state.keys = Some((keys.clone(), Instant::now()));
                state.failure = None;
                Ok(keys)
            }
            Err(e) => {
                tracing::warn!(url = %self.url, "cannot fetch the JWKS: {e}");
                match &state.keys {
                    Some((keys, _)) => Ok(keys.clone()),
                    None => {
                        state.failure = Some(e.clone());
                        Err(e)
                    }
                }
            }
        }
    }

    async fn fetch(&self) -> Result<JwkSet, String> {
        let request = http::Request::get(self.url.clone())
            .header(http::header::ACCEPT, "application/json")
            .body(Empty::new())
            .map_err(|e| e.to_string())?;
        let response = tokio::time::timeout(FETCH_TIMEOUT, self.client.request(request))
            .await
            .map_err(|_| format!("no answer within {} s", FETCH_TIMEOUT.as_secs()))?
            .map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("answered {}", response.status()));
        }
        let body = Limited::new(response.into_body(), MAX_BYTES)
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        serde_json::from_slice(&body).map_err(|e| format!("not a JWKS: {e}"))
    }
}
