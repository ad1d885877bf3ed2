//! Test harness: a real `specgate` process on its own fresh database, spoken to over real
//! HTTP/1.1 on loopback. Each test starts its own, so tests run in parallel and own their
//! data. [`on_both!`] runs a test once on PostgreSQL (a fresh database on 127.0.0.1:5432) and
//! once on SQLite (a fresh file under the temporary folder).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;

static NEXT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Where the next gateway started on this thread sends its stderr, when not inherited.
    static STDERR: std::cell::RefCell<Option<std::fs::File>> = const { std::cell::RefCell::new(None) };
    /// Environment variables for the next gateway started on this thread.
    static ENV: std::cell::RefCell<Vec<(String, String)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The PostgreSQL server the tests use (trust auth).
pub const PG: &str = "postgres://postgres@127.0.0.1:5432";

/// The variable that, set to `required`, makes an unreachable PostgreSQL a failure instead of
/// a skip (CI sets it, so the PostgreSQL half cannot silently vanish).
pub const PG_REQUIRED: &str = "SPECGATE_TEST_POSTGRES";

/// Runs a test on both databases: each `fn name(db) { ... }` becomes a module `name` with the
/// tests `postgres` and `sqlite`, both running the body with `db` bound to that
/// [`Db`](crate::common::Db). Attributes and doc comments go on both tests; the body sees the
/// test file's items (`use super::*`).
///
/// ```ignore
/// on_both! {
///     /// What the test proves.
///     fn creates_a_user(db) {
///         let gw = Gateway::users_on(db);
///         ...
///     }
/// }
/// ```
///
/// The PostgreSQL test is skipped (a line on stderr) when PostgreSQL is not reachable, unless
/// `SPECGATE_TEST_POSTGRES=required`.
#[allow(unused_macros)]
macro_rules! on_both {
    ($($(#[$attr:meta])* fn $name:ident($db:ident) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn run($db: $crate::common::Db) $body

            $(#[$attr])*
            #[test]
            fn postgres() {
                if $crate::common::Db::Postgres.available(concat!(module_path!(), "::postgres")) {
                    run($crate::common::Db::Postgres);
                }
            }

            $(#[$attr])*
            #[test]
            fn sqlite() {
                run($crate::common::Db::Sqlite);
            }
        }
    )*};
}

/// A test that only makes sense on PostgreSQL: `fn name() { ... }` becomes the test
/// `name::postgres` (skipped like [`on_both!`]'s when PostgreSQL is not reachable). Say why
/// it is PostgreSQL-only in its doc comment.
#[allow(unused_macros)]
macro_rules! on_postgres {
    ($($(#[$attr:meta])* fn $name:ident() $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn run() $body

            $(#[$attr])*
            #[test]
            fn postgres() {
                if $crate::common::Db::Postgres.available(concat!(module_path!(), "::postgres")) {
                    run();
                }
            }
        }
    )*};
}

#[allow(unused_imports)]
pub(crate) use {on_both, on_postgres};

/// The database a gateway runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    /// A fresh database on the PostgreSQL server at [`PG`].
    Postgres,
    /// A fresh SQLite file under the temporary folder.
    Sqlite,
}

impl Db {
    /// Whether a test on this database can run here. SQLite always can. For PostgreSQL, a
    /// TCP connect to 127.0.0.1:5432 is tried once per process; when it fails the test is
    /// reported skipped on stderr, or fails if `SPECGATE_TEST_POSTGRES=required`.
    pub fn available(self, test: &str) -> bool {
        if self == Db::Sqlite {
            return true;
        }
        static REACHABLE: OnceLock<bool> = OnceLock::new();
        let reachable = *REACHABLE.get_or_init(|| {
            let addr = "127.0.0.1:5432".parse().expect("a socket address");
            TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok()
        });
        if reachable {
            return true;
        }
        let required = std::env::var(PG_REQUIRED).is_ok_and(|v| v == "required");
        assert!(
            !required,
            "{test}: PostgreSQL is not reachable on 127.0.0.1:5432 and {PG_REQUIRED}=required"
        );
        // Straight to stderr: the test harness captures eprintln! of passing tests.
        let _ = writeln!(
            std::io::stderr(),
            "{test}: skipped, PostgreSQL is not reachable on 127.0.0.1:5432 \
             (set {PG_REQUIRED}=required to make this a failure)"
        );
        false
    }
}

/// The project's own spec folder (routes.yaml at the top level).
pub fn users_spec() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The fixture resource's spec folder.
pub fn books_spec() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/books")
}

/// A private copy of a spec folder, removed when dropped (after the gateways started on it,
/// when declared before them).
pub struct ScratchSpec(PathBuf);

impl std::ops::Deref for ScratchSpec {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchSpec {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A private copy of a spec folder (routes.yaml, schemas/, migrations/) to edit; a new folder
/// on every call, so both halves of an [`on_both!`] test get their own.
pub fn copy_spec(from: &Path, name: &str) -> ScratchSpec {
    let to = std::env::temp_dir().join(format!(
        "specgate-{}-{}-{name}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&to);
    for dir in ["schemas", "migrations"] {
        std::fs::create_dir_all(to.join(dir)).expect("mkdir");
        for entry in std::fs::read_dir(from.join(dir)).expect("reads") {
            let entry = entry.expect("entry");
            std::fs::copy(entry.path(), to.join(dir).join(entry.file_name())).expect("copies");
        }
    }
    std::fs::copy(from.join("routes.yaml"), to.join("routes.yaml")).expect("copies");
    ScratchSpec(to)
}

/// One HTTP/1.1 request read off a connection by a test's own upstream.
pub struct ReadRequest {
    /// The request line and headers, with the blank line that ends them.
    pub head: String,
    /// Everything read: the head, then the body.
    pub data: Vec<u8>,
    /// Whether the whole body (its `Content-Length`) arrived before the connection ended.
    pub complete: bool,
}

/// Reads one request from `stream`: its head, then as much of its body as `Content-Length`
/// says. `None` when the connection ends (or times out) before the head is whole.
pub fn read_request(stream: &mut impl Read) -> Option<ReadRequest> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let length = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut complete = true;
    while data.len() < head_end + length {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => {
                complete = false;
                break;
            }
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
    Some(ReadRequest {
        head,
        data,
        complete,
    })
}

/// Runs `specgate check` on `dir` with `args` (`--spec-only`, `--database-url URL`, ...)
/// and the environment variables `env`: whether it passed, and its stdout then stderr.
pub fn check(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_specgate"))
        .arg("check")
        .args(args)
        .arg("--spec")
        .arg(dir)
        .envs(env.iter().copied())
        .output()
        .expect("specgate check runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Replaces the first `from` in a file with `to` (which must be there).
pub fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).expect("reads");
    assert!(text.contains(from), "{} has {from:?}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).expect("writes");
}

/// Runs SQL on a database with psql; panics with psql's message on failure.
pub fn psql(database: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            &format!("{PG}/{database}"),
            "-c",
            sql,
        ])
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "psql failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A fresh SQLite file path under the temporary folder (not created).
pub fn sqlite_path() -> PathBuf {
    std::env::temp_dir().join(format!(
        "specgate-test-{}-{}.sqlite3",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    ))
}

/// The `--database-url` of a SQLite file.
pub fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// Removes a SQLite file and its `-wal` and `-shm` companions.
pub fn remove_sqlite(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(name);
    }
}

/// A small runtime for the test's own sqlx calls.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread tokio runtime")
}

/// A connection to a SQLite file (created if missing), waiting up to 5 s for locks, with the
/// gateway's SQL functions registered (the migrations' column defaults call `specgate_now()`).
pub async fn sqlite_connect(path: &Path) -> sqlx::SqliteConnection {
    use sqlx::Connection;
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .busy_timeout(Duration::from_secs(5));
    let mut conn = sqlx::SqliteConnection::connect_with(&options)
        .await
        .unwrap_or_else(|e| panic!("opens {}: {e}", path.display()));
    let mut handle = conn.lock_handle().await.expect("locks the connection");
    specgate::db::register_functions(&mut handle).expect("registers the functions");
    drop(handle);
    conn
}

/// Runs SQL (one or more statements) on a SQLite file with sqlx; the rows of every statement
/// as `psql -A -t` prints them: columns joined by `|`, rows by newlines, NULL as nothing.
pub fn sqlite(path: &Path, sql: &str) -> String {
    use sqlx::{Connection, Row, TypeInfo, ValueRef};
    let rows = runtime().block_on(async {
        let mut conn = sqlite_connect(path).await;
        let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("sqlite failed: {e}\n{sql}"));
        let _ = conn.close().await;
        rows
    });
    let cell = |row: &sqlx::sqlite::SqliteRow, i: usize| -> String {
        let raw = row.try_get_raw(i).expect("a column in range");
        if raw.is_null() {
            return String::new();
        }
        let kind = raw.type_info().name().to_owned();
        let text = match kind.as_str() {
            "INTEGER" => row.try_get_unchecked::<i64, _>(i).map(|v| v.to_string()),
            "REAL" => row.try_get_unchecked::<f64, _>(i).map(|v| v.to_string()),
            "BLOB" => row
                .try_get_unchecked::<Vec<u8>, _>(i)
                .map(|v| String::from_utf8_lossy(&v).into_owned()),
            _ => row.try_get_unchecked::<String, _>(i),
        };
        text.unwrap_or_else(|e| panic!("decodes a {kind} value: {e}"))
    };
    rows.iter()
        .map(|row| {
            (0..row.len())
                .map(|i| cell(row, i))
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
}

/// A running gateway on its own database; both go away when dropped.
pub struct Gateway {
    child: Child,
    /// Where it listens.
    pub addr: String,
    /// Where its admin listener listens, when started with `--admin-listen`.
    pub admin: Option<String>,
    /// The database it runs on.
    pub db: Db,
    /// Its PostgreSQL database's name, or its SQLite file's path.
    pub database: String,
}

impl Gateway {
    /// Starts the Users API on `db`.
    pub fn users_on(db: Db) -> Gateway {
        Gateway::start_on(db, &users_spec(), &[])
    }

    /// Starts the fixture resource (books) on `db`.
    pub fn books_on(db: Db) -> Gateway {
        Gateway::start_on(db, &books_spec(), &[])
    }

    /// Starts the gateway on `spec` with extra arguments, on a fresh database of `db`.
    pub fn start_on(db: Db, spec: &Path, extra: &[&str]) -> Gateway {
        match db {
            Db::Postgres => Gateway::start_via(spec, PG, extra),
            Db::Sqlite => {
                let path = sqlite_path();
                remove_sqlite(&path);
                let url = sqlite_url(&path);
                let database = path.to_string_lossy().into_owned();
                Gateway::spawn(Db::Sqlite, spec, Some(&url), database, extra)
            }
        }
    }

    /// Starts the gateway on a fresh PostgreSQL database reached at `server` (e.g. through
    /// a relay).
    pub fn start_via(spec: &Path, server: &str, extra: &[&str]) -> Gateway {
        let database = format!(
            "specgate_test_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let url = format!("{server}/{database}");
        Gateway::spawn(Db::Postgres, spec, Some(&url), database, extra)
    }

    /// Starts the gateway on the PostgreSQL database `url` names, whatever server that is
    /// (a private one a test started); `database` is its name, dropped on the shared
    /// server at the end if it is there.
    pub fn start_url(spec: &Path, url: &str, database: &str, extra: &[&str]) -> Gateway {
        Gateway::spawn(Db::Postgres, spec, Some(url), database.to_owned(), extra)
    }

    /// Starts the gateway like [`Gateway::start_on`], with these environment variables set.
    pub fn start_with_env(db: Db, spec: &Path, extra: &[&str], env: &[(&str, &str)]) -> Gateway {
        let env = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
        ENV.with(|e| *e.borrow_mut() = env.collect());
        Gateway::start_on(db, spec, extra)
    }

    /// Starts the gateway like [`Gateway::start_on`], with its log (stderr) going to a file
    /// of the temporary folder, whose path comes back too.
    /// Starts the gateway like [`Gateway::start_logged`], with these environment variables.
    pub fn start_logged_with_env(
        db: Db,
        spec: &Path,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> (Gateway, PathBuf) {
        let env = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
        ENV.with(|e| *e.borrow_mut() = env.collect());
        Gateway::start_logged(db, spec, extra)
    }

    pub fn start_logged(db: Db, spec: &Path, extra: &[&str]) -> (Gateway, PathBuf) {
        let log = std::env::temp_dir().join(format!(
            "specgate-log-{}-{}.txt",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        let file = std::fs::File::create(&log).expect("creates the log file");
        STDERR.with(|s| *s.borrow_mut() = Some(file));
        (Gateway::start_on(db, spec, extra), log)
    }

    /// Starts the gateway with no database named (so a spec that proxies every route runs
    /// without one), with these environment variables set.
    pub fn start_without_database(spec: &Path, extra: &[&str], env: &[(&str, &str)]) -> Gateway {
        let env = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
        ENV.with(|e| *e.borrow_mut() = env.collect());
        Gateway::spawn(Db::Sqlite, spec, None, String::new(), extra)
    }

    fn spawn(db: Db, spec: &Path, url: Option<&str>, database: String, extra: &[&str]) -> Gateway {
        let env = ENV.with(|e| std::mem::take(&mut *e.borrow_mut()));
        let stderr = STDERR
            .with(|s| s.borrow_mut().take())
            .map_or_else(Stdio::inherit, Stdio::from);
        let mut child = Command::new(env!("CARGO_BIN_EXE_specgate"))
            .args(["--listen", "127.0.0.1:0", "--spec"])
            .arg(spec)
            .args(url.map(|url| ["--database-url", url]).into_iter().flatten())
            .args(["--log", "warn", "--max-connections", "4"])
            .args(extra)
            .envs(env)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("specgate starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut stdout = BufReader::new(stdout);
        let mut read_addr = || {
            let mut line = String::new();
            stdout.read_line(&mut line).expect("reads a listening line");
            let addr = line.trim().rsplit("://").next().unwrap_or_default();
            (addr.to_owned(), line)
        };
        // The admin listener's line comes first when there is one.
        let admin = extra.contains(&"--admin-listen").then(|| read_addr().0);
        let (addr, line) = read_addr();
        // Owned from here on, so a failed start still cleans up.
        let gateway = Gateway {
            child,
            addr,
            admin,
            db,
            database,
        };
        assert!(
            !gateway.addr.is_empty(),
            "specgate did not start on {db:?}: {line:?}"
        );
        gateway
    }

    /// The SQLite file of a gateway on SQLite.
    pub fn sqlite_path(&self) -> Option<&Path> {
        (self.db == Db::Sqlite).then(|| Path::new(&self.database))
    }

    /// The gateway's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits (at most `limit`) for the process to exit; its success.
    pub fn terminate(&mut self, limit: Duration) -> Option<bool> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status.success());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Runs SQL on this gateway's database (psql on PostgreSQL, sqlx on SQLite), its rows as
    /// `psql -A -t` prints them.
    pub fn sql(&self, sql: &str) -> String {
        match self.db {
            Db::Postgres => psql(&self.database, sql),
            Db::Sqlite => sqlite(Path::new(&self.database), sql),
        }
    }

    /// Sends a request; `headers` are extra header lines, `body` is sent as is.
    pub fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.addr
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        self.raw(&[head.as_bytes(), body].concat())
    }

    /// GET on another listener of this gateway (its admin listener).
    pub fn get_at(&self, addr: &str, path: &str) -> Reply {
        let head = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        send_raw(addr, head.as_bytes())
    }

    /// Sends raw bytes and reads the whole answer.
    pub fn raw(&self, bytes: &[u8]) -> Reply {
        send_raw(&self.addr, bytes)
    }

    /// GET with no extra headers.
    pub fn get(&self, path: &str) -> Reply {
        self.send("GET", path, &[], b"")
    }

    /// A method with a JSON body.
    pub fn json(&self, method: &str, path: &str, body: &Value) -> Reply {
        let bytes = serde_json::to_vec(body).expect("serializes");
        self.send(
            method,
            path,
            &[("Content-Type", "application/json")],
            &bytes,
        )
    }

    /// A method with a raw JSON text body.
    pub fn json_text(&self, method: &str, path: &str, body: &str) -> Reply {
        self.send(
            method,
            path,
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        )
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        match self.db {
            Db::Postgres => {
                let _ = Command::new("psql")
                    .args(["-X", "-q", "-d", &format!("{PG}/postgres"), "-c"])
                    .arg(format!(
                        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                        self.database
                    ))
                    .output();
            }
            Db::Sqlite => remove_sqlite(Path::new(&self.database)),
        }
    }
}

/// A parsed HTTP/1.1 response.
#[derive(Debug)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// Header lines, names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl Reply {
    fn parse(bytes: &[u8]) -> Reply {
        let split = bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a complete response head");
        let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .expect("a status");
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let mut body = bytes[split + 4..].to_vec();
        if headers
            .iter()
            .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
        {
            body = dechunk(&body);
        }
        Reply {
            status,
            headers,
            body,
        }
    }

    /// The value of a header, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (panics with the body when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = body.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&body[..end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&body[end + 2..end + 2 + size]);
        body = &body[end + 4 + size..];
    }
    out
}

/// Sends raw bytes to `addr` and reads the whole answer.
fn send_raw(addr: &str, bytes: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(addr).expect("connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("sets timeout");
    stream.write_all(bytes).expect("writes");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    Reply::parse(&answer)
}

/// Adds top-level YAML to a routes.yaml: the keys under a `settings:` in `extra` go into the
/// file's own `settings:` block when it has one (YAML refuses a second), the rest at the end.
pub fn add_to_routes(routes: &Path, extra: &str) {
    let mut text = std::fs::read_to_string(routes).expect("reads");
    let (top, settings) = match extra.split_once("settings:\n") {
        Some((before, rest)) => {
            // The settings' lines are the indented ones right after `settings:`.
            let end = rest
                .lines()
                .take_while(|l| l.starts_with(' ') || l.is_empty())
                .map(|l| l.len() + 1)
                .sum::<usize>()
                .min(rest.len());
            (format!("{before}{}", &rest[end..]), Some(&rest[..end]))
        }
        None => (extra.to_owned(), None),
    };
    if let Some(settings) = settings {
        match text.find("\nsettings:\n") {
            Some(at) => text.insert_str(at + "\nsettings:\n".len(), settings),
            None => text.push_str(&format!("\nsettings:\n{settings}")),
        }
    }
    text.push('\n');
    text.push_str(&top);
    std::fs::write(routes, text).expect("writes");
}
