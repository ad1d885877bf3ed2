//! Mirror rules: which methods of which routes are mirrored, to what, and which parts of
//! the answers are noise. Compiled from `mirror:` on a route or a method, so the request
//! path and the comparison never parse a JSON path.

use std::collections::HashMap;
use std::sync::Arc;

use http::Method;

use super::Via;
use super::format::{MirrorDef, RouteDef};

/// A mirrored method: its route (an index into [`super::Spec::routes`]), the method and the
/// rule.
#[derive(Debug, Clone)]
pub struct Mirrored {
    /// The route's index.
    pub route: usize,
    /// The method (HEAD and OPTIONS are never mirrored).
    pub method: Method,
    /// What to do with it.
    pub rule: Mirror,
}

/// Where a method's traffic is mirrored and what the comparison ignores.
#[derive(Debug, Clone)]
pub struct Mirror {
    /// The mirror target (never the method's primary).
    pub to: Via,
    /// Its name as written (`native` or the upstream's), for logs and metrics labels.
    pub to_name: Arc<str>,
    /// The primary's name (`native` or the upstream's), for metrics labels.
    pub primary_name: Arc<str>,
    /// Paths removed from both bodies before they are compared.
    pub ignore: Vec<JsonPath>,
    /// Whether all-digit path segments of URLs are compared as a placeholder.
    pub ids_in_urls: bool,
}

/// A JSON path of the small grammar `ignore:` takes: `$`, then `.key`, `['key']`, `[n]` or
/// `[*]` / `.*` (every item or member).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath(pub Vec<PathStep>);

/// One step of a [`JsonPath`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathStep {
    /// A member of an object.
    Key(String),
    /// An item of an array.
    Index(usize),
    /// Every item of an array or member of an object.
    Any,
}

impl JsonPath {
    /// Parses `text`; the error says what is wrong.
    pub fn parse(text: &str) -> Result<JsonPath, String> {
        let bad = |why: &str| format!("ignore path {text:?}: {why}");
        let mut rest = text
            .strip_prefix('$')
            .ok_or_else(|| bad("must start with $"))?;
        let mut steps = Vec::new();
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('.') {
                let end = after.find(['.', '[']).unwrap_or(after.len());
                let name = &after[..end];
                if name.is_empty() {
                    return Err(bad("empty member name after ."));
                }
                steps.push(if name == "*" {
                    PathStep::Any
                } else {
                    PathStep::Key(name.to_owned())
                });
                rest = &after[end..];
            } else if let Some(after) = rest.strip_prefix('[') {
                let end = after.find(']').ok_or_else(|| bad("[ without ]"))?;
                let inside = &after[..end];
                let step = if inside == "*" {
                    PathStep::Any
                } else if let Some(quoted) =
                    inside.strip_prefix('\'').and_then(|q| q.strip_suffix('\''))
                {
                    PathStep::Key(quoted.to_owned())
                } else {
                    inside
                        .parse()
                        .map(PathStep::Index)
                        .map_err(|_| bad("[…] takes *, a number or a 'quoted key'"))?
                };
                steps.push(step);
                rest = &after[end + 1..];
            } else {
                return Err(bad("expected . or [ after a step"));
            }
        }
        Ok(JsonPath(steps))
    }
}

/// Compiles one `mirror:`; `primary` is who answers the method, `upstreams` the names in
/// the route table.
pub fn compile(
    def: &MirrorDef,
    primary: Via,
    upstreams: &HashMap<String, usize>,
) -> Result<Mirror, Vec<String>> {
    let mut problems = Vec::new();
    let to = match def.to.as_str() {
        "native" => Some(Via::Native),
        name => match upstreams.get(name) {
            Some(&up) => Some(Via::Upstream(up)),
            None => {
                problems.push(format!(
                    "unknown mirror target {name:?} (`native` or an upstream's name)"
                ));
                None
            }
        },
    };
    let primary_name = name_of(primary, upstreams);
    if to == Some(primary) {
        problems.push(format!(
            "the mirror {:?} is the method's own primary; mirror to the other side",
            def.to
        ));
    }
    let mut ignore = Vec::new();
    for text in &def.ignore {
        match JsonPath::parse(text) {
            Ok(path) => ignore.push(path),
            Err(message) => problems.push(message),
        }
    }
    match to {
        Some(to) if problems.is_empty() => Ok(Mirror {
            to,
            to_name: def.to.as_str().into(),
            primary_name,
            ignore,
            ids_in_urls: def.ids_in_urls,
        }),
        _ => Err(problems),
    }
}

/// How `via` is written in the route table: `native`, or the upstream's name.
fn name_of(via: Via, upstreams: &HashMap<String, usize>) -> Arc<str> {
    match via {
        Via::Native => "native".into(),
        Via::Upstream(at) => upstreams
            .iter()
            .find(|&(_, &i)| i == at)
            .map_or_else(|| "upstream".into(), |(name, _)| name.as_str().into()),
    }
}

/// The `mirror:` that applies to `method` of `route`: the method's own, else the route's.
pub fn declared<'a>(route: &'a RouteDef, method: &str) -> Option<&'a MirrorDef> {
    route
        .methods
        .get(method)
        .and_then(|m| m.mirror())
        .or(route.mirror.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_into_steps() {
        let path = JsonPath::parse("$.results[*].created_at").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            path.0,
            vec![
                PathStep::Key("results".into()),
                PathStep::Any,
                PathStep::Key("created_at".into())
            ]
        );
        let path = JsonPath::parse("$['a b'][2].*").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            path.0,
            vec![
                PathStep::Key("a b".into()),
                PathStep::Index(2),
                PathStep::Any
            ]
        );
        assert_eq!(JsonPath::parse("$").map(|p| p.0.len()), Ok(0));
    }

    #[test]
    fn bad_paths_say_why() {
        for bad in ["id", "$.", "$[x]", "$[1", "$..a", "$a"] {
            assert!(JsonPath::parse(bad).is_err(), "{bad}");
        }
    }
}
