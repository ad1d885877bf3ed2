//! Settings from the environment, as the binary reads them: variables fill in what no flag
//! gives, flags win over variables, and a bad value of either is a usage error (exit 2).
//!
//! The environment is the process's, so these tests live in their own test binary, set it
//! one test at a time under [`ENV`], and run nothing else that reads it.

use std::path::PathBuf;
use std::process::Command as Process;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use specgate::config::{Command, LogFormat, Settings};

/// Held while a test changes the environment and parses.
static ENV: Mutex<()> = Mutex::new(());

/// Leaves exactly the variables `vars` among specgate's own (every `SPECGATE_*` and
/// `DATABASE_URL` the machine had is removed), for as long as the guard is held.
fn environment(vars: &[(&str, &str)]) -> MutexGuard<'static, ()> {
    let held = ENV.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let ours = |name: &str| name.starts_with("SPECGATE_") || name == "DATABASE_URL";
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(ours) {
            // SAFETY: this test binary holds only these tests, each changing and reading the
            // environment only while it holds ENV, and no other thread of it touches it.
            unsafe { std::env::remove_var(name) };
        }
    }
    for (name, value) in vars {
        // SAFETY: as above.
        unsafe { std::env::set_var(name, value) };
    }
    held
}

/// Parses `args` (after the program name) with exactly the variables `vars` set.
fn parse_with(vars: &[(&str, &str)], args: &[&str]) -> Result<Settings, clap::Error> {
    let _held = environment(vars);
    Settings::parse_from(std::iter::once("specgate").chain(args.iter().copied()))
}

fn ok(vars: &[(&str, &str)], args: &[&str]) -> Settings {
    parse_with(vars, args).unwrap_or_else(|e| panic!("{vars:?} {args:?}: {e}"))
}

#[test]
fn variables_fill_in_what_no_flag_gives() {
    let s = ok(
        &[
            ("SPECGATE_LISTEN", "127.0.0.1:9000"),
            ("SPECGATE_SPEC", "/srv/api"),
            ("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/x"),
            ("SPECGATE_LOG", "warn"),
            ("SPECGATE_MAX_CONNECTIONS", "3"),
            ("SPECGATE_MAX_BODY", "10"),
            ("SPECGATE_REQUEST_TIMEOUT_MS", "250"),
            ("SPECGATE_MAX_HEADER_BYTES", "1"),
        ],
        &["check"],
    );
    assert_eq!(s.command, Command::Check);
    assert_eq!(s.listen.port(), 9000);
    assert_eq!(s.spec, PathBuf::from("/srv/api"));
    assert_eq!(s.database_url(), "postgres://postgres@127.0.0.1:5432/x");
    assert_eq!(s.log, "warn");
    assert_eq!(s.max_connections, 3);
    assert_eq!(s.limits.max_body, 10);
    assert_eq!(s.limits.request_timeout, Duration::from_millis(250));
    assert_eq!(
        s.limits.max_header_bytes, 8192,
        "the floor holds for variables too"
    );
}

#[test]
fn flags_win_over_variables() {
    let vars = [
        ("SPECGATE_LISTEN", "127.0.0.1:9000"),
        ("SPECGATE_MAX_BODY", "10"),
        ("SPECGATE_LOG_FORMAT", "json"),
    ];
    let s = ok(
        &vars,
        &["--listen", "127.0.0.1:1", "migrate", "--max-body", "20"],
    );
    assert_eq!(s.listen.port(), 1);
    assert_eq!(s.limits.max_body, 20);
    assert_eq!(
        s.log_format,
        LogFormat::Json,
        "a variable no flag overrides still counts"
    );
    let s = ok(&vars, &["--log-format", "text"]);
    assert_eq!(s.log_format, LogFormat::Text);
    // A flag that wins leaves a bad variable unread.
    let s = ok(&[("SPECGATE_MAX_BODY", "lots")], &["--max-body", "5"]);
    assert_eq!(s.limits.max_body, 5);
}

#[test]
fn switches_take_the_documented_forms() {
    for off in ["0", "false", "no", "off", "FALSE"] {
        let s = ok(&[("SPECGATE_MIGRATE", off), ("SPECGATE_WATCH", off)], &[]);
        assert!(!s.migrate && !s.watch, "{off}");
    }
    for on in ["1", "true", "yes", "on", ""] {
        let s = ok(&[("SPECGATE_MIGRATE", on), ("SPECGATE_WATCH", on)], &[]);
        assert!(s.migrate && s.watch, "{on}");
    }
    let s = ok(
        &[("SPECGATE_MIGRATE", "1")],
        &["--no-migrate", "--no-watch"],
    );
    assert!(!s.migrate && !s.watch);
}

#[test]
fn the_new_settings_come_from_variables() {
    let s = ok(
        &[
            ("SPECGATE_ADMIN_LISTEN", "127.0.0.1:9001"),
            ("SPECGATE_LOG_FORMAT", "json"),
            ("SPECGATE_WATCH", "0"),
        ],
        &[],
    );
    assert_eq!(s.admin_listen, Some("127.0.0.1:9001".parse().unwrap()));
    assert_eq!(s.log_format, LogFormat::Json);
    assert!(!s.watch);
    let s = ok(&[], &[]);
    assert_eq!(s.admin_listen, None);
    assert!(s.watch);
}

#[test]
fn an_empty_database_url_means_the_default() {
    let s = ok(&[("DATABASE_URL", "")], &["--spec", "/srv/api"]);
    assert_eq!(s.database_url, None);
    assert_eq!(s.database_url(), "sqlite:///srv/api/specgate.sqlite3");
}

#[test]
fn bad_variables_are_usage_errors() {
    for var in [
        ("SPECGATE_LISTEN", "nope"),
        ("SPECGATE_MAX_BODY", "lots"),
        ("SPECGATE_MAX_CONNECTIONS", "-1"),
        ("SPECGATE_MIGRATE", "maybe"),
        ("SPECGATE_LOG_FORMAT", "xml"),
        ("SPECGATE_ADMIN_LISTEN", "localhost"),
    ] {
        match parse_with(&[var], &[]) {
            Ok(s) => panic!("{var:?} was taken: {s:?}"),
            Err(e) => assert_eq!(e.exit_code(), 2, "{var:?}: {e}"),
        }
    }
}

/// The binary itself: a bad value is reported on stderr with exit code 2 before anything
/// starts; `--help` goes to stdout with exit code 0.
#[test]
fn the_binary_exits_2_on_a_bad_value_and_0_on_help() {
    let _held = environment(&[]);
    let bin = env!("CARGO_BIN_EXE_specgate");
    let out = Process::new(bin)
        .args(["--spec", "/nonexistent", "--max-json-depth", "deep"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--max-json-depth") && stderr.contains("deep"),
        "{stderr}"
    );
    let out = Process::new(bin)
        .arg("openapi")
        .env("SPECGATE_MAX_CONNECTIONS", "many")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let out = Process::new(bin).arg("--help").output().expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout.contains("SPECGATE_MAX_BODY"), "{stdout}");
}
