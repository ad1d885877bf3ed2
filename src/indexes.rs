//! `specgate check`'s index report: for every declared filter lookup, search and ordering
//! of every resource, the statement the gateway would send for it (through the list
//! grammar and `sql`, with a representative value) is explained by the database, and each
//! one that reads or sorts the whole table is said with an index that would serve it. A team
//! editing `routes.yaml` so learns before deploying that its new filter scans the table.

use crate::contract::ident::Ident;
use crate::contract::{Resource, Spec};
use crate::db::{Db, DbError};
use crate::intake::query::Query;
use crate::intake::scope;
use crate::plan::{Kind, Lookup};
use crate::sql::{self, Dialect, Statement};

/// What one probe asks about, and what to suggest when the answer is "the whole table".
struct Probe {
    /// `filter username__icontains`, `search`, `ordering date_joined`.
    what: String,
    statement: Statement,
    /// The `CREATE INDEX` statements that would serve it (none known: empty).
    suggestions: Vec<String>,
    /// Whether it is about order (a sort is the problem) rather than which rows.
    ordering: bool,
}

/// Every declared filter, search and ordering of `spec` that the database behind `db`
/// would serve by reading or sorting the whole table, each as a sentence naming an index
/// that would serve it.
pub async fn unserved(db: &Db, spec: &Spec) -> Result<Vec<String>, DbError> {
    let dialect = db.dialect();
    let mut found = Vec::new();
    for resource in &spec.resources {
        let probes = probes(dialect, resource);
        let statements: Vec<Statement> = probes.iter().map(|p| p.statement.clone()).collect();
        let table = resource.table.name().into_owned();
        let readings = db.explain(&table, &statements).await?;
        for (probe, reading) in probes.iter().zip(readings) {
            let how = if probe.ordering {
                reading.sorts.then(|| "sorts the whole table".to_owned())
            } else {
                reading
                    .whole_table
                    .map(|how| format!("reads the whole table ({how})"))
            };
            if let Some(how) = how {
                found.push(sentence(probe, &table, &how, dialect));
            }
        }
    }
    Ok(found)
}

fn sentence(probe: &Probe, table: &str, how: &str, dialect: Dialect) -> String {
    let serve = match probe.suggestions.as_slice() {
        [] => format!("no {} index can serve it", dialect.name()),
        [one] => format!("an index that would serve it: {one}"),
        many => format!("indexes that would serve it: {}", many.join("; ")),
    };
    format!("{} on {table} {how}; {serve}", probe.what)
}

/// The probes of one resource: each filter lookup, the search, each ordering.
fn probes(dialect: Dialect, resource: &Resource) -> Vec<Probe> {
    let mut probes = Vec::new();
    for field in &resource.filters {
        for lookup in &field.lookups {
            let param = format!("{}__{}", field.name, lookup.name());
            let query = format!("{param}={}", sample(field.kind, *lookup));
            if let Some(statement) = count_for(dialect, resource, &query) {
                probes.push(Probe {
                    what: format!("filter {param}"),
                    statement,
                    suggestions: filter_index(dialect, resource, &field.column, *lookup)
                        .into_iter()
                        .collect(),
                    ordering: false,
                });
            }
        }
    }
    if !resource.search.is_empty()
        && let Some(statement) = count_for(dialect, resource, "search=abc")
    {
        probes.push(Probe {
            what: "search".into(),
            statement,
            suggestions: resource
                .search
                .iter()
                .filter_map(|c| filter_index(dialect, resource, c, Lookup::IContains))
                .collect(),
            ordering: false,
        });
    }
    for (name, column) in &resource.ordering {
        let order = scope::ordering(resource, &Query::parse(Some(&format!("ordering={name}"))));
        let page = i64::try_from(resource.page_size).unwrap_or(i64::MAX);
        probes.push(Probe {
            what: format!("ordering {name}"),
            statement: sql::first_page(dialect, resource, &order, page),
            suggestions: vec![create(
                resource,
                column,
                "order",
                &format!("{column}, {}", resource.key),
            )],
            ordering: true,
        });
    }
    probes
}

/// The count statement a list with this query string sends (`None` if the grammar
/// refuses the sample value, which a declared filter's kind always takes).
fn count_for(dialect: Dialect, resource: &Resource, query: &str) -> Option<Statement> {
    let scope = scope::scope(resource, &Query::parse(Some(query))).ok()?;
    Some(sql::count(dialect, resource, &scope))
}

/// A value each kind's filters take, as a query string carries it. A range lookup gets a
/// value near the far end of its kind's values, so that its rows are few whatever the data
/// and an index that can bound it shows in the plan.
fn sample(kind: Kind, lookup: Lookup) -> &'static str {
    let (low, high) = match kind {
        Kind::Integer => ("-9000000000000000000", "9000000000000000000"),
        Kind::Number => ("-1e300", "1e300"),
        Kind::Boolean => ("true", "true"),
        Kind::Timestamp => ("0001-01-01T00:00:00Z", "9999-12-31T00:00:00Z"),
        Kind::Date => ("0001-01-01", "9999-12-31"),
        Kind::Uuid => (
            "00000000-0000-0000-0000-000000000000",
            "ffffffff-ffff-ffff-ffff-ffffffffffff",
        ),
        Kind::Json => ("%7B%7D", "%7B%7D"),
        Kind::Text | Kind::IdList => ("!", "%F4%8F%BF%BF"),
    };
    match lookup {
        Lookup::Gt | Lookup::Gte => high,
        Lookup::Lt | Lookup::Lte => low,
        _ if kind == Kind::Text => "abc",
        _ => low,
    }
}

/// The index that serves `lookup` on `column`, as the statements `sql` writes compare it;
/// `None` where the database has none (a pattern inside the text, on SQLite).
fn filter_index(
    dialect: Dialect,
    resource: &Resource,
    column: &Ident,
    lookup: Lookup,
) -> Option<String> {
    let key = &resource.key;
    let c = column;
    Some(match (dialect, lookup) {
        (_, Lookup::Exact | Lookup::In | Lookup::Gt | Lookup::Gte | Lookup::Lt | Lookup::Lte) => {
            create(resource, column, "idx", &c.to_string())
        }
        (Dialect::Postgres, Lookup::StartsWith) => create(
            resource,
            column,
            "like",
            &format!("{c} text_pattern_ops) INCLUDE ({key}"),
        ),
        (Dialect::Postgres, Lookup::IExact | Lookup::IStartsWith) => create(
            resource,
            column,
            "upper",
            &format!("upper({c}::text) text_pattern_ops) INCLUDE ({c}, {key}"),
        ),
        (
            Dialect::Postgres,
            Lookup::Contains | Lookup::EndsWith | Lookup::IContains | Lookup::IEndsWith,
        ) => create_gin(
            resource,
            column,
            "trgm",
            &format!("upper({c}::text) gin_trgm_ops"),
        ),
        (Dialect::Sqlite, Lookup::StartsWith) => create(resource, column, "idx", &c.to_string()),
        (Dialect::Sqlite, Lookup::IExact | Lookup::IStartsWith) => {
            create(resource, column, "upper", &format!("upper({c})"))
        }
        (Dialect::Sqlite, _) => return None,
    })
}

/// `CREATE INDEX table_column_suffix ON table (what)`.
fn create(resource: &Resource, column: &Ident, suffix: &str, what: &str) -> String {
    let table = &resource.table;
    format!(
        "CREATE INDEX {}_{}_{suffix} ON {table} ({what})",
        table.name(),
        column.name()
    )
}

/// A trigram index (PostgreSQL's `pg_trgm` extension).
fn create_gin(resource: &Resource, column: &Ident, suffix: &str, what: &str) -> String {
    let table = &resource.table;
    format!(
        "CREATE INDEX {}_{}_{suffix} ON {table} USING gin ({what}) (with CREATE EXTENSION pg_trgm)",
        table.name(),
        column.name()
    )
}
