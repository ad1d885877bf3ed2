//! Plans to SQL text plus bound values, for PostgreSQL or SQLite: the dialect layer. Pure
//! and snapshot-testable.
//!
//! Identifiers come only from the compiled spec, already quoted; whatever a client sent
//! travels only as a bound parameter. LIKE and GLOB patterns are escaped before they are
//! bound. Both dialects number their placeholders `$1`, `$2`, ... (SQLite reads `$n` as
//! parameter n), so a value used twice is bound once.
//!
//! Where SQLite differs by nature, the SQLite text still gives PostgreSQL's answer:
//! case-insensitive comparisons go through `specgate_upper()` (Unicode, like PostgreSQL's
//! `upper()`; SQLite's own folds ASCII only), case-sensitive pattern matches use GLOB (SQLite's
//! LIKE ignores ASCII case), NULLs sort last ascending and first descending, lists travel as
//! one JSON array read by `json_each`, and timestamps are stored as fixed-width UTC text.

use crate::contract::ident::Ident;
use crate::contract::{Field, Resource, Source};
use crate::plan::{Assign, Filter, Kind, Lookup, Plan, Scope, SqlValue, utc_timestamp};

/// The SQL a database speaks; chosen once, when the pool is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// PostgreSQL.
    Postgres,
    /// SQLite.
    Sqlite,
}

impl Dialect {
    /// The name used in migration file names and messages.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Postgres => "postgres",
            Dialect::Sqlite => "sqlite",
        }
    }
}

/// SQL text and the values of its `$n` parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// The text, with `$1`, `$2`, ... placeholders.
    pub sql: String,
    /// The values, in placeholder order.
    pub params: Vec<SqlValue>,
    /// Whether the plan must be made for these very values: a LIKE pattern that is a
    /// parameter gets a generic plan that cannot use the prefix and trigram indexes, so such
    /// statements are not kept prepared on PostgreSQL (measured on a million users: an
    /// istartswith page 44 ms with a cached generic plan, 8 ms planned for its value). Every
    /// other statement keeps its prepared plan, which is what makes a retrieve cheap.
    pub plan_per_call: bool,
    dialect: Dialect,
}

impl Statement {
    fn new(dialect: Dialect) -> Statement {
        Statement {
            sql: String::new(),
            params: Vec::new(),
            plan_per_call: false,
            dialect,
        }
    }

    fn bind(&mut self, value: SqlValue) -> String {
        self.params.push(value);
        format!("${}", self.params.len())
    }

    /// Binds a value of a column of `kind`, in the form the database stores it.
    fn bind_typed(&mut self, kind: Kind, value: SqlValue) -> String {
        let value = match (self.dialect, kind, value) {
            (Dialect::Sqlite, Kind::Timestamp, SqlValue::Text(Some(t))) => {
                SqlValue::Text(Some(store_timestamp(&t).unwrap_or(t)))
            }
            (Dialect::Sqlite, Kind::Timestamp, SqlValue::TextList(list)) => SqlValue::TextList(
                list.into_iter()
                    .map(|t| store_timestamp(&t).unwrap_or(t))
                    .collect(),
            ),
            (_, _, value) => value,
        };
        self.bind(value)
    }

    /// `upper(x)` as this database spells the Unicode-aware one.
    fn upper(&self, x: &str) -> String {
        match self.dialect {
            Dialect::Postgres => format!("upper({x})"),
            Dialect::Sqlite => format!("specgate_upper({x})"),
        }
    }

    /// A column read as text.
    fn text(&self, column: &str) -> String {
        match self.dialect {
            Dialect::Postgres => format!("{column}::text"),
            Dialect::Sqlite => column.to_owned(),
        }
    }
}

/// The name of the version column a row-returning statement adds after the fields, when
/// the resource has one.
pub const VERSION_COLUMN: &str = "\"__version\"";

/// The name of the count column a list statement adds before the fields.
pub const COUNT_COLUMN: &str = "__count";

/// Builds the statement for `plan` on `resource`, in `dialect`.
///
/// Row-returning statements select the representation's fields in order (after the count,
/// for a list), each in the type its kind is decoded as, then the version column when the
/// resource has one (an update increments it); a list on SQLite adds its sort keys after
/// them.
pub fn build(dialect: Dialect, resource: &Resource, plan: &Plan) -> Statement {
    let mut st = Statement::new(dialect);
    let table = &resource.table;
    let key = &resource.key;
    let select = select_list(dialect, resource);
    let sqlite = dialect == Dialect::Sqlite;
    st.sql = match plan {
        Plan::Retrieve { key: id, scope } => {
            let id = st.bind(SqlValue::Int(Some(*id)));
            let filter = scope_sql(&mut st, scope);
            format!("SELECT {select} FROM {table} t WHERE t.{key} = {id}{filter}")
        }
        Plan::Lock { key: id, scope } => {
            let id = st.bind(SqlValue::Int(Some(*id)));
            let filter = scope_sql(&mut st, scope);
            // SQLite has no row locks: the write's BEGIN IMMEDIATE already holds every
            // other writer off.
            let lock = if sqlite { "" } else { " FOR UPDATE OF t" };
            format!("SELECT {select} FROM {table} t WHERE t.{key} = {id}{filter}{lock}")
        }
        Plan::Exists { key: id, scope } => {
            let id = st.bind(SqlValue::Int(Some(*id)));
            let filter = scope_sql(&mut st, scope);
            format!("SELECT 1 FROM {table} t WHERE t.{key} = {id}{filter}")
        }
        Plan::Destroy { key: id, scope } => {
            let id = st.bind(SqlValue::Int(Some(*id)));
            let filter = scope_sql(&mut st, scope);
            let alias = if sqlite { "AS t" } else { "t" };
            format!("DELETE FROM {table} {alias} WHERE t.{key} = {id}{filter} RETURNING 1")
        }
        Plan::Create { values, guarded } => create_sql(&mut st, resource, values, guarded),
        Plan::Update {
            key: id,
            scope,
            values,
        } => {
            let id = st.bind(SqlValue::Int(Some(*id)));
            let mut sets: Vec<String> = values
                .iter()
                .map(|a| format!("{} = {}", a.column, placeholder(&mut st, a)))
                .collect();
            if let Some(version) = &resource.version {
                sets.push(format!("{version} = {version} + 1"));
            }
            let filter = scope_sql(&mut st, scope);
            let sets = if sets.is_empty() {
                format!("{key} = t.{key}")
            } else {
                sets.join(", ")
            };
            if sqlite {
                format!(
                    "UPDATE {table} AS t SET {sets} WHERE t.{key} = {id}{filter} RETURNING {}",
                    returning_list(resource)
                )
            } else {
                format!(
                    "WITH u AS (UPDATE {table} t SET {sets} WHERE t.{key} = {id}{filter} RETURNING t.*) SELECT {select} FROM u AS t"
                )
            }
        }
        Plan::Taken { checks, except } => {
            let except = except
                .map(|id| format!(" AND t.{key} <> {}", st.bind(SqlValue::Int(Some(id)))))
                .unwrap_or_default();
            let exists: Vec<String> = checks
                .iter()
                .map(|(column, value)| {
                    let p = st.bind(value.clone());
                    format!("EXISTS (SELECT 1 FROM {table} t WHERE t.{column} = {p}{except})")
                })
                .collect();
            format!("SELECT {}", exists.join(", "))
        }
        Plan::List {
            scope,
            order,
            limit,
            offset,
        } => list_sql(&mut st, resource, scope, order, *limit, *offset),
    };
    st
}

fn create_sql(
    st: &mut Statement,
    resource: &Resource,
    values: &[Assign],
    guarded: &[Ident],
) -> String {
    let table = &resource.table;
    let select = select_list(st.dialect, resource);
    let into = table;
    let insert = if values.is_empty() {
        format!("INSERT INTO {into} DEFAULT VALUES")
    } else {
        let columns: Vec<&str> = values.iter().map(|a| a.column.as_str()).collect();
        let placeholders: Vec<String> = values.iter().map(|a| placeholder(st, a)).collect();
        // A taken unique value inserts nothing: the key's sequence is only drawn for a row
        // that is actually inserted, as when the check ran first.
        let guards: Vec<String> = guarded
            .iter()
            .filter_map(|column| {
                let at = values.iter().position(|a| a.column == *column)?;
                Some(format!(
                    "NOT EXISTS (SELECT 1 FROM {table} g WHERE g.{column} = {})",
                    placeholders[at]
                ))
            })
            .collect();
        let condition = if guards.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", guards.join(" AND "))
        };
        format!(
            "INSERT INTO {into} ({}) SELECT {}{condition}",
            columns.join(", "),
            placeholders.join(", ")
        )
    };
    match st.dialect {
        Dialect::Postgres => format!("WITH t AS ({insert} RETURNING *) SELECT {select} FROM t"),
        Dialect::Sqlite => format!("{insert} RETURNING {}", returning_list(resource)),
    }
}

/// A page and the count of every row in scope, in one statement. The page's keys are
/// picked first (from an index where one fits) and only those rows are read and formatted:
/// skipped rows cost no more than their key. The count comes back even on an empty page,
/// beside NULL fields.
fn list_sql(
    st: &mut Statement,
    resource: &Resource,
    scope: &Scope,
    order: &[(Ident, bool)],
    limit: i64,
    offset: i64,
) -> String {
    let table = &resource.table;
    let key = &resource.key;
    let select = select_list(st.dialect, resource);
    let filter = scope_sql(st, scope);
    let limit = st.bind(SqlValue::Int(Some(limit)));
    let offset = st.bind(SqlValue::Int(Some(offset)));
    let by_column = order_by(
        st.dialect,
        order.iter().map(|(c, desc)| (format!("t.{c}"), *desc)),
    );
    let page = page_keys(resource, &filter, &by_column, &limit, &offset);
    let in_scope = in_scope(resource, &filter);
    match st.dialect {
        Dialect::Postgres => format!(
            "SELECT (SELECT count(*) {in_scope}) AS {COUNT_COLUMN}, p.* \
             FROM (SELECT 1) AS one LEFT JOIN LATERAL (\
             SELECT {select} FROM ({page}) AS page \
             JOIN {table} t ON t.{key} = page.page_key ORDER BY {by_column}\
             ) AS p ON true"
        ),
        // No LATERAL: the page is a plain derived table, and its sort keys travel with it
        // (after the fields) so the outer query can keep the order.
        Dialect::Sqlite => {
            let keys: Vec<String> = order
                .iter()
                .enumerate()
                .map(|(i, (c, _))| format!("t.{c} AS __sort{i}"))
                .collect();
            let by_key = order_by(
                st.dialect,
                order
                    .iter()
                    .enumerate()
                    .map(|(i, (_, desc))| (format!("p.__sort{i}"), *desc)),
            );
            format!(
                "SELECT c.{COUNT_COLUMN}, p.* FROM (SELECT count(*) AS {COUNT_COLUMN} {in_scope}) AS c \
                 LEFT JOIN (SELECT {select}, {} FROM ({page}) AS page \
                 JOIN {table} t ON t.{key} = page.page_key) AS p ON true ORDER BY {by_key}",
                keys.join(", "),
            )
        }
    }
}

/// The rows in scope: `FROM table t WHERE true AND ...`.
fn in_scope(resource: &Resource, filter: &str) -> String {
    format!("FROM {} t WHERE true{filter}", resource.table)
}

/// The keys of a page of the rows in scope, in order.
fn page_keys(resource: &Resource, filter: &str, by: &str, limit: &str, offset: &str) -> String {
    let (table, key) = (&resource.table, &resource.key);
    format!(
        "SELECT t.{key} AS page_key FROM {table} t WHERE true{filter} \
         ORDER BY {by} LIMIT {limit} OFFSET {offset}"
    )
}

/// The count a list statement makes of the rows in `scope`, alone, as the list statement
/// writes it: what `specgate check` asks the database to explain for a filter or search.
pub fn count(dialect: Dialect, resource: &Resource, scope: &Scope) -> Statement {
    let mut st = Statement::new(dialect);
    let filter = scope_sql(&mut st, scope);
    st.sql = format!("SELECT count(*) {}", in_scope(resource, &filter));
    st
}

/// The keys of a list's first page in `order`, alone, as the list statement picks them:
/// what `specgate check` asks the database to explain for an ordering.
pub fn first_page(
    dialect: Dialect,
    resource: &Resource,
    order: &[(Ident, bool)],
    limit: i64,
) -> Statement {
    let mut st = Statement::new(dialect);
    let limit = st.bind(SqlValue::Int(Some(limit)));
    let offset = st.bind(SqlValue::Int(Some(0)));
    let by = order_by(
        dialect,
        order.iter().map(|(c, desc)| (format!("t.{c}"), *desc)),
    );
    st.sql = page_keys(resource, "", &by, &limit, &offset);
    st
}

/// An ORDER BY list of (expression, descending). SQLite sorts NULLs first ascending and
/// PostgreSQL last: SQLite is told PostgreSQL's order.
fn order_by(dialect: Dialect, terms: impl Iterator<Item = (String, bool)>) -> String {
    terms
        .map(|(expr, desc)| {
            let dir = if desc { " DESC" } else { "" };
            let nulls = match (dialect, desc) {
                (Dialect::Postgres, _) => "",
                (Dialect::Sqlite, false) => " NULLS LAST",
                (Dialect::Sqlite, true) => " NULLS FIRST",
            };
            format!("{expr}{dir}{nulls}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A write's placeholder, cast where the bound type is not the column's.
fn placeholder(st: &mut Statement, assign: &Assign) -> String {
    let p = st.bind_typed(assign.kind, assign.value.clone());
    match (st.dialect, text_cast(assign.kind)) {
        (Dialect::Postgres, Some(cast)) => format!("{p}::{cast}"),
        _ => p,
    }
}

/// The PostgreSQL type a kind's text is cast to (it travels as text); `None` for text
/// itself and for the kinds bound as their own type. JSON is cast to jsonb, which a json
/// column takes by assignment.
fn text_cast(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::Timestamp => Some("timestamptz"),
        Kind::Date => Some("date"),
        Kind::Uuid => Some("uuid"),
        Kind::Json => Some("jsonb"),
        _ => None,
    }
}

/// The representation's fields as SQL expressions over the row alias `t`; built on first
/// use and kept with the resource, since it never changes.
pub fn select_list(dialect: Dialect, resource: &Resource) -> &str {
    let at = match dialect {
        Dialect::Postgres => 0,
        Dialect::Sqlite => 1,
    };
    resource.projection[at].get_or_init(|| projection(dialect, resource, "t"))
}

/// The fields over the row alias `t`, then the version column when the resource has one.
fn projection(dialect: Dialect, resource: &Resource, t: &str) -> String {
    let mut columns: Vec<String> = resource
        .fields
        .iter()
        .map(|field| field_sql(dialect, resource, field, t))
        .collect();
    if let Some(version) = &resource.version {
        let cast = if dialect == Dialect::Postgres {
            "::int8"
        } else {
            ""
        };
        columns.push(format!("{t}.{version}{cast} AS {VERSION_COLUMN}"));
    }
    columns.join(", ")
}

/// The representation's fields for SQLite's RETURNING, which must name the written table
/// itself rather than an alias.
fn returning_list(resource: &Resource) -> String {
    projection(Dialect::Sqlite, resource, &resource.table)
}

fn field_sql(dialect: Dialect, resource: &Resource, field: &Field, t: &str) -> String {
    let alias = &field.alias;
    let key = &resource.key;
    match (dialect, &field.source) {
        (Dialect::Postgres, Source::Column(column)) => {
            format!("{t}.{column}::{} AS {alias}", cast(field.kind))
        }
        (Dialect::Sqlite, Source::Column(column)) => format!("{t}.{column} AS {alias}"),
        (
            Dialect::Postgres,
            Source::Relation {
                through,
                source,
                target,
            },
        ) => format!(
            "ARRAY(SELECT j.{target}::int8 FROM {through} j WHERE j.{source} = {t}.{key} ORDER BY 1) AS {alias}"
        ),
        (
            Dialect::Sqlite,
            Source::Relation {
                through,
                source,
                target,
            },
        ) => format!(
            "(SELECT json_group_array(j.{target} ORDER BY j.{target}) FROM {through} j WHERE j.{source} = {t}.{key}) AS {alias}"
        ),
    }
}

fn cast(kind: Kind) -> &'static str {
    match kind {
        Kind::Integer => "int8",
        Kind::Number => "float8",
        Kind::Boolean => "bool",
        Kind::Text | Kind::Date | Kind::Uuid | Kind::Json => "text",
        Kind::Timestamp => "timestamptz",
        Kind::IdList => "int8[]",
    }
}

/// ` AND ...` conditions for the scope (empty when it has none).
fn scope_sql(st: &mut Statement, scope: &Scope) -> String {
    let mut out = String::new();
    for filter in &scope.filters {
        out.push_str(" AND ");
        out.push_str(&filter_sql(st, filter));
    }
    if let Some(search) = &scope.search {
        st.plan_per_call = true;
        for term in &search.terms {
            let p = st.bind(SqlValue::Text(Some(pattern(
                st.dialect,
                Match::Contains,
                term,
            ))));
            let any: Vec<String> = search
                .columns
                .iter()
                .map(|c| like_sql(st, &format!("t.{c}"), &p, true))
                .collect();
            out.push_str(&format!(" AND ({})", any.join(" OR ")));
        }
    }
    out
}

/// Where a pattern's text must appear.
#[derive(Clone, Copy)]
enum Match {
    Contains,
    StartsWith,
    EndsWith,
}

/// The pattern finding `text` literally: LIKE's on PostgreSQL, GLOB's on SQLite.
fn pattern(dialect: Dialect, at: Match, text: &str) -> String {
    let (escaped, any) = match dialect {
        Dialect::Postgres => (escape_like(text), "%"),
        Dialect::Sqlite => (escape_glob(text), "*"),
    };
    match at {
        Match::Contains => format!("{any}{escaped}{any}"),
        Match::StartsWith => format!("{escaped}{any}"),
        Match::EndsWith => format!("{any}{escaped}"),
    }
}

/// `column` matches the bound pattern `p`, ignoring case when `fold`.
fn like_sql(st: &Statement, column: &str, p: &str, fold: bool) -> String {
    let op = match st.dialect {
        Dialect::Postgres => "LIKE",
        Dialect::Sqlite => "GLOB",
    };
    let column = st.text(column);
    if fold {
        format!("{} {op} {}", st.upper(&column), st.upper(p))
    } else {
        format!("{column} {op} {p}")
    }
}

fn filter_sql(st: &mut Statement, filter: &Filter) -> String {
    let column = format!("t.{}", filter.column);
    let text = match &filter.value {
        SqlValue::Text(Some(s)) => s.as_str(),
        _ => "",
    };
    let like = |st: &mut Statement, at: Match, fold: bool| {
        st.plan_per_call = true;
        let p = st.bind(SqlValue::Text(Some(pattern(st.dialect, at, text))));
        like_sql(st, &column, &p, fold)
    };
    match filter.lookup {
        Lookup::Exact => format!("{column} = {}", compared(st, filter)),
        Lookup::IExact => {
            let range = match st.dialect {
                Dialect::Postgres => None,
                Dialect::Sqlite => ascii_range(st, &column, text),
            };
            let p = st.bind(filter.value.clone());
            let equal = format!("{} = {}", st.upper(&st.text(&column)), st.upper(&p));
            match range {
                Some(range) => format!("{range} AND {equal}"),
                None => equal,
            }
        }
        Lookup::Contains => within(st, &column, Match::Contains, text),
        Lookup::IContains => like(st, Match::Contains, true),
        Lookup::StartsWith => match prefix_range(st, &column, text) {
            Some(range) => format!("{range} AND {}", exact_like(st, &column, text, false)),
            None => like(st, Match::StartsWith, false),
        },
        Lookup::IStartsWith => match folded_prefix_range(st, &column, text) {
            Some(range) => format!("{range} AND {}", exact_like(st, &column, text, true)),
            None => like(st, Match::StartsWith, true),
        },
        Lookup::EndsWith => within(st, &column, Match::EndsWith, text),
        Lookup::IEndsWith => like(st, Match::EndsWith, true),
        Lookup::In => match st.dialect {
            Dialect::Postgres => format!("{column} = ANY({})", compared(st, filter)),
            Dialect::Sqlite => format!(
                "{column} IN (SELECT value FROM json_each({}))",
                compared(st, filter)
            ),
        },
        Lookup::Gt => format!("{column} > {}", compared(st, filter)),
        Lookup::Gte => format!("{column} >= {}", compared(st, filter)),
        Lookup::Lt => format!("{column} < {}", compared(st, filter)),
        Lookup::Lte => format!("{column} <= {}", compared(st, filter)),
    }
}

/// A case-sensitive pattern inside the text (`contains`, `endswith`). On PostgreSQL the
/// case-insensitive match comes first, which the trigram index on `upper(col)` serves: a
/// value containing `x` has an upper case containing `upper(x)`, since `upper()` maps
/// characters one by one (true of every libc locale and of ICU's outside Lithuanian, whose
/// upper case drops a combining dot after `i`). The exact pattern is the re-check.
fn within(st: &mut Statement, column: &str, at: Match, text: &str) -> String {
    st.plan_per_call = true;
    let p = st.bind(SqlValue::Text(Some(pattern(st.dialect, at, text))));
    let exact = like_sql(st, column, &p, false);
    match st.dialect {
        Dialect::Postgres => format!("{} AND {exact}", like_sql(st, column, &p, true)),
        Dialect::Sqlite => exact,
    }
}

/// A prefix pattern on `column` that keeps the statement's prepared plan: the LIKE (GLOB)
/// re-check of a range condition, so the plan need not be made for the pattern's value.
fn exact_like(st: &mut Statement, column: &str, text: &str, fold: bool) -> String {
    let p = st.bind(SqlValue::Text(Some(pattern(
        st.dialect,
        Match::StartsWith,
        text,
    ))));
    like_sql(st, column, &p, fold)
}

/// `column` between `text` and the first string after every string starting with it, as
/// two bound parameters: the rewrite PostgreSQL's planner makes of a literal `LIKE 'x%'`,
/// made here so that a generic (prepared) plan keeps the index. PostgreSQL compares with the
/// operators of `text_pattern_ops` (byte order, which is code point order in UTF-8), which
/// its `col text_pattern_ops` indexes serve; SQLite's default BINARY collation is byte order
/// too. `None` for an empty prefix (every row matches; nothing to bound).
fn prefix_range(st: &mut Statement, column: &str, text: &str) -> Option<String> {
    if text.is_empty() {
        return None;
    }
    let column = st.text(column);
    let (ge, lt) = range_operators(st.dialect);
    let low = st.bind(SqlValue::Text(Some(text.to_owned())));
    let bound = match after_prefix(text) {
        Some(high) => {
            let high = st.bind(SqlValue::Text(Some(high)));
            format!(" AND {column} {lt} {high}")
        }
        None => String::new(),
    };
    Some(format!("{column} {ge} {low}{bound}"))
}

/// The range of [`prefix_range`] on the upper-cased column, for `istartswith`. On PostgreSQL
/// the bounds are computed by the database from the bound prefix with its own `upper()`
/// (whatever its locale makes of a character, the range is exactly the upper-cased prefix's),
/// the high bound by adding one to the code point of its last character; on SQLite see
/// [`ascii_range`]. `None` where no such range can be written.
fn folded_prefix_range(st: &mut Statement, column: &str, text: &str) -> Option<String> {
    if st.dialect == Dialect::Sqlite {
        return ascii_range(st, column, text);
    }
    // The last character's upper case is the character after which `chr()` must count;
    // where that could be the last code point or the one before the surrogates, `chr()`
    // would fail: such a prefix is matched by its LIKE alone.
    let last = text.chars().next_back()?;
    if matches!(last, '\u{D7FF}' | char::MAX) {
        return None;
    }
    let column = st.upper(&st.text(column));
    let p = st.bind(SqlValue::Text(Some(text.to_owned())));
    let low = st.upper(&p);
    Some(format!(
        "{column} ~>=~ {low} AND {column} ~<~ (left({low}, -1) || chr(ascii(right({low}, 1)) + 1))"
    ))
}

/// How many ranges [`ascii_range`] may OR together (each `i` or `s` doubles them).
const MAX_ASCII_RANGES: usize = 4;

/// For SQLite: ranges on the built-in `upper(column)` (which folds ASCII letters only, so
/// any SQLite client computes the same index) that hold every row whose
/// `specgate_upper(column)` starts with (so also every one where it equals)
/// `specgate_upper(text)`. They bound the leading run of `text`'s ASCII characters: a
/// matching value's character there upper-cases to the same ASCII letter, so it is that
/// letter in either case, or (for `I` and `S` only) the dotless `ı` or the long `ſ`, which
/// the built-in `upper()` leaves as they are (tested over every code point in
/// `db::sqlite`); `specgate_upper` maps one character to one. Each `i` or `s` so doubles
/// the ranges, up to [`MAX_ASCII_RANGES`]; the run ends there or at the first non-ASCII
/// character. The exact comparison stays as the re-check. `None` when the run is empty.
fn ascii_range(st: &mut Statement, column: &str, text: &str) -> Option<String> {
    let mut runs = vec![String::new()];
    for c in text.chars().take_while(char::is_ascii) {
        let upper = c.to_ascii_uppercase();
        let alike: &[char] = match upper {
            'I' => &['I', 'ı'],
            'S' => &['S', 'ſ'],
            _ => &[],
        };
        if alike.is_empty() {
            runs.iter_mut().for_each(|run| run.push(upper));
            continue;
        }
        if runs.len() * alike.len() > MAX_ASCII_RANGES {
            break;
        }
        runs = runs
            .iter()
            .flat_map(|run| alike.iter().map(move |a| format!("{run}{a}")))
            .collect();
    }
    if runs.iter().all(String::is_empty) {
        return None;
    }
    let column = format!("upper({column})");
    let ranges: Vec<String> = runs
        .into_iter()
        .map(|run| {
            let high = after_prefix(&run);
            let low = st.bind(SqlValue::Text(Some(run)));
            let bound = match high {
                Some(high) => format!(" AND {column} < {}", st.bind(SqlValue::Text(Some(high)))),
                None => String::new(),
            };
            format!("{column} >= {low}{bound}")
        })
        .collect();
    Some(match ranges.as_slice() {
        [one] => one.clone(),
        _ => format!("({})", ranges.join(" OR ")),
    })
}

/// The operators comparing text in byte order: `text_pattern_ops`'s on PostgreSQL,
/// SQLite's own (its default collation is byte order).
fn range_operators(dialect: Dialect) -> (&'static str, &'static str) {
    match dialect {
        Dialect::Postgres => ("~>=~", "~<~"),
        Dialect::Sqlite => (">=", "<"),
    }
}

/// The least string greater than every string that starts with `prefix`, in code point
/// order: the prefix with its last character replaced by the next one (the surrogates
/// skipped), dropping trailing characters that have none. `None` when there is no such
/// string (the prefix is all `char::MAX`).
pub fn after_prefix(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last {
            '\u{D7FF}' => Some('\u{E000}'),
            c => char::from_u32(u32::from(c) + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// The placeholder of a comparison's value, cast to the column's type where the bound type
/// differs (timestamps travel as text).
fn compared(st: &mut Statement, filter: &Filter) -> String {
    let p = st.bind_typed(filter.kind, filter.value.clone());
    if st.dialect == Dialect::Sqlite {
        return p;
    }
    match (text_cast(filter.kind), &filter.value) {
        (Some(cast), SqlValue::TextList(_)) => format!("{p}::{cast}[]"),
        (Some(cast), _) => format!("{p}::{cast}"),
        (None, _) => p,
    }
}

/// How SQLite stores timestamps: UTC, always six fraction digits, so that text order is
/// time order and equal instants are equal text (`2025-11-06 08:00:00.000000`).
pub const SQLITE_TIMESTAMP_FORMAT: &str = "%Y-%m-%d %H:%M:%S%.6f";

/// A timestamp as a client or filter gives it (RFC 3339, or naive and taken as UTC, or a
/// date) in SQLite's stored form; `None` if it does not read as one.
pub fn store_timestamp(text: &str) -> Option<String> {
    Some(
        utc_timestamp(text)?
            .format(SQLITE_TIMESTAMP_FORMAT)
            .to_string(),
    )
}

/// Escapes LIKE's metacharacters (`%`, `_` and the escape `\`) so they match literally.
pub fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Escapes GLOB's metacharacters (`*`, `?`, `[`) by putting each in brackets.
pub fn escape_glob(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[') {
            out.push('[');
            out.push(c);
            out.push(']');
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Assign, Search};

    fn fixture() -> crate::contract::Spec {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/books");
        crate::contract::load(&dir).unwrap_or_else(|p| panic!("{p:?}"))
    }

    /// The compiled column of the field `name`: tests cannot quote identifiers themselves.
    fn column(resource: &Resource, name: &str) -> Ident {
        match resource
            .fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| &f.source)
        {
            Some(Source::Column(column)) => column.clone(),
            _ => panic!("{name} is not a column field"),
        }
    }

    const SELECT: &str = "t.\"book_id\"::int8 AS \"book_id\", t.\"title\"::text AS \"title\", t.\"isbn\"::text AS \"isbn\", t.\"pages\"::int8 AS \"pages\", t.\"in_print\"::bool AS \"in_print\", ARRAY(SELECT j.\"author_id\"::int8 FROM \"library_book_authors\" j WHERE j.\"book_id\" = t.\"book_id\" ORDER BY 1) AS \"authors\", t.\"shelved_at\"::timestamptz AS \"shelved_at\"";

    #[test]
    fn retrieve_and_destroy_statements() {
        let spec = fixture();
        let books = &spec.resources[0];
        let st = build(
            Dialect::Postgres,
            books,
            &Plan::Retrieve {
                key: 7,
                scope: Scope::default(),
            },
        );
        assert_eq!(
            st.sql,
            format!("SELECT {SELECT} FROM \"library_book\" t WHERE t.\"book_id\" = $1")
        );
        assert_eq!(st.params, vec![SqlValue::Int(Some(7))]);
        let st = build(
            Dialect::Postgres,
            books,
            &Plan::Destroy {
                key: 7,
                scope: Scope::default(),
            },
        );
        assert_eq!(
            st.sql,
            "DELETE FROM \"library_book\" t WHERE t.\"book_id\" = $1 RETURNING 1"
        );
    }

    #[test]
    fn a_conditional_write_locks_its_row_on_postgres_only() {
        let spec = fixture();
        let books = &spec.resources[0];
        let lock = Plan::Lock {
            key: 7,
            scope: Scope::default(),
        };
        assert_eq!(
            build(Dialect::Postgres, books, &lock).sql,
            format!(
                "SELECT {SELECT} FROM \"library_book\" t WHERE t.\"book_id\" = $1 FOR UPDATE OF t"
            )
        );
        let sqlite = build(Dialect::Sqlite, books, &lock).sql;
        assert!(sqlite.ends_with("WHERE t.\"book_id\" = $1"), "{sqlite}");
    }

    #[test]
    fn create_is_guarded_by_its_unique_columns() {
        let spec = fixture();
        let books = &spec.resources[0];
        let values = vec![
            Assign {
                column: column(books, "title"),
                kind: Kind::Text,
                value: SqlValue::Text(Some("Dune".into())),
            },
            Assign {
                column: column(books, "isbn"),
                kind: Kind::Text,
                value: SqlValue::Text(Some("1".into())),
            },
        ];
        let st = build(
            Dialect::Postgres,
            books,
            &Plan::Create {
                values,
                guarded: vec![column(books, "isbn")],
            },
        );
        assert_eq!(
            st.sql,
            format!(
                "WITH t AS (INSERT INTO \"library_book\" (\"title\", \"isbn\") SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM \"library_book\" g WHERE g.\"isbn\" = $2) RETURNING *) SELECT {SELECT} FROM t"
            )
        );
    }

    #[test]
    fn list_counts_and_pages_in_one_statement() {
        let spec = fixture();
        let books = &spec.resources[0];
        let plan = Plan::List {
            scope: Scope::default(),
            order: vec![
                (column(books, "pages"), true),
                (column(books, "book_id"), false),
            ],
            limit: 2,
            offset: 4,
        };
        let st = build(Dialect::Postgres, books, &plan);
        assert_eq!(
            st.sql,
            format!(
                "SELECT (SELECT count(*) FROM \"library_book\" t WHERE true) AS __count, p.* FROM (SELECT 1) AS one LEFT JOIN LATERAL (SELECT {SELECT} FROM (SELECT t.\"book_id\" AS page_key FROM \"library_book\" t WHERE true ORDER BY t.\"pages\" DESC, t.\"book_id\" LIMIT $1 OFFSET $2) AS page JOIN \"library_book\" t ON t.\"book_id\" = page.page_key ORDER BY t.\"pages\" DESC, t.\"book_id\") AS p ON true"
            )
        );
        assert_eq!(
            st.params,
            vec![SqlValue::Int(Some(2)), SqlValue::Int(Some(4))]
        );
    }

    #[test]
    fn uniqueness_checks_exclude_the_row_being_updated() {
        let spec = fixture();
        let books = &spec.resources[0];
        let plan = Plan::Taken {
            checks: vec![(column(books, "isbn"), SqlValue::Text(Some("1".into())))],
            except: Some(3),
        };
        let st = build(Dialect::Postgres, books, &plan);
        assert_eq!(
            st.sql,
            "SELECT EXISTS (SELECT 1 FROM \"library_book\" t WHERE t.\"isbn\" = $2 AND t.\"book_id\" <> $1)"
        );
    }

    #[test]
    fn sqlite_timestamps_are_stored_fixed_width_in_utc() {
        assert_eq!(
            store_timestamp("2025-11-06T09:30:00+01:30").as_deref(),
            Some("2025-11-06 08:00:00.000000")
        );
        assert_eq!(
            store_timestamp("2025-11-06").as_deref(),
            Some("2025-11-06 00:00:00.000000")
        );
        assert_eq!(
            store_timestamp("2025-11-06 08:00:00.5").as_deref(),
            Some("2025-11-06 08:00:00.500000")
        );
        assert_eq!(store_timestamp("yesterday"), None);
    }

    #[test]
    fn like_metacharacters_are_escaped() {
        assert_eq!(escape_like(r"50%_a\b"), r"50\%\_a\\b");
    }

    #[test]
    fn user_text_only_travels_as_parameters() {
        let spec = fixture();
        let books = &spec.resources[0];
        let mut st = Statement::new(Dialect::Postgres);
        let scope = Scope {
            filters: vec![Filter {
                column: column(books, "title"),
                kind: Kind::Text,
                lookup: Lookup::IContains,
                value: SqlValue::Text(Some("'; DROP TABLE x; --".into())),
            }],
            search: Some(Search {
                columns: vec![column(books, "title"), column(books, "isbn")],
                terms: vec!["x%".into()],
            }),
        };
        let sql = scope_sql(&mut st, &scope);
        assert_eq!(
            sql,
            " AND upper(t.\"title\"::text) LIKE upper($1) AND (upper(t.\"title\"::text) LIKE upper($2) OR upper(t.\"isbn\"::text) LIKE upper($2))"
        );
        assert!(!sql.contains("DROP"));
        assert!(
            st.plan_per_call,
            "LIKE patterns are planned for their value"
        );
        assert_eq!(st.params[1], SqlValue::Text(Some("%x\\%%".into())));
    }

    fn prefix_filter(books: &Resource, lookup: Lookup, text: &str) -> Scope {
        Scope {
            filters: vec![Filter {
                column: column(books, "title"),
                kind: Kind::Text,
                lookup,
                value: SqlValue::Text(Some(text.into())),
            }],
            search: None,
        }
    }

    #[test]
    fn the_string_after_a_prefix_is_the_next_code_point() {
        assert_eq!(after_prefix("ab").as_deref(), Some("ac"));
        assert_eq!(after_prefix("a\u{D7FF}").as_deref(), Some("a\u{E000}"));
        assert_eq!(after_prefix("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(after_prefix("\u{10FFFF}"), None);
        assert_eq!(after_prefix(""), None);
    }

    #[test]
    fn prefixes_are_ranges_that_keep_the_prepared_plan() {
        let spec = fixture();
        let books = &spec.resources[0];
        let mut st = Statement::new(Dialect::Postgres);
        let sql = scope_sql(&mut st, &prefix_filter(books, Lookup::StartsWith, "Du%"));
        assert_eq!(
            sql,
            " AND t.\"title\"::text ~>=~ $1 AND t.\"title\"::text ~<~ $2 AND t.\"title\"::text LIKE $3"
        );
        assert_eq!(
            st.params,
            vec![
                SqlValue::Text(Some("Du%".into())),
                SqlValue::Text(Some("Du&".into())),
                SqlValue::Text(Some("Du\\%%".into()))
            ]
        );
        assert!(!st.plan_per_call);

        let mut st = Statement::new(Dialect::Postgres);
        let sql = scope_sql(&mut st, &prefix_filter(books, Lookup::IStartsWith, "du"));
        assert_eq!(
            sql,
            " AND upper(t.\"title\"::text) ~>=~ upper($1) AND upper(t.\"title\"::text) ~<~ (left(upper($1), -1) || chr(ascii(right(upper($1), 1)) + 1)) AND upper(t.\"title\"::text) LIKE upper($2)"
        );
        assert!(!st.plan_per_call);

        // An empty prefix bounds nothing; a last character chr() cannot step past is
        // matched by its LIKE alone, planned for its value.
        let mut st = Statement::new(Dialect::Postgres);
        let sql = scope_sql(
            &mut st,
            &prefix_filter(books, Lookup::IStartsWith, "a\u{10FFFF}"),
        );
        assert_eq!(sql, " AND upper(t.\"title\"::text) LIKE upper($1)");
        assert!(st.plan_per_call);
    }

    #[test]
    fn sqlite_bounds_the_leading_ascii_run_on_the_builtin_upper() {
        let spec = fixture();
        let books = &spec.resources[0];
        let mut st = Statement::new(Dialect::Sqlite);
        let sql = scope_sql(&mut st, &prefix_filter(books, Lookup::IStartsWith, "dune"));
        assert_eq!(
            sql,
            " AND upper(t.\"title\") >= $1 AND upper(t.\"title\") < $2 AND specgate_upper(t.\"title\") GLOB specgate_upper($3)"
        );
        assert_eq!(st.params[0], SqlValue::Text(Some("DUNE".into())));
        assert_eq!(st.params[1], SqlValue::Text(Some("DUNF".into())));

        let mut st = Statement::new(Dialect::Sqlite);
        let sql = scope_sql(&mut st, &prefix_filter(books, Lookup::IExact, "Abés"));
        assert_eq!(
            sql,
            " AND upper(t.\"title\") >= $1 AND upper(t.\"title\") < $2 AND specgate_upper(t.\"title\") = specgate_upper($3)"
        );
        assert_eq!(st.params[0], SqlValue::Text(Some("AB".into())));

        // An `s` (or `i`) is the letter or its look-alike that upper() leaves alone.
        let mut st = Statement::new(Dialect::Sqlite);
        let sql = scope_sql(&mut st, &prefix_filter(books, Lookup::IExact, "Straße"));
        assert_eq!(
            sql,
            " AND (upper(t.\"title\") >= $1 AND upper(t.\"title\") < $2 OR upper(t.\"title\") >= $3 AND upper(t.\"title\") < $4) AND specgate_upper(t.\"title\") = specgate_upper($5)"
        );
        assert_eq!(
            &st.params[..4],
            &["STRA", "STRB", "ſTRA", "ſTRB"].map(|t| SqlValue::Text(Some(t.into())))
        );
        let mut st = Statement::new(Dialect::Sqlite);
        let sql = scope_sql(&mut st, &prefix_filter(books, Lookup::IExact, "ßa"));
        assert_eq!(sql, " AND specgate_upper(t.\"title\") = specgate_upper($1)");
    }
}
