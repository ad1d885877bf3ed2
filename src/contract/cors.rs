//! CORS policies: `settings.cors` and a route's `cors:`, checked and compiled once into the
//! header values the CORS layer sends, so a request only compares its `Origin`.

use http::HeaderValue;
use serde::Deserialize;

/// A CORS policy as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsDef {
    /// Origins allowed: exact (`https://app.example.com`), one `*` standing for a host part
    /// (`https://*.example.com`), or `"*"` for any.
    pub origins: Vec<String>,
    /// Methods a preflight allows (default: the route's methods).
    pub methods: Option<Vec<String>>,
    /// Request headers a preflight allows (default: those the preflight asks for).
    pub headers: Option<Vec<String>>,
    /// Response headers scripts may read beyond the CORS-safelisted ones.
    #[serde(default)]
    pub expose_headers: Vec<String>,
    /// Whether cookies and credentials may be sent (`Access-Control-Allow-Credentials`).
    #[serde(default)]
    pub credentials: bool,
    /// How long a browser may keep a preflight's answer, in seconds.
    pub max_age: Option<u32>,
}

/// A route's `cors:`: its own policy, or `off` for none.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RouteCorsDef {
    /// `cors: off`.
    Word(String),
    /// `cors: { origins: [...] }`.
    Policy(CorsDef),
}

/// One allowed origin.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Origin {
    /// Any origin.
    Any,
    /// Exactly this one.
    Exact(String),
    /// A prefix and a suffix around a non-empty host part (no `/`, `:` or `@`).
    Pattern(String, String),
}

/// A compiled policy: what to match and the header values to send.
#[derive(Debug, Clone)]
pub struct Cors {
    origins: Vec<Origin>,
    /// `Access-Control-Allow-Methods`, when given (else the route's methods).
    pub methods: Option<HeaderValue>,
    /// `Access-Control-Allow-Headers`, when given (else the requested ones).
    pub headers: Option<HeaderValue>,
    /// `Access-Control-Expose-Headers`, when any.
    pub expose: Option<HeaderValue>,
    /// Whether `Access-Control-Allow-Credentials: true` is sent.
    pub credentials: bool,
    /// `Access-Control-Max-Age`, when given.
    pub max_age: Option<HeaderValue>,
}

impl Cors {
    /// Whether `origin` (the request's `Origin`) may read responses.
    pub fn allows(&self, origin: &[u8]) -> bool {
        let Ok(origin) = std::str::from_utf8(origin) else {
            return false;
        };
        self.origins.iter().any(|rule| match rule {
            Origin::Any => true,
            Origin::Exact(exact) => exact.eq_ignore_ascii_case(origin),
            Origin::Pattern(prefix, suffix) => matches_pattern(origin, prefix, suffix),
        })
    }

    /// Whether every origin is allowed without credentials: `*` is sent, and the answer
    /// does not vary by origin.
    pub fn is_public(&self) -> bool {
        !self.credentials && self.origins.contains(&Origin::Any)
    }
}

fn matches_pattern(origin: &str, prefix: &str, suffix: &str) -> bool {
    let lower = origin.to_ascii_lowercase();
    lower.len() > prefix.len() + suffix.len()
        && lower.starts_with(prefix)
        && lower.ends_with(suffix)
        && !lower[prefix.len()..lower.len() - suffix.len()].contains(['/', ':', '@'])
}

/// Compiles a policy; each error says what is wrong.
pub fn compile(def: &CorsDef) -> Result<Cors, Vec<String>> {
    let mut problems = Vec::new();
    if def.origins.is_empty() {
        problems.push("origins must name at least one origin (or \"*\")".to_owned());
    }
    let origins: Vec<Origin> = def
        .origins
        .iter()
        .filter_map(|o| origin(o).map_err(|p| problems.push(p)).ok())
        .collect();
    if def.credentials && origins.contains(&Origin::Any) {
        problems.push("credentials: true cannot go with the origin \"*\": name the origins".into());
    }
    let mut list = |what: &str, items: &[String]| -> Option<HeaderValue> {
        let joined = items.join(", ");
        let tokens = items
            .iter()
            .all(|i| !i.is_empty() && i.bytes().all(is_token));
        match HeaderValue::from_str(&joined) {
            Ok(value) if tokens => Some(value),
            _ => {
                problems.push(format!("{what} must be header or method names"));
                None
            }
        }
    };
    let methods = def.methods.as_deref().and_then(|m| list("methods", m));
    let headers = def.headers.as_deref().and_then(|h| list("headers", h));
    let expose = match def.expose_headers.as_slice() {
        [] => None,
        names => list("expose_headers", names),
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Cors {
        origins,
        methods,
        headers,
        expose,
        credentials: def.credentials,
        max_age: def.max_age.map(HeaderValue::from),
    })
}

/// `*` is allowed in header lists too (any header, without credentials).
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn origin(text: &str) -> Result<Origin, String> {
    if text == "*" {
        return Ok(Origin::Any);
    }
    let lower = text.to_ascii_lowercase();
    let Some(rest) = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
    else {
        return Err(format!(
            "origin {text:?} must start with http:// or https:// (or be \"*\")"
        ));
    };
    if rest.is_empty() || rest.contains('/') {
        return Err(format!(
            "origin {text:?} must be a scheme and a host, with no path"
        ));
    }
    match lower.split_once('*') {
        None => Ok(Origin::Exact(lower)),
        Some((prefix, suffix)) if !suffix.contains('*') => {
            Ok(Origin::Pattern(prefix.to_owned(), suffix.to_owned()))
        }
        Some(_) => Err(format!("origin {text:?} may hold one `*` at most")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(origins: &[&str]) -> Cors {
        compile(&CorsDef {
            origins: origins.iter().map(|o| o.to_string()).collect(),
            methods: None,
            headers: None,
            expose_headers: Vec::new(),
            credentials: false,
            max_age: None,
        })
        .unwrap()
    }

    #[test]
    fn origins_match_exactly_or_by_pattern() {
        let cors = policy(&["https://app.example.com", "https://*.example.org"]);
        assert!(cors.allows(b"https://app.example.com"));
        assert!(cors.allows(b"HTTPS://APP.example.com"));
        assert!(!cors.allows(b"http://app.example.com"));
        assert!(!cors.allows(b"https://app.example.com.evil.test"));
        assert!(cors.allows(b"https://a.b.example.org"));
        assert!(!cors.allows(b"https://.example.org"));
        assert!(!cors.allows(b"https://evil.test/.example.org"));
        assert!(!cors.allows(b"https://example.org"));
        assert!(!cors.is_public());
        assert!(policy(&["*"]).is_public());
    }

    #[test]
    fn bad_policies_are_refused() {
        let def = |origins: &[&str], credentials| CorsDef {
            origins: origins.iter().map(|o| o.to_string()).collect(),
            methods: Some(vec!["GET".into(), "bad method".into()]),
            headers: None,
            expose_headers: Vec::new(),
            credentials,
            max_age: None,
        };
        let problems = compile(&def(&["*", "ftp://x", "https://a/b"], true)).unwrap_err();
        assert_eq!(problems.len(), 4, "{problems:?}");
    }
}
