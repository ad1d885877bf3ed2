//! A second, unrelated resource (books, keyed by `book_id`, with a relation and an integer
//! field), defined only under `tests/fixtures/books`, served through the same code as the
//! Users API: nothing in `src/` is specific to users.

mod common;

use common::{Gateway, books_spec};
use serde_json::{Value, json};

fn start() -> Gateway {
    Gateway::start(&books_spec(), &[])
}

fn book(gw: &Gateway, title: &str, isbn: &str, pages: Option<i64>) -> Value {
    let r = gw.json(
        "POST",
        "/library/books/",
        &json!({"title": title, "isbn": isbn, "pages": pages}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

#[test]
fn every_action_works_on_the_fixture_resource() {
    let gw = start();
    let created = book(&gw, "Dune", "9780441013593", Some(412));
    let keys: Vec<&str> = created
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    assert_eq!(
        keys,
        [
            "book_id",
            "title",
            "isbn",
            "pages",
            "in_print",
            "authors",
            "shelved_at"
        ]
    );
    assert_eq!(created["in_print"], true);
    let id = created["book_id"].as_i64().unwrap_or_default();
    let path = format!("/library/books/{id}/");
    gw.sql(&format!("INSERT INTO library_author (name) VALUES ('Herbert'); INSERT INTO library_book_authors SELECT {id}, author_id FROM library_author"));
    let got = gw.get(&path).json();
    assert_eq!(got["authors"].as_array().map(Vec::len), Some(1));
    let r = gw.json("PATCH", &path, &json!({"pages": 500, "in_print": false}));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["pages"], 500);
    assert_eq!(r.json()["in_print"], false);
    let r = gw.json(
        "PUT",
        &path,
        &json!({"title": "Dune Messiah", "isbn": "9780441172696"}),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["pages"], 500);
    assert_eq!(gw.send("DELETE", &path, &[], b"").status, 204);
    assert_eq!(gw.get(&path).status, 404);
    assert_eq!(gw.sql("SELECT count(*) FROM library_book_authors"), "0");
}

#[test]
fn the_fixture_schema_supplies_its_own_messages() {
    let gw = start();
    book(&gw, "Dune", "9780441013593", None);
    let r = gw.json(
        "POST",
        "/library/books/",
        &json!({"isbn": "9780441013593", "pages": "many", "title": ""}),
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json(),
        json!({"title": ["Cannot be blank."], "isbn": ["A book with this ISBN is already on the shelf."], "pages": ["A whole number of pages."]})
    );
    let r = gw.json(
        "POST",
        "/library/books/",
        &json!({"title": "x", "isbn": "123", "pages": 0}),
    );
    assert_eq!(
        r.json(),
        json!({"isbn": ["Thirteen digits, please."], "pages": ["At least 1."]})
    );
    let r = gw.json_text("POST", "/library/books/", "[1]");
    assert_eq!(
        r.json(),
        json!({"non_field_errors": ["Expected a JSON object, got list."]})
    );
    let r = gw.send(
        "POST",
        "/library/books/",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"title=Form&isbn=9780000000001&pages=12",
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        r.json()["pages"],
        12,
        "form text is parsed for integer fields"
    );
}

#[test]
fn the_fixture_list_uses_its_own_page_size_and_order() {
    let gw = start();
    book(&gw, "Short", "0000000000001", Some(10));
    book(&gw, "Long", "0000000000002", Some(900));
    book(&gw, "Mid", "0000000000003", Some(300));
    let body = gw.get("/library/books/").json();
    assert_eq!(body["count"], 3);
    let titles: Vec<&str> = body["results"]
        .as_array()
        .map(|a| a.iter().filter_map(|b| b["title"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(titles, ["Long", "Mid"]);
    assert_eq!(
        body["next"],
        format!("http://{}/library/books/?limit=2&offset=2", gw.addr)
    );
    let capped = gw.get("/library/books/?limit=50").json();
    assert_eq!(
        capped["results"].as_array().map(Vec::len),
        Some(3),
        "max_page_size caps the limit"
    );
    let r = gw.send("OPTIONS", "/library/books/", &[], b"");
    assert_eq!(r.json()["description"], "Every book on the shelf.");
}

#[test]
fn values_beyond_the_schema_are_400s_and_write_nothing() {
    let gw = start();
    let r = gw.json(
        "POST",
        "/library/books/",
        &json!({"title": "Big", "isbn": "0000000000009", "pages": 3_000_000_000_i64}),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json(), json!({"pages": ["At most 2147483647."]}));
    let r = gw.json_text(
        "POST",
        "/library/books/",
        r#"{"title": "Huge", "isbn": "0000000000008", "pages": 100000000000000000000000}"#,
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json(), json!({"pages": ["At most 2147483647."]}));
    assert_eq!(gw.sql("SELECT count(*) FROM library_book"), "0");
}

#[test]
fn values_the_table_refuses_are_400s_even_when_the_schema_is_looser() {
    let dir = common::copy_spec(&books_spec(), "looser");
    common::edit(
        &dir.join("schemas/book-input.json"),
        r#""minimum": 1, "maximum": 2147483647,"#,
        r#""minimum": 1,"#,
    );
    let gw = Gateway::start(&dir, &[]);
    let r = gw.json(
        "POST",
        "/library/books/",
        &json!({"title": "Big", "isbn": "0000000000009", "pages": 3_000_000_000_i64}),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"detail": "A value does not fit its column."})
    );
    assert_eq!(gw.sql("SELECT count(*) FROM library_book"), "0");
}
