//! The Users API through real HTTP, on a real PostgreSQL database and on SQLite (every test
//! runs on both and expects the same answers): every endpoint of the seed document and every
//! error path of BEHAVIOUR.md's "The resource", "Validation" and "Endpoints" sections.

mod common;

use common::{Db, Gateway, Reply, on_both};
use serde_json::{Value, json};

const KEYS: [&str; 10] = [
    "id",
    "roles",
    "last_login",
    "username",
    "first_name",
    "last_name",
    "is_active",
    "date_joined",
    "phone_number",
    "email",
];

fn keys(v: &Value) -> Vec<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

fn create(gw: &Gateway, username: &str, email: &str) -> Value {
    let r = gw.json(
        "POST",
        "/api/users/",
        &json!({"username": username, "email": email}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

fn count(gw: &Gateway) -> i64 {
    gw.sql("SELECT count(*) FROM users_user")
        .parse()
        .unwrap_or(-1)
}

fn assert_400(r: &Reply, expected: Value) {
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json(), expected);
    assert_eq!(keys(&r.json()), keys(&expected), "field order");
}

on_both! {
    /// A create answers 201 with the whole representation, keys in the schema's order, defaults
    /// filled in and compact JSON.
    fn create_returns_the_representation_in_order(db) {
        let gw = Gateway::users_on(db);
        let r = gw.json(
            "POST",
            "/api/users/",
            &json!({"username": "jane_doe", "email": "jane_doe@example.com"}),
        );
        assert_eq!(r.status, 201);
        assert_eq!(r.header("content-type"), Some("application/json"));
        let body = r.json();
        assert_eq!(keys(&body), KEYS);
        assert_eq!(body["roles"], json!([]));
        assert_eq!(body["last_login"], Value::Null);
        assert_eq!(body["first_name"], "");
        assert_eq!(body["last_name"], "");
        assert_eq!(body["is_active"], true);
        assert_eq!(body["phone_number"], Value::Null);
        assert_eq!(body["email"], "jane_doe@example.com");
        let joined = body["date_joined"].as_str().unwrap_or_default();
        assert!(joined.ends_with('Z') && joined.len() >= 20, "{joined}");
        assert!(r.text().starts_with("{\"id\":"), "compact: {}", r.text());
    }
}

on_both! {
    /// A retrieve finds the row by its integer id (leading zeros allowed); any other key is a
    /// JSON 404.
    fn retrieve_finds_by_id_and_404s_otherwise(db) {
        let gw = Gateway::users_on(db);
        let user = create(&gw, "mike", "hello@world.com");
        let id = user["id"].as_i64().unwrap_or_default();
        let r = gw.get(&format!("/api/users/{id}/"));
        assert_eq!(r.status, 200);
        assert_eq!(r.json(), user);
        let padded = gw.get(&format!("/api/users/{id:03}/"));
        assert_eq!(padded.status, 200, "007 finds 7");
        for bad in [
            "999999",
            "abc",
            "0",
            "-1",
            "99999999999999999999999",
            "1.5",
            "%00",
        ] {
            let r = gw.get(&format!("/api/users/{bad}/"));
            assert_eq!(r.status, 404, "{bad}");
            assert_eq!(r.json(), json!({"detail": "Not found."}), "{bad}");
        }
    }
}

on_both! {
    /// Timestamps render as DRF does (UTC, microseconds only when there are any) and a relation
    /// as its ascending ids.
    fn timestamps_and_roles_render_like_drf(db) {
        let gw = Gateway::users_on(db);
        let id = create(&gw, "mike", "m@example.com")["id"]
            .as_i64()
            .unwrap_or_default();
        // SQLite keeps timestamps as UTC text with six fraction digits.
        let (last_login, date_joined) = match db {
            Db::Postgres => ("2025-11-06T07:37:34.364302Z", "2025-11-06T08:00:00Z"),
            Db::Sqlite => ("2025-11-06 07:37:34.364302", "2025-11-06 08:00:00.000000"),
        };
        gw.sql(&format!(
            "INSERT INTO users_role (name) VALUES ('a'), ('b'), ('c');
             INSERT INTO users_user_roles (user_id, role_id) SELECT {id}, id FROM users_role WHERE name IN ('c', 'a');
             UPDATE users_user SET last_login = '{last_login}', date_joined = '{date_joined}' WHERE id = {id}"
        ));
        let body = gw.get(&format!("/api/users/{id}/")).json();
        let roles: Vec<i64> = gw
            .sql("SELECT id FROM users_role WHERE name IN ('a','c') ORDER BY id")
            .lines()
            .filter_map(|l| l.parse().ok())
            .collect();
        assert_eq!(body["roles"], json!(roles));
        assert_eq!(body["last_login"], "2025-11-06T07:37:34.364302Z");
        assert_eq!(body["date_joined"], "2025-11-06T08:00:00Z");
    }
}

on_both! {
    /// PUT requires the required fields, keeps omitted optional ones and does not trip over the
    /// row's own unique values.
    fn put_replaces_and_keeps_omitted_optional_fields(db) {
        let gw = Gateway::users_on(db);
        let id = create(&gw, "old", "old@example.com")["id"]
            .as_i64()
            .unwrap_or_default();
        let path = format!("/api/users/{id}/");
        let r = gw.json(
            "PATCH",
            &path,
            &json!({"first_name": "shinoda", "phone_number": "123"}),
        );
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["first_name"], "shinoda");
        let r = gw.json(
            "PUT",
            &path,
            &json!({"username": "new", "email": "new@new.com"}),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        let body = r.json();
        assert_eq!(keys(&body), KEYS);
        assert_eq!(body["username"], "new");
        assert_eq!(body["email"], "new@new.com");
        assert_eq!(
            body["first_name"], "shinoda",
            "omitted optional fields keep their values"
        );
        assert_eq!(body["phone_number"], "123");
        let r = gw.json("PUT", &path, &json!({"first_name": "x"}));
        assert_400(
            &r,
            json!({"username": ["This field is required."], "email": ["This field is required."]}),
        );
        let same = gw.json(
            "PUT",
            &path,
            &json!({"username": "new", "email": "new@new.com"}),
        );
        assert_eq!(same.status, 200, "unique checks exclude the object itself");
    }
}

on_both! {
    /// PATCH changes only the fields sent; null is refused for a non-nullable field and stored
    /// for a nullable one.
    fn patch_changes_only_what_is_sent(db) {
        let gw = Gateway::users_on(db);
        let id = create(&gw, "new", "new@new.com")["id"]
            .as_i64()
            .unwrap_or_default();
        let path = format!("/api/users/{id}/");
        let r = gw.json("PATCH", &path, &json!({"first_name": "shinoda"}));
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["first_name"], "shinoda");
        assert_eq!(r.json()["username"], "new");
        let empty = gw.json("PATCH", &path, &json!({}));
        assert_eq!(empty.status, 200);
        assert_eq!(empty.json()["first_name"], "shinoda");
        let r = gw.json("PATCH", &path, &json!({"username": null}));
        assert_400(&r, json!({"username": ["This field may not be null."]}));
        let r = gw.json("PATCH", &path, &json!({"phone_number": null}));
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["phone_number"], Value::Null);
    }
}

on_both! {
    /// DELETE answers 204 without a body or content type, and the row is then gone.
    fn delete_answers_204_without_body_then_404(db) {
        let gw = Gateway::users_on(db);
        let id = create(&gw, "gone", "gone@example.com")["id"]
            .as_i64()
            .unwrap_or_default();
        let path = format!("/api/users/{id}/");
        let r = gw.send("DELETE", &path, &[], b"");
        assert_eq!(r.status, 204);
        assert!(r.body.is_empty());
        assert_eq!(r.header("content-type"), None);
        assert_eq!(gw.send("DELETE", &path, &[], b"").status, 404);
        assert_eq!(gw.get(&path).status, 404);
    }
}

on_both! {
    /// PUT and PATCH to a missing id are 404 whatever the body: broken, of the wrong type,
    /// invalid or valid.
    fn writes_to_a_missing_id_are_404_before_the_body_is_read(db) {
        let gw = Gateway::users_on(db);
        for method in ["PUT", "PATCH"] {
            let broken = gw.json_text(method, "/api/users/999/", "{broken");
            assert_eq!(broken.status, 404, "{method}");
            assert_eq!(broken.json(), json!({"detail": "Not found."}));
            let wrong_type = gw.send(
                method,
                "/api/users/999/",
                &[("Content-Type", "text/plain")],
                b"x",
            );
            assert_eq!(wrong_type.status, 404, "{method}");
            let invalid = gw.json(method, "/api/users/999/", &json!({"username": ""}));
            assert_eq!(invalid.status, 404, "{method}");
            let valid = gw.json(
                method,
                "/api/users/999/",
                &json!({"username": "a", "email": "a@b.co"}),
            );
            assert_eq!(valid.status, 404, "{method}");
        }
    }
}

on_both! {
    /// Missing, null, blank, too long, pattern and NUL failures get DRF's messages, fields in
    /// the input schema's order, and write nothing.
    fn required_null_blank_and_length_messages(db) {
        let gw = Gateway::users_on(db);
        assert_400(
            &gw.json("POST", "/api/users/", &json!({})),
            json!({"username": ["This field is required."], "email": ["This field is required."]}),
        );
        assert_400(
            &gw.json(
                "POST",
                "/api/users/",
                &json!({"email": null, "username": null}),
            ),
            json!({"username": ["This field may not be null."], "email": ["This field may not be null."]}),
        );
        assert_400(
            &gw.json(
                "POST",
                "/api/users/",
                &json!({"username": "   ", "email": "", "first_name": "", "phone_number": ""}),
            ),
            json!({"username": ["This field may not be blank."], "email": ["This field may not be blank."]}),
        );
        let long = "a".repeat(151);
        assert_400(
            &gw.json(
                "POST",
                "/api/users/",
                &json!({"username": long, "email": "x@example.com", "phone_number": "1".repeat(21)}),
            ),
            json!({"username": ["Ensure this field has no more than 150 characters."], "phone_number": ["Ensure this field has no more than 20 characters."]}),
        );
        let bad_long = format!("{}!", "a".repeat(150));
        assert_400(
            &gw.json(
                "POST",
                "/api/users/",
                &json!({"email": "x@example.com", "username": bad_long}),
            ),
            json!({"username": [
                "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.",
                "Ensure this field has no more than 150 characters."
            ]}),
        );
        assert_400(
            &gw.json(
                "POST",
                "/api/users/",
                &json!({"username": "a\u{0}b", "first_name": "\u{0}", "email": "not-an-email"}),
            ),
            json!({
                "username": [
                    "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.",
                    "Null characters are not allowed."
                ],
                "first_name": ["Null characters are not allowed."],
                "email": ["Enter a valid email address."]
            }),
        );
        assert_eq!(count(&gw), 0, "a failed create writes nothing");
    }
}

on_both! {
    /// Strings are trimmed and numbers sent for text fields become their Python text; other
    /// types are refused.
    fn strings_are_trimmed_and_numbers_become_text(db) {
        let gw = Gateway::users_on(db);
        let r = gw.json(
            "POST",
            "/api/users/",
            &json!({"username": "  padded ", "email": " p@example.com\t", "first_name": " Ann "}),
        );
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(r.json()["username"], "padded");
        assert_eq!(r.json()["email"], "p@example.com");
        assert_eq!(r.json()["first_name"], "Ann");
        let r = gw.json_text(
            "POST",
            "/api/users/",
            r#"{"username": 123, "email": "n@example.com", "first_name": 1.5, "last_name": 1e3}"#,
        );
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(r.json()["username"], "123");
        assert_eq!(r.json()["first_name"], "1.5");
        assert_eq!(r.json()["last_name"], "1000.0");
        for bad in [json!(true), json!([]), json!({})] {
            let r = gw.json(
                "POST",
                "/api/users/",
                &json!({"username": bad, "email": "t@example.com"}),
            );
            assert_400(&r, json!({"username": ["Not a valid string."]}));
        }
    }
}

on_both! {
    /// Unknown and read-only keys in a body are ignored, not stored.
    fn unknown_and_read_only_keys_are_ignored(db) {
        let gw = Gateway::users_on(db);
        let r = gw.json(
            "POST",
            "/api/users/",
            &json!({"id": 999, "roles": [1], "is_active": false, "password": "x", "date_joined": "2000-01-01T00:00:00Z", "last_login": "2000-01-01T00:00:00Z", "bogus": 1, "username": "u", "email": "u@example.com"}),
        );
        assert_eq!(r.status, 201, "{}", r.text());
        let body = r.json();
        assert_ne!(body["id"], 999);
        assert_eq!(body["roles"], json!([]));
        assert_eq!(body["is_active"], true);
        assert_eq!(body["last_login"], Value::Null);
        assert_eq!(gw.sql("SELECT password FROM users_user"), "");
    }
}

on_both! {
    /// A key repeated in a JSON body takes its last value.
    fn duplicate_keys_last_wins(db) {
        let gw = Gateway::users_on(db);
        let r = gw.json_text(
            "POST",
            "/api/users/",
            r#"{"username": "first", "username": "second", "email": "d@example.com"}"#,
        );
        assert_eq!(r.status, 201);
        assert_eq!(r.json()["username"], "second");
    }
}

on_both! {
    /// Duplicate unique values are reported together and alongside other field errors,
    /// case-sensitively, on create and on PATCH.
    fn uniqueness_is_reported_together_and_with_other_errors(db) {
        let gw = Gateway::users_on(db);
        create(&gw, "jane_doe", "hello@world.com");
        let r = gw.json(
            "POST",
            "/api/users/",
            &json!({"email": "hello@world.com", "username": "jane_doe"}),
        );
        assert_400(
            &r,
            json!({"username": ["A user with that username already exists."], "email": ["user with this email already exists."]}),
        );
        let r = gw.json("POST", "/api/users/", &json!({"username": "jane_doe", "email": "hello@world.com", "phone_number": "1".repeat(30)}));
        assert_400(
            &r,
            json!({
                "username": ["A user with that username already exists."],
                "phone_number": ["Ensure this field has no more than 20 characters."],
                "email": ["user with this email already exists."]
            }),
        );
        let case = gw.json(
            "POST",
            "/api/users/",
            &json!({"username": "Jane_Doe", "email": "Hello@world.com"}),
        );
        assert_eq!(case.status, 201, "uniqueness is case-sensitive");
        let other = create(&gw, "other", "other@example.com")["id"]
            .as_i64()
            .unwrap_or_default();
        let r = gw.json(
            "PATCH",
            &format!("/api/users/{other}/"),
            &json!({"username": "jane_doe"}),
        );
        assert_400(
            &r,
            json!({"username": ["A user with that username already exists."]}),
        );
        assert_eq!(count(&gw), 3);
    }
}

on_both! {
    /// Twelve racing creates of the same user give exactly one 201; every other answer is the
    /// uniqueness 400.
    fn racing_creates_give_one_201_and_the_uniqueness_400(db) {
        let gw = Gateway::users_on(db);
        let results: Vec<Reply> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..12)
                .map(|_| {
                    s.spawn(|| {
                        gw.json(
                            "POST",
                            "/api/users/",
                            &json!({"username": "racer", "email": "racer@example.com"}),
                        )
                    })
                })
                .collect();
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        assert_eq!(results.iter().filter(|r| r.status == 201).count(), 1);
        for r in results.iter().filter(|r| r.status != 201) {
            assert_400(
                r,
                json!({"username": ["A user with that username already exists."], "email": ["user with this email already exists."]}),
            );
        }
        assert_eq!(count(&gw), 1);
    }
}

on_both! {
    /// A body that is not an object gets the non-field message naming its Python type.
    fn bodies_that_are_not_objects(db) {
        let gw = Gateway::users_on(db);
        for (text, kind) in [
            ("[]", "list"),
            ("\"x\"", "str"),
            ("1", "int"),
            ("1.5", "float"),
            ("true", "bool"),
        ] {
            let r = gw.json_text("POST", "/api/users/", text);
            assert_400(
                &r,
                json!({"non_field_errors": [format!("Invalid data. Expected a dictionary, but got {kind}.")]}),
            );
        }
        assert_400(
            &gw.json_text("POST", "/api/users/", "null"),
            json!({"non_field_errors": ["No data provided"]}),
        );
    }
}

on_both! {
    /// Broken JSON is a 400 with Python's parse message; an unsupported or missing media type is
    /// a 415; media types are case-insensitive.
    fn broken_json_and_media_types(db) {
        let gw = Gateway::users_on(db);
        let r = gw.json_text("POST", "/api/users/", r#"{"username": }"#);
        assert_eq!(r.status, 400);
        assert_eq!(
            r.json(),
            json!({"detail": "JSON parse error - Expecting value: line 1 column 14 (char 13)"})
        );
        let r = gw.send(
            "POST",
            "/api/users/",
            &[("Content-Type", "text/plain")],
            b"hi",
        );
        assert_eq!(r.status, 415);
        assert_eq!(
            r.json(),
            json!({"detail": "Unsupported media type \"text/plain\" in request."})
        );
        let r = gw.send("POST", "/api/users/", &[], b"hi");
        assert_eq!(r.status, 415);
        assert_eq!(
            r.json(),
            json!({"detail": "Unsupported media type \"\" in request."})
        );
        let r = gw.send(
            "POST",
            "/api/users/",
            &[("Content-Type", "APPLICATION/JSON; charset=UTF-8")],
            br#"{"username":"cs","email":"cs@example.com"}"#,
        );
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(count(&gw), 1);
    }
}

on_both! {
    /// Form and multipart bodies create users like JSON ones.
    fn form_and_multipart_bodies(db) {
        let gw = Gateway::users_on(db);
        let r = gw.send(
            "POST",
            "/api/users/",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            b"username=form&email=form%40example.com&phone_number=",
        );
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(r.json()["phone_number"], "");
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nmulti\r\n--XyZ\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nmulti@example.com\r\n--XyZ--\r\n";
        let r = gw.send(
            "POST",
            "/api/users/",
            &[("Content-Type", "multipart/form-data; boundary=XyZ")],
            body.as_bytes(),
        );
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(r.json()["username"], "multi");
    }
}

on_both! {
    /// Unknown methods are 405 with `Allow`, HEAD mirrors GET without a body, `Accept` picks
    /// 406 or indentation, and OPTIONS describes the actions.
    fn methods_head_options_and_accept(db) {
        let gw = Gateway::users_on(db);
        let id = create(&gw, "h", "h@example.com")["id"]
            .as_i64()
            .unwrap_or_default();
        let r = gw.send("DELETE", "/api/users/", &[], b"");
        assert_eq!(r.status, 405);
        assert_eq!(
            r.json(),
            json!({"detail": "Method \"DELETE\" not allowed."})
        );
        assert_eq!(r.header("allow"), Some("GET, POST, HEAD, OPTIONS"));
        let r = gw.send("BREW", &format!("/api/users/{id}/"), &[], b"");
        assert_eq!(r.status, 405);
        assert_eq!(r.json(), json!({"detail": "Method \"BREW\" not allowed."}));
        assert_eq!(
            r.header("allow"),
            Some("GET, PUT, PATCH, DELETE, HEAD, OPTIONS")
        );
        assert_eq!(
            gw.send("POST", &format!("/api/users/{id}/"), &[], b"")
                .status,
            405
        );

        let get = gw.get(&format!("/api/users/{id}/"));
        let head = gw.send("HEAD", &format!("/api/users/{id}/"), &[], b"");
        assert_eq!(head.status, 200);
        assert!(head.body.is_empty());
        assert_eq!(
            head.header("content-length").map(str::to_owned),
            Some(get.body.len().to_string())
        );
        assert_eq!(head.header("content-type"), get.header("content-type"));

        let r = gw.send("GET", "/api/users/", &[("Accept", "application/xml")], b"");
        assert_eq!(r.status, 406);
        assert_eq!(
            r.json(),
            json!({"detail": "Could not satisfy the request Accept header."})
        );
        let r = gw.send(
            "GET",
            &format!("/api/users/{id}/"),
            &[("Accept", "application/json; indent=4")],
            b"",
        );
        assert!(r.text().starts_with("{\n    \"id\": "), "{}", r.text());

        let r = gw.send("OPTIONS", "/api/users/", &[], b"");
        assert_eq!(r.status, 200);
        let meta = r.json();
        assert_eq!(meta["name"], "User List");
        assert_eq!(
            meta["parses"],
            json!([
                "application/json",
                "application/x-www-form-urlencoded",
                "multipart/form-data"
            ])
        );
        let post = &meta["actions"]["POST"];
        assert_eq!(keys(post), KEYS);
        assert_eq!(post["username"]["required"], true);
        assert_eq!(post["username"]["max_length"], 150);
        assert_eq!(post["email"]["type"], "email");
        assert_eq!(post["id"]["read_only"], true);
        assert_eq!(post["date_joined"]["type"], "datetime");
        let detail = gw
            .send("OPTIONS", &format!("/api/users/{id}/"), &[], b"")
            .json();
        assert!(detail["actions"]["PUT"].is_object());
    }
}

on_both! {
    /// Paths without their trailing slash redirect (301 or 308), unknown paths are a JSON 404,
    /// and every answer carries the fixed headers.
    fn redirects_unknown_paths_and_headers(db) {
        let gw = Gateway::users_on(db);
        let r = gw.get("/api/users?limit=1");
        assert_eq!(r.status, 301);
        assert_eq!(r.header("location"), Some("/api/users/?limit=1"));
        let r = gw.json("POST", "/api/users", &json!({}));
        assert_eq!(r.status, 308);
        assert_eq!(r.header("location"), Some("/api/users/"));
        assert_eq!(gw.get("/api/users/5").status, 301);
        let r = gw.get("/nope/");
        assert_eq!(r.status, 404);
        assert_eq!(r.json(), json!({"detail": "Not found."}));
        let r = gw.get("/api/users/");
        for (name, value) in [
            ("vary", "Accept"),
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
            ("referrer-policy", "same-origin"),
            ("allow", "GET, POST, HEAD, OPTIONS"),
        ] {
            assert_eq!(r.header(name), Some(value), "{name}");
        }
        assert!(r.header("x-request-id").is_some());
    }
}

on_both! {
    /// The list shows the first page of ten in id order with `count` and absolute `next` and
    /// `previous` links.
    fn the_list_shows_a_first_page_with_links(db) {
        let gw = Gateway::users_on(db);
        for i in 0..12 {
            create(
                &gw,
                &format!("user{i:02}"),
                &format!("user{i:02}@example.com"),
            );
        }
        let r = gw.get("/api/users/");
        assert_eq!(r.status, 200);
        let body = r.json();
        assert_eq!(keys(&body), ["count", "next", "previous", "results"]);
        assert_eq!(body["count"], 12);
        assert_eq!(body["results"].as_array().map(Vec::len), Some(10));
        assert_eq!(
            body["next"],
            format!("http://{}/api/users/?limit=10&offset=10", gw.addr)
        );
        assert_eq!(body["previous"], Value::Null);
        assert_eq!(body["results"][0]["username"], "user00");
        let page2 = gw.get("/api/users/?offset=10").json();
        assert_eq!(page2["next"], Value::Null);
        assert_eq!(
            page2["previous"],
            format!("http://{}/api/users/?limit=10", gw.addr)
        );
    }
}

on_both! {
    /// A create refused for uniqueness uses no id: the next create gets the following one.
    fn a_create_refused_for_uniqueness_draws_no_id(db) {
        let gw = Gateway::users_on(db);
        let first = create(&gw, "mike", "hello@world.com")["id"]
            .as_i64()
            .unwrap_or_default();
        let dup = gw.json(
            "POST",
            "/api/users/",
            &json!({"username": "mike", "email": "hello@world.com"}),
        );
        assert_eq!(dup.status, 400);
        let next = create(&gw, "jane", "jane@world.com")["id"]
            .as_i64()
            .unwrap_or_default();
        assert_eq!(
            next,
            first + 1,
            "ids follow on as in the original, which checked before inserting"
        );
    }
}

on_both! {
    /// Details the differential check against DRF found: email type errors, NUL before format,
    /// latin-1 bodies, lower-case methods, `format=` and OPTIONS on a missing id.
    fn drf_details_found_by_the_differential_check(db) {
        let gw = Gateway::users_on(db);
        let id = create(&gw, "mike", "mike@example.com")["id"]
            .as_i64()
            .unwrap_or_default();
        for bad in [json!(false), json!([]), json!({})] {
            let r = gw.json(
                "POST",
                "/api/users/",
                &json!({"username": "x", "email": bad}),
            );
            assert_400(&r, json!({"email": ["Enter a valid email address."]}));
        }
        let r = gw.json(
            "POST",
            "/api/users/",
            &json!({"username": "x", "email": "a\u{0}@example.com"}),
        );
        assert_400(
            &r,
            json!({"email": ["Null characters are not allowed.", "Enter a valid email address."]}),
        );
        let latin = gw.send(
            "POST",
            "/api/users/",
            &[("Content-Type", "application/json; charset=latin-1")],
            b"{\"username\": \"caf\xe9\", \"email\": \"cafe@example.com\"}",
        );
        assert_eq!(latin.status, 201, "{}", latin.text());
        assert_eq!(latin.json()["username"], "café");
        assert_eq!(
            gw.send("get", "/api/users/", &[], b"").status,
            200,
            "methods are upper-cased"
        );
        assert_eq!(
            gw.send("GET", "/api/users/", &[("Accept", "")], b"").status,
            406
        );
        assert_eq!(gw.get("/api/users/?format=xml").status, 404);
        assert_eq!(gw.get("/api/users/?format=json").status, 200);
        let missing = gw.send("OPTIONS", "/api/users/99999/", &[], b"").json();
        assert!(missing.get("actions").is_none());
        let found = gw
            .send("OPTIONS", &format!("/api/users/{id}/"), &[], b"")
            .json();
        assert!(found["actions"]["PUT"].is_object());
    }
}

on_both! {
    /// A stored value that breaks today's rules still gets the uniqueness message next to the
    /// rule's own.
    fn a_stored_value_that_breaks_todays_rules_still_gets_the_uniqueness_message(db) {
        let gw = Gateway::users_on(db);
        gw.sql("INSERT INTO users_user (username, email) VALUES ('bad name', 'seed@b')");
        let r = gw.json(
            "POST",
            "/api/users/",
            &json!({"username": "bad name", "email": "seed@b", "first_name": "f".repeat(151)}),
        );
        assert_400(
            &r,
            json!({
                "username": [
                    "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.",
                    "A user with that username already exists."
                ],
                "first_name": ["Ensure this field has no more than 150 characters."],
                "email": ["user with this email already exists.", "Enter a valid email address."]
            }),
        );
    }
}

on_both! {
    /// The special paths honour their methods: GET and HEAD answer, OPTIONS gives only the
    /// `Allow` (not the whole document), and anything else is a 405 with that `Allow`.
    fn the_special_paths_honour_their_methods(db) {
        let gw = Gateway::users_on(db);
        for path in ["/ready", "/openapi.json"] {
            assert_eq!(gw.get(path).status, 200, "{path}");
            let r = gw.send("OPTIONS", path, &[], b"");
            assert_eq!(r.status, 204, "{path}");
            assert_eq!(r.header("allow"), Some("GET, HEAD, OPTIONS"), "{path}");
            assert!(r.body.is_empty(), "{path}: {}", r.text());
            for method in ["POST", "PUT", "DELETE"] {
                let r = gw.send(method, path, &[], b"{}");
                assert_eq!(r.status, 405, "{method} {path}");
                assert_eq!(r.header("allow"), Some("GET, HEAD, OPTIONS"), "{method} {path}");
                assert_eq!(
                    r.json(),
                    json!({"detail": format!("Method \"{method}\" not allowed.")}),
                    "{method} {path}"
                );
            }
        }
    }
}

on_both! {
    /// The clock of a create has microseconds on both databases (SQLite's own gives
    /// milliseconds), so users created one after the other never tie on `date_joined` and
    /// `?ordering=date_joined` is their creation order.
    fn date_joined_has_microseconds_and_orders_creations(db) {
        let gw = Gateway::users_on(db);
        let mut ids = Vec::new();
        let mut sub_millisecond = 0;
        for i in 0..20 {
            let body = json!({"username": format!("tick{i}"), "email": format!("tick{i}@example.com")});
            let r = gw.json("POST", "/api/users/", &body);
            assert_eq!(r.status, 201, "{}", r.text());
            let joined = r.json()["date_joined"].as_str().unwrap_or_default().to_owned();
            // `.ffffffZ` whose last three digits are not all zero: finer than milliseconds.
            if joined.len() == 27 && !joined.ends_with("000Z") {
                sub_millisecond += 1;
            }
            ids.push(r.json()["id"].clone());
        }
        assert!(sub_millisecond > 0, "every date_joined is on a whole millisecond");
        let r = gw.get("/api/users/?ordering=date_joined&limit=100");
        let order: Vec<Value> = r.json()["results"]
            .as_array()
            .map(|a| a.iter().map(|u| u["id"].clone()).collect())
            .unwrap_or_default();
        assert_eq!(order, ids);
    }
}

/// A SQLite database migrated before `specgate_now()` became the default (0001 and 0002
/// only) keeps its rows, their roles and its key sequence through migration 0003, and the
/// next user gets a timestamp with microseconds.
#[test]
fn the_sqlite_clock_migration_keeps_existing_rows() {
    let old = common::copy_spec(&common::users_spec(), "before-clock");
    std::fs::remove_file(old.join("migrations/0003_users_clock.sqlite.sql")).expect("removes");
    let path = common::sqlite_path();
    common::remove_sqlite(&path);
    let migrate = |spec: &std::path::Path| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_specgate"))
            .args(["migrate", "--spec"])
            .arg(spec)
            .args(["--database-url", &common::sqlite_url(&path)])
            .output()
            .expect("runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    migrate(&old);
    common::sqlite(
        &path,
        "INSERT INTO users_role (name) VALUES ('admin');
         INSERT INTO users_user (username, email) VALUES ('a', 'a@example.com'),
                ('b', 'b@example.com'), ('c', 'c@example.com');
         INSERT INTO users_user_roles (user_id, role_id) VALUES (2, 1), (3, 1);
         DELETE FROM users_user WHERE id = 3;",
    );
    migrate(&common::users_spec());
    assert_eq!(
        common::sqlite(&path, "SELECT id, username FROM users_user ORDER BY id"),
        "1|a\n2|b"
    );
    assert_eq!(
        common::sqlite(&path, "SELECT user_id, role_id FROM users_user_roles"),
        "2|1"
    );
    common::sqlite(
        &path,
        "INSERT INTO users_user (username, email) VALUES ('d', 'd@example.com');
         INSERT INTO users_user (username, email) VALUES ('e', 'e@example.com');
         INSERT INTO users_user (username, email) VALUES ('f', 'f@example.com');",
    );
    let rows = common::sqlite(&path, "SELECT id, date_joined FROM users_user WHERE id > 2");
    let rows: Vec<(&str, &str)> = rows.lines().filter_map(|r| r.split_once('|')).collect();
    assert_eq!(
        rows.first().map(|r| r.0),
        Some("4"),
        "the deleted key 3 is not reused"
    );
    assert!(
        rows.iter().any(|(_, joined)| !joined.ends_with("000")),
        "SQLite's millisecond clock is still the default: {rows:?}"
    );
    assert_eq!(
        common::sqlite(&path, "PRAGMA foreign_key_check"),
        "",
        "the join table still points at users_user"
    );
    common::sqlite(&path, "DELETE FROM users_user WHERE id = 2");
    assert_eq!(
        common::sqlite(&path, "SELECT count(*) FROM users_user_roles"),
        "0"
    );
    common::remove_sqlite(&path);
}
