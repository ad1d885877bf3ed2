//! `specgate check`: problems in the spec files are reported with their file and line, and
//! with a database (PostgreSQL or SQLite), what its tables lack.

mod common;

use std::path::Path;
use std::process::Command;

use common::{Db, on_both};

fn check(dir: &Path, database: &str) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_specgate"))
        .args(["check", "--spec"])
        .arg(dir)
        .args(["--database-url", database])
        .output()
        .expect("runs");
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

const NO_DB: &str = "postgres://postgres@127.0.0.1:1/none";

#[test]
fn the_project_spec_and_the_fixture_pass() {
    let (ok, text) = check(&common::users_spec(), NO_DB);
    assert!(ok, "{text}");
    let (ok, text) = check(&common::books_spec(), NO_DB);
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
    let (ok, text) = check(&dir, NO_DB);
    assert!(!ok);
    assert!(
        text.contains("routes.yaml:22") && text.contains("unknown field `pagesize`"),
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
    let (ok, text) = check(&dir, NO_DB);
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
    let (ok, text) = check(&dir, NO_DB);
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
    let (ok, text) = check(&dir, NO_DB);
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
/// line, and so are proxied routes naming an unknown upstream or a URL that is not http.
#[test]
fn unset_variables_and_bad_upstreams_are_reported_with_their_lines() {
    let dir = scratch("upstreams");
    let routes = dir.join("routes.yaml");
    let text = std::fs::read_to_string(&routes).expect("reads");
    let upstreams = "upstreams:\n  shelf:\n    url: ${SPECGATE_TEST_SURELY_UNSET_URL}\n  other:\n    url: https://example.org\n\n";
    std::fs::write(&routes, format!("{upstreams}{text}")).expect("writes");
    let (ok, out) = check(&dir, NO_DB);
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
    let (ok, out) = check(&dir, NO_DB);
    assert!(!ok);
    assert!(
        out.contains("routes.yaml:4:") && out.contains("must start with http://"),
        "{out}"
    );
    assert!(!out.contains("not set"), "{out}");
}

#[test]
fn a_bad_unknown_query_setting_is_reported_with_its_line() {
    let dir = scratch("unknown-query");
    edit(
        &dir,
        "    page_size: 2\n",
        "    page_size: 2\n    unknown_query: refuse\n",
    );
    let (ok, text) = check(&dir, NO_DB);
    assert!(!ok);
    assert!(
        text.contains("routes.yaml:22") && text.contains("unknown variant `refuse`"),
        "{text}"
    );
}
