//! Conditional requests (RFC 9110 §13) on the Users API, on both databases: the `ETag` of a
//! row's representation, `If-None-Match` → 304 on reads, `If-Match`/`If-None-Match` → 412
//! on writes (the row left as it was), `*` and missing rows, and two writers racing with the
//! same tag: exactly one wins.

mod common;

use std::sync::{Arc, Barrier};
use std::thread;

use common::{Gateway, ScratchSpec, books_spec, copy_spec, edit, on_both};
use serde_json::{Value, json};

const DETAIL: &str =
    "Precondition failed: the resource has changed (or does not exist); read it again.";

/// Creates a user; its path and its ETag.
fn create(gw: &Gateway, name: &str) -> (String, String) {
    let body = json!({"username": name, "email": format!("{name}@example.org")});
    let r = gw.json("POST", "/api/users/", &body);
    assert_eq!(r.status, 201, "{}", r.text());
    let tag = r
        .header("etag")
        .expect("a created row has an ETag")
        .to_owned();
    (format!("/api/users/{}/", r.json()["id"]), tag)
}

/// The current ETag of the row at `path`.
fn etag(gw: &Gateway, path: &str) -> String {
    let r = gw.get(path);
    assert_eq!(r.status, 200, "{}", r.text());
    r.header("etag").expect("an ETag").to_owned()
}

/// A method with a JSON body and extra headers.
fn send_json(
    gw: &Gateway,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &Value,
) -> common::Reply {
    let mut all = vec![("Content-Type", "application/json")];
    all.extend_from_slice(headers);
    let bytes = serde_json::to_vec(body).expect("serializes");
    gw.send(method, path, &all, &bytes)
}

/// The books fixture with a version column, `revision` (default 1), declared as its
/// `version:`.
fn versioned_books(name: &str) -> ScratchSpec {
    let spec = copy_spec(&books_spec(), name);
    edit(
        &spec.join("routes.yaml"),
        "    table: library_book\n",
        "    table: library_book\n    version: revision\n",
    );
    std::fs::write(
        spec.join("migrations/0002_revision.sql"),
        "ALTER TABLE library_book ADD COLUMN revision bigint NOT NULL DEFAULT 1;\n",
    )
    .expect("writes the migration");
    spec
}

fn assert_412(r: &common::Reply) {
    assert_eq!(r.status, 412, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.json(), json!({ "detail": DETAIL }));
}

on_both! {
    /// A strong tag of the representation: the same from create, retrieve and update for
    /// one row state, whatever the indentation or Host asked; it changes with the row, and
    /// only then.
    fn the_etag_names_the_row_state(db) {
        let gw = Gateway::users_on(db);
        let (path, created) = create(&gw, "ada");
        assert!(created.starts_with('"') && created.ends_with('"') && created.len() == 34, "{created}");
        assert_eq!(etag(&gw, &path), created);
        let pretty = gw.send("GET", &path, &[("Accept", "application/json; indent=4")], b"");
        assert_eq!(pretty.header("etag"), Some(created.as_str()));
        let raw = format!("GET {path} HTTP/1.1\r\nHost: example.org\r\nConnection: close\r\n\r\n");
        assert_eq!(gw.raw(raw.as_bytes()).header("etag"), Some(created.as_str()));
        let r = gw.json("PATCH", &path, &json!({"first_name": "Ada"}));
        assert_eq!(r.status, 200, "{}", r.text());
        let updated = r.header("etag").expect("an updated row has an ETag").to_owned();
        assert_ne!(updated, created);
        assert_eq!(etag(&gw, &path), updated);
        let same = gw.json("PATCH", &path, &json!({"first_name": "Ada"}));
        assert_eq!(same.header("etag"), Some(updated.as_str()), "no change, same tag");
        let (other, _) = create(&gw, "grace");
        assert_ne!(etag(&gw, &other), updated);
        let list = gw.get("/api/users/");
        assert_eq!(list.header("etag"), None, "lists carry no tag");
    }

    /// GET and HEAD with `If-None-Match` naming the current tag (alone, in a list, weak,
    /// or `*`): 304 with the tag and no body; any other tag: 200.
    fn if_none_match_on_reads_is_a_304(db) {
        let gw = Gateway::users_on(db);
        let (path, tag) = create(&gw, "ada");
        let weak = format!("W/{tag}");
        let list = format!("\"nope\", {tag}");
        for value in [tag.as_str(), weak.as_str(), list.as_str(), "*"] {
            for method in ["GET", "HEAD"] {
                let r = gw.send(method, &path, &[("If-None-Match", value)], b"");
                assert_eq!(r.status, 304, "{method} {value}: {}", r.text());
                assert_eq!(r.header("etag"), Some(tag.as_str()), "{method} {value}");
                assert!(r.body.is_empty(), "{method} {value}");
                assert_eq!(r.header("content-type"), None, "{method} {value}");
                assert!(r.header("content-length").is_none_or(|l| l == "0"), "{method} {value}");
            }
        }
        for value in ["\"nope\"", "W/\"nope\"", "garbage"] {
            let r = gw.send("GET", &path, &[("If-None-Match", value)], b"");
            assert_eq!(r.status, 200, "{value}");
            assert_eq!(r.header("etag"), Some(tag.as_str()));
        }
        gw.json("PATCH", &path, &json!({"last_name": "Lovelace"}));
        let stale = gw.send("GET", &path, &[("If-None-Match", &tag)], b"");
        assert_eq!(stale.status, 200, "the row changed");
        assert_eq!(stale.json()["last_name"], "Lovelace");
        let missing = gw.send("GET", "/api/users/999/", &[("If-None-Match", "*")], b"");
        assert_eq!(missing.status, 404);
        let read_if_match = gw.send("GET", &path, &[("If-Match", &tag)], b"");
        assert_412(&read_if_match);
    }

    /// PUT, PATCH and DELETE with a stale `If-Match`: 412 in the API's error format and the
    /// row unchanged (also when the body is invalid, or the tag weak or unreadable); with the
    /// current tag: 200 (with the new tag) or 204.
    fn a_stale_if_match_is_a_412_and_changes_nothing(db) {
        let gw = Gateway::users_on(db);
        let (path, old) = create(&gw, "ada");
        let r = gw.json("PATCH", &path, &json!({"first_name": "Ada"}));
        let current = r.header("etag").expect("a tag").to_owned();
        let weak = format!("W/{current}");
        let put = json!({"username": "ada", "email": "ada@example.org", "first_name": "Eve"});
        for (method, body) in [("PUT", put.clone()), ("PATCH", json!({"first_name": "Eve"})), ("DELETE", json!({}))] {
            for stale in [old.as_str(), weak.as_str(), "unreadable", "\"x\", \"y\""] {
                let r = send_json(&gw, method, &path, &[("If-Match", stale)], &body);
                assert_412(&r);
                assert_eq!(r.header("etag"), None);
                assert_eq!(etag(&gw, &path), current, "{method} {stale} changed the row");
            }
        }
        let invalid = send_json(&gw, "PUT", &path, &[("If-Match", &old)], &json!({"email": "no"}));
        assert_412(&invalid);
        let invalid = send_json(&gw, "PUT", &path, &[("If-Match", &current)], &json!({"email": "no"}));
        assert_eq!(invalid.status, 400, "{}", invalid.text());
        assert_eq!(gw.get(&path).json()["first_name"], "Ada");

        let list = format!("\"x\", {current}");
        let r = send_json(&gw, "PUT", &path, &[("If-Match", &list)], &put);
        assert_eq!(r.status, 200, "{}", r.text());
        let after_put = r.header("etag").expect("a tag").to_owned();
        assert_eq!(etag(&gw, &path), after_put);
        assert_eq!(gw.get(&path).json()["first_name"], "Eve");
        let r = send_json(&gw, "PATCH", &path, &[("If-Match", &after_put)], &json!({"last_name": "L"}));
        assert_eq!(r.status, 200, "{}", r.text());
        let after_patch = r.header("etag").expect("a tag").to_owned();
        let r = gw.send("DELETE", &path, &[("If-Match", &after_put)], b"");
        assert_412(&r);
        let r = gw.send("DELETE", &path, &[("If-Match", &after_patch)], b"");
        assert_eq!(r.status, 204, "{}", r.text());
        assert_eq!(gw.get(&path).status, 404);
    }

    /// `If-Match: *` holds for any existing row and fails on a missing one, as does any
    /// tag; `If-None-Match` on a write fails when it matches (`*`: when the row exists), and
    /// a missing row without `If-Match` stays a 404.
    fn star_and_missing_rows_follow_rfc_9110(db) {
        let gw = Gateway::users_on(db);
        let (path, tag) = create(&gw, "ada");
        let put = json!({"username": "ada", "email": "ada@example.org", "first_name": "Star"});
        let r = send_json(&gw, "PUT", &path, &[("If-Match", "*")], &put);
        assert_eq!(r.status, 200, "{}", r.text());
        let current = r.header("etag").expect("a tag").to_owned();
        assert_ne!(current, tag);
        let missing = "/api/users/999/";
        for (method, body) in [("PUT", put.clone()), ("PATCH", json!({"first_name": "X"})), ("DELETE", json!({}))] {
            assert_412(&send_json(&gw, method, missing, &[("If-Match", "*")], &body));
            assert_412(&send_json(&gw, method, missing, &[("If-Match", &tag)], &body));
            let r = send_json(&gw, method, missing, &[("If-None-Match", "*")], &body);
            assert_eq!(r.status, 404, "{method}: {}", r.text());
            assert_412(&send_json(&gw, method, &path, &[("If-None-Match", "*")], &body));
            assert_412(&send_json(&gw, method, &path, &[("If-None-Match", &format!("W/{current}"))], &body));
        }
        let r = send_json(&gw, "PATCH", &path, &[("If-None-Match", &tag)], &json!({"first_name": "Y"}));
        assert_eq!(r.status, 200, "a stale If-None-Match holds: {}", r.text());
        assert_eq!(gw.get(&path).json()["first_name"], "Y");
        assert_eq!(gw.send("DELETE", &path, &[("If-Match", "*")], b"").status, 204);
        assert_412(&gw.send("DELETE", &path, &[("If-Match", "*")], b""));
    }

    /// THE RACE: two clients read the same tag, then send their PUTs together (a barrier
    /// each round): exactly one 200 and one 412 per round, and the row is the winner's.
    fn racing_writers_with_one_tag_cannot_both_win(db) {
        let gw = Arc::new(Gateway::users_on(db));
        let (path, _) = create(&gw, "ada");
        for round in 0..20 {
            let tag = etag(&gw, &path);
            let barrier = Arc::new(Barrier::new(2));
            let writers: Vec<_> = ["left", "right"]
                .into_iter()
                .map(|side| {
                    let (gw, barrier, path, tag) = (gw.clone(), barrier.clone(), path.clone(), tag.clone());
                    thread::spawn(move || {
                        let name = format!("{side}{round}");
                        let body = json!({"username": "ada", "email": "ada@example.org", "first_name": name});
                        barrier.wait();
                        let r = send_json(&gw, "PUT", &path, &[("If-Match", &tag)], &body);
                        (r.status, name, r.header("etag").map(str::to_owned), r.text())
                    })
                })
                .collect();
            let mut results: Vec<_> = writers.into_iter().map(|w| w.join().expect("a writer")).collect();
            results.sort();
            let statuses: Vec<u16> = results.iter().map(|r| r.0).collect();
            assert_eq!(statuses, [200, 412], "round {round}: {results:?}");
            let (_, winner, winner_tag, _) = &results[0];
            assert_eq!(gw.get(&path).json()["first_name"], winner.as_str(), "round {round}");
            assert_eq!(Some(etag(&gw, &path)), *winner_tag, "round {round}");
            assert_eq!(results[1].3, json!({ "detail": DETAIL }).to_string(), "round {round}");
        }
    }

    /// The served document declares the headers and the 304 and 412 answers.
    fn the_document_declares_conditional_requests(db) {
        let gw = Gateway::users_on(db);
        let doc = gw.get("/openapi.json").json();
        let item = &doc["paths"]["/api/users/{id}/"];
        for method in ["get", "put", "patch", "delete"] {
            let names: Vec<&str> = item[method]["parameters"]
                .as_array()
                .map(|p| p.iter().filter_map(|p| p["name"].as_str()).collect())
                .unwrap_or_default();
            assert!(names.contains(&"If-Match") && names.contains(&"If-None-Match"), "{method}: {names:?}");
            assert!(item[method]["responses"]["412"].is_object(), "{method}");
        }
        assert!(item["get"]["responses"]["304"]["headers"]["ETag"].is_object());
        assert!(item["put"]["responses"]["304"].is_null());
        for (path, method, status) in [("/api/users/{id}/", "get", "200"), ("/api/users/{id}/", "patch", "200"), ("/api/users/", "post", "201")] {
            let header = &doc["paths"][path][method]["responses"][status]["headers"]["ETag"];
            assert_eq!(header["required"], true, "{method} {path}");
        }
        assert!(doc["paths"]["/api/users/"]["get"]["responses"]["412"].is_null());
    }

    /// A resource with a version column: the tag is `"v<n>"`, every update increments it
    /// (in the same UPDATE), and `If-Match` is checked in the write's own statement; of two
    /// racing writers with one tag, one wins.
    fn a_version_column_is_the_etag(db) {
        let spec = versioned_books("versioned");
        let gw = Gateway::start_on(db, &spec, &[]);
        let r = gw.json("POST", "/library/books/", &json!({"title": "Dune", "isbn": "9780441013593"}));
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(r.header("etag"), Some("\"v1\""));
        let path = format!("/library/books/{}/", r.json()["book_id"]);
        assert_eq!(etag(&gw, &path), "\"v1\"");
        let r = gw.json("PATCH", &path, &json!({"pages": 10}));
        assert_eq!(r.header("etag"), Some("\"v2\""), "{}", r.text());
        assert_eq!(gw.sql("SELECT revision FROM library_book"), "2");
        for stale in ["\"v1\"", "W/\"v2\"", "\"2\"", "\"v\"", "junk"] {
            let r = send_json(&gw, "PATCH", &path, &[("If-Match", stale)], &json!({"pages": 11}));
            assert_412(&r);
            assert_412(&gw.send("DELETE", &path, &[("If-Match", stale)], b""));
        }
        assert_eq!(gw.sql("SELECT revision, pages FROM library_book"), "2|10");
        let r = send_json(&gw, "PATCH", &path, &[("If-Match", "\"v9\", \"v2\"")], &json!({"pages": 12}));
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.header("etag"), Some("\"v3\""));
        for current in ["\"v3\"", "W/\"v3\"", "*"] {
            let r = gw.send("GET", &path, &[("If-None-Match", current)], b"");
            assert_eq!(r.status, 304, "{current}");
            assert_eq!(r.header("etag"), Some("\"v3\""));
            let put = json!({"title": "Dune", "isbn": "9780441013593"});
            assert_412(&send_json(&gw, "PUT", &path, &[("If-None-Match", current)], &put));
        }
        assert_412(&send_json(&gw, "PATCH", "/library/books/99/", &[("If-Match", "*")], &json!({"pages": 1})));
        let r = send_json(&gw, "PATCH", "/library/books/99/", &[("If-None-Match", "*")], &json!({"pages": 1}));
        assert_eq!(r.status, 404);

        let gw = Arc::new(gw);
        for round in 0..20 {
            let tag = etag(&gw, &path);
            let barrier = Arc::new(Barrier::new(2));
            let writers: Vec<_> = (0..2)
                .map(|side| {
                    let (gw, barrier, path, tag) = (gw.clone(), barrier.clone(), path.clone(), tag.clone());
                    thread::spawn(move || {
                        barrier.wait();
                        let body = json!({"pages": 100 * round + side + 1});
                        send_json(&gw, "PATCH", &path, &[("If-Match", &tag)], &body).status
                    })
                })
                .collect();
            let mut statuses: Vec<u16> = writers.into_iter().map(|w| w.join().expect("a writer")).collect();
            statuses.sort();
            assert_eq!(statuses, [200, 412], "round {round}");
        }
        assert_eq!(etag(&gw, &path), "\"v23\"", "one increment per round");
        let r = gw.send("DELETE", &path, &[("If-Match", "\"v23\"")], b"");
        assert_eq!(r.status, 204, "{}", r.text());
    }
}

/// A version column the input schema writes is refused by `check`: only the gateway
/// writes it.
#[test]
fn check_refuses_a_version_column_clients_write() {
    let spec = copy_spec(&books_spec(), "version-input");
    edit(
        &spec.join("routes.yaml"),
        "    table: library_book\n",
        "    table: library_book\n    version: pages\n",
    );
    let (ok, text) = common::check(&spec, &["--spec-only"], &[]);
    assert!(!ok, "{text}");
    assert!(text.contains("the version column \"pages\" is written by the gateway alone, but the input schema's field \"pages\" writes it"), "{text}");
}
