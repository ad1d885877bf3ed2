//! Which rate limit and which CORS policy each route has: the route's own (`rate_limit:`,
//! `cors:`), else the settings' (`settings.rate_limit`, `settings.cors`), resolved once per
//! contract so the layers look a route's policy up by index.

use std::collections::{BTreeMap, HashMap};

use super::Report;
use super::cors::{self, Cors, RouteCorsDef};
use super::format::RouteTable;
use super::limits::{self, Cidr, Limit};
use super::locate::Step;

const SETTINGS: Step<'static> = Step::Key("settings");

/// The rate limits and CORS policies of a contract, by route.
#[derive(Debug, Default)]
pub struct Policies {
    /// The named limits, in name order; the runtime keeps one limiter per entry.
    pub limits: Vec<Limit>,
    /// The proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<Cidr>,
    cors: Vec<Cors>,
    /// By route index; routes past its end (imported ones) have `fallback`.
    routes: Vec<RoutePolicy>,
    /// The settings' choices: for imported routes and for requests matching no route.
    fallback: RoutePolicy,
}

/// One route's choices, as indexes into [`Policies`].
#[derive(Debug, Default, Clone, Copy)]
struct RoutePolicy {
    limit: Option<usize>,
    cors: Option<usize>,
}

impl Policies {
    /// Whether any limit or CORS policy is declared (else no request needs its route for
    /// them).
    pub fn any(&self) -> bool {
        !self.limits.is_empty() || !self.cors.is_empty()
    }

    fn of(&self, route: Option<usize>) -> RoutePolicy {
        route
            .and_then(|r| self.routes.get(r).copied())
            .unwrap_or(self.fallback)
    }

    /// The index (in [`Policies::limits`]) of the limit on `route` (none: no route matched).
    pub fn limit(&self, route: Option<usize>) -> Option<usize> {
        if self.limits.is_empty() {
            return None;
        }
        self.of(route).limit
    }

    /// The CORS policy of `route` (none: no route matched).
    pub fn cors(&self, route: Option<usize>) -> Option<&Cors> {
        if self.cors.is_empty() {
            return None;
        }
        self.of(route).cors.map(|i| &self.cors[i])
    }
}

/// Compiles the limits, the CORS policies and each route's choice, reporting problems at
/// their keys.
pub(super) fn compile(table: &RouteTable, report: &mut Report<'_>) -> Policies {
    let mut policies = Policies::default();
    let index = compile_limits(&table.rate_limits, report, &mut policies.limits);
    for (i, text) in table.settings.trusted_proxies.iter().enumerate() {
        match Cidr::parse(text) {
            Ok(cidr) => policies.trusted_proxies.push(cidr),
            Err(message) => report.at(
                &[SETTINGS, Step::Key("trusted_proxies"), Step::Item(i)],
                message,
            ),
        }
    }
    let named = |name: &Option<String>, report: &mut Report<'_>, at: &[Step<'_>]| match name {
        None => None,
        Some(word) if word == "off" => None,
        Some(name) => {
            let found = index.get(name.as_str()).copied();
            if found.is_none() {
                report.at(
                    at,
                    format!("unknown rate limit {name:?} (not under rate_limits:)"),
                );
            }
            found
        }
    };
    policies.fallback.limit = named(
        &table.settings.rate_limit,
        report,
        &[SETTINGS, Step::Key("rate_limit")],
    );
    if let Some(def) = &table.settings.cors {
        policies.fallback.cors = add_cors(
            def,
            &mut policies.cors,
            report,
            &[SETTINGS, Step::Key("cors")],
        );
    }
    for (i, route) in table.routes.iter().enumerate() {
        let at = |key| [Step::Key("routes"), Step::Item(i), Step::Key(key)];
        let limit = match &route.rate_limit {
            None => policies.fallback.limit,
            own => named(own, report, &at("rate_limit")),
        };
        let cors = match &route.cors {
            None => policies.fallback.cors,
            Some(RouteCorsDef::Word(word)) if word == "off" => None,
            Some(RouteCorsDef::Word(word)) => {
                report.at(
                    &at("cors"),
                    format!("cors must be a policy or off, not {word:?}"),
                );
                None
            }
            Some(RouteCorsDef::Policy(def)) => {
                add_cors(def, &mut policies.cors, report, &at("cors"))
            }
        };
        policies.routes.push(RoutePolicy { limit, cors });
    }
    policies
}

fn compile_limits<'a>(
    defs: &'a BTreeMap<String, limits::LimitDef>,
    report: &mut Report<'_>,
    out: &mut Vec<Limit>,
) -> HashMap<&'a str, usize> {
    let mut index = HashMap::new();
    for (name, def) in defs {
        match limits::compile(name, def) {
            Ok(limit) => {
                index.insert(name.as_str(), out.len());
                out.push(limit);
            }
            Err(message) => report.at(&[Step::Key("rate_limits"), Step::Key(name)], message),
        }
    }
    index
}

fn add_cors(
    def: &cors::CorsDef,
    out: &mut Vec<Cors>,
    report: &mut Report<'_>,
    at: &[Step<'_>],
) -> Option<usize> {
    match cors::compile(def) {
        Ok(policy) => {
            out.push(policy);
            Some(out.len() - 1)
        }
        Err(problems) => {
            for problem in problems {
                report.at(at, problem);
            }
            None
        }
    }
}
