//! `specgate check`: problems in the spec files are reported with their file and line, and
//! with a database (PostgreSQL or SQLite), what its tables lack.

mod common;

use std::path::Path;
use std::process::Command;

use common::{Db, Gateway, on_both};

fn check(dir: &Path, database: &str) -> (bool, String) {
    common::check(dir, &["--database-url", database], &[])
}

/// Runs the binary: whether it succeeded, and stdout then stderr.
fn run(command: &mut Command) -> (bool, String) {
    let out = command.output().expect("runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn scratch(name: &str) -> common::ScratchSpec {
    common::copy_spec(&common::books_spec(), &format!("check-{name}"))
}

fn edit(dir: &Path, from: &str, to: &str) {
    common::edit(&dir.join("routes.yaml"), from, to);
}

/// `check --spec-only`: the files alone.
fn check_spec(dir: &Path) -> (bool, String) {
    common::check(dir, &["--spec-only"], &[])
}

#[test]
fn the_project_spec_and_the_fixture_pass() {
    let (ok, text) = check_spec(&common::users_spec());
    assert!(ok, "{text}");
    let (ok, text) = check_spec(&common::books_spec());
    assert!(ok, "{text}");
}

#[test]
fn an_unknown_key_is_reported_with_its_line() {
    let dir = scratch("unknown");
    edit(
        &dir,
        "    page_size: 2\n",
        "    page_size: 2\n    pagesize: 3\n",
    );
    let (ok, text) = check_spec(&dir);
    assert!(!ok);
    assert!(
        text.contains("routes.yaml:22") && text.contains("unknown key `pagesize`"),
        "{text}"
    );
}

#[test]
fn a_missing_schema_is_reported_with_its_line() {
    let dir = scratch("schema");
    edit(
        &dir,
        "representation: book.json",
        "representation: nope.json",
    );
    let (ok, text) = check_spec(&dir);
    assert!(!ok);
    assert!(
        text.contains("routes.yaml:9:") && text.contains("schemas/nope.json"),
        "{text}"
    );
}

#[test]
fn a_filter_on_a_missing_field_is_reported_with_its_line() {
    let dir = scratch("filter");
    edit(
        &dir,
        "      isbn: [exact, in]",
        "      isbn: [exact, in]\n      colour: [exact]",
    );
    let (ok, text) = check_spec(&dir);
    assert!(!ok);
    assert!(
        text.contains("routes.yaml:19:") && text.contains("\"colour\""),
        "{text}"
    );
}

#[test]
fn a_route_to_an_unknown_resource_and_a_bad_action() {
    let dir = scratch("route");
    edit(
        &dir,
        "    resource: books\n    name: Book List",
        "    resource: bookz\n    name: Book List",
    );
    edit(&dir, "DELETE: destroy", "DELETE: obliterate");
    let (ok, text) = check_spec(&dir);
    assert!(!ok);
    assert!(text.contains("unknown resource \"bookz\""), "{text}");
    assert!(text.contains("unknown action \"obliterate\""), "{text}");
}

on_both! {
    /// With a database whose table lacks columns the spec uses, `check` fails naming them.
    fn with_a_database_missing_columns_are_reported(db) {
        let (ok, text) = match db {
            Db::Postgres => {
                let database = format!("specgate_check_{}", std::process::id());
                common::psql("postgres", &format!("DROP DATABASE IF EXISTS {database}"));
                common::psql("postgres", &format!("CREATE DATABASE {database}"));
                common::psql(
                    &database,
                    "CREATE TABLE library_book (book_id bigint, title text)",
                );
                let result = check(&common::books_spec(), &format!("{}/{database}", common::PG));
                common::psql(
                    "postgres",
                    &format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"),
                );
                result
            }
            Db::Sqlite => {
                let path = common::sqlite_path();
                common::sqlite(
                    &path,
                    "CREATE TABLE library_book (book_id INTEGER, title TEXT)",
                );
                let result = check(&common::books_spec(), &common::sqlite_url(&path));
                common::remove_sqlite(&path);
                result
            }
        };
        assert!(!ok);
        assert!(text.contains("library_book.isbn"), "{text}");
    }
}

/// `${NAME}` references are read from the environment; an unset one is reported with its
/// line, and so are proxied routes naming an unknown upstream or a URL that is neither http
/// nor https.
#[test]
fn unset_variables_and_bad_upstreams_are_reported_with_their_lines() {
    let dir = scratch("upstreams");
    let routes = dir.join("routes.yaml");
    let text = std::fs::read_to_string(&routes).expect("reads");
    let upstreams = "upstreams:\n  shelf:\n    url: ${SPECGATE_TEST_SURELY_UNSET_URL}\n  other:\n    url: ftp://example.org\n\n";
    std::fs::write(&routes, format!("{upstreams}{text}")).expect("writes");
    let (ok, out) = check_spec(&dir);
    assert!(!ok);
    assert!(
        out.contains(
            "routes.yaml:3: environment variable SPECGATE_TEST_SURELY_UNSET_URL is not set"
        ),
        "{out}"
    );
    let with_default = format!("{upstreams}{text}").replace(
        "${SPECGATE_TEST_SURELY_UNSET_URL}",
        "${SPECGATE_TEST_SURELY_UNSET_URL:-http://127.0.0.1:9}",
    );
    std::fs::write(&routes, with_default).expect("writes");
    let (ok, out) = check_spec(&dir);
    assert!(!ok);
    assert!(
        out.contains("routes.yaml:4:") && out.contains("must start with http:// or https://"),
        "{out}"
    );
    assert!(!out.contains("not set"), "{out}");
}

/// The binary, run with `args` and `--spec dir`.
fn specgate(dir: &Path, args: &[&str]) -> (bool, String) {
    run(Command::new(env!("CARGO_BIN_EXE_specgate"))
        .args(args)
        .arg("--spec")
        .arg(dir))
}

/// A database that cannot be used is said in a sentence naming it and what to do, and
/// `check` fails: a refused port, a PostgreSQL database that does not exist, an SQLite file
/// that does not exist (which looking does not create), and one without the tables (one line
/// per table, not one per column).
#[test]
fn a_database_that_cannot_be_checked_is_said_in_a_sentence() {
    let spec = common::books_spec();
    let (ok, text) = check(&spec, "postgres://postgres@127.0.0.1:1/none");
    assert!(!ok);
    assert!(
        text.contains("connection refused at 127.0.0.1:1: is PostgreSQL running there?"),
        "{text}"
    );
    if common::Db::Postgres.available("check: a missing database") {
        let name = format!("specgate_check_absent_{}", std::process::id());
        let (ok, text) = check(&spec, &format!("{}/{name}", common::PG));
        assert!(!ok);
        assert!(
            text.contains(&format!(
                "database {name} does not exist: create it with `createdb {name}`"
            )),
            "{text}"
        );
    }
    let path = common::sqlite_path();
    let (ok, text) = check(&spec, &common::sqlite_url(&path));
    assert!(!ok);
    assert!(
        text.contains("does not exist: run `specgate migrate`"),
        "{text}"
    );
    assert!(!path.exists(), "check does not create the file");
    common::sqlite(&path, "CREATE TABLE unrelated (a INTEGER)");
    let (ok, text) = check(&spec, &common::sqlite_url(&path));
    common::remove_sqlite(&path);
    assert!(!ok);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("table library_book "))
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(
        lines[0]
            .contains("table library_book does not exist in the database: run `specgate migrate`"),
        "{text}"
    );
}

/// Start-up against a PostgreSQL port where nothing listens stops at once with the address,
/// instead of waiting for the pool to time out.
#[test]
fn serve_fails_fast_when_the_database_refuses() {
    let started = std::time::Instant::now();
    let (ok, text) = specgate(
        &common::books_spec(),
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--no-watch",
            "--database-url",
            "postgres://postgres@127.0.0.1:1/none",
        ],
    );
    assert!(!ok);
    assert!(text.contains("connection refused at 127.0.0.1:1"), "{text}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}

/// `migrate` leaves one SQLite file (no `-wal`/`-shm` beside it); a migration edited after it
/// was applied stops the next run, naming the file and the way out.
#[test]
fn migrate_closes_cleanly_and_names_an_edited_migration() {
    let dir = common::copy_spec(&common::books_spec(), "edited-migration");
    let path = common::sqlite_path();
    let url = common::sqlite_url(&path);
    let (ok, text) = specgate(&dir, &["migrate", "--database-url", &url]);
    assert!(ok, "{text}");
    for suffix in ["-wal", "-shm"] {
        let mut companion = path.as_os_str().to_owned();
        companion.push(suffix);
        assert!(!Path::new(&companion).exists(), "{suffix} left behind");
    }
    let migration = dir.join("migrations").join("0001_library.sqlite.sql");
    let text = std::fs::read_to_string(&migration).expect("reads");
    std::fs::write(&migration, format!("{text}\n-- edited\n")).expect("writes");
    let (ok, out) = specgate(&dir, &["migrate", "--database-url", &url]);
    common::remove_sqlite(&path);
    assert!(!ok);
    let name = migration
        .file_name()
        .map(|n| n.to_string_lossy().into_owned());
    assert!(
        out.contains(&format!(
            "{} was changed after it was applied",
            name.unwrap_or_default()
        )) && out.contains("make the change in a new migration"),
        "{out}"
    );
}

/// A YAML syntax error names the file and line, in words about the file, not the parser's.
#[test]
fn a_yaml_syntax_error_is_said_in_plain_words() {
    let dir = scratch("yaml");
    edit(&dir, "    page_size: 2\n", "    page_size: \"2\n");
    let (ok, text) = check_spec(&dir);
    assert!(!ok);
    assert!(
        text.contains("routes.yaml:") && text.contains("a quoted text is not closed"),
        "{text}"
    );
    assert!(
        !text.contains("scalar") && !text.contains("column"),
        "{text}"
    );
}

/// `--version` prints the crate's version; a reader that closes stdout early
/// (`specgate openapi | head`) is not an error.
#[test]
fn version_and_a_closed_stdout() {
    let (ok, text) = run(Command::new(env!("CARGO_BIN_EXE_specgate")).arg("--version"));
    assert!(ok && text.contains(env!("CARGO_PKG_VERSION")), "{text}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_specgate"))
        .args(["openapi", "--spec"])
        .arg(common::users_spec())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    // Close the read end at once, before the document is written.
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("ends");
    assert!(
        out.status.success(),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_bad_unknown_query_setting_is_reported_with_its_line() {
    let dir = scratch("unknown-query");
    edit(
        &dir,
        "    page_size: 2\n",
        "    page_size: 2\n    unknown_query: refuse\n",
    );
    let (ok, text) = check_spec(&dir);
    assert!(!ok);
    assert!(
        text.contains("routes.yaml:22") && text.contains("unknown value `refuse`"),
        "{text}"
    );
}

on_both! {
    /// Against a database, `check` explains the statement behind every declared filter,
    /// search and ordering: a filter added on a column without an index is a warning naming
    /// the index that would serve it (and a failure with `--strict`); the Users API's indexed
    /// lookups and orderings are not flagged; once the suggested index exists, neither is
    /// the new filter.
    fn a_filter_without_an_index_is_flagged_with_the_index_that_would_serve_it(db) {
        let dir = common::copy_spec(&common::users_spec(), "check-scans");
        let gw = Gateway::start_on(db, &dir, &[]);
        edit(
            &dir,
            "      phone_number: *text_lookups\n",
            "      phone_number: *text_lookups\n      first_name: [exact]\n",
        );
        let url = match db {
            Db::Postgres => format!("{}/{}", common::PG, gw.database),
            Db::Sqlite => common::sqlite_url(Path::new(&gw.database)),
        };
        let (ok, text) = check(&dir, &url);
        assert!(ok, "{text}");
        let index = "CREATE INDEX users_user_first_name_idx ON \"users_user\" (\"first_name\")";
        assert!(
            text.contains("filter first_name__exact on users_user reads the whole table (")
                && text.contains(&format!("an index that would serve it: {index}")),
            "{text}"
        );
        for served in [
            "username__exact ",
            "username__iexact ",
            "username__startswith ",
            "username__istartswith ",
            "email__istartswith ",
            "phone_number__lt ",
            "ordering id ",
            "ordering username ",
            "ordering date_joined ",
        ] {
            assert!(!text.contains(served), "{served}: {text}");
        }
        if db == Db::Postgres {
            for served in ["username__icontains ", "email__endswith ", "search "] {
                assert!(!text.contains(served), "{served}: {text}");
            }
        }
        let (ok, strict) = common::check(&dir, &["--database-url", &url, "--strict"], &[]);
        assert!(!ok && strict.contains("first_name__exact"), "{strict}");

        gw.sql(index);
        let (ok, text) = check(&dir, &url);
        assert!(ok, "{text}");
        assert!(!text.contains("first_name"), "{text}");
    }
}
