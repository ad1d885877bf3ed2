//! Route matching: a request path to a route and its key, a trailing-slash redirect, or
//! nothing. Paths are compared segment by segment after percent-decoding.

use percent_encoding::percent_decode_str;

use crate::contract::{Route, Segment};

/// What a path resolves to.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolution {
    /// The route at this index, with the key segment's text when the route has one.
    Matched {
        /// Index into the spec's routes.
        route: usize,
        /// The decoded `{key}` segment.
        key: Option<String>,
        /// The decoded `{param}` segments of an imported route, in path order.
        params: Vec<String>,
        /// A format suffix (`/things.json`, `/things/7.json`), as DRF's routers accept.
        format: Option<String>,
    },
    /// No route, but the path with a trailing slash has one.
    AddSlash,
    /// Nothing serves this path.
    NotFound,
}

/// Resolves `path` (as sent, still percent-encoded, without the query).
pub fn resolve(routes: &[Route], path: &str) -> Resolution {
    let Some(rest) = path.strip_prefix('/') else {
        return Resolution::NotFound;
    };
    let Some(segments) = decode(rest) else {
        return Resolution::NotFound;
    };
    if let Some(found) = find(routes, &segments) {
        return found;
    }
    if !path.ends_with('/') {
        let mut slashed = segments.clone();
        slashed.push(String::new());
        if find(routes, &slashed).is_some() {
            return Resolution::AddSlash;
        }
    }
    with_format_suffix(routes, segments).unwrap_or(Resolution::NotFound)
}

/// `…/name.fmt` or `…/name.fmt/`: the route of `…/name/` with format `fmt` (letters and
/// digits), as DRF's `format_suffix_patterns`.
fn with_format_suffix(routes: &[Route], mut segments: Vec<String>) -> Option<Resolution> {
    if segments.last().is_some_and(String::is_empty) {
        segments.pop();
    }
    let last = segments.pop()?;
    let (name, format) = last.rsplit_once('.')?;
    let plain = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    if name.is_empty() || format.is_empty() || !format.chars().all(plain) {
        return None;
    }
    segments.push(name.to_owned());
    segments.push(String::new());
    match find(routes, &segments)? {
        Resolution::Matched {
            route, key, params, ..
        } => Some(Resolution::Matched {
            route,
            key,
            params,
            format: Some(format.to_owned()),
        }),
        other => Some(other),
    }
}

fn decode(rest: &str) -> Option<Vec<String>> {
    rest.split('/')
        .map(|s| {
            percent_decode_str(s)
                .decode_utf8()
                .ok()
                .map(|c| c.into_owned())
        })
        .collect()
}

fn find(routes: &[Route], segments: &[String]) -> Option<Resolution> {
    routes.iter().enumerate().find_map(|(i, route)| {
        if route.segments.len() != segments.len() {
            return None;
        }
        let mut key = None;
        let mut params = Vec::new();
        for (template, actual) in route.segments.iter().zip(segments) {
            match template {
                Segment::Literal(text) if text == actual => {}
                Segment::Literal(_) => return None,
                // A key never contains '/' or '.', nor is it empty (DRF's `[^/.]+`).
                Segment::Key if actual.is_empty() || actual.contains('.') => return None,
                Segment::Key => key = Some(actual.clone()),
                Segment::Param(_) if actual.is_empty() => return None,
                Segment::Param(_) => params.push(actual.clone()),
            }
        }
        Some(Resolution::Matched {
            route: i,
            key,
            params,
            format: None,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(template: &[Segment]) -> Route {
        Route {
            template: "".into(),
            key_param: None,
            segments: template.to_vec(),
            target: crate::contract::Target::Table(0),
            name: String::new(),
            description: String::new(),
            methods: Vec::new(),
            allow: http::HeaderValue::from_static(""),
            validate: Default::default(),
            host: Default::default(),
        }
    }

    fn routes() -> Vec<Route> {
        let lit = |s: &str| Segment::Literal(s.to_owned());
        vec![
            route(&[lit("api"), lit("things"), lit("")]),
            route(&[lit("api"), lit("things"), Segment::Key, lit("")]),
        ]
    }

    #[test]
    fn matches_literal_and_key_routes() {
        let matched = |route, key: Option<&str>, format: Option<&str>| Resolution::Matched {
            route,
            key: key.map(str::to_owned),
            params: Vec::new(),
            format: format.map(str::to_owned),
        };
        assert_eq!(resolve(&routes(), "/api/things/"), matched(0, None, None));
        assert_eq!(
            resolve(&routes(), "/api/things/%37/"),
            matched(1, Some("7"), None)
        );
        assert_eq!(
            resolve(&routes(), "/api/things.json"),
            matched(0, None, Some("json"))
        );
        assert_eq!(
            resolve(&routes(), "/api/things/7.json/"),
            matched(1, Some("7"), Some("json"))
        );
        assert_eq!(
            resolve(&routes(), "/api/things/1.5/"),
            matched(1, Some("1"), Some("5"))
        );
        assert_eq!(
            resolve(&routes(), "/api/things/7.JSON/"),
            Resolution::NotFound
        );
    }

    #[test]
    fn missing_slash_redirects_and_unknown_is_not_found() {
        assert_eq!(resolve(&routes(), "/api/things"), Resolution::AddSlash);
        assert_eq!(resolve(&routes(), "/api/things/5"), Resolution::AddSlash);
        assert_eq!(resolve(&routes(), "/api/other/"), Resolution::NotFound);
        assert_eq!(resolve(&routes(), "/api/things//"), Resolution::NotFound);
        assert_eq!(resolve(&routes(), "/api/things/%ff/"), Resolution::NotFound);
        assert_eq!(resolve(&routes(), "api/things/"), Resolution::NotFound);
    }
}
