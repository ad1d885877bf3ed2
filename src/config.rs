//! Settings from flags and environment, with defaults that work on a fresh machine.
//!
//! Every flag is declared once, on the private `Cli` below, with its environment variable,
//! its default and its help line; clap reads the command line and the environment from that
//! declaration and writes `--help` from it, so the three cannot drift apart.

use std::ffi::OsString;
use std::fmt;
use std::net::SocketAddr;
use std::num::ParseIntError;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

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
    /// `mirror-queue`: mirrored requests waiting for the mirror; beyond, they are skipped.
    pub mirror_queue: usize,
    /// `mirror-keep`: how many of the mirror's last differences `/mirror` shows.
    pub mirror_keep: usize,
}

/// The limits a fresh machine gets, the defaults of the limit flags.
const DEFAULT_LIMITS: Limits = Limits {
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
    mirror_queue: 1000,
    mirror_keep: 100,
};

impl Default for Limits {
    fn default() -> Self {
        DEFAULT_LIMITS
    }
}

/// What to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve,
    /// Load and cross-check routes.yaml, schemas/ and the database (its tables and
    /// columns); with --spec-only, the files alone.
    Check,
    /// Apply migrations/ and exit.
    Migrate,
    /// Print the OpenAPI 3.1 document.
    #[command(name = "openapi")]
    OpenApi,
}

/// How log lines are written on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (coloured on a terminal).
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
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
    /// `--log-format` / `SPECGATE_LOG_FORMAT`: text or JSON lines.
    pub log_format: LogFormat,
    /// `--no-migrate` / `SPECGATE_MIGRATE=0`: skip migrations at start-up.
    pub migrate: bool,
    /// `--no-watch` / `SPECGATE_WATCH=0`: do not watch the spec folder for changes.
    pub watch: bool,
    /// `--admin-listen` / `SPECGATE_ADMIN_LISTEN`: where the admin listener listens; none
    /// means no admin listener.
    pub admin_listen: Option<SocketAddr>,
    /// `--max-connections` / `SPECGATE_MAX_CONNECTIONS`: database pool size.
    pub max_connections: u32,
    /// `--spec-only` / `SPECGATE_SPEC_ONLY=1`: `check` reads the spec files and leaves the
    /// database alone.
    pub spec_only: bool,
    /// `--tls-cert` and `--tls-key`: the API is served over TLS; none means plain HTTP.
    pub tls: Option<TlsFiles>,
    /// `--strict` / `SPECGATE_STRICT=1`: `check` fails when a declared filter, search or
    /// ordering would read or sort a whole table (otherwise those are warnings).
    pub strict: bool,
    /// Limits and timeouts.
    pub limits: Limits,
}

/// The PEM files of the API listener's certificate chain and its private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// `--tls-cert` / `SPECGATE_TLS_CERT`: the certificate, then any intermediates.
    pub cert: PathBuf,
    /// `--tls-key` / `SPECGATE_TLS_KEY`: the private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
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

impl Settings {
    /// The database to use: the one given, else an SQLite file in the spec folder, created
    /// on first use.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| sqlite_url(&self.spec.join(DEFAULT_SQLITE_FILE)))
    }

    /// Reads the command line `args` (the program name first, as [`std::env::args_os`]
    /// gives it) over the process environment. A bad or unknown argument, and `--help`,
    /// come back as clap's error, which prints itself and names its exit code (2 for a bad
    /// argument, 0 for help).
    pub fn parse_from<I, T>(args: I) -> Result<Settings, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        Cli::try_parse_from(args).map(Settings::from)
    }
}

/// The command line and environment as clap declares and reads them. Every argument is
/// global, so flags may come before or after the command, and a flag given twice takes its
/// last value (the test harness gives defaults a test then overrides), as they always could.
#[derive(Debug, Parser)]
#[command(
    name = "specgate",
    about = "An API gateway whose behaviour is its contract: serves the API that routes.yaml, \
             schemas/ and migrations/ describe, over SQLite or PostgreSQL.",
    version,
    disable_help_subcommand = true,
    args_override_self = true,
    max_term_width = 100
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Address the API listens on.
    #[arg(
        long,
        env = "SPECGATE_LISTEN",
        value_name = "ADDR",
        default_value = "127.0.0.1:8000",
        global = true
    )]
    listen: SocketAddr,
    /// Folder holding routes.yaml, schemas/ and migrations/.
    #[arg(
        long,
        env = "SPECGATE_SPEC",
        value_name = "DIR",
        default_value = ".",
        global = true
    )]
    spec: PathBuf,
    /// Database: postgres://USER@HOST:PORT/DB, sqlite:PATH or sqlite::memory: [default:
    /// the SQLite file specgate.sqlite3 in the spec folder; an empty DATABASE_URL is the
    /// same]
    #[arg(long, env = "DATABASE_URL", value_name = "URL", global = true)]
    database_url: Option<String>,
    /// Tracing filter, such as info or specgate=debug.
    #[arg(
        long,
        env = "SPECGATE_LOG",
        value_name = "FILTER",
        default_value = "info",
        value_parser = log_filter,
        global = true
    )]
    log: String,
    /// How log lines are written on stderr.
    #[arg(
        long,
        env = "SPECGATE_LOG_FORMAT",
        value_name = "FORMAT",
        value_enum,
        ignore_case = true,
        default_value_t = LogFormat::Text,
        global = true
    )]
    log_format: LogFormat,
    /// Skip the migrations at start-up (SPECGATE_MIGRATE=0 does the same).
    #[arg(
        long = "no-migrate",
        env = "SPECGATE_MIGRATE",
        action = ArgAction::SetFalse,
        value_parser = switch,
        global = true
    )]
    migrate: bool,
    /// Do not watch the spec folder for changes (SPECGATE_WATCH=0 does the same).
    #[arg(
        long = "no-watch",
        env = "SPECGATE_WATCH",
        action = ArgAction::SetFalse,
        value_parser = switch,
        global = true
    )]
    watch: bool,
    /// Address of the admin listener [default: none, no admin listener]
    #[arg(
        long,
        env = "SPECGATE_ADMIN_LISTEN",
        value_name = "ADDR",
        global = true
    )]
    admin_listen: Option<SocketAddr>,
    /// Database pool size.
    #[arg(
        long,
        env = "SPECGATE_MAX_CONNECTIONS",
        value_name = "N",
        default_value_t = 8,
        global = true
    )]
    max_connections: u32,
    /// check: the spec files alone, without opening the database.
    #[arg(
        long = "spec-only",
        env = "SPECGATE_SPEC_ONLY",
        action = ArgAction::SetTrue,
        value_parser = switch,
        global = true
    )]
    spec_only: bool,
    /// Serve the API over TLS with this certificate chain (PEM); needs --tls-key. The admin
    /// listener stays plain HTTP.
    #[arg(
        long,
        env = "SPECGATE_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key",
        global = true
    )]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(
        long,
        env = "SPECGATE_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert",
        global = true
    )]
    tls_key: Option<PathBuf>,
    /// check: fail when a declared filter, search or ordering would read or sort the whole
    /// table (without it, those are warnings).
    #[arg(
        long = "strict",
        env = "SPECGATE_STRICT",
        action = ArgAction::SetTrue,
        value_parser = switch,
        global = true
    )]
    strict: bool,
    #[command(flatten)]
    limits: LimitArgs,
}

/// The limit flags, `--NAME VALUE` or `SPECGATE_NAME`, with [`Limits::default`]'s values as
/// their defaults.
#[derive(Debug, Args)]
#[command(next_help_heading = "Limits")]
struct LimitArgs {
    /// Largest request body in bytes (413 beyond).
    #[arg(long, env = "SPECGATE_MAX_BODY", value_name = "BYTES", value_parser = size,
          default_value_t = DEFAULT_LIMITS.max_body, global = true)]
    max_body: usize,
    /// Largest request head in bytes (431 beyond; at least 8192).
    #[arg(long, env = "SPECGATE_MAX_HEADER_BYTES", value_name = "BYTES",
          value_parser = at_least::<8192>, default_value_t = DEFAULT_LIMITS.max_header_bytes,
          global = true)]
    max_header_bytes: usize,
    /// Most header fields in a request (431 beyond).
    #[arg(long, env = "SPECGATE_MAX_HEADERS", value_name = "N", value_parser = size,
          default_value_t = DEFAULT_LIMITS.max_headers, global = true)]
    max_headers: usize,
    /// Longest query string in bytes (414 beyond).
    #[arg(long, env = "SPECGATE_MAX_QUERY_BYTES", value_name = "BYTES", value_parser = size,
          default_value_t = DEFAULT_LIMITS.max_query_bytes, global = true)]
    max_query_bytes: usize,
    /// Most query parameters (400 beyond).
    #[arg(long, env = "SPECGATE_MAX_QUERY_PARAMS", value_name = "N", value_parser = size,
          default_value_t = DEFAULT_LIMITS.max_query_params, global = true)]
    max_query_params: usize,
    /// Deepest nesting of arrays and objects in a JSON body (400 beyond; at least 1).
    #[arg(long, env = "SPECGATE_MAX_JSON_DEPTH", value_name = "N", value_parser = at_least::<1>,
          default_value_t = DEFAULT_LIMITS.max_json_depth, global = true)]
    max_json_depth: usize,
    /// Connections served at once; further clients wait to be accepted (at least 1).
    #[arg(long, env = "SPECGATE_MAX_CLIENTS", value_name = "N", value_parser = at_least::<1>,
          default_value_t = DEFAULT_LIMITS.max_clients, global = true)]
    max_clients: usize,
    /// Time a client has to send its request head, in milliseconds.
    #[arg(long, env = "SPECGATE_HEADER_TIMEOUT_MS", value_name = "MS",
          default_value_t = Millis(DEFAULT_LIMITS.header_timeout), global = true)]
    header_timeout_ms: Millis,
    /// Time a client has to send its body, in milliseconds (408 beyond).
    #[arg(long, env = "SPECGATE_BODY_TIMEOUT_MS", value_name = "MS",
          default_value_t = Millis(DEFAULT_LIMITS.body_timeout), global = true)]
    body_timeout_ms: Millis,
    /// Time a request may take once read, in milliseconds (503 beyond).
    #[arg(long, env = "SPECGATE_REQUEST_TIMEOUT_MS", value_name = "MS",
          default_value_t = Millis(DEFAULT_LIMITS.request_timeout), global = true)]
    request_timeout_ms: Millis,
    /// PostgreSQL's statement_timeout on every connection, in milliseconds; on SQLite, the
    /// longest wait for the write lock.
    #[arg(long, env = "SPECGATE_STATEMENT_TIMEOUT_MS", value_name = "MS",
          default_value_t = Millis(DEFAULT_LIMITS.statement_timeout), global = true)]
    statement_timeout_ms: Millis,
    /// How long a request waits for a database connection, in milliseconds (503 beyond).
    #[arg(long, env = "SPECGATE_POOL_TIMEOUT_MS", value_name = "MS",
          default_value_t = Millis(DEFAULT_LIMITS.pool_timeout), global = true)]
    pool_timeout_ms: Millis,
    /// Time in-flight requests get to finish on SIGTERM/SIGINT, in milliseconds.
    #[arg(long, env = "SPECGATE_SHUTDOWN_GRACE_MS", value_name = "MS",
          default_value_t = Millis(DEFAULT_LIMITS.shutdown_grace), global = true)]
    shutdown_grace_ms: Millis,
    /// Mirrored requests that may wait for the mirror; beyond, mirroring is skipped (and
    /// counted), so the primary is never slowed.
    #[arg(long, env = "SPECGATE_MIRROR_QUEUE", value_name = "REQUESTS",
          value_parser = at_least::<1>, default_value_t = DEFAULT_LIMITS.mirror_queue, global = true)]
    mirror_queue: usize,
    /// How many of the mirror's last differences the admin listener's /mirror shows.
    #[arg(long, env = "SPECGATE_MIRROR_KEEP", value_name = "DIFFERENCES",
          value_parser = size, default_value_t = DEFAULT_LIMITS.mirror_keep, global = true)]
    mirror_keep: usize,
}

impl From<Cli> for Settings {
    fn from(cli: Cli) -> Settings {
        Settings {
            command: cli.command.unwrap_or(Command::Serve),
            listen: cli.listen,
            spec: cli.spec,
            database_url: cli.database_url.filter(|url| !url.is_empty()),
            log: cli.log,
            log_format: cli.log_format,
            migrate: cli.migrate,
            watch: cli.watch,
            admin_listen: cli.admin_listen,
            max_connections: cli.max_connections,
            spec_only: cli.spec_only,
            tls: cli
                .tls_cert
                .zip(cli.tls_key)
                .map(|(cert, key)| TlsFiles { cert, key }),
            strict: cli.strict,
            limits: cli.limits.into(),
        }
    }
}

impl From<LimitArgs> for Limits {
    fn from(args: LimitArgs) -> Limits {
        Limits {
            max_body: args.max_body,
            max_header_bytes: args.max_header_bytes,
            max_headers: args.max_headers,
            max_query_bytes: args.max_query_bytes,
            max_query_params: args.max_query_params,
            max_json_depth: args.max_json_depth,
            max_clients: args.max_clients,
            header_timeout: args.header_timeout_ms.0,
            body_timeout: args.body_timeout_ms.0,
            request_timeout: args.request_timeout_ms.0,
            statement_timeout: args.statement_timeout_ms.0,
            pool_timeout: args.pool_timeout_ms.0,
            shutdown_grace: args.shutdown_grace_ms.0,
            mirror_queue: args.mirror_queue,
            mirror_keep: args.mirror_keep,
        }
    }
}

/// A duration written as whole milliseconds, the form every `-ms` flag takes.
#[derive(Debug, Clone, Copy)]
struct Millis(Duration);

impl FromStr for Millis {
    type Err = ParseIntError;

    fn from_str(text: &str) -> Result<Millis, ParseIntError> {
        text.trim()
            .parse()
            .map(|ms| Millis(Duration::from_millis(ms)))
    }
}

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.as_millis())
    }
}

/// A count or a size: a whole number, capped at what this machine can count.
fn size(text: &str) -> Result<usize, ParseIntError> {
    text.trim()
        .parse::<u64>()
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
}

/// A [`size`] raised to `MIN` when it is smaller (a limit below `MIN` would refuse
/// everything).
fn at_least<const MIN: usize>(text: &str) -> Result<usize, ParseIntError> {
    size(text).map(|n| n.max(MIN))
}

/// A tracing filter, refused here when tracing could not read it, or when a directive is a
/// bare word that is not a level: tracing would read `debugg` as a target's name and, with
/// nothing else enabled, log nothing at all.
fn log_filter(text: &str) -> Result<String, String> {
    tracing_subscriber::EnvFilter::try_new(text).map_err(|e| e.to_string())?;
    if text.contains('[') {
        // Span and field filters: tracing's own grammar, already checked above.
        return Ok(text.to_owned());
    }
    for directive in text.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let is_level = tracing_subscriber::filter::LevelFilter::from_str(directive).is_ok();
        if !is_level && !directive.contains('=') {
            return Err(format!(
                "{directive:?} is not a level (trace, debug, info, warn, error, off) nor \
                 TARGET=LEVEL; to log everything from a target, write {directive}=trace"
            ));
        }
    }
    Ok(text.to_owned())
}

/// An on/off value: `1`, `true`, `yes`, `on` or `0`, `false`, `no`, `off` (any case). Only
/// a variable can be empty (the `--no-…` flags take no value); empty means on, the default,
/// as it always did for `SPECGATE_MIGRATE`.
fn switch(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "" | "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err("expected 1 or 0 (also true/false, yes/no, on/off)".into()),
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, FromArgMatches};

    use super::*;

    /// Parses `args` after the program name with no environment variable seen, whatever
    /// the machine running the tests has set (tests/settings.rs covers the environment).
    fn parse(args: &[&str]) -> Result<Settings, clap::Error> {
        let matches = Cli::command()
            .mut_args(|arg| arg.env(None))
            .try_get_matches_from(std::iter::once("specgate").chain(args.iter().copied()))?;
        Cli::from_arg_matches(&matches).map(Settings::from)
    }

    fn ok(args: &[&str]) -> Settings {
        parse(args).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    #[test]
    fn the_declaration_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn defaults_work_on_a_fresh_machine() {
        let s = ok(&[]);
        assert_eq!(s.command, Command::Serve);
        assert_eq!(s.listen, "127.0.0.1:8000".parse().unwrap());
        assert_eq!(s.spec, PathBuf::from("."));
        assert_eq!(s.database_url, None);
        assert_eq!(s.database_url(), "sqlite://./specgate.sqlite3");
        assert_eq!(s.log, "info");
        assert_eq!(s.log_format, LogFormat::Text);
        assert!(s.migrate);
        assert!(s.watch);
        assert_eq!(s.admin_listen, None);
        assert_eq!(s.max_connections, 8);
        assert_eq!(s.limits, Limits::default());
        assert_eq!(s.limits.max_body, 1024 * 1024);
        assert_eq!(s.limits.request_timeout, Duration::from_secs(30));
    }

    #[test]
    fn commands_and_flags_come_in_any_order() {
        let s = ok(&[
            "--listen",
            "127.0.0.1:1",
            "check",
            "--no-migrate",
            "--spec",
            "x",
        ]);
        assert_eq!(s.command, Command::Check);
        assert_eq!(s.listen.port(), 1);
        assert!(!s.migrate);
        assert_eq!(s.spec, PathBuf::from("x"));
        assert_eq!(ok(&["migrate", "--log", "warn"]).command, Command::Migrate);
        assert_eq!(ok(&["--log", "warn", "openapi"]).command, Command::OpenApi);
        assert_eq!(ok(&["serve"]).command, Command::Serve);
        let s = ok(&[
            "--database-url",
            "sqlite::memory:",
            "--max-connections",
            "4",
        ]);
        assert_eq!(s.database_url(), "sqlite::memory:");
        assert_eq!(s.max_connections, 4);
        let s = ok(&[
            "--max-connections",
            "4",
            "--log",
            "warn",
            "--max-connections",
            "1",
        ]);
        assert_eq!(s.max_connections, 1, "the last of a repeated flag wins");
        let s = ok(&[
            "--max-body",
            "5",
            "check",
            "--max-body",
            "6",
            "--no-migrate",
            "--no-migrate",
        ]);
        assert_eq!(s.limits.max_body, 6);
        assert!(!s.migrate);
    }

    #[test]
    fn tls_takes_both_files_or_neither() {
        assert_eq!(ok(&[]).tls, None);
        let s = ok(&["--tls-cert", "c.pem", "--tls-key", "k.pem"]);
        let files = TlsFiles {
            cert: "c.pem".into(),
            key: "k.pem".into(),
        };
        assert_eq!(s.tls, Some(files));
        for half in [["--tls-cert", "c.pem"], ["--tls-key", "k.pem"]] {
            let e = parse(&half).err().map(|e| e.kind());
            assert_eq!(
                e,
                Some(clap::error::ErrorKind::MissingRequiredArgument),
                "{half:?}"
            );
        }
    }

    #[test]
    fn limits_come_from_flags() {
        let s = ok(&["--request-timeout-ms", "250", "check", "--max-body", "10"]);
        assert_eq!(s.limits.request_timeout, Duration::from_millis(250));
        assert_eq!(s.limits.max_body, 10);
        assert_eq!(s.limits.max_json_depth, Limits::default().max_json_depth);
    }

    #[test]
    fn limits_below_their_floor_are_raised_to_it() {
        let s = ok(&[
            "--max-header-bytes",
            "100",
            "--max-json-depth",
            "0",
            "--max-clients",
            "0",
            "--max-headers",
            "0",
        ]);
        assert_eq!(s.limits.max_header_bytes, 8192);
        assert_eq!(s.limits.max_json_depth, 1);
        assert_eq!(s.limits.max_clients, 1);
        assert_eq!(s.limits.max_headers, 0);
        assert_eq!(
            ok(&["--max-header-bytes", "9000"]).limits.max_header_bytes,
            9000
        );
    }

    #[test]
    fn the_new_settings_are_read() {
        let s = ok(&[
            "--admin-listen",
            "127.0.0.1:9001",
            "--log-format",
            "json",
            "--no-watch",
        ]);
        assert_eq!(s.admin_listen, Some("127.0.0.1:9001".parse().unwrap()));
        assert_eq!(s.log_format, LogFormat::Json);
        assert!(!s.watch);
        assert!(s.migrate);
        assert_eq!(ok(&["--log-format", "TEXT"]).log_format, LogFormat::Text);
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        for args in [
            &["--bogus"][..],
            &["--listen"],
            &["--listen", "nope"],
            &["--max-body", "lots"],
            &["--max-body", "-1"],
            &["--max-body", "99999999999999999999"],
            &["--max-connections", "many"],
            &["--body-timeout-ms", "1.5"],
            &["--log-format", "xml"],
            &["--admin-listen", "localhost"],
            &["--log", "specgate=loud"],
            &["--log", "debugg"],
            &["--log", "info,specgate"],
            &["bogus"],
            &["help"],
            &["check", "migrate"],
        ] {
            match parse(args) {
                Ok(s) => panic!("{args:?} was taken: {s:?}"),
                Err(e) => assert_eq!(e.exit_code(), 2, "{args:?}: {e}"),
            }
        }
        let e = parse(&["--max-body", "lots"])
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(e.contains("--max-body") && e.contains("lots"), "{e}");
    }

    #[test]
    fn log_filters_take_levels_and_targets() {
        for filter in [
            "info",
            "WARN",
            "off",
            "specgate=debug,hyper=warn",
            "info,sqlx=off",
        ] {
            assert_eq!(ok(&["--log", filter]).log, filter);
        }
    }

    #[test]
    fn the_version_is_the_crate_s() {
        let e = parse(&["--version"]).map(|_| ()).unwrap_err();
        assert_eq!(e.exit_code(), 0);
        assert!(e.to_string().contains(env!("CARGO_PKG_VERSION")), "{e}");
    }

    #[test]
    fn help_lists_every_flag_variable_and_default() {
        let e = parse(&["--help"]).map(|_| ()).unwrap_err();
        assert_eq!(e.exit_code(), 0);
        // With the variables declared, as the binary has them.
        let help = Cli::command().render_long_help().to_string();
        for text in [
            "check",
            "migrate",
            "openapi",
            "--listen <ADDR>",
            "SPECGATE_LISTEN",
            "[default: 127.0.0.1:8000]",
            "DATABASE_URL",
            "--no-migrate",
            "SPECGATE_MIGRATE",
            "--no-watch",
            "SPECGATE_WATCH",
            "--admin-listen",
            "SPECGATE_ADMIN_LISTEN",
            "--log-format",
            "--max-header-bytes <BYTES>",
            "SPECGATE_MAX_HEADER_BYTES",
            "[default: 16384]",
            "--shutdown-grace-ms <MS>",
            "SPECGATE_SHUTDOWN_GRACE_MS",
            "[default: 10000]",
        ] {
            assert!(help.contains(text), "{text:?} missing from:\n{help}");
        }
    }

    #[test]
    fn sqlite_urls_escape_what_a_url_would_read() {
        assert_eq!(
            sqlite_url(Path::new("/tmp/a?b#c%d e.sqlite3")),
            "sqlite:///tmp/a%3Fb%23c%25d e.sqlite3"
        );
    }
}
