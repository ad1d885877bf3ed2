//! Column types from the database's catalog: read once per table, compared by `check`
//! (and every reload) with the fields' kinds, and used on writes to refuse a value the
//! column would round or cut. PostgreSQL's `information_schema`, SQLite's declared types
//! (read the way SQLite's type affinity reads them).

use crate::plan::{ColumnType, Kind, Storage};
use crate::sql::Dialect;

/// A PostgreSQL column from `information_schema.columns`.
pub fn postgres_type(
    udt_name: &str,
    precision: Option<i32>,
    scale: Option<i32>,
    length: Option<i32>,
) -> ColumnType {
    let unsigned = |v: Option<i32>| v.and_then(|v| u32::try_from(v).ok());
    let storage = match udt_name {
        "int2" | "int4" | "int8" => Storage::Integer,
        "numeric" => Storage::Decimal,
        "float8" => Storage::Double,
        "float4" => Storage::Single,
        "bool" => Storage::Boolean,
        "text" | "varchar" | "bpchar" | "citext" | "name" => Storage::Text,
        "timestamptz" => Storage::Timestamp,
        "timestamp" => Storage::NaiveTimestamp,
        "date" => Storage::Date,
        "uuid" => Storage::Uuid,
        "json" | "jsonb" => Storage::Json,
        _ => Storage::Other,
    };
    let decimal = storage == Storage::Decimal;
    let (precision, scale) = if decimal {
        (unsigned(precision), unsigned(scale))
    } else {
        (None, None)
    };
    let name = match udt_name {
        "int2" => "smallint",
        "int4" => "integer",
        "int8" => "bigint",
        "float4" => "real",
        "float8" => "double precision",
        "bool" => "boolean",
        "varchar" => "varchar",
        "bpchar" => "char",
        other => other,
    };
    let declared = match (precision, scale, unsigned(length)) {
        (Some(p), Some(s), _) => format!("{name}({p},{s})"),
        (_, _, Some(n)) => format!("{name}({n})"),
        _ => name.to_owned(),
    };
    ColumnType {
        declared,
        storage,
        precision,
        scale,
        length: unsigned(length),
    }
}

/// An SQLite column from its declared type (`numeric(12,2)`, `varchar(200)`, `boolean`),
/// classified by SQLite's affinity rules, with the names SQLite keeps as text for dates,
/// UUIDs and JSON.
pub fn sqlite_type(declared: &str) -> ColumnType {
    let lower = declared.trim().to_ascii_lowercase();
    let (name, args) = match lower.split_once('(') {
        Some((name, rest)) => (name.trim(), rest.trim_end_matches(')')),
        None => (lower.as_str(), ""),
    };
    let numbers: Vec<u32> = args
        .split(',')
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    let storage = match name {
        "bool" | "boolean" => Storage::Boolean,
        "date" => Storage::Date,
        "uuid" => Storage::Uuid,
        "json" | "jsonb" => Storage::Json,
        "timestamp" | "timestamptz" | "datetime" => Storage::Timestamp,
        n if n.contains("int") => Storage::Integer,
        n if n.contains("char") || n.contains("clob") || n.contains("text") => Storage::Text,
        n if n.contains("real") || n.contains("floa") || n.contains("doub") => Storage::Double,
        "" => Storage::Other,
        n if n.contains("blob") => Storage::Other,
        _ => Storage::Decimal,
    };
    let (precision, scale, length) = match storage {
        Storage::Decimal => (
            numbers.first().copied(),
            numbers.get(1).copied().or(numbers.first().map(|_| 0)),
            None,
        ),
        Storage::Text => (None, None, numbers.first().copied()),
        _ => (None, None, None),
    };
    ColumnType {
        declared: lower,
        storage,
        precision,
        scale,
        length,
    }
}

/// Why a field of `kind` cannot be kept in a column of `column`'s type on `dialect`, with
/// what to use instead; `None` when it round-trips.
pub fn mismatch(kind: Kind, column: &ColumnType, dialect: Dialect) -> Option<String> {
    let sqlite = dialect == Dialect::Sqlite;
    let fits = match kind {
        Kind::Integer => column.storage == Storage::Integer,
        Kind::Number => matches!(column.storage, Storage::Decimal | Storage::Double),
        Kind::Boolean => column.storage == Storage::Boolean,
        Kind::Text => column.storage == Storage::Text,
        Kind::Timestamp => {
            column.storage == Storage::Timestamp || (sqlite && column.storage == Storage::Text)
        }
        Kind::Date => {
            column.storage == Storage::Date || (sqlite && column.storage == Storage::Text)
        }
        Kind::Uuid => {
            column.storage == Storage::Uuid || (sqlite && column.storage == Storage::Text)
        }
        Kind::Json => {
            column.storage == Storage::Json || (sqlite && column.storage == Storage::Text)
        }
        Kind::IdList => true,
    };
    if fits {
        return None;
    }
    let because = match (kind, column.storage) {
        (Kind::Number, Storage::Single) => {
            "a `real` keeps 4 bytes, so a number does not come back as it was sent".to_owned()
        }
        (Kind::Number, Storage::Integer) => "an integer column cuts a number's fraction".into(),
        (Kind::Timestamp, Storage::NaiveTimestamp) => {
            "a timestamp without time zone is read in the session's zone".into()
        }
        (Kind::Text, Storage::Date | Storage::Uuid | Storage::Json) => format!(
            "the column refuses or rewrites text that is not {}; declare the property's format in the schema ({})",
            storage_name(column.storage),
            schema_for(column.storage)
        ),
        _ => "its values would not read back as they were written".to_owned(),
    };
    Some(format!(
        "{because}: use {} for {}",
        column_for(kind, dialect),
        kind_name(kind)
    ))
}

/// How a kind is written in the schema, for messages.
pub fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Integer => "`type: integer`",
        Kind::Number => "`type: number`",
        Kind::Boolean => "`type: boolean`",
        Kind::Text => "`type: string`",
        Kind::Timestamp => "`type: string, format: date-time`",
        Kind::Date => "`type: string, format: date`",
        Kind::Uuid => "`type: string, format: uuid`",
        Kind::Json => "`type: object`",
        Kind::IdList => "an array of integers",
    }
}

/// The column types that serve a kind on a database (README, "Column types").
fn column_for(kind: Kind, dialect: Dialect) -> &'static str {
    let sqlite = dialect == Dialect::Sqlite;
    match kind {
        Kind::Integer => "`bigint`, `integer` or `smallint`",
        Kind::Number if sqlite => "`real`, `numeric` or `numeric(p,s)`",
        Kind::Number => "`double precision`, `numeric` or `numeric(p,s)`",
        Kind::Boolean => "`boolean`",
        Kind::Text => "`text`, `varchar(n)` or `char(n)`",
        Kind::Timestamp if sqlite => "`text` (UTC, six fraction digits)",
        Kind::Timestamp => "`timestamptz`",
        Kind::Date if sqlite => "`date` or `text`",
        Kind::Date => "`date`",
        Kind::Uuid if sqlite => "`uuid` or `text`",
        Kind::Uuid => "`uuid`",
        Kind::Json if sqlite => "`json` or `text`",
        Kind::Json => "`jsonb` or `json`",
        Kind::IdList => "a relation",
    }
}

fn storage_name(storage: Storage) -> &'static str {
    match storage {
        Storage::Date => "a date",
        Storage::Uuid => "a UUID",
        _ => "JSON",
    }
}

fn schema_for(storage: Storage) -> &'static str {
    match storage {
        Storage::Date => "`format: date`",
        Storage::Uuid => "`format: uuid`",
        _ => "`type: object`",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_declared_types_read_by_affinity() {
        let t = sqlite_type("NUMERIC(12, 2)");
        assert_eq!(
            (t.storage, t.precision, t.scale),
            (Storage::Decimal, Some(12), Some(2))
        );
        assert_eq!(sqlite_type("numeric").scale, None);
        assert_eq!(sqlite_type("varchar(200)").length, Some(200));
        assert_eq!(sqlite_type("BIGINT").storage, Storage::Integer);
        assert_eq!(sqlite_type("real").storage, Storage::Double);
        assert_eq!(sqlite_type("boolean").storage, Storage::Boolean);
        assert_eq!(sqlite_type("").storage, Storage::Other);
    }

    #[test]
    fn pairings_that_do_not_round_trip_are_explained() {
        let real = postgres_type("float4", None, None, None);
        let why = mismatch(Kind::Number, &real, Dialect::Postgres).unwrap_or_default();
        assert!(why.contains("use `double precision`"), "{why}");
        assert_eq!(real.declared, "real");
        let numeric = postgres_type("numeric", Some(12), Some(2), None);
        assert_eq!(numeric.declared, "numeric(12,2)");
        assert_eq!(mismatch(Kind::Number, &numeric, Dialect::Postgres), None);
        assert!(mismatch(Kind::Integer, &numeric, Dialect::Postgres).is_some());
        let date = postgres_type("date", None, None, None);
        let why = mismatch(Kind::Text, &date, Dialect::Postgres).unwrap_or_default();
        assert!(why.contains("`format: date`"), "{why}");
        assert_eq!(
            mismatch(Kind::Date, &sqlite_type("text"), Dialect::Sqlite),
            None
        );
    }
}
