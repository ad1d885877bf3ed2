//! PostgreSQL on tokio-postgres: a few long-lived connections shared by every request.
//!
//! Requests are not given a connection of their own: each statement goes to the live
//! connection with the fewest statements in flight, and statements sent on one connection
//! are pipelined (the next is written before the previous has answered). A statement is
//! prepared once per connection and reused, or sent unnamed with its types when it must be
//! planned for its values; either way a request costs one round trip. sqlx, which the
//! SQLite side and migrations use, costs two or three here (it pings the connection it
//! lends), which is what the benchmark measured against.

use std::collections::HashMap;
use std::error::Error as _;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::BytesMut;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use tokio_postgres::{Client, Config, Row, Statement as Prepared};

use super::tls::PgTls;
use super::{DbError, catalog};
use crate::config::Limits;
use crate::plan::{Columns, SqlValue};
use crate::sql::Statement;

/// How many distinct statements a connection keeps prepared before it starts over.
const PREPARED_CAPACITY: usize = 512;

/// The shared connections.
pub struct Clients {
    url: String,
    config: Config,
    /// How connections are encrypted (`sslmode`, `sslrootcert`).
    tls: PgTls,
    /// The session setting the start-up options make, as the statement log shows it.
    session: String,
    slots: Vec<Slot>,
    /// Connections each lent whole to one write at a time, for its transaction (the
    /// shared ones cannot hold one: other requests' statements travel on them).
    writers: Vec<tokio::sync::Mutex<Writer>>,
    /// Which writer a write waits for when all are busy (in turn).
    next_writer: AtomicUsize,
    connect_timeout: Duration,
}

/// A connection for writes, and whether a transaction may still be open on it (its write
/// was dropped halfway): such a connection is closed, not reused.
#[derive(Default)]
struct Writer {
    conn: Option<Arc<Conn>>,
    open_transaction: bool,
}

/// One connection, opened on first need and reopened when it has closed.
struct Slot {
    conn: RwLock<Option<Arc<Conn>>>,
    connecting: tokio::sync::Mutex<()>,
}

struct Conn {
    client: Client,
    prepared: Mutex<HashMap<String, (Vec<Type>, Prepared)>>,
    in_flight: AtomicUsize,
}

/// Counts a statement as in flight on its connection while it lives.
struct InFlight(Arc<Conn>);

impl InFlight {
    fn new(conn: Arc<Conn>) -> InFlight {
        conn.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(conn)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Clients {
    /// The connections open now, and how many of them have a statement in flight.
    pub fn state(&self) -> (usize, usize) {
        let mut state = (0, 0);
        for slot in &self.slots {
            let conn = slot.conn.read().unwrap_or_else(|e| e.into_inner());
            if let Some(conn) = conn.as_ref().filter(|c| !c.client.is_closed()) {
                state.0 += 1;
                state.1 += usize::from(conn.in_flight.load(Ordering::Relaxed) > 0);
            }
        }
        for writer in &self.writers {
            match writer.try_lock() {
                Ok(idle) if idle.conn.as_ref().is_some_and(|c| !c.client.is_closed()) => {
                    state.0 += 1
                }
                Ok(_) => {}
                Err(_) => state = (state.0 + 1, state.1 + 1),
            }
        }
        state
    }

    /// Up to `max_connections` connections to `url`, opened lazily; every statement is
    /// cancelled by the server after the statement timeout, and opening a connection gives
    /// up after the pool timeout.
    pub fn new(url: &str, max_connections: u32, limits: &Limits) -> Result<Clients, String> {
        let (tls, driver_url) =
            PgTls::from_url(url).map_err(|e| format!("bad DATABASE_URL: {e}"))?;
        let mut config =
            Config::from_str(&driver_url).map_err(|e| format!("bad DATABASE_URL: {e}"))?;
        config.options(format!(
            "-c statement_timeout={}",
            limits.statement_timeout.as_millis()
        ));
        config.connect_timeout(limits.pool_timeout);
        let slots = (0..max_connections.max(1))
            .map(|_| Slot {
                conn: RwLock::new(None),
                connecting: tokio::sync::Mutex::new(()),
            })
            .collect();
        let writers = (0..max_connections.max(1))
            .map(|_| tokio::sync::Mutex::default())
            .collect();
        Ok(Clients {
            url: url.to_owned(),
            config,
            tls,
            session: format!(
                "SET statement_timeout = {}",
                limits.statement_timeout.as_millis()
            ),
            slots,
            writers,
            next_writer: AtomicUsize::new(0),
            connect_timeout: limits.pool_timeout,
        })
    }

    /// The URL, for sqlx's migrator (which reads `sslmode` and `sslrootcert` itself).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs a statement and returns its rows.
    pub async fn rows(&self, st: &Statement) -> Result<Vec<Row>, DbError> {
        // The statement log (`--log specgate::statement=debug`): the benchmark replays it.
        tracing::debug!(target: "specgate::statement", statement = ?st.sql, "sent");
        let conn = self.conn().await?;
        let _counted = InFlight::new(conn.clone());
        conn.run(st).await.map_err(error)
    }

    /// Runs a write in a transaction of its own, on a connection lent to it alone, and
    /// commits only when `accept` takes its first row: a write whose answer cannot be made
    /// is rolled back. `None` when the statement gave no row (nothing to commit). A
    /// `guard` runs first in the transaction and `check` judges its row (see `Db::write`).
    pub async fn write<T, E>(
        &self,
        guard: Option<&Statement>,
        check: impl FnOnce(Option<Row>) -> Result<(), E>,
        st: &Statement,
        accept: impl FnOnce(Row) -> Result<T, E>,
    ) -> Result<Option<Result<T, E>>, DbError> {
        tracing::debug!(target: "specgate::statement", statement = ?st.sql, "sent in a transaction");
        let mut writer = self.writer().await?;
        if writer.open_transaction || writer.conn.as_ref().is_none_or(|c| c.client.is_closed()) {
            // Dropping the old connection closes it, which ends what it had open.
            writer.conn = Some(self.connect().await?);
        }
        let Some(conn) = writer.conn.clone() else {
            return Err(DbError::Unavailable("no database connection".into()));
        };
        writer.open_transaction = true;
        // Pipelined: BEGIN is written first, so the statements run inside it, and the two
        // cost one round trip. BEGIN fails only with its connection, which the mark above
        // then replaces.
        let (begun, ran) = tokio::join!(
            conn.client.batch_execute("BEGIN"),
            conn.transaction(guard, check, st, accept)
        );
        begun.map_err(error)?;
        let (end, result) = match ran {
            Ok(outcome) if matches!(outcome, Some(Ok(_))) => ("COMMIT", Ok(outcome)),
            Ok(outcome) => ("ROLLBACK", Ok(outcome)),
            Err(e) => ("ROLLBACK", Err(error(e))),
        };
        conn.client.batch_execute(end).await.map_err(error)?;
        writer.open_transaction = false;
        result
    }

    /// A free write connection, or (all busy) the wait for one, up to the pool timeout.
    async fn writer(&self) -> Result<tokio::sync::MutexGuard<'_, Writer>, DbError> {
        for writer in &self.writers {
            if let Ok(free) = writer.try_lock() {
                return Ok(free);
            }
        }
        let at = self.next_writer.fetch_add(1, Ordering::Relaxed) % self.writers.len();
        tokio::time::timeout(self.connect_timeout, self.writers[at].lock())
            .await
            .map_err(|_| DbError::Unavailable("timed out waiting for a write connection".into()))
    }

    /// `EXPLAIN (FORMAT JSON)` of each statement, planned for its values with
    /// `enable_seqscan` off, on a connection of its own in a transaction rolled back.
    pub async fn explain(&self, statements: &[Statement]) -> Result<Vec<String>, DbError> {
        let conn = self.connect().await?;
        conn.client
            .batch_execute("BEGIN; SET LOCAL enable_seqscan = off")
            .await
            .map_err(error)?;
        let mut plans = Vec::with_capacity(statements.len());
        for st in statements {
            let params: Vec<Param<'_>> = st.params.iter().map(Param).collect();
            let typed: Vec<(&(dyn ToSql + Sync), Type)> = params
                .iter()
                .map(|p| (p as &(dyn ToSql + Sync), type_of(p.0)))
                .collect();
            let sql = format!("EXPLAIN (FORMAT JSON) {}", st.sql);
            let rows = conn.client.query_typed(&sql, &typed).await.map_err(error)?;
            let plan = rows
                .first()
                .map(|row| row.try_get::<_, JsonText>(0))
                .transpose()
                .map_err(error)?;
            plans.push(plan.map(|p| p.0).unwrap_or_default());
        }
        conn.client.batch_execute("ROLLBACK").await.map_err(error)?;
        Ok(plans)
    }

    /// The column types of `table` in the current schema.
    pub async fn table_columns(&self, table: &str) -> Result<Columns, DbError> {
        let conn = self.conn().await?;
        let rows = conn
            .client
            .query(
                "SELECT column_name::text, udt_name::text, numeric_precision, numeric_scale, character_maximum_length \
                 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1",
                &[&table],
            )
            .await
            .map_err(error)?;
        rows.iter()
            .map(|row| {
                let read = |e: tokio_postgres::Error| DbError::Other(format!("catalog: {e}"));
                let name: String = row.try_get(0).map_err(read)?;
                let udt: String = row.try_get(1).map_err(read)?;
                let column = catalog::postgres_type(
                    &udt,
                    row.try_get(2).map_err(read)?,
                    row.try_get(3).map_err(read)?,
                    row.try_get(4).map_err(read)?,
                );
                Ok((name, column))
            })
            .collect()
    }

    /// Whether the server answers now.
    pub async fn ready(&self) -> Result<(), DbError> {
        let conn = self.conn().await?;
        conn.client
            .simple_query("SELECT 1")
            .await
            .map(|_| ())
            .map_err(error)
    }

    /// Drops every connection (statements in flight finish first: they hold their own).
    pub fn close(&self) {
        for slot in &self.slots {
            if let Ok(mut conn) = slot.conn.write() {
                *conn = None;
            }
        }
        // A writer in use is left to its write; it goes with the pool.
        for writer in &self.writers {
            if let Ok(mut idle) = writer.try_lock() {
                idle.conn = None;
            }
        }
    }

    /// An idle live connection if there is one; else a new one while fewer than the
    /// maximum are open; else the live one with the fewest statements in flight.
    async fn conn(&self) -> Result<Arc<Conn>, DbError> {
        let mut best: Option<Arc<Conn>> = None;
        let mut empty: Option<&Slot> = None;
        for slot in &self.slots {
            match slot.live() {
                Some(conn) if conn.in_flight.load(Ordering::Relaxed) == 0 => return Ok(conn),
                Some(conn) => {
                    let fewer = best.as_ref().is_none_or(|b| {
                        conn.in_flight.load(Ordering::Relaxed) < b.in_flight.load(Ordering::Relaxed)
                    });
                    if fewer {
                        best = Some(conn);
                    }
                }
                None if empty.is_none() => empty = Some(slot),
                None => {}
            }
        }
        match (empty, best) {
            (Some(slot), _) => self.open(slot).await,
            (None, Some(conn)) => Ok(conn),
            (None, None) => Err(DbError::Unavailable("no database connection".into())),
        }
    }

    /// Opens the connection of `slot` (or takes the one another request just opened).
    async fn open(&self, slot: &Slot) -> Result<Arc<Conn>, DbError> {
        let wait = tokio::time::timeout(self.connect_timeout, slot.connecting.lock()).await;
        let _guard =
            wait.map_err(|_| DbError::Unavailable("timed out waiting for a connection".into()))?;
        if let Some(conn) = slot.live() {
            return Ok(conn);
        }
        let conn = self.connect().await?;
        if let Ok(mut stored) = slot.conn.write() {
            *stored = Some(conn.clone());
        }
        Ok(conn)
    }

    /// A new connection, its driver running on its own task.
    async fn connect(&self) -> Result<Arc<Conn>, DbError> {
        let connected =
            tokio::time::timeout(self.connect_timeout, self.config.connect(self.tls.clone()))
                .await
                .map_err(|_| DbError::Unavailable("timed out connecting to the database".into()))?;
        let (client, connection) = connected.map_err(error)?;
        tracing::debug!(target: "specgate::statement", statement = ?self.session, "session");
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %e, "database connection closed");
            }
        });
        Ok(Arc::new(Conn {
            client,
            prepared: Mutex::new(HashMap::new()),
            in_flight: AtomicUsize::new(0),
        }))
    }
}

impl Slot {
    fn live(&self) -> Option<Arc<Conn>> {
        let conn = self.conn.read().ok()?.clone()?;
        (!conn.client.is_closed()).then_some(conn)
    }
}

impl Conn {
    /// The statements of a write, inside its transaction: the guard and its check, then
    /// the write and its answer.
    async fn transaction<T, E>(
        &self,
        guard: Option<&Statement>,
        check: impl FnOnce(Option<Row>) -> Result<(), E>,
        st: &Statement,
        accept: impl FnOnce(Row) -> Result<T, E>,
    ) -> Result<Option<Result<T, E>>, tokio_postgres::Error> {
        if let Some(guard) = guard {
            tracing::debug!(target: "specgate::statement", statement = ?guard.sql, "guard");
            let current = self.run(guard).await?.into_iter().next();
            if let Err(refused) = check(current) {
                return Ok(Some(Err(refused)));
            }
        }
        Ok(self.run(st).await?.into_iter().next().map(accept))
    }

    /// Runs a statement on this connection: prepared once and reused, or sent with its
    /// types when it must be planned for its values.
    async fn run(&self, st: &Statement) -> Result<Vec<Row>, tokio_postgres::Error> {
        let params: Vec<Param<'_>> = st.params.iter().map(Param).collect();
        if st.plan_per_call {
            let typed: Vec<(&(dyn ToSql + Sync), Type)> = params
                .iter()
                .map(|p| (p as &(dyn ToSql + Sync), type_of(p.0)))
                .collect();
            return self.client.query_typed(&st.sql, &typed).await;
        }
        let prepared = self.prepare(&st.sql, &st.params).await?;
        let refs: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        self.client.query(&prepared, &refs).await
    }

    /// The statement prepared on this connection for `sql` with these parameter types.
    async fn prepare(
        &self,
        sql: &str,
        params: &[SqlValue],
    ) -> Result<Prepared, tokio_postgres::Error> {
        if let Some((known, prepared)) = self.cache().get(sql)
            && params.iter().map(type_of).eq(known.iter().cloned())
        {
            return Ok(prepared.clone());
        }
        let types: Vec<Type> = params.iter().map(type_of).collect();
        let prepared = self.client.prepare_typed(sql, &types).await?;
        let mut cache = self.cache();
        if cache.len() >= PREPARED_CAPACITY {
            cache.clear();
        }
        cache.insert(sql.to_owned(), (types, prepared.clone()));
        Ok(prepared)
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Vec<Type>, Prepared)>> {
        self.prepared.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Whether column `at` of `row` is NULL, whatever its type.
pub fn is_null(row: &Row, at: usize) -> bool {
    /// Any value at all: only whether there is one matters.
    struct Present;
    impl<'a> tokio_postgres::types::FromSql<'a> for Present {
        fn from_sql(
            _: &Type,
            _: &'a [u8],
        ) -> Result<Present, Box<dyn std::error::Error + Sync + Send>> {
            Ok(Present)
        }
        fn accepts(_: &Type) -> bool {
            true
        }
    }
    row.try_get::<_, Option<Present>>(at)
        .map(|v| v.is_none())
        .unwrap_or(true)
}

/// A `json` value's text (how EXPLAIN gives its JSON plan).
struct JsonText(String);

impl<'a> tokio_postgres::types::FromSql<'a> for JsonText {
    fn from_sql(
        _: &Type,
        raw: &'a [u8],
    ) -> Result<JsonText, Box<dyn std::error::Error + Sync + Send>> {
        Ok(JsonText(std::str::from_utf8(raw)?.to_owned()))
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::JSON
    }
}

/// The PostgreSQL type a value is sent as (the statement casts where the column differs).
fn type_of(value: &SqlValue) -> Type {
    match value {
        SqlValue::Int(_) => Type::INT8,
        SqlValue::Float(_) => Type::FLOAT8,
        SqlValue::Bool(_) => Type::BOOL,
        SqlValue::Text(_) => Type::TEXT,
        SqlValue::TextList(_) => Type::TEXT_ARRAY,
        SqlValue::IntList(_) => Type::INT8_ARRAY,
        SqlValue::FloatList(_) => Type::FLOAT8_ARRAY,
        SqlValue::BoolList(_) => Type::BOOL_ARRAY,
    }
}

/// A bound value, encoded as its own type.
#[derive(Debug)]
struct Param<'a>(&'a SqlValue);

impl ToSql for Param<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self.0 {
            SqlValue::Int(v) => v.to_sql(ty, out),
            SqlValue::Float(v) => v.to_sql(ty, out),
            SqlValue::Bool(v) => v.to_sql(ty, out),
            SqlValue::Text(v) => v.as_deref().to_sql(ty, out),
            SqlValue::TextList(v) => v.to_sql(ty, out),
            SqlValue::IntList(v) => v.to_sql(ty, out),
            SqlValue::FloatList(v) => v.to_sql(ty, out),
            SqlValue::BoolList(v) => v.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// What a tokio-postgres failure means for the client.
pub fn error(e: tokio_postgres::Error) -> DbError {
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        // tokio-postgres's own text is only "db error": the server's words say what happened.
        let said = || format!("{} (SQLSTATE {code})", db.message());
        return if code == "23505" {
            DbError::Unique
        } else if code.starts_with("22") || code == "23502" || code == "23514" {
            DbError::Data(db.message().to_owned())
        } else if code.starts_with("08") || code.starts_with("57P") || code == "57014" {
            DbError::Unavailable(said())
        } else {
            DbError::Other(said())
        };
    }
    let cause = e.source().map(|s| s.to_string());
    let text = match cause {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    };
    let io = e
        .source()
        .is_some_and(|s| s.downcast_ref::<std::io::Error>().is_some());
    if e.is_closed() || io {
        DbError::Unavailable(text)
    } else {
        DbError::Other(text)
    }
}
