//! Column types that behave the same on both databases: a resource defined only under
//! `tests/fixtures/projects` with `numeric`, `numeric(12,2)`, a float, `boolean`, `date`,
//! `uuid`, `jsonb` (`json` on SQLite) and `varchar(20)` columns, through HTTP. Values come
//! back as they were written or are refused with a field error; filter values that cannot
//! be read for their column are the same 400 for every lookup; a write whose answer cannot
//! be built leaves nothing behind; `check` refuses pairings that cannot round-trip.

mod common;

use std::path::{Path, PathBuf};

use common::{Db, Gateway, on_both};
use serde_json::{Value, json};

const LIST: &str = "/api/projects/";

fn projects_spec() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/projects")
}

fn create(gw: &Gateway, body: &Value) -> Value {
    let r = gw.json("POST", LIST, body);
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

/// The slugs a list answers, in order.
fn slugs(gw: &Gateway, query: &str) -> Vec<String> {
    let r = gw.get(&format!("{LIST}?{query}"));
    assert_eq!(r.status, 200, "{query}: {}", r.text());
    r.json()["results"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| p["slug"].as_str().unwrap_or_default().to_owned())
        .collect()
}

on_both! {
    /// Every column type gives back what was written, in one form on both databases: a
    /// whole number in a numeric column (which SQLite keeps as INTEGER) and a fraction (REAL),
    /// a UUID in lower case, a JSON object with its keys sorted.
    fn every_column_type_round_trips(db) {
        let gw = Gateway::start_on(db, &projects_spec(), &[]);
        let whole = create(&gw, &json!({"slug": "int", "name": "x", "budget": 100}));
        assert_eq!(whole["budget"], json!(100.0));
        let full = create(
            &gw,
            &json!({
                "slug": "full", "name": "y", "budget": 1234567890.25, "estimate": 3,
                "ratio": 0.1, "active": false, "starts_on": "2025-01-02",
                "token": "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
                "meta": {"b": 1, "a": [1, {"d": 1.5, "c": "x"}]}
            }),
        );
        let expected = json!({
            "slug": "full", "name": "y", "budget": 1234567890.25, "estimate": 3.0,
            "ratio": 0.1, "active": false, "starts_on": "2025-01-02",
            "token": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "meta": {"a": [1, {"c": "x", "d": 1.5}], "b": 1}
        });
        for (key, value) in expected.as_object().into_iter().flatten() {
            assert_eq!(&full[key], value, "{key}");
        }
        let keys: Vec<&String> = full["meta"].as_object().map(|m| m.keys().collect()).unwrap_or_default();
        assert_eq!(keys, ["a", "b"]);
        let id = full["project_id"].as_i64().unwrap_or_default();
        let got = gw.get(&format!("{LIST}{id}/"));
        assert_eq!(got.status, 200, "{}", got.text());
        assert_eq!(got.json(), full);
        // Rows written behind the gateway's back, as SQLite's affinity stores them.
        gw.sql("INSERT INTO projects (slug, name, budget, estimate) VALUES ('raw', 'z', 7, 2.5)");
        let r = gw.get(LIST);
        assert_eq!(r.status, 200, "{}", r.text());
        let listed = r.json();
        assert_eq!(listed["count"], 3);
        assert_eq!(listed["results"][0], whole);
        assert_eq!(listed["results"][2]["budget"], json!(7.0));
        assert_eq!(listed["results"][2]["estimate"], json!(2.5));
        // Numbers in a JSON document come back as jsonb writes them, on both.
        let r = gw.json_text(
            "PATCH",
            &format!("{LIST}{id}/"),
            r#"{"meta": {"a": 1e2, "b": 1.50e1, "c": -2.5e-3, "d": -0, "e": 12.50}}"#,
        );
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(
            r.text().contains(r#""meta":{"a":100,"b":15.0,"c":-0.0025,"d":0,"e":12.50}"#),
            "{}",
            r.text()
        );
        assert_eq!(gw.get(&format!("{LIST}{id}/")).text(), r.text());
        let r = gw.json("PATCH", &format!("{LIST}{id}/"), &json!({"meta": null, "budget": 0.5}));
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["meta"], Value::Null);
        assert_eq!(r.json()["budget"], json!(0.5));
    }
}

on_both! {
    /// A value the column would round or cut is a 400 naming the limit, on create and on
    /// update, and nothing is written: more decimal places than a numeric(12,2)'s scale, more
    /// digits before the point than its precision leaves, more characters than a varchar(20).
    fn values_the_column_would_change_are_refused(db) {
        let gw = Gateway::start_on(db, &projects_spec(), &[]);
        for (body, field, message) in [
            (json!({"slug": "a", "name": "x", "budget": 99.999}), "budget",
             "Ensure that there are no more than 2 decimal places."),
            (json!({"slug": "a", "name": "x", "budget": 12345678901_i64}), "budget",
             "Ensure that there are no more than 10 digits before the decimal point."),
            (json!({"slug": "a", "name": "x", "budget": 1e11}), "budget",
             "Ensure that there are no more than 10 digits before the decimal point."),
            (json!({"slug": "a".repeat(21), "name": "x"}), "slug",
             "Ensure this field has no more than 20 characters."),
        ] {
            let r = gw.json("POST", LIST, &body);
            assert_eq!(r.status, 400, "{body}: {}", r.text());
            assert_eq!(r.json(), json!({field: [message]}), "{body}");
        }
        // A NUL anywhere in a JSON document: jsonb refuses it, so both databases do.
        let r = gw.json("POST", LIST, &json!({"slug": "a", "name": "x", "meta": {"k": ["a\0"]}}));
        assert_eq!(r.status, 400, "{}", r.text());
        assert_eq!(r.json(), json!({"meta": ["Null characters are not allowed."]}));
        assert_eq!(gw.sql("SELECT count(*) FROM projects"), "0");
        // Trailing zeros and a whole number change nothing, and are taken.
        let r = gw.json_text(
            "POST",
            LIST,
            r#"{"slug": "ok", "name": "x", "budget": 99.990, "estimate": 99.999}"#,
        );
        assert_eq!(r.status, 201, "{}", r.text());
        let p = r.json();
        assert_eq!(p["budget"], json!(99.99));
        assert_eq!(p["estimate"], json!(99.999));
        let path = format!("{LIST}{}/", p["project_id"]);
        let r = gw.json("PATCH", &path, &json!({"budget": 0.125}));
        assert_eq!(r.status, 400, "{}", r.text());
        assert_eq!(
            r.json(),
            json!({"budget": ["Ensure that there are no more than 2 decimal places."]})
        );
        assert_eq!(gw.get(&path).json()["budget"], json!(99.99));
        // The row's absence comes first, as for any invalid body.
        let r = gw.json("PATCH", &format!("{LIST}999/"), &json!({"budget": 0.125}));
        assert_eq!(r.status, 404, "{}", r.text());
    }
}

on_both! {
    /// A filter value that cannot be read for its column is the same 400 for every lookup
    /// (exact, the bare name, `__in`, `__lt`, `__gt`, `__gte`), in the API's error format;
    /// values that can be read filter, dates and UUIDs in any written form.
    fn unreadable_filter_values_are_the_same_400_for_every_lookup(db) {
        let gw = Gateway::start_on(db, &projects_spec(), &[]);
        create(&gw, &json!({"slug": "a", "name": "x", "budget": 100, "ratio": 0.5, "active": true,
            "starts_on": "2025-01-02", "token": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}));
        create(&gw, &json!({"slug": "b", "name": "y", "budget": 1.5, "active": false,
            "starts_on": "2025-03-01"}));
        for param in [
            "budget", "budget__exact", "budget__in", "budget__lt", "budget__gt", "ratio__in",
            "ratio__lt", "active", "active__in", "starts_on", "starts_on__in", "starts_on__lt",
            "starts_on__gte", "token", "token__in",
        ] {
            for bad in ["x", "1,x", "2025-02-30"] {
                let r = gw.get(&format!("{LIST}?{param}={bad}"));
                assert_eq!(r.status, 400, "{param}={bad}: {}", r.text());
                assert_eq!(r.json(), json!({param: ["Enter a valid value."]}), "{param}={bad}");
            }
        }
        for (query, expected) in [
            ("budget__in=100,1.5", vec!["a", "b"]),
            ("budget=100", vec!["a"]),
            ("budget__lt=2", vec!["b"]),
            ("budget__gt=1.5", vec!["a"]),
            ("ratio__lt=1", vec!["a"]),
            ("ratio__in=0.5,7", vec!["a"]),
            ("active=false", vec!["b"]),
            ("active__in=true,false", vec!["a", "b"]),
            ("starts_on__lt=2025-2-1", vec!["a"]),
            ("starts_on__gte=2025-03-01", vec!["b"]),
            ("starts_on__in=2025-01-02,2025-03-01", vec!["a", "b"]),
            ("token=A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", vec!["a"]),
            ("token__in=a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", vec!["a"]),
            ("ordering=-budget", vec!["a", "b"]),
            ("ordering=starts_on", vec!["a", "b"]),
        ] {
            assert_eq!(slugs(&gw, query), expected, "{query}");
        }
    }
}

on_both! {
    /// A write whose answer cannot be built is not committed: here the representation
    /// (enforced) allows shorter names than the input does, so the created or updated row
    /// fails its own schema. The answer is a 500, and the table is as before; the list still
    /// answers, and the same write with a fitting value goes through.
    fn a_write_whose_answer_cannot_be_built_is_rolled_back(db) {
        let dir = common::copy_spec(&projects_spec(), "unanswerable");
        common::edit(
            &dir.join("schemas/project.json"),
            r#""name": { "type": "string" },"#,
            r#""name": { "type": "string", "maxLength": 3 },"#,
        );
        let gw = Gateway::start_on(db, &dir, &[]);
        let r = gw.json("POST", LIST, &json!({"slug": "long", "name": "too long"}));
        assert_eq!(r.status, 500, "{}", r.text());
        assert_eq!(gw.sql("SELECT count(*) FROM projects"), "0");
        assert_eq!(gw.get(LIST).status, 200);
        let p = create(&gw, &json!({"slug": "long", "name": "ok"}));
        let path = format!("{LIST}{}/", p["project_id"]);
        let r = gw.json("PATCH", &path, &json!({"name": "too long", "budget": 5}));
        assert_eq!(r.status, 500, "{}", r.text());
        assert_eq!(gw.get(&path).json(), p);
    }
}

/// `specgate check` on `spec` against `url`: its success and what it printed.
fn check(spec: &Path, url: &str) -> (bool, String) {
    common::check(spec, &["--database-url", url], &[])
}

fn url_of(gw: &Gateway) -> String {
    match gw.db {
        Db::Postgres => format!("{}/{}", common::PG, gw.database),
        Db::Sqlite => common::sqlite_url(Path::new(&gw.database)),
    }
}

on_both! {
    /// `check` passes the fixture's tables, and refuses each column that cannot give its
    /// field's values back, in a sentence naming the field, the column and its type, and
    /// what to use instead.
    fn check_refuses_columns_that_cannot_round_trip(db) {
        let gw = Gateway::start_on(db, &projects_spec(), &[]);
        let (ok, text) = check(&projects_spec(), &url_of(&gw));
        assert!(ok, "{text}");
        let (table, wanted) = match db {
            Db::Postgres => (
                "CREATE TABLE projects (project_id bigint PRIMARY KEY, slug text, name text, \
                 budget bigint, estimate numeric, ratio real, active boolean, starts_on text, \
                 token uuid, meta jsonb, created_at timestamp)",
                vec![
                    "field \"budget\" (`type: number`) cannot be kept in column projects.budget of type `bigint` on postgres: an integer column cuts a number's fraction: use `double precision`, `numeric` or `numeric(p,s)` for `type: number`",
                    "field \"ratio\" (`type: number`) cannot be kept in column projects.ratio of type `real` on postgres: a `real` keeps 4 bytes, so a number does not come back as it was sent: use `double precision`",
                    "field \"starts_on\" (`type: string, format: date`) cannot be kept in column projects.starts_on of type `text` on postgres",
                    "field \"created_at\" (`type: string, format: date-time`) cannot be kept in column projects.created_at of type `timestamp` on postgres: a timestamp without time zone is read in the session's zone: use `timestamptz`",
                ],
            ),
            Db::Sqlite => (
                "CREATE TABLE projects (project_id INTEGER PRIMARY KEY, slug text, name text, \
                 budget integer, estimate numeric, ratio real, active text, starts_on date, \
                 token uuid, meta blob, created_at text)",
                vec![
                    "field \"budget\" (`type: number`) cannot be kept in column projects.budget of type `integer` on sqlite: an integer column cuts a number's fraction: use `real`, `numeric` or `numeric(p,s)` for `type: number`",
                    "field \"active\" (`type: boolean`) cannot be kept in column projects.active of type `text` on sqlite: its values would not read back as they were written: use `boolean`",
                    "field \"meta\" (`type: object`) cannot be kept in column projects.meta of type `blob` on sqlite",
                ],
            ),
        };
        gw.sql("DROP TABLE projects");
        gw.sql(table);
        let (ok, text) = check(&projects_spec(), &url_of(&gw));
        assert!(!ok, "{text}");
        for line in wanted {
            assert!(text.contains(line), "missing {line:?} in:\n{text}");
        }
        assert_eq!(text.matches("cannot be kept").count(), if db == Db::Postgres { 4 } else { 3 }, "{text}");
    }
}

/// A lookup that compares text, or `search`, is refused on a number, boolean or timestamp
/// field, and ordering on a JSON document, each with its line: each database writes those
/// values as text, and orders JSON, differently (`100.00`, `100`).
#[test]
fn text_lookups_on_fields_that_are_not_text_are_refused() {
    let dir = common::copy_spec(&projects_spec(), "text-lookups");
    common::edit(
        &dir.join("routes.yaml"),
        "budget: [exact, in, lt, gt]",
        "budget: [exact, iexact, in, lt, gt]",
    );
    common::edit(
        &dir.join("routes.yaml"),
        "ordering: [project_id, budget, starts_on]",
        "ordering: [project_id, budget, starts_on, meta]\n    search: [name, active]",
    );
    let (ok, text) = check(&dir, "postgres://postgres@127.0.0.1:1/none");
    assert!(!ok, "{text}");
    assert!(
        text.contains(
            "routes.yaml:17: lookup \"iexact\" compares text, and \"budget\" is not text"
        ) && text.contains("use exact, in, gt, gte, lt or lte"),
        "{text}"
    );
}

on_both! {
    /// A reload whose schemas no longer fit the columns is refused, with check's sentence on
    /// the admin listener's `/contract`; the serving contract keeps answering.
    fn a_reload_that_does_not_fit_the_columns_is_refused(db) {
        let dir = common::copy_spec(&projects_spec(), "reload-types");
        let gw = Gateway::start_on(db, &dir, &["--admin-listen", "127.0.0.1:0"]);
        create(&gw, &json!({"slug": "a", "name": "x", "budget": 1.5}));
        for file in ["schemas/project.json", "schemas/project-input.json"] {
            common::edit(
                &dir.join(file),
                r#""budget": { "type": ["number", "null"] },"#,
                r#""budget": { "type": ["integer", "null"] },"#,
            );
        }
        let admin = gw.admin.clone().unwrap_or_default();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        let mut status = Value::Null;
        while std::time::Instant::now() < deadline {
            status = gw.get_at(&admin, "/contract").json();
            // Both files changed: a reload that caught only the first is refused otherwise.
            if status["last_reload"]["problems"].to_string().contains("cannot be kept") {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert_eq!(status["last_reload"]["result"], "refused", "{status}");
        let problems = status["last_reload"]["problems"].to_string();
        assert!(
            problems.contains("field \\\"budget\\\" (`type: integer`) cannot be kept in column projects.budget of type `numeric(12,2)`"),
            "{problems}"
        );
        assert_eq!(gw.get(LIST).json()["results"][0]["budget"], json!(1.5));
    }
}
