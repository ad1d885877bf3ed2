//! The database: the pool, migrations, running statements, decoding rows into JSON, and
//! mapping database failures to what the client should hear. The only module that does
//! database IO.

use std::path::Path;

use chrono::{DateTime, Timelike, Utc};
use serde_json::{Map, Value};
use sqlx::postgres::{PgArguments, PgPoolOptions, PgRow};
use sqlx::{Arguments, PgPool, Row};

use crate::config::Limits;
use crate::plan::SqlValue;
use crate::spec::{Field, Kind, Spec};
use crate::sql::Statement;

/// A failure talking to the database.
#[derive(Debug)]
pub enum DbError {
    /// A unique constraint refused a write.
    Unique,
    /// A value the database cannot store (out of range, too long, NULL where not allowed):
    /// the schema is looser than the table, but the client sent the value.
    Data(String),
    /// The database cannot be reached or gave up (connection, pool, timeout).
    Unavailable(String),
    /// Anything else: a bug in the gateway or in the spec.
    Other(String),
}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => DbError::Unique,
            sqlx::Error::Database(db)
                if db
                    .code()
                    .is_some_and(|c| c.starts_with("22") || c == "23502" || c == "23514") =>
            {
                DbError::Data(db.message().to_owned())
            }
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Tls(_) => DbError::Unavailable(e.to_string()),
            sqlx::Error::Database(db)
                if db.code().is_some_and(|c| {
                    c.starts_with("08") || c.starts_with("57P") || c == "57014"
                }) =>
            {
                DbError::Unavailable(e.to_string())
            }
            _ => DbError::Other(e.to_string()),
        }
    }
}

/// The connection pool.
#[derive(Clone)]
pub struct Db {
    pool: PgPool,
}

impl Db {
    /// Connects lazily: the gateway starts even while the database is down.
    pub fn connect(url: &str, max_connections: u32, limits: &Limits) -> Result<Db, String> {
        let statement_timeout = format!(
            "SET statement_timeout = {}",
            limits.statement_timeout.as_millis()
        );
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(limits.pool_timeout)
            .after_connect(move |conn, _meta| {
                let statement_timeout = statement_timeout.clone();
                Box::pin(async move {
                    sqlx::Executor::execute(&mut *conn, sqlx::AssertSqlSafe(statement_timeout))
                        .await?;
                    Ok(())
                })
            })
            .connect_lazy(url)
            .map_err(|e| format!("bad DATABASE_URL: {e}"))?;
        Ok(Db { pool })
    }

    /// Applies the migrations in `dir` that have not run yet.
    pub async fn migrate(&self, dir: &Path) -> Result<(), String> {
        let migrator = sqlx::migrate::Migrator::new(dir)
            .await
            .map_err(|e| format!("cannot read migrations in {}: {e}", dir.display()))?;
        migrator
            .run(&self.pool)
            .await
            .map_err(|e| format!("migration failed: {e}"))
    }

    /// Runs a statement and returns every row.
    pub async fn rows(&self, st: &Statement) -> Result<Vec<PgRow>, DbError> {
        Ok(query(st)?.fetch_all(&self.pool).await?)
    }

    /// Runs a statement and returns its first row, if any.
    pub async fn row(&self, st: &Statement) -> Result<Option<PgRow>, DbError> {
        Ok(query(st)?.fetch_optional(&self.pool).await?)
    }

    /// Every `(table, column)` the spec names that the database lacks, as messages.
    pub async fn missing_columns(&self, spec: &Spec) -> Result<Vec<String>, DbError> {
        let mut wanted: Vec<(String, String, String)> = Vec::new();
        for resource in &spec.resources {
            let table = unquote(&resource.table);
            for field in &resource.fields {
                match &field.source {
                    crate::spec::Source::Column(c) => {
                        wanted.push((resource.name.clone(), table.clone(), unquote(c)))
                    }
                    crate::spec::Source::Relation {
                        through,
                        source,
                        target,
                    } => {
                        wanted.push((resource.name.clone(), unquote(through), unquote(source)));
                        wanted.push((resource.name.clone(), unquote(through), unquote(target)));
                    }
                }
            }
        }
        let mut missing = Vec::new();
        for (resource, table, column) in wanted {
            let found: Option<(i32,)> = sqlx::query_as(
                "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2",
            )
            .bind(&table)
            .bind(&column)
            .fetch_optional(&self.pool)
            .await?;
            if found.is_none() {
                missing.push(format!(
                    "resource {resource:?}: the database has no column {table}.{column}"
                ));
            }
        }
        Ok(missing)
    }

    /// Whether the database answers now (for the readiness endpoint).
    pub async fn ready(&self) -> Result<(), DbError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes the pool, waiting for connections in use.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn unquote(ident: &str) -> String {
    ident.trim_matches('"').replace("\"\"", "\"")
}

/// The statement ready to run: prepared once per connection and reused, unless it must be
/// planned for its values (then it is sent unnamed, which PostgreSQL plans at each call).
fn query(
    st: &Statement,
) -> Result<sqlx::query::Query<'static, sqlx::Postgres, PgArguments>, DbError> {
    let sql = sqlx::AssertSqlSafe(st.sql.clone());
    Ok(sqlx::query_with(sql, arguments(&st.params)?).persistent(!st.plan_per_call))
}

fn arguments(params: &[SqlValue]) -> Result<PgArguments, DbError> {
    let mut args = PgArguments::default();
    for value in params {
        let added = match value {
            SqlValue::Int(v) => args.add(*v),
            SqlValue::Float(v) => args.add(*v),
            SqlValue::Bool(v) => args.add(*v),
            SqlValue::Text(v) => args.add(v.clone()),
            SqlValue::TextList(v) => args.add(v.clone()),
            SqlValue::IntList(v) => args.add(v.clone()),
        };
        added.map_err(|e| DbError::Other(format!("cannot bind parameter: {e}")))?;
    }
    Ok(args)
}

/// Decodes the representation's fields from `row`, starting at column `start`.
pub fn decode(row: &PgRow, fields: &[Field], start: usize) -> Result<Map<String, Value>, DbError> {
    let mut object = Map::with_capacity(fields.len());
    for (i, field) in fields.iter().enumerate() {
        let at = start + i;
        let value = match field.kind {
            Kind::Integer => row.try_get::<Option<i64>, _>(at)?.map(Value::from),
            Kind::Number => row.try_get::<Option<f64>, _>(at)?.map(Value::from),
            Kind::Boolean => row.try_get::<Option<bool>, _>(at)?.map(Value::from),
            Kind::Text => row.try_get::<Option<String>, _>(at)?.map(Value::from),
            Kind::Timestamp => row
                .try_get::<Option<DateTime<Utc>>, _>(at)?
                .map(|t| Value::from(timestamp(t))),
            Kind::IdList => row.try_get::<Option<Vec<i64>>, _>(at)?.map(Value::from),
        };
        object.insert(field.name.clone(), value.unwrap_or(Value::Null));
    }
    Ok(object)
}

/// Whether column `at` is SQL NULL (an empty page of a list).
pub fn is_null(row: &PgRow, at: usize) -> bool {
    row.try_get_raw(at)
        .map(|v| sqlx::ValueRef::is_null(&v))
        .unwrap_or(true)
}

/// An integer column.
pub fn int(row: &PgRow, at: usize) -> Result<i64, DbError> {
    Ok(row.try_get::<i64, _>(at)?)
}

/// The boolean columns of a row, in order.
pub fn bools(row: &PgRow) -> Result<Vec<bool>, DbError> {
    (0..row.len())
        .map(|i| Ok(row.try_get::<bool, _>(i)?))
        .collect()
}

/// DRF's timestamp: UTC, microseconds, the fraction left out when it is zero.
pub fn timestamp(t: DateTime<Utc>) -> String {
    if t.nanosecond() / 1000 == 0 {
        t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn timestamps_render_like_drf() {
        let whole = Utc.with_ymd_and_hms(2025, 11, 6, 8, 0, 0).single();
        assert_eq!(
            whole.map(timestamp).as_deref(),
            Some("2025-11-06T08:00:00Z")
        );
        let fraction = whole.and_then(|t| t.with_nanosecond(364_302_000));
        assert_eq!(
            fraction.map(timestamp).as_deref(),
            Some("2025-11-06T08:00:00.364302Z")
        );
        let tiny = whole.and_then(|t| t.with_nanosecond(1_000));
        assert_eq!(
            tiny.map(timestamp).as_deref(),
            Some("2025-11-06T08:00:00.000001Z")
        );
    }

    #[test]
    fn connection_failures_are_unavailable() {
        assert!(matches!(
            DbError::from(sqlx::Error::PoolTimedOut),
            DbError::Unavailable(_)
        ));
        assert!(matches!(
            DbError::from(sqlx::Error::RowNotFound),
            DbError::Other(_)
        ));
    }
}
