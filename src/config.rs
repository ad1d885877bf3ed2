//! Settings from flags and environment, with defaults that work on a fresh machine.

use std::net::SocketAddr;
use std::path::PathBuf;

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
    /// `--database-url` / `DATABASE_URL`.
    pub database_url: String,
    /// `--log` / `SPECGATE_LOG`: a tracing filter such as `info` or `specgate=debug`.
    pub log: String,
    /// `--no-migrate` / `SPECGATE_MIGRATE=0`: skip migrations at start-up.
    pub migrate: bool,
    /// `--max-connections` / `SPECGATE_MAX_CONNECTIONS`: database pool size.
    pub max_connections: u32,
}

/// The default database: a `specgate` database on the local PostgreSQL.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/specgate";

/// The usage text.
pub const USAGE: &str = "usage: specgate [serve|check|migrate|openapi] [--listen ADDR] [--spec DIR] [--database-url URL] [--log FILTER] [--no-migrate] [--max-connections N]

  serve     serve the API (default)
  check     load and cross-check routes.yaml, schemas/ and, if reachable, the database
  migrate   apply migrations/ and exit
  openapi   print the OpenAPI 3.1 document

environment: SPECGATE_LISTEN (127.0.0.1:8000), SPECGATE_SPEC (.), DATABASE_URL
(postgres://postgres@127.0.0.1:5432/specgate), SPECGATE_LOG (info), SPECGATE_MIGRATE (1),
SPECGATE_MAX_CONNECTIONS (8)";

impl Settings {
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
            database_url: env("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.into()),
            log: env("SPECGATE_LOG").unwrap_or_else(|| "info".into()),
            migrate: env("SPECGATE_MIGRATE").is_none_or(|v| v != "0" && v != "false"),
            max_connections: env("SPECGATE_MAX_CONNECTIONS")
                .map(|v| v.parse())
                .transpose()
                .map_err(|e| format!("SPECGATE_MAX_CONNECTIONS: {e}"))?
                .unwrap_or(8),
        };
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
                "--database-url" => settings.database_url = value(arg)?,
                "--log" => settings.log = value(arg)?,
                "--no-migrate" => settings.migrate = false,
                "--max-connections" => {
                    settings.max_connections = value(arg)?
                        .parse()
                        .map_err(|e| format!("--max-connections: {e}"))?
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
        assert_eq!(s.database_url, DEFAULT_DATABASE_URL);
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
    fn bad_arguments_are_reported() {
        let env = |_: &str| None;
        assert!(Settings::parse(&args(&["--bogus"]), &env).is_err());
        assert!(Settings::parse(&args(&["--listen"]), &env).is_err());
        assert!(Settings::parse(&args(&["--listen", "nope"]), &env).is_err());
    }
}
