//! What a request asks the database to do, as a typed value: pure, no IO, no SQL text.
//!
//! The gateway turns a matched route, its key, query and validated body into a [`Plan`];
//! `sql` turns the plan into a statement.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::Value;

use crate::contract::ident::Ident;

/// How a value is stored in SQL and rendered in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `integer`: bigint.
    Integer,
    /// `number`: double precision.
    Number,
    /// `boolean`.
    Boolean,
    /// `string`: text.
    Text,
    /// `string` with `format: date-time`: timestamptz, rendered as UTC with microseconds.
    Timestamp,
    /// `string` with `format: date`: date, `YYYY-MM-DD`.
    Date,
    /// `string` with `format: uuid`: uuid, lower case with hyphens.
    Uuid,
    /// `object`: jsonb or json, its keys in sorted order on either database.
    Json,
    /// `array` of integers from a relation.
    IdList,
}

/// A value bound to a statement parameter, typed so PostgreSQL never has to guess.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    /// bigint.
    Int(Option<i64>),
    /// double precision.
    Float(Option<f64>),
    /// boolean.
    Bool(Option<bool>),
    /// text (also timestamps, cast in SQL).
    Text(Option<String>),
    /// text[], for `__in`.
    TextList(Vec<String>),
    /// bigint[], for `__in` on integers.
    IntList(Vec<i64>),
    /// double precision[], for `__in` on numbers.
    FloatList(Vec<f64>),
    /// boolean[], for `__in` on booleans.
    BoolList(Vec<bool>),
}

impl SqlValue {
    /// Converts a validated JSON value for a field of `kind`; `None` if it does not fit.
    pub fn from_json(kind: Kind, value: &Value) -> Option<SqlValue> {
        Some(match (kind, value) {
            (Kind::Integer, Value::Null) => SqlValue::Int(None),
            (Kind::Integer, v) => SqlValue::Int(Some(v.as_i64()?)),
            (Kind::Number, Value::Null) => SqlValue::Float(None),
            (Kind::Number, v) => SqlValue::Float(Some(v.as_f64()?)),
            (Kind::Boolean, Value::Null) => SqlValue::Bool(None),
            (Kind::Boolean, v) => SqlValue::Bool(Some(v.as_bool()?)),
            (Kind::Text | Kind::Timestamp | Kind::Date | Kind::Uuid | Kind::Json, Value::Null) => {
                SqlValue::Text(None)
            }
            (Kind::Text | Kind::Timestamp | Kind::Date, v) => {
                SqlValue::Text(Some(v.as_str()?.to_owned()))
            }
            (Kind::Uuid, v) => SqlValue::Text(Some(v.as_str()?.to_ascii_lowercase())),
            (Kind::Json, v) => SqlValue::Text(Some(canonical_json(v.clone()).to_string())),
            (Kind::IdList, _) => return None,
        })
    }
}

/// A JSON value with every object's keys in sorted order: how JSON fields are stored and
/// rendered, since PostgreSQL's jsonb keeps its own key order and SQLite's text the client's.
pub fn canonical_json(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, canonical_json(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(canonical_json).collect()),
        Value::Number(n) => {
            let text = n.to_string();
            match plain_decimal(&text).and_then(|t| t.parse().ok()) {
                Some(plain) => Value::Number(plain),
                None => Value::Number(n),
            }
        }
        other => other,
    }
}

/// A number's text as PostgreSQL's numeric writes it, which is how jsonb gives numbers back:
/// no exponent (`1.5e2` → `150`, `1E-2` → `0.01`), no negative zero. `None` when the text
/// is already so, or its exponent is beyond a thousand (left as written).
fn plain_decimal(text: &str) -> Option<String> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i64>().ok().filter(|e| e.abs() <= 1000)?),
        None => (unsigned, 0),
    };
    let zero = mantissa.bytes().all(|b| b == b'0' || b == b'.');
    if exponent == 0 && !(negative && zero) && mantissa.len() == unsigned.len() {
        return None;
    }
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{int}{frac}");
    let point = i64::try_from(int.len()).ok()? + exponent;
    let scale = usize::try_from((i64::try_from(frac.len()).ok()? - exponent).max(0)).ok()?;
    let len = i64::try_from(digits.len()).ok()?;
    let padded = if point <= 0 {
        format!("{}{digits}", "0".repeat(usize::try_from(-point).ok()?))
    } else if point >= len {
        format!("{digits}{}", "0".repeat(usize::try_from(point - len).ok()?))
    } else {
        digits
    };
    let at = padded.len() - scale.min(padded.len());
    let (whole, fraction) = padded.split_at(at);
    let whole = whole.trim_start_matches('0');
    let whole = if whole.is_empty() { "0" } else { whole };
    let sign = if negative && !zero { "-" } else { "" };
    Some(if fraction.is_empty() {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{fraction}")
    })
}

/// A date as clients and filters write it (`2025-11-06`), in its one stored form; `None`
/// if the text is not a date.
pub fn iso_date(text: &str) -> Option<String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .map(|d| d.format("%Y-%m-%d").to_string())
}

/// A UUID as clients and filters write it (any case, with hyphens), in its one stored form
/// (lower case); `None` if the text is not a UUID.
pub fn canonical_uuid(text: &str) -> Option<String> {
    let groups: Vec<&str> = text.split('-').collect();
    let widths = groups.iter().map(|g| g.len());
    let hex = groups
        .iter()
        .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()));
    (hex && widths.eq([8, 4, 4, 4, 12])).then(|| text.to_ascii_lowercase())
}

/// A column's type as the database's catalog declares it: what `check` compares with the
/// field's kind, and what a value must fit before it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnType {
    /// The type as declared, for messages (`numeric(12,2)`, `varchar(200)`, `jsonb`).
    pub declared: String,
    /// What the column stores.
    pub storage: Storage,
    /// numeric's total digits, when declared.
    pub precision: Option<u32>,
    /// numeric's digits after the point, when declared.
    pub scale: Option<u32>,
    /// The most characters a varchar or char holds, when declared.
    pub length: Option<u32>,
}

/// A table's column types by column name.
pub type Columns = std::collections::HashMap<String, ColumnType>;

/// What a column stores, as far as a field's kind is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// A whole number (smallint, integer, bigint; SQLite's INTEGER affinity).
    Integer,
    /// An exact decimal (numeric, decimal; SQLite's NUMERIC affinity).
    Decimal,
    /// An 8-byte float (double precision; SQLite's REAL).
    Double,
    /// A 4-byte float (PostgreSQL's real), which does not give back the double it was sent.
    Single,
    /// boolean.
    Boolean,
    /// Text (text, varchar, char; SQLite's TEXT affinity).
    Text,
    /// A timestamp with time zone (PostgreSQL's timestamptz; SQLite's timestamp, datetime).
    Timestamp,
    /// A timestamp without time zone, read in the session's zone.
    NaiveTimestamp,
    /// date.
    Date,
    /// uuid.
    Uuid,
    /// jsonb or json.
    Json,
    /// Anything else (bytea, arrays, SQLite's BLOB affinity).
    Other,
}

/// A timestamp as clients and filters write it, in UTC: RFC 3339 with an offset, or naive
/// (`2025-11-06 08:00:00.5`, `2025-11-06T08:00:00`) and taken as UTC, or a date (midnight).
/// `None` if the text does not read as one. The one reading of timestamp text: filters
/// check with it, and SQLite stores and reads back what it gives.
pub fn utc_timestamp(text: &str) -> Option<NaiveDateTime> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc).naive_utc());
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f"))
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()?
                .and_hms_opt(0, 0, 0)
        })
}

/// One column set by a write.
#[derive(Debug, Clone, PartialEq)]
pub struct Assign {
    /// The quoted column.
    pub column: Ident,
    /// How the column is stored.
    pub kind: Kind,
    /// The new value.
    pub value: SqlValue,
}

/// A comparison a filter makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// Equal.
    Exact,
    /// Equal ignoring case.
    IExact,
    /// Contains.
    Contains,
    /// Contains ignoring case.
    IContains,
    /// Starts with.
    StartsWith,
    /// Starts with, ignoring case.
    IStartsWith,
    /// Ends with.
    EndsWith,
    /// Ends with, ignoring case.
    IEndsWith,
    /// One of a list.
    In,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Gte,
    /// Less than.
    Lt,
    /// Less than or equal.
    Lte,
}

impl Lookup {
    /// The lookup's name in a query parameter.
    pub fn name(self) -> &'static str {
        match self {
            Lookup::Exact => "exact",
            Lookup::IExact => "iexact",
            Lookup::Contains => "contains",
            Lookup::IContains => "icontains",
            Lookup::StartsWith => "startswith",
            Lookup::IStartsWith => "istartswith",
            Lookup::EndsWith => "endswith",
            Lookup::IEndsWith => "iendswith",
            Lookup::In => "in",
            Lookup::Gt => "gt",
            Lookup::Gte => "gte",
            Lookup::Lt => "lt",
            Lookup::Lte => "lte",
        }
    }

    /// Whether the lookup compares the column's text (a pattern, or ignoring case).
    pub fn on_text(self) -> bool {
        !matches!(
            self,
            Lookup::Exact | Lookup::In | Lookup::Gt | Lookup::Gte | Lookup::Lt | Lookup::Lte
        )
    }

    /// The lookup called `name` in a query parameter (`username__icontains`).
    pub fn parse(name: &str) -> Option<Lookup> {
        Some(match name {
            "exact" => Lookup::Exact,
            "iexact" => Lookup::IExact,
            "contains" => Lookup::Contains,
            "icontains" => Lookup::IContains,
            "startswith" => Lookup::StartsWith,
            "istartswith" => Lookup::IStartsWith,
            "endswith" => Lookup::EndsWith,
            "iendswith" => Lookup::IEndsWith,
            "in" => Lookup::In,
            "gt" => Lookup::Gt,
            "gte" => Lookup::Gte,
            "lt" => Lookup::Lt,
            "lte" => Lookup::Lte,
            _ => return None,
        })
    }
}

/// One `field__lookup=value` condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// The quoted column.
    pub column: Ident,
    /// How the column is stored.
    pub kind: Kind,
    /// The comparison.
    pub lookup: Lookup,
    /// The value compared with.
    pub value: SqlValue,
}

/// `?search=`: every term must appear, ignoring case, in at least one of the columns.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Search {
    /// Quoted columns searched.
    pub columns: Vec<Ident>,
    /// The terms.
    pub terms: Vec<String>,
}

/// The rows a request can see: its filters and search, on list and detail routes alike.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scope {
    /// All must hold.
    pub filters: Vec<Filter>,
    /// Must hold when present.
    pub search: Option<Search>,
}

/// A database operation on one resource.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// A page of rows in scope, with the count of all of them.
    List {
        /// Which rows.
        scope: Scope,
        /// (quoted column, descending), the key last as a tie-breaker.
        order: Vec<(Ident, bool)>,
        /// Page size.
        limit: i64,
        /// Rows skipped.
        offset: i64,
    },
    /// One row by key, if in scope.
    Retrieve {
        /// The key.
        key: i64,
        /// Which rows.
        scope: Scope,
    },
    /// One row by key, if in scope, locked until the write's transaction ends (what a
    /// conditional write compares its precondition with).
    Lock {
        /// The key.
        key: i64,
        /// Which rows.
        scope: Scope,
    },
    /// Whether a row with this key is in scope.
    Exists {
        /// The key.
        key: i64,
        /// Which rows.
        scope: Scope,
    },
    /// Insert a row, unless a unique value is already taken (then nothing is inserted, and
    /// no key is drawn from the sequence).
    Create {
        /// The columns given; the others take their defaults.
        values: Vec<Assign>,
        /// Quoted unique columns among `values`, checked before inserting.
        guarded: Vec<Ident>,
    },
    /// Change a row, if in scope.
    Update {
        /// The key.
        key: i64,
        /// Which rows.
        scope: Scope,
        /// The columns changed.
        values: Vec<Assign>,
    },
    /// Delete a row, if in scope.
    Destroy {
        /// The key.
        key: i64,
        /// Which rows.
        scope: Scope,
    },
    /// For each (column, value): whether another row already holds the value.
    Taken {
        /// Unique columns and candidate values.
        checks: Vec<(Ident, SqlValue)>,
        /// The row being updated, which does not count.
        except: Option<i64>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_values_convert_by_kind() {
        assert_eq!(
            SqlValue::from_json(Kind::Text, &json!("a")),
            Some(SqlValue::Text(Some("a".into())))
        );
        assert_eq!(
            SqlValue::from_json(Kind::Text, &json!(null)),
            Some(SqlValue::Text(None))
        );
        assert_eq!(
            SqlValue::from_json(Kind::Integer, &json!(3)),
            Some(SqlValue::Int(Some(3)))
        );
        assert_eq!(SqlValue::from_json(Kind::Integer, &json!("3")), None);
        assert_eq!(
            SqlValue::from_json(Kind::Boolean, &json!(true)),
            Some(SqlValue::Bool(Some(true)))
        );
    }

    #[test]
    fn dates_uuids_and_json_have_one_stored_form() {
        assert_eq!(iso_date("2025-1-2").as_deref(), Some("2025-01-02"));
        assert_eq!(iso_date("2025-02-30"), None);
        assert_eq!(
            canonical_uuid("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11").as_deref(),
            Some("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
        );
        assert_eq!(canonical_uuid("a0eebc999c0b4ef8bb6d6bb9bd380a11"), None);
        assert_eq!(
            SqlValue::from_json(Kind::Json, &json!({"b": {"d": 1, "c": 2}, "a": [3]})),
            Some(SqlValue::Text(Some(
                r#"{"a":[3],"b":{"c":2,"d":1}}"#.into()
            )))
        );
    }

    #[test]
    fn json_numbers_are_written_as_numeric_writes_them() {
        for (text, plain) in [
            ("1e2", Some("100")),
            ("1.5E+2", Some("150")),
            ("1.50e1", Some("15.0")),
            ("1E-2", Some("0.01")),
            ("-2.5e-3", Some("-0.0025")),
            ("-0", Some("0")),
            ("-0.0", Some("0.0")),
            ("0e5", Some("0")),
            ("12.5", None),
            ("-3", None),
            ("1e5000", None),
        ] {
            assert_eq!(plain_decimal(text).as_deref(), plain, "{text}");
        }
    }

    #[test]
    fn lookups_parse_by_name() {
        assert_eq!(Lookup::parse("istartswith"), Some(Lookup::IStartsWith));
        assert_eq!(Lookup::parse("regex"), None);
    }
}
