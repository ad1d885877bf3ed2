//! Route matching: a request path to a route and its key, a trailing-slash redirect, or
//! nothing. Paths are compared segment by segment after percent-decoding.

use percent_encoding::percent_decode_str;

use crate::spec::{Route, Segment};

/// What a path resolves to.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolution {
    /// The route at this index, with the key segment's text when the route has one.
    Matched {
        /// Index into the spec's routes.
        route: usize,
        /// The decoded `{key}` segment.
        key: Option<String>,
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
        let mut slashed = segments;
        slashed.push(String::new());
        if find(routes, &slashed).is_some() {
            return Resolution::AddSlash;
        }
    }
    Resolution::NotFound
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
        for (template, actual) in route.segments.iter().zip(segments) {
            match template {
                Segment::Literal(text) if text == actual => {}
                Segment::Literal(_) => return None,
                // A key never contains '/' or '.', nor is it empty (DRF's `[^/.]+`).
                Segment::Key if actual.is_empty() || actual.contains('.') => return None,
                Segment::Key => key = Some(actual.clone()),
            }
        }
        Some(Resolution::Matched { route: i, key })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(template: &[Segment]) -> Route {
        Route {
            template: String::new(),
            key_param: None,
            segments: template.to_vec(),
            resource: 0,
            name: String::new(),
            description: String::new(),
            methods: Vec::new(),
            allow: String::new(),
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
        assert_eq!(
            resolve(&routes(), "/api/things/"),
            Resolution::Matched {
                route: 0,
                key: None
            }
        );
        assert_eq!(
            resolve(&routes(), "/api/things/%37/"),
            Resolution::Matched {
                route: 1,
                key: Some("7".into())
            }
        );
    }

    #[test]
    fn missing_slash_redirects_and_unknown_is_not_found() {
        assert_eq!(resolve(&routes(), "/api/things"), Resolution::AddSlash);
        assert_eq!(resolve(&routes(), "/api/things/5"), Resolution::AddSlash);
        assert_eq!(resolve(&routes(), "/api/other/"), Resolution::NotFound);
        assert_eq!(resolve(&routes(), "/api/things/5.0/"), Resolution::NotFound);
        assert_eq!(resolve(&routes(), "/api/things//"), Resolution::NotFound);
        assert_eq!(resolve(&routes(), "/api/things/%ff/"), Resolution::NotFound);
        assert_eq!(resolve(&routes(), "api/things/"), Resolution::NotFound);
    }
}
