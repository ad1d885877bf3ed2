//! The database: the pool, migrations, running statements, decoding rows into JSON, and
//! mapping database failures to what the client should hear. The only module that does
//! database IO. PostgreSQL (tokio-postgres, `postgres.rs`) and SQLite (sqlx, `sqlite.rs`)
//! each have one code path, chosen once when the pool is made; everything above sees one
//! [`Db`] and one [`Row`]. Migrations run on sqlx for both.

pub mod catalog;
pub mod explain;
mod postgres;
pub mod reach;
mod sqlite;
pub mod tls;

use std::path::Path;

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde_json::{Map, Value};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Arguments, Row as _, SqlSafeStr, SqlitePool};

use crate::config::Limits;
use crate::contract::{Field, Source, Spec};
use crate::plan::{Columns, Kind, SqlValue, Storage, canonical_json};
use crate::sql::{Dialect, Statement};

pub use sqlite::{register_functions, upper};

/// A failure talking to the database.
#[derive(Debug)]
pub enum DbError {
    /// A unique constraint refused a write.
    Unique,
    /// A value the database cannot store (out of range, too long, NULL where not allowed):
    /// the schema is looser than the table, but the client sent the value.
    Data(String),
    /// The database cannot be reached or gave up (connection, pool, timeout, busy).
    Unavailable(String),
    /// Anything else: a bug in the gateway or in the spec.
    Other(String),
}

/// What the client's error detail and the log say.
impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbError::Unique => f.write_str("a unique constraint refused the write"),
            DbError::Data(detail) => write!(f, "the database refused the value: {detail}"),
            DbError::Unavailable(detail) => write!(f, "the database is unavailable: {detail}"),
            DbError::Other(detail) => write!(f, "the database failed: {detail}"),
        }
    }
}

/// sqlx's failures: SQLite's (PostgreSQL's come from tokio-postgres, see `postgres::error`).
impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => DbError::Unique,
            sqlx::Error::Database(db) => {
                let code = db.code().unwrap_or_default();
                if sqlite::is_data_error(&code) {
                    DbError::Data(db.message().to_owned())
                } else if sqlite::is_unavailable(&code) {
                    DbError::Unavailable(e.to_string())
                } else {
                    DbError::Other(e.to_string())
                }
            }
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Tls(_) => DbError::Unavailable(e.to_string()),
            _ => DbError::Other(e.to_string()),
        }
    }
}

/// The connections, to PostgreSQL or to an SQLite file.
#[derive(Clone)]
pub enum Db {
    /// `postgres://` or `postgresql://`: shared, pipelined tokio-postgres connections.
    Postgres(std::sync::Arc<postgres::Clients>),
    /// `sqlite:`.
    Sqlite(SqlitePool),
}

/// The database a URL names, with nothing connected yet.
pub fn dialect_of(url: &str) -> Result<Dialect, String> {
    if url.starts_with("sqlite:") {
        Ok(Dialect::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Dialect::Postgres)
    } else {
        Err(format!(
            "DATABASE_URL must start with sqlite: or postgres:// (got {:?})",
            url.split(':').next().unwrap_or_default()
        ))
    }
}

impl Db {
    /// Connects lazily: the gateway starts even while the database is down. An SQLite file
    /// is created if missing.
    pub fn connect(url: &str, max_connections: u32, limits: &Limits) -> Result<Db, String> {
        Db::open(url, max_connections, limits, true)
    }

    /// Connects to a database that must exist already (for `check`, which only looks).
    pub fn connect_existing(url: &str, limits: &Limits) -> Result<Db, String> {
        Db::open(url, 1, limits, false)
    }

    fn open(url: &str, max_connections: u32, limits: &Limits, create: bool) -> Result<Db, String> {
        match dialect_of(url)? {
            Dialect::Sqlite => Ok(Db::Sqlite(sqlite::pool(
                url,
                max_connections,
                limits,
                create,
            )?)),
            Dialect::Postgres => Ok(Db::Postgres(std::sync::Arc::new(postgres::Clients::new(
                url,
                max_connections,
                limits,
            )?))),
        }
    }

    /// The pool's connections: open, and busy (lent out, or with a statement in flight).
    pub fn connections(&self) -> (usize, usize) {
        match self {
            Db::Postgres(clients) => clients.state(),
            Db::Sqlite(pool) => {
                let open = pool.size() as usize;
                (open, open.saturating_sub(pool.num_idle()))
            }
        }
    }

    /// Which SQL this database speaks.
    pub fn dialect(&self) -> Dialect {
        match self {
            Db::Postgres(_) => Dialect::Postgres,
            Db::Sqlite(_) => Dialect::Sqlite,
        }
    }

    /// Applies the migrations in `dir` that have not run yet: the files for every database
    /// (`0001_name.sql`) and those for this one (`0001_name.postgres.sql`,
    /// `0001_name.sqlite.sql`).
    pub async fn migrate(&self, dir: &Path) -> Result<(), String> {
        let migrator = Migrator::with_migrations(migrations(dir, self.dialect())?);
        let result = match self {
            Db::Postgres(clients) => {
                // Migrations stay on sqlx, on a connection of their own.
                let pool = sqlx::PgPool::connect(clients.url())
                    .await
                    .map_err(|e| format!("cannot connect to run the migrations: {e}"))?;
                let result = migrator.run(&pool).await;
                pool.close().await;
                result
            }
            Db::Sqlite(pool) => migrator.run(pool).await,
        };
        result.map_err(|e| migration_failure(dir, self.dialect(), e))
    }

    /// What each statement's plan does with `table`, when the database may avoid reading
    /// whole tables wherever an index allows (PostgreSQL's `enable_seqscan` off, in a
    /// transaction of its own that changes nothing; SQLite plans so already): whether an
    /// index can serve it, not what the planner picks for today's (maybe tiny) table.
    pub async fn explain(
        &self,
        table: &str,
        statements: &[Statement],
    ) -> Result<Vec<explain::Reading>, DbError> {
        match self {
            Db::Postgres(clients) => clients
                .explain(statements)
                .await?
                .iter()
                .map(|json| explain::postgres(json, table))
                .collect(),
            Db::Sqlite(pool) => {
                let mut readings = Vec::with_capacity(statements.len());
                for st in statements {
                    let mut asked = st.clone();
                    asked.sql = format!("EXPLAIN QUERY PLAN {}", st.sql);
                    let details: Vec<String> = sqlite_query(&asked)?
                        .fetch_all(pool)
                        .await?
                        .iter()
                        .map(|row| row.try_get::<String, _>(3))
                        .collect::<Result<_, _>>()?;
                    readings.push(explain::sqlite(&details));
                }
                Ok(readings)
            }
        }
    }

    /// Runs a statement and returns every row.
    pub async fn rows(&self, st: &Statement) -> Result<Vec<Row>, DbError> {
        Ok(match self {
            Db::Postgres(clients) => clients
                .rows(st)
                .await?
                .into_iter()
                .map(Row::Postgres)
                .collect(),
            Db::Sqlite(pool) => sqlite_query(st)?
                .fetch_all(pool)
                .await?
                .into_iter()
                .map(Row::Sqlite)
                .collect(),
        })
    }

    /// Runs a statement and returns its first row, if any.
    pub async fn row(&self, st: &Statement) -> Result<Option<Row>, DbError> {
        Ok(match self {
            Db::Postgres(_) => self.rows(st).await?.into_iter().next(),
            Db::Sqlite(pool) => sqlite_query(st)?
                .fetch_optional(pool)
                .await?
                .map(Row::Sqlite),
        })
    }

    /// Runs a write in a transaction of its own and commits it only when `accept` takes
    /// its first row (builds the answer from it): a write whose answer cannot be made is
    /// rolled back, never left behind an error. `None` when the statement gave no row.
    ///
    /// With a `guard`, the guard statement runs first in the same transaction (locking
    /// the row it reads, on PostgreSQL; SQLite's `BEGIN IMMEDIATE` holds every other
    /// writer off) and `check` judges its row: a refusal is rolled back and answered
    /// before the write runs, so no other write can come between the check and the write.
    pub async fn write<T, E>(
        &self,
        guard: Option<&Statement>,
        check: impl FnOnce(Option<Row>) -> Result<(), E>,
        st: &Statement,
        accept: impl FnOnce(Row) -> Result<T, E>,
    ) -> Result<Option<Result<T, E>>, DbError> {
        match self {
            Db::Postgres(clients) => {
                let check = |row: Option<_>| check(row.map(Row::Postgres));
                clients
                    .write(guard, check, st, |row| accept(Row::Postgres(row)))
                    .await
            }
            Db::Sqlite(pool) => {
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                if let Some(guard) = guard {
                    let current = sqlite_query(guard)?.fetch_optional(&mut *tx).await?;
                    if let Err(refused) = check(current.map(Row::Sqlite)) {
                        tx.rollback().await?;
                        return Ok(Some(Err(refused)));
                    }
                }
                let row = sqlite_query(st)?.fetch_optional(&mut *tx).await?;
                let outcome = row.map(|row| accept(Row::Sqlite(row)));
                if matches!(outcome, Some(Ok(_))) {
                    tx.commit().await?;
                } else {
                    tx.rollback().await?;
                }
                Ok(outcome)
            }
        }
    }

    /// Every problem between the spec and the database, as sentences: a `(table, column)`
    /// the spec names that the database lacks, and a column whose type cannot keep its
    /// field's values (with what to use instead). Each resource's column types are kept
    /// with it for its writes.
    pub async fn missing_columns(&self, spec: &Spec) -> Result<Vec<String>, DbError> {
        let mut problems = Vec::new();
        for resource in &spec.resources {
            let table = resource.table.name().into_owned();
            let columns = self.table_columns(&table).await?;
            if columns.is_empty() {
                problems.push(no_table(&resource.name, &table));
                continue;
            }
            for field in &resource.fields {
                match &field.source {
                    Source::Column(c) => {
                        let column = c.name().into_owned();
                        match columns.get(&column) {
                            None => problems.push(no_column(&resource.name, &table, &column)),
                            Some(found) => problems.extend(
                                catalog::mismatch(field.kind, found, self.dialect()).map(|why| {
                                    format!(
                                        "resource {:?}: field {:?} ({}) cannot be kept in column {table}.{column} of type `{}` on {}: {why}",
                                        resource.name,
                                        field.name,
                                        catalog::kind_name(field.kind),
                                        found.declared,
                                        self.dialect().name()
                                    )
                                }),
                            ),
                        }
                    }
                    Source::Relation {
                        through,
                        source,
                        target,
                    } => {
                        let through = through.name().into_owned();
                        let joined = self.table_columns(&through).await?;
                        if joined.is_empty() {
                            problems.push(no_table(&resource.name, &through));
                            continue;
                        }
                        for c in [source, target] {
                            let column = c.name().into_owned();
                            if !joined.contains_key(&column) {
                                problems.push(no_column(&resource.name, &through, &column));
                            }
                        }
                    }
                }
            }
            if let Some(problem) = version_problem(resource, &table, &columns) {
                problems.push(problem);
            }
            // Another check of the same contract may have set them first: equal. A table
            // that does not exist yet keeps nothing, so a write reads it again.
            if !columns.is_empty() {
                let _ = resource.columns.set(columns);
            }
        }
        Ok(problems)
    }

    /// The column types of `table` (none when there is no such table).
    pub async fn table_columns(&self, table: &str) -> Result<Columns, DbError> {
        match self {
            Db::Postgres(clients) => clients.table_columns(table).await,
            Db::Sqlite(pool) => {
                let rows: Vec<(String, String)> =
                    sqlx::query_as("SELECT name, type FROM pragma_table_info(?1)")
                        .bind(table)
                        .fetch_all(pool)
                        .await?;
                Ok(rows
                    .into_iter()
                    .map(|(name, declared)| (name, catalog::sqlite_type(&declared)))
                    .collect())
            }
        }
    }

    /// Whether the database answers now (for the readiness endpoint).
    pub async fn ready(&self) -> Result<(), DbError> {
        match self {
            Db::Postgres(clients) => clients.ready().await?,
            Db::Sqlite(pool) => sqlx::query("SELECT 1").execute(pool).await.map(|_| ())?,
        }
        Ok(())
    }

    /// Closes the pool, waiting for connections in use.
    pub async fn close(&self) {
        match self {
            Db::Postgres(clients) => clients.close(),
            Db::Sqlite(pool) => pool.close().await,
        }
    }
}

/// What is wrong with a resource's version column, if anything: it must be an integer
/// column of the table.
fn version_problem(
    resource: &crate::contract::Resource,
    table: &str,
    columns: &Columns,
) -> Option<String> {
    let column = resource.version.as_ref()?.name().into_owned();
    match columns.get(&column) {
        None => Some(no_column(&resource.name, table, &column)),
        Some(found) if found.storage != Storage::Integer => Some(format!(
            "resource {:?}: the version column {table}.{column} is `{}`, not an integer column",
            resource.name, found.declared
        )),
        Some(_) => None,
    }
}

/// The message for a column the database lacks.
fn no_table(resource: &str, table: &str) -> String {
    format!(
        "resource {resource:?}: table {table} does not exist in the database: run `specgate \
         migrate` (or check the table's name in routes.yaml and the migrations)"
    )
}

fn no_column(resource: &str, table: &str, column: &str) -> String {
    format!("resource {resource:?}: the database has no column {table}.{column}")
}

/// The migrations in `dir` that apply to `dialect`, read from `NNNN_description.sql` files,
/// optionally suffixed `.postgres.sql` or `.sqlite.sql`. A version given twice for one
/// database is an error. A spec folder without `migrations/` has none (a route table that
/// only proxies needs no tables).
pub fn migrations(dir: &Path, dialect: Dialect) -> Result<Vec<Migration>, String> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read migrations in {}: {e}", dir.display()))?;
    let mut found: Vec<Migration> = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot read migrations in {}: {e}", dir.display()))?
            .path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some((version, description, only)) = migration_name(name) else {
            continue;
        };
        if only.is_some_and(|d| d != dialect) {
            continue;
        }
        let version: i64 = version.parse().map_err(|_| {
            format!(
                "migration {}: the name must start with a version number and `_`",
                path.display()
            )
        })?;
        if found.iter().any(|m| m.version == version) {
            return Err(format!(
                "migrations in {}: version {version} is given twice for {}",
                dir.display(),
                dialect.name()
            ));
        }
        let sql = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let no_tx = sql.starts_with("-- no-transaction");
        found.push(Migration::new(
            version,
            description.replace('_', " ").into(),
            MigrationType::Simple,
            sqlx::AssertSqlSafe(sql).into_sql_str(),
            no_tx,
        ));
    }
    found.sort_by_key(|m| m.version);
    Ok(found)
}

/// A migration file's name read as its version (not yet a number), description and the one
/// database it is for; `None` for a file that is not a migration.
fn migration_name(name: &str) -> Option<(&str, &str, Option<Dialect>)> {
    let stem = name.strip_suffix(".sql")?;
    let (stem, only) = match stem.rsplit_once('.') {
        Some((stem, "postgres")) => (stem, Some(Dialect::Postgres)),
        Some((stem, "sqlite")) => (stem, Some(Dialect::Sqlite)),
        _ => (stem, None),
    };
    let (version, description) = stem.split_once('_').unwrap_or((stem, ""));
    Some((version, description, only))
}

/// The file in `dir` holding migration `version` for `dialect`, for messages.
fn migration_file(dir: &Path, version: i64, dialect: Dialect) -> Option<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|path| {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            migration_name(name).is_some_and(|(v, _, only)| {
                v.parse() == Ok(version) && only.is_none_or(|d| d == dialect)
            })
        })
}

/// A failed migration run in words: which file, and the way out.
fn migration_failure(dir: &Path, dialect: Dialect, e: sqlx::migrate::MigrateError) -> String {
    use sqlx::migrate::MigrateError;
    let file = |version| {
        migration_file(dir, version, dialect)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| format!("migration {version}"))
    };
    match e {
        MigrateError::VersionMismatch(v) => format!(
            "{} was changed after it was applied to this database: put it back as it was, and \
             make the change in a new migration with a higher number (or, for a database you \
             can throw away, delete it and start again)",
            file(v)
        ),
        MigrateError::VersionMissing(v) => format!(
            "migration {v} was applied to this database, but no file in {} holds it any more: \
             put the file back",
            dir.display()
        ),
        MigrateError::ExecuteMigration(cause, v) => format!("{} failed: {cause}", file(v)),
        MigrateError::Dirty(v) => format!(
            "{} was only partly applied: repair the database by hand, then delete its row \
             from _sqlx_migrations",
            file(v)
        ),
        other => format!("migration failed: {other}"),
    }
}

/// The statement for SQLite (prepared and cached per connection). Lists travel as one JSON
/// array text, which the statement reads with `json_each`.
fn sqlite_query(
    st: &Statement,
) -> Result<sqlx::query::Query<'static, sqlx::Sqlite, SqliteArguments>, DbError> {
    let sql = sqlx::AssertSqlSafe(st.sql.clone());
    let mut args = SqliteArguments::default();
    for value in &st.params {
        let added = match value {
            SqlValue::Int(v) => args.add(*v),
            SqlValue::Float(v) => args.add(*v),
            SqlValue::Bool(v) => args.add(*v),
            SqlValue::Text(v) => args.add(v.clone()),
            SqlValue::TextList(v) => args.add(Value::from(v.clone()).to_string()),
            SqlValue::IntList(v) => args.add(Value::from(v.clone()).to_string()),
            SqlValue::FloatList(v) => args.add(Value::from(v.clone()).to_string()),
            SqlValue::BoolList(v) => args.add(Value::from(v.clone()).to_string()),
        };
        added.map_err(|e| DbError::Other(format!("cannot bind parameter: {e}")))?;
    }
    Ok(sqlx::query_with(sql, args))
}

/// One row of a result, from either database.
pub enum Row {
    /// From PostgreSQL.
    Postgres(tokio_postgres::Row),
    /// From SQLite.
    Sqlite(SqliteRow),
}

impl Row {
    /// Column `at` as `T`, `None` for NULL.
    fn get<T>(&self, at: usize) -> Result<Option<T>, DbError>
    where
        T: for<'r> tokio_postgres::types::FromSql<'r>
            + for<'r> sqlx::Decode<'r, sqlx::Sqlite>
            + sqlx::Type<sqlx::Sqlite>,
    {
        match self {
            Row::Postgres(row) => pg_column(row, at),
            Row::Sqlite(row) => Ok(row.try_get::<Option<T>, _>(at)?),
        }
    }

    fn timestamp(&self, at: usize) -> Result<Option<DateTime<Utc>>, DbError> {
        match self {
            Row::Postgres(row) => pg_column(row, at),
            Row::Sqlite(row) => sqlite_text_as(row, at, "a timestamp", sqlite::read_timestamp),
        }
    }

    /// A number; SQLite gives back what its affinity stored (a NUMERIC column keeps 100 as
    /// INTEGER and 1.5 as REAL), and both are numbers.
    fn number(&self, at: usize) -> Result<Option<f64>, DbError> {
        let Row::Sqlite(row) = self else {
            return self.get::<f64>(at);
        };
        let raw = row.try_get_raw(at)?;
        if sqlx::ValueRef::is_null(&raw) {
            return Ok(None);
        }
        let stored = sqlx::TypeInfo::name(&*sqlx::ValueRef::type_info(&raw)).to_owned();
        match stored.as_str() {
            "INTEGER" => Ok(row.try_get::<Option<i64>, _>(at)?.map(|i| i as f64)),
            "REAL" => Ok(row.try_get::<Option<f64>, _>(at)?),
            _ => Err(DbError::Other(format!(
                "column {at} holds {stored} where a number was expected"
            ))),
        }
    }

    /// A JSON document, stored as jsonb or json (read as text) or as SQLite text.
    fn json(&self, at: usize) -> Result<Option<Value>, DbError> {
        self.get::<String>(at)?
            .map(|text| {
                serde_json::from_str(&text)
                    .map(canonical_json)
                    .map_err(|e| DbError::Other(format!("column {at} is not JSON: {e}")))
            })
            .transpose()
    }

    fn id_list(&self, at: usize) -> Result<Option<Vec<i64>>, DbError> {
        match self {
            Row::Postgres(row) => pg_column(row, at),
            Row::Sqlite(row) => sqlite_text_as(row, at, "a JSON id list", |json| {
                serde_json::from_str(json).ok()
            }),
        }
    }

    fn len(&self) -> usize {
        match self {
            Row::Postgres(row) => row.len(),
            Row::Sqlite(row) => row.len(),
        }
    }
}

/// Column `at` of a PostgreSQL row.
fn pg_column<T>(row: &tokio_postgres::Row, at: usize) -> Result<Option<T>, DbError>
where
    T: for<'r> tokio_postgres::types::FromSql<'r>,
{
    row.try_get::<_, Option<T>>(at)
        .map_err(|e| DbError::Other(format!("column {at}: {e}")))
}

/// Column `at` of an SQLite row, stored as text and read by `parse` (which says `what` it
/// expected when the text is not that).
fn sqlite_text_as<T>(
    row: &SqliteRow,
    at: usize,
    what: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, DbError> {
    row.try_get::<Option<String>, _>(at)?
        .map(|text| {
            parse(&text)
                .ok_or_else(|| DbError::Other(format!("column {at} is not {what}: {text:?}")))
        })
        .transpose()
}

/// Decodes the representation's fields from `row`, starting at column `start`.
pub fn decode(row: &Row, fields: &[Field], start: usize) -> Result<Map<String, Value>, DbError> {
    let mut object = Map::with_capacity(fields.len());
    for (i, field) in fields.iter().enumerate() {
        let at = start + i;
        let value = match field.kind {
            Kind::Integer => row.get::<i64>(at)?.map(Value::from),
            Kind::Number => row.number(at)?.map(Value::from),
            Kind::Boolean => row.get::<bool>(at)?.map(Value::from),
            Kind::Text | Kind::Date | Kind::Uuid => row.get::<String>(at)?.map(Value::from),
            Kind::Json => row.json(at)?,
            Kind::Timestamp => row.timestamp(at)?.map(|t| Value::from(timestamp(t))),
            Kind::IdList => row.id_list(at)?.map(Value::from),
        };
        object.insert(field.name.clone(), value.unwrap_or(Value::Null));
    }
    Ok(object)
}

/// Whether column `at` is SQL NULL (an empty page of a list).
pub fn is_null(row: &Row, at: usize) -> bool {
    match row {
        Row::Postgres(row) => postgres::is_null(row, at),
        Row::Sqlite(row) => row
            .try_get_raw(at)
            .map(|v| sqlx::ValueRef::is_null(&v))
            .unwrap_or(true),
    }
}

/// An integer column.
pub fn int(row: &Row, at: usize) -> Result<i64, DbError> {
    row.get::<i64>(at)?
        .ok_or_else(|| DbError::Other(format!("column {at} is NULL")))
}

/// The boolean columns of a row, in order.
pub fn bools(row: &Row) -> Result<Vec<bool>, DbError> {
    (0..row.len())
        .map(|i| Ok(row.get::<bool>(i)?.unwrap_or(false)))
        .collect()
}

/// DRF's timestamp: UTC, microseconds, the fraction left out when it is zero.
pub fn timestamp(t: DateTime<Utc>) -> String {
    use std::fmt::Write;
    let micros = t.nanosecond() / 1000;
    if !(0..=9999).contains(&t.year()) || micros >= 1_000_000 {
        // Outside what four digits hold (or a leap second): chrono's general formatter.
        let format = if micros == 0 {
            "%Y-%m-%dT%H:%M:%SZ"
        } else {
            "%Y-%m-%dT%H:%M:%S%.6fZ"
        };
        return t.format(format).to_string();
    }
    // Written directly: chrono's `format` parses its pattern on every call, and this runs
    // for every timestamp of every row.
    let mut out = String::with_capacity(27);
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    if micros != 0 {
        let _ = write!(out, ".{micros:06}");
    }
    out.push('Z');
    out
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
