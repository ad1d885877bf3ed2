//! A second, unrelated resource (books, keyed by `book_id`, with a relation and an integer
//! field), defined only under `tests/fixtures/books`, served through the same code as the
//! Users API: nothing in `src/` is specific to users. Every test runs on PostgreSQL and on
//! SQLite and expects the same answers.

mod common;

use common::{Gateway, books_spec, on_both};
use serde_json::{Value, json};

fn book(gw: &Gateway, title: &str, isbn: &str, pages: Option<i64>) -> Value {
    let r = gw.json(
        "POST",
        "/library/books/",
        &json!({"title": title, "isbn": isbn, "pages": pages}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

on_both! {
    /// Every action works on the fixture resource: create with defaults, retrieve with its
    /// relation, PATCH, PUT keeping omitted fields, and DELETE taking the relation rows along.
    fn every_action_works_on_the_fixture_resource(db) {
        let gw = Gateway::books_on(db);
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
}

on_both! {
    /// The fixture's input schema supplies its own messages, and form text is parsed for its
    /// integer field.
    fn the_fixture_schema_supplies_its_own_messages(db) {
        let gw = Gateway::books_on(db);
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
}

on_both! {
    /// The fixture's list uses its own page size, default ordering, page cap and description.
    fn the_fixture_list_uses_its_own_page_size_and_order(db) {
        let gw = Gateway::books_on(db);
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
}

on_both! {
    /// Integers beyond the schema's maximum, even beyond 64 bits, are field 400s and write
    /// nothing.
    fn values_beyond_the_schema_are_400s_and_write_nothing(db) {
        let gw = Gateway::books_on(db);
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
}

on_both! {
    /// A value the column cannot hold although the schema allowed it is a 400 detail, not a 500,
    /// and writes nothing.
    fn values_the_table_refuses_are_400s_even_when_the_schema_is_looser(db) {
        let dir = common::copy_spec(&books_spec(), "looser");
        common::edit(
            &dir.join("schemas/book-input.json"),
            r#""minimum": 1, "maximum": 2147483647,"#,
            r#""minimum": 1,"#,
        );
        let gw = Gateway::start_on(db, &dir, &[]);
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
}

on_both! {
    /// A null sorts last ascending and first descending (PostgreSQL's order), the key breaking
    /// ties, through every page.
    fn nulls_sort_last_ascending_and_first_descending(db) {
        let gw = Gateway::books_on(db);
        for (title, isbn, pages) in [
            ("B", "0000000000001", None),
            ("a", "0000000000002", Some(10)),
            ("C", "0000000000003", Some(900)),
            ("é", "0000000000004", None),
            ("d", "0000000000005", Some(10)),
        ] {
            book(&gw, title, isbn, pages);
        }
        for (query, expected) in [
            ("", ["B", "é", "C", "a", "d"]),
            ("ordering=pages", ["a", "d", "C", "B", "é"]),
            ("ordering=-pages", ["B", "é", "C", "a", "d"]),
            ("ordering=pages,-book_id", ["d", "a", "C", "é", "B"]),
            ("ordering=-pages,-title", ["é", "B", "C", "d", "a"]),
        ] {
            let mut titles = Vec::new();
            for offset in [0, 3] {
                let r = gw.get(&format!("/library/books/?limit=3&offset={offset}&{query}"));
                assert_eq!(r.status, 200, "{query}: {}", r.text());
                for b in r.json()["results"].as_array().into_iter().flatten() {
                    titles.push(b["title"].as_str().unwrap_or_default().to_owned());
                }
            }
            assert_eq!(titles, expected, "{query}");
        }
    }
}
