//! Who may call: the compiled `security:` block of `routes.yaml` (named schemes, what each
//! route requires, the identity headers sent upstream) and the check of one request's
//! credentials against it. The auth layer (`http/layers/auth.rs`) runs the check; this
//! module knows nothing of the stack.

pub mod caller;
pub mod jwks;
pub mod jwt;
pub mod keys;

use http::header::{AUTHORIZATION, HeaderMap, HeaderName};
use http::{Method, Uri};

pub use caller::Caller;

/// How one scheme finds and checks credentials.
pub enum SchemeKind {
    /// `Authorization: Bearer <JWT>`.
    Jwt(Box<jwt::JwtScheme>),
    /// A key in a header or a query parameter, looked up in a key file.
    ApiKey {
        /// Where the key is sent.
        location: KeyLocation,
        /// The stored key hashes.
        keys: keys::KeyFile,
    },
}

/// Where an API key is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyLocation {
    /// In this header.
    Header(HeaderName),
    /// In this query parameter.
    Query(String),
}

/// A scheme with its name in `routes.yaml`.
pub struct Scheme {
    /// The name, for `security:` requirements, logs and metrics.
    pub name: String,
    /// How it works.
    pub kind: SchemeKind,
}

/// What a route requires of a caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// Anyone may call.
    Public,
    /// Credentials of one of these schemes (indexes into [`Security::schemes`]), and for a
    /// method listed in `scopes`, every scope listed for it.
    Authenticated {
        /// The schemes accepted, in order.
        schemes: Vec<usize>,
        /// Scopes each method needs (HEAD uses GET's).
        scopes: Vec<(Method, Vec<String>)>,
    },
}

impl Requirement {
    /// The scopes `method` needs.
    pub fn scopes(&self, method: &Method) -> &[String] {
        let method = if method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        match self {
            Requirement::Public => &[],
            Requirement::Authenticated { scopes, .. } => scopes
                .iter()
                .find(|(m, _)| m == method)
                .map(|(_, s)| s.as_slice())
                .unwrap_or(&[]),
        }
    }
}

/// The headers that carry the caller's identity upstream; a client's own copies are
/// always removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Forward {
    /// The scheme's name.
    pub scheme: Option<HeaderName>,
    /// The token's subject.
    pub subject: Option<HeaderName>,
    /// The scopes, space-separated.
    pub scopes: Option<HeaderName>,
    /// The API key's name.
    pub key_name: Option<HeaderName>,
}

impl Forward {
    /// The configured headers.
    pub fn names(&self) -> impl Iterator<Item = &HeaderName> {
        [&self.scheme, &self.subject, &self.scopes, &self.key_name]
            .into_iter()
            .flatten()
    }
}

/// The compiled `security:` block.
pub struct Security {
    /// The schemes, by index.
    pub schemes: Vec<Scheme>,
    /// What each route (by index in the spec's routes) requires.
    pub routes: Vec<Requirement>,
    /// The identity headers for upstreams.
    pub forward: Forward,
}

impl std::fmt::Debug for Security {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.schemes.iter().map(|s| s.name.as_str()).collect();
        f.debug_struct("Security")
            .field("schemes", &names)
            .field("routes", &self.routes)
            .field("forward", &self.forward)
            .finish()
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// No credentials of any accepted scheme (401).
    Missing {
        /// The challenge for `WWW-Authenticate`.
        challenge: String,
    },
    /// Credentials that did not check out (401).
    Invalid {
        /// The scheme that refused them.
        scheme: String,
        /// The challenge for `WWW-Authenticate` (with the reason for a bearer token).
        challenge: String,
        /// Why, for the log.
        why: String,
    },
    /// Valid credentials without a scope the method needs (403).
    Forbidden {
        /// The caller.
        caller: Box<Caller>,
        /// The challenge for `WWW-Authenticate`, when a bearer token was used.
        challenge: String,
    },
}

/// Where a request's credentials are: its headers and its target.
pub struct Presented<'a> {
    /// The request's headers.
    pub headers: &'a HeaderMap,
    /// The request's target (for keys in the query).
    pub uri: &'a Uri,
}

impl Security {
    /// The caller of `presented` on route `route` with `method`: `None` on a public route,
    /// the authenticated caller, or why the request is refused.
    pub async fn check(
        &self,
        route: usize,
        method: &Method,
        presented: &Presented<'_>,
    ) -> Result<Option<Caller>, Denied> {
        let requirement = self.routes.get(route).unwrap_or(&Requirement::Public);
        let Requirement::Authenticated { schemes, .. } = requirement else {
            return Ok(None);
        };
        let mut refused = None;
        for &index in schemes {
            let Some(scheme) = self.schemes.get(index) else {
                continue;
            };
            match scheme.authenticate(presented).await {
                Attempt::Absent => {}
                Attempt::Accepted(caller) => {
                    return self.authorize(scheme, caller, requirement.scopes(method));
                }
                Attempt::Refused(why) => {
                    refused.get_or_insert((scheme, why));
                }
            }
        }
        let first = schemes.first().and_then(|&i| self.schemes.get(i));
        match refused {
            Some((scheme, why)) => Err(Denied::Invalid {
                scheme: scheme.name.clone(),
                challenge: scheme.challenge(Some(("invalid_token", &why))),
                why,
            }),
            None => Err(Denied::Missing {
                challenge: first.map(|s| s.challenge(None)).unwrap_or_default(),
            }),
        }
    }

    fn authorize(
        &self,
        scheme: &Scheme,
        caller: Caller,
        needed: &[String],
    ) -> Result<Option<Caller>, Denied> {
        let missing: Vec<&str> = needed
            .iter()
            .filter(|s| !caller.scopes.contains(s))
            .map(String::as_str)
            .collect();
        if missing.is_empty() {
            return Ok(Some(caller));
        }
        let challenge = match scheme.kind {
            SchemeKind::Jwt(_) => format!(
                "Bearer realm=\"api\", error=\"insufficient_scope\", scope=\"{}\"",
                needed.join(" ")
            ),
            SchemeKind::ApiKey { .. } => String::new(),
        };
        Err(Denied::Forbidden {
            caller: Box::new(caller),
            challenge,
        })
    }
}

/// What one scheme made of a request.
enum Attempt {
    /// It carries no credentials of this scheme.
    Absent,
    /// They check out.
    Accepted(Caller),
    /// They do not, and why.
    Refused(String),
}

impl Scheme {
    async fn authenticate(&self, presented: &Presented<'_>) -> Attempt {
        match &self.kind {
            SchemeKind::Jwt(jwt) => {
                let Some(token) = bearer(presented.headers) else {
                    return Attempt::Absent;
                };
                match jwt.verify(token).await {
                    Ok(verified) => Attempt::Accepted(Caller {
                        scheme: self.name.clone(),
                        subject: verified.subject,
                        key_name: None,
                        scopes: verified.scopes,
                        claims: verified.claims,
                    }),
                    Err(e) => Attempt::Refused(e.to_string()),
                }
            }
            SchemeKind::ApiKey { location, keys } => {
                let Some(key) = api_key(location, presented) else {
                    return Attempt::Absent;
                };
                match keys.find(&key) {
                    Some(stored) => Attempt::Accepted(Caller {
                        scheme: self.name.clone(),
                        subject: None,
                        key_name: Some(stored.name.clone()),
                        scopes: stored.scopes.clone(),
                        claims: Vec::new(),
                    }),
                    None => Attempt::Refused("unknown API key".into()),
                }
            }
        }
    }

    /// The `WWW-Authenticate` value for this scheme, with an RFC 6750 error for a bearer
    /// token.
    fn challenge(&self, error: Option<(&str, &str)>) -> String {
        match (&self.kind, error) {
            (SchemeKind::Jwt(_), None) => "Bearer realm=\"api\"".to_owned(),
            (SchemeKind::Jwt(_), Some((code, why))) => format!(
                "Bearer realm=\"api\", error=\"{code}\", error_description=\"{}\"",
                why.replace(['"', '\\'], "'")
            ),
            (SchemeKind::ApiKey { location, .. }, _) => match location {
                KeyLocation::Header(name) => format!("ApiKey realm=\"api\", header=\"{name}\""),
                KeyLocation::Query(name) => format!("ApiKey realm=\"api\", query=\"{name}\""),
            },
        }
    }
}

/// The token of `Authorization: Bearer <token>` (the scheme's name in any case).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The API key sent at `location`.
fn api_key(location: &KeyLocation, presented: &Presented<'_>) -> Option<String> {
    match location {
        KeyLocation::Header(name) => presented
            .headers
            .get(name)?
            .to_str()
            .ok()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty()),
        KeyLocation::Query(name) => query_value(presented.uri.query()?, name),
    }
}

/// The last value of parameter `name` in a query string, percent-decoded (`+` is a space, as
/// in a form); `None` when absent, empty or not UTF-8.
fn query_value(query: &str, name: &str) -> Option<String> {
    let decode = |text: &str| {
        let text = text.replace('+', " ");
        percent_encoding::percent_decode_str(&text)
            .decode_utf8()
            .ok()
            .map(|t| t.into_owned())
    };
    query
        .split('&')
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(key)? == name).then(|| decode(value)).flatten()
        })
        .next_back()
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::query_value;

    #[test]
    fn a_key_in_the_query_is_decoded_and_the_last_one_counts() {
        assert_eq!(
            query_value("a=1&api_key=k%2By+z", "api_key").as_deref(),
            Some("k+y z")
        );
        assert_eq!(
            query_value("api_key=one&api_key=two", "api_key").as_deref(),
            Some("two")
        );
        assert_eq!(query_value("api_key=&x=1", "api_key"), None);
        assert_eq!(query_value("x=1", "api_key"), None);
    }
}
