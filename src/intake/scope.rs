//! The list grammar of the query string: `field__lookup=value` filters, `search` and
//! `ordering`, as django-filter, DRF's `SearchFilter` and `OrderingFilter` read them. The
//! result scopes list and detail routes alike.

use super::query::Query;
use crate::compat::python::{is_python_space, python_int};
use crate::contract::ident::Ident;
use crate::contract::{FilterField, Resource, UnknownQuery};
use crate::error::ApiError;
use crate::plan::{
    Filter, Kind, Lookup, Scope, Search, SqlValue, canonical_uuid, iso_date, utc_timestamp,
};

/// The filters and search the query asks for; a bad filter value is a 400 keyed by the
/// parameter's name.
pub fn scope(resource: &Resource, query: &Query) -> Result<Scope, ApiError> {
    if query.is_empty() {
        return Ok(Scope::default());
    }
    if resource.unknown_query == UnknownQuery::Reject {
        refuse_unknown(resource, query)?;
    }
    let mut filters = Vec::new();
    let mut errors = Vec::new();
    for field in &resource.filters {
        for (lookup, param) in &field.params {
            let Some(raw) = query.last(param) else {
                continue;
            };
            match filter(resource, field, *lookup, raw) {
                Ok(Some(f)) => filters.push(f),
                Ok(None) => {}
                Err(message) => errors.push((param.clone(), vec![message])),
            }
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    Ok(Scope {
        filters,
        search: search(resource, query),
    })
}

/// The parameters every resource's routes read besides its filters: pagination and DRF's
/// `?format=`.
const ALWAYS_READ: [&str; 3] = ["limit", "offset", "format"];

/// Under `unknown_query: reject`, a 400 naming each parameter the resource does not read
/// (an unknown field, lookup or typo) and each `?ordering=` field it does not offer.
fn refuse_unknown(resource: &Resource, query: &Query) -> Result<(), ApiError> {
    let mut errors: Vec<(String, Vec<String>)> = Vec::new();
    for name in query.names() {
        let known = ALWAYS_READ.contains(&name)
            || (name == "search" && !resource.search.is_empty())
            || (name == "ordering" && !resource.ordering.is_empty())
            || resource
                .filters
                .iter()
                .any(|f| f.params.iter().any(|(_, p)| p == name));
        if !known {
            errors.push((name.to_owned(), vec!["Unknown query parameter.".to_owned()]));
        }
    }
    let unknown_fields: Vec<String> = ordering_terms(query)
        .filter(|(name, _)| !resource.ordering.iter().any(|(n, _)| n == name))
        .map(|(name, _)| format!("Unknown ordering field \"{name}\"."))
        .collect();
    if !unknown_fields.is_empty() && !resource.ordering.is_empty() {
        errors.push(("ordering".to_owned(), unknown_fields));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Invalid(errors))
    }
}

/// The terms of `?ordering=a,-b` as (name, descending), empty terms skipped.
fn ordering_terms(query: &Query) -> impl Iterator<Item = (&str, bool)> {
    query
        .last("ordering")
        .unwrap_or_default()
        .split(',')
        .map(|term| term.trim_matches(is_python_space))
        .filter(|term| !term.is_empty())
        .map(|term| term.strip_prefix('-').map_or((term, false), |n| (n, true)))
}

fn message(resource: &Resource, key: &str) -> String {
    resource
        .filter_messages
        .get(key)
        .cloned()
        .unwrap_or_else(|| match key {
            "nul" => "Null characters are not allowed.".to_owned(),
            _ => "Enter a valid value.".to_owned(),
        })
}

/// One filter, or `None` when the value is empty (no filter).
fn filter(
    resource: &Resource,
    field: &FilterField,
    lookup: Lookup,
    raw: &str,
) -> Result<Option<Filter>, String> {
    if raw.contains('\0') {
        return Err(message(resource, "nul"));
    }
    let value = raw.trim_matches(is_python_space);
    if value.is_empty() {
        return Ok(None);
    }
    let invalid = || message(resource, "invalid");
    let value = match lookup {
        Lookup::In => {
            let items: Vec<&str> = value
                .split(',')
                .map(|i| i.trim_matches(is_python_space))
                .filter(|i| !i.is_empty())
                .collect();
            // Only empty items (`,`): a list of nothing, which nothing is in.
            in_list(field.kind, &items).ok_or_else(invalid)?
        }
        Lookup::Contains
        | Lookup::IContains
        | Lookup::StartsWith
        | Lookup::IStartsWith
        | Lookup::EndsWith
        | Lookup::IEndsWith => SqlValue::Text(Some(value.to_owned())),
        _ => single(field.kind, value).ok_or_else(invalid)?,
    };
    Ok(Some(Filter {
        column: field.column.clone(),
        kind: field.kind,
        lookup,
        value,
    }))
}

/// One value compared with a column of `kind`, read as that kind's values are; `None`
/// when it is not one, which every comparison refuses alike.
fn single(kind: Kind, value: &str) -> Option<SqlValue> {
    Some(match kind {
        Kind::Integer => SqlValue::Int(Some(python_int(value)?)),
        Kind::Number => SqlValue::Float(Some(number(value)?)),
        Kind::Boolean => SqlValue::Bool(Some(boolean(value)?)),
        _ => SqlValue::Text(Some(text(kind, value)?)),
    })
}

/// The items of an `__in` list, each read as [`single`] reads a value, as one bound list.
fn in_list(kind: Kind, items: &[&str]) -> Option<SqlValue> {
    Some(match kind {
        Kind::Integer => {
            SqlValue::IntList(items.iter().map(|i| python_int(i)).collect::<Option<_>>()?)
        }
        Kind::Number => {
            SqlValue::FloatList(items.iter().map(|i| number(i)).collect::<Option<_>>()?)
        }
        Kind::Boolean => {
            SqlValue::BoolList(items.iter().map(|i| boolean(i)).collect::<Option<_>>()?)
        }
        _ => SqlValue::TextList(items.iter().map(|i| text(kind, i)).collect::<Option<_>>()?),
    })
}

fn number(value: &str) -> Option<f64> {
    value.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Text compared with a text-like column, in the form the column holds (a date or UUID
/// written one way); `None` for text that is not of the kind, and for JSON.
fn text(kind: Kind, value: &str) -> Option<String> {
    match kind {
        Kind::Timestamp => Some(value.to_owned()).filter(|v| is_timestamp(v)),
        Kind::Date => iso_date(value),
        Kind::Uuid => canonical_uuid(value),
        Kind::Text => Some(value.to_owned()),
        _ => None,
    }
}

fn is_timestamp(value: &str) -> bool {
    utc_timestamp(value).is_some()
}

fn boolean(value: &str) -> Option<bool> {
    match value {
        "true" | "True" | "1" => Some(true),
        "false" | "False" | "0" => Some(false),
        _ => None,
    }
}

/// DRF's `SearchFilter` terms: NULs dropped, commas are spaces, split on whitespace.
fn search(resource: &Resource, query: &Query) -> Option<Search> {
    if resource.search.is_empty() {
        return None;
    }
    let raw = query.last("search")?.replace('\0', "").replace(',', " ");
    let terms: Vec<String> = raw
        .split(is_python_space)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    (!terms.is_empty()).then(|| Search {
        columns: resource.search.clone(),
        terms,
    })
}

/// `?ordering=a,-b` over the allowed fields (unknown names ignored), else the default; the
/// key always comes last to make pages stable.
pub fn ordering(resource: &Resource, query: &Query) -> Vec<(Ident, bool)> {
    let mut order: Vec<(Ident, bool)> = ordering_terms(query)
        .filter_map(|(name, desc)| {
            resource
                .ordering
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, column)| (column.clone(), desc))
        })
        .collect();
    if order.is_empty() {
        order = resource.default_ordering.clone();
    }
    if !order.iter().any(|(c, _)| *c == resource.key) {
        order.push((resource.key.clone(), false));
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_is_also_the_bare_name() {
        use crate::contract::filter_params;
        assert_eq!(
            filter_params("email", Lookup::Exact),
            ["email__exact", "email"]
        );
        assert_eq!(filter_params("email", Lookup::In), ["email__in"]);
    }

    #[test]
    fn timestamps_and_booleans_parse() {
        assert!(is_timestamp("2025-11-06T08:00:00Z"));
        assert!(is_timestamp("2025-11-06"));
        assert!(!is_timestamp("yesterday"));
        assert_eq!(boolean("True"), Some(true));
        assert_eq!(boolean("maybe"), None);
    }
}
