//! Settings from flags and environment, with defaults that work on a fresh machine.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Limits on what a client may send and how long anything may take; each has a flag
/// `--NAME VALUE` and an environment variable `SPECGATE_NAME` (upper-cased, `-` → `_`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `max-body`: largest request body in bytes (413 beyond).
    pub max_body: usize,
    /// `max-header-bytes`: largest request head in bytes (431 beyond; at least 8192).
    pub max_header_bytes: usize,
    /// `max-headers`: most header fields in a request (431 beyond).
    pub max_headers: usize,
    /// `max-query-bytes`: longest query string (414 beyond).
    pub max_query_bytes: usize,
    /// `max-query-params`: most query parameters (400 beyond).
    pub max_query_params: usize,
    /// `max-json-depth`: deepest nesting of arrays and objects in a JSON body (400 beyond).
    pub max_json_depth: usize,
    /// `max-clients`: connections served at once; further clients wait to be accepted.
    pub max_clients: usize,
    /// `header-timeout-ms`: time a client has to send its request head.
    pub header_timeout: Duration,
    /// `body-timeout-ms`: time a client has to send its body (408 beyond).
    pub body_timeout: Duration,
    /// `request-timeout-ms`: time a request may take once read (503 beyond).
    pub request_timeout: Duration,
    /// `statement-timeout-ms`: PostgreSQL's `statement_timeout` on every connection.
    pub statement_timeout: Duration,
    /// `pool-timeout-ms`: how long a request waits for a database connection (503 beyond).
    pub pool_timeout: Duration,
    /// `shutdown-grace-ms`: time in-flight requests get to finish on SIGTERM/SIGINT.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body: 1024 * 1024,
            max_header_bytes: 16 * 1024,
            max_headers: 100,
            max_query_bytes: 8 * 1024,
            max_query_params: 256,
            max_json_depth: 32,
            max_clients: 1024,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            statement_timeout: Duration::from_secs(10),
            pool_timeout: Duration::from_secs(5),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

impl Limits {
    /// Sets the limit called `name` (its flag without `--`) from text; `Ok(false)` when no
    /// limit has that name.
    fn set(&mut self, name: &str, value: &str) -> Result<bool, String> {
        let number = || {
            value
                .trim()
                .parse::<u64>()
                .map_err(|e| format!("{name}: {e}"))
        };
        let size = || number().map(|n| usize::try_from(n).unwrap_or(usize::MAX));
        let millis = || number().map(Duration::from_millis);
        match name {
            "max-body" => self.max_body = size()?,
            "max-header-bytes" => self.max_header_bytes = size()?.max(8192),
            "max-headers" => self.max_headers = size()?,
            "max-query-bytes" => self.max_query_bytes = size()?,
            "max-query-params" => self.max_query_params = size()?,
            "max-json-depth" => self.max_json_depth = size()?.max(1),
            "max-clients" => self.max_clients = size()?.max(1),
            "header-timeout-ms" => self.header_timeout = millis()?,
            "body-timeout-ms" => self.body_timeout = millis()?,
            "request-timeout-ms" => self.request_timeout = millis()?,
            "statement-timeout-ms" => self.statement_timeout = millis()?,
            "pool-timeout-ms" => self.pool_timeout = millis()?,
            "shutdown-grace-ms" => self.shutdown_grace = millis()?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    const NAMES: [&'static str; 13] = [
        "max-body",
        "max-header-bytes",
        "max-headers",
        "max-query-bytes",
        "max-query-params",
        "max-json-depth",
        "max-clients",
        "header-timeout-ms",
        "body-timeout-ms",
        "request-timeout-ms",
        "statement-timeout-ms",
        "pool-timeout-ms",
        "shutdown-grace-ms",
    ];
}

/// What to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Serve the API (the default).
    Serve,
    /// Load and cross-check the spec files (and the database, when reachable).
    Check,
    /// Apply the migrations and exit.
    Migrate,
    /// Print the OpenAPI document.
    OpenApi,
}

/// Everything the binary is told.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The command.
    pub command: Command,
    /// `--listen` / `SPECGATE_LISTEN`.
    pub listen: SocketAddr,
    /// `--spec` / `SPECGATE_SPEC`: the folder with `routes.yaml`, `schemas/`, `migrations/`.
    pub spec: PathBuf,
    /// `--database-url` / `DATABASE_URL`; none means the SQLite file beside the spec (see
    /// [`Settings::database_url`]).
    pub database_url: Option<String>,
    /// `--log` / `SPECGATE_LOG`: a tracing filter such as `info` or `specgate=debug`.
    pub log: String,
    /// `--no-migrate` / `SPECGATE_MIGRATE=0`: skip migrations at start-up.
    pub migrate: bool,
    /// `--max-connections` / `SPECGATE_MAX_CONNECTIONS`: database pool size.
    pub max_connections: u32,
    /// Limits and timeouts.
    pub limits: Limits,
}

/// The file name of the default database, an SQLite file in the spec folder.
pub const DEFAULT_SQLITE_FILE: &str = "specgate.sqlite3";

/// The SQLite URL of a file, escaping what a URL would read otherwise.
pub fn sqlite_url(path: &Path) -> String {
    const SPECIAL: &percent_encoding::AsciiSet =
        &percent_encoding::CONTROLS.add(b'%').add(b'?').add(b'#');
    format!(
        "sqlite://{}",
        percent_encoding::utf8_percent_encode(&path.to_string_lossy(), SPECIAL)
    )
}

/// The usage text.
pub const USAGE: &str = "usage: specgate [serve|check|migrate|openapi] [--listen ADDR] [--spec DIR] [--database-url URL] [--log FILTER] [--no-migrate] [--max-connections N]

  serve     serve the API (default)
  check     load and cross-check routes.yaml, schemas/ and, if reachable, the database
  migrate   apply migrations/ and exit
  openapi   print the OpenAPI 3.1 document

environment: SPECGATE_LISTEN (127.0.0.1:8000), SPECGATE_SPEC (.), DATABASE_URL
(sqlite:SPEC/specgate.sqlite3; also sqlite::memory: or postgres://USER@HOST:PORT/DB),
SPECGATE_LOG (info), SPECGATE_MIGRATE (1), SPECGATE_MAX_CONNECTIONS (8).

limits (flag --NAME VALUE, or SPECGATE_NAME): max-body (1048576), max-header-bytes (16384),
max-headers (100), max-query-bytes (8192), max-query-params (256), max-json-depth (32),
max-clients (1024), header-timeout-ms (10000), body-timeout-ms (10000),
request-timeout-ms (30000), statement-timeout-ms (10000), pool-timeout-ms (5000),
shutdown-grace-ms (10000)";

impl Settings {
    /// The database to use: the one given, else an SQLite file in the spec folder, created
    /// on first use.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| sqlite_url(&self.spec.join(DEFAULT_SQLITE_FILE)))
    }

    /// Reads `args` (without the program name) over the environment given by `env`.
    pub fn parse(
        args: &[String],
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Settings, String> {
        let mut settings = Settings {
            command: Command::Serve,
            listen: env("SPECGATE_LISTEN")
                .unwrap_or_else(|| "127.0.0.1:8000".into())
                .parse()
                .map_err(|e| format!("SPECGATE_LISTEN: {e}"))?,
            spec: PathBuf::from(env("SPECGATE_SPEC").unwrap_or_else(|| ".".into())),
            database_url: env("DATABASE_URL").filter(|v| !v.is_empty()),
            log: env("SPECGATE_LOG").unwrap_or_else(|| "info".into()),
            migrate: env("SPECGATE_MIGRATE").is_none_or(|v| v != "0" && v != "false"),
            max_connections: env("SPECGATE_MAX_CONNECTIONS")
                .map(|v| v.parse())
                .transpose()
                .map_err(|e| format!("SPECGATE_MAX_CONNECTIONS: {e}"))?
                .unwrap_or(8),
            limits: Limits::default(),
        };
        for name in Limits::NAMES {
            let var = format!("SPECGATE_{}", name.to_ascii_uppercase().replace('-', "_"));
            if let Some(value) = env(&var) {
                settings
                    .limits
                    .set(name, &value)
                    .map_err(|e| format!("{var}: {e}"))?;
            }
        }
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = |name: &str| {
                args.next()
                    .cloned()
                    .ok_or_else(|| format!("{name} needs a value"))
            };
            match arg.as_str() {
                "serve" => settings.command = Command::Serve,
                "check" => settings.command = Command::Check,
                "migrate" => settings.command = Command::Migrate,
                "openapi" => settings.command = Command::OpenApi,
                "--listen" => {
                    settings.listen = value(arg)?.parse().map_err(|e| format!("--listen: {e}"))?
                }
                "--spec" => settings.spec = PathBuf::from(value(arg)?),
                "--database-url" => settings.database_url = Some(value(arg)?),
                "--log" => settings.log = value(arg)?,
                "--no-migrate" => settings.migrate = false,
                "--max-connections" => {
                    settings.max_connections = value(arg)?
                        .parse()
                        .map_err(|e| format!("--max-connections: {e}"))?
                }
                flag if flag.starts_with("--") && Limits::NAMES.contains(&&flag[2..]) => {
                    let value = value(arg)?;
                    settings.limits.set(&flag[2..], &value)?;
                }
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn flags_override_environment_and_defaults() {
        let env = |k: &str| (k == "SPECGATE_LISTEN").then(|| "127.0.0.1:9000".to_owned());
        let s = Settings::parse(&args(&[]), &env).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.command, Command::Serve);
        assert_eq!(s.listen.port(), 9000);
        assert_eq!(s.database_url(), "sqlite://./specgate.sqlite3");
        let s = Settings::parse(
            &args(&["check", "--listen", "127.0.0.1:1", "--no-migrate"]),
            &env,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.command, Command::Check);
        assert_eq!(s.listen.port(), 1);
        assert!(!s.migrate);
    }

    #[test]
    fn limits_come_from_flags_and_environment() {
        let env = |k: &str| (k == "SPECGATE_MAX_BODY").then(|| "10".to_owned());
        let s = Settings::parse(&args(&["--request-timeout-ms", "250"]), &env)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.limits.max_body, 10);
        assert_eq!(s.limits.request_timeout, Duration::from_millis(250));
        assert_eq!(s.limits.max_json_depth, Limits::default().max_json_depth);
        assert!(Settings::parse(&args(&["--max-body", "lots"]), &|_| None).is_err());
    }

    #[test]
    fn bad_arguments_are_reported() {
        let env = |_: &str| None;
        assert!(Settings::parse(&args(&["--bogus"]), &env).is_err());
        assert!(Settings::parse(&args(&["--listen"]), &env).is_err());
        assert!(Settings::parse(&args(&["--listen", "nope"]), &env).is_err());
    }
}
