//! The OpenAPI 3.1 document: valid against the OpenAPI 3.1 meta-schema, served at
//! `/openapi.json`, and derived from the spec files, so changing a schema changes both the
//! behaviour and the document with no code change. Every test runs on PostgreSQL and on
//! SQLite.

mod common;

use std::path::Path;

use common::{Gateway, books_spec, on_both, users_spec};
use serde_json::{Value, json};

fn meta_schema() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/openapi-3.1-schema.json");
    let text = std::fs::read_to_string(path).expect("meta-schema is vendored");
    let schema: Value = serde_json::from_str(&text).expect("meta-schema is JSON");
    jsonschema::validator_for(&schema).expect("meta-schema compiles")
}

fn assert_valid(document: &Value) {
    let validator = meta_schema();
    let errors: Vec<String> = validator
        .iter_errors(document)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    for name in document["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| k)
    {
        // Each component compiles as JSON Schema 2020-12, its `$ref`s resolved in the document.
        let rooted = json!({"$ref": format!("#/components/schemas/{name}"), "components": document["components"]});
        let compiled = jsonschema::validator_for(&rooted);
        assert!(compiled.is_ok(), "component {name}: {:?}", compiled.err());
    }
}

on_both! {
    /// The documents served for both specs validate against the OpenAPI 3.1 meta-schema, and
    /// each component compiles as JSON Schema.
    fn the_served_documents_validate_against_the_openapi_31_meta_schema(db) {
        for spec in [users_spec(), books_spec()] {
            let gw = Gateway::start_on(db, &spec, &[]);
            let r = gw.get("/openapi.json");
            assert_eq!(r.status, 200);
            assert_eq!(r.header("content-type"), Some("application/json"));
            let document = r.json();
            assert_eq!(document["openapi"], "3.1.0");
            assert_valid(&document);
        }
    }
}

on_both! {
    /// The document names every operation, lists the list's parameters and the create's
    /// responses, and links create to the detail operations by key.
    fn the_document_describes_every_operation_and_links_create_to_the_detail_routes(db) {
        let gw = Gateway::users_on(db);
        let document = gw.get("/openapi.json").json();
        let paths = &document["paths"];
        for (path, method, id) in [
            ("/api/users/", "get", "list_users"),
            ("/api/users/", "post", "create_users"),
            ("/api/users/{id}/", "get", "retrieve_users"),
            ("/api/users/{id}/", "put", "update_users"),
            ("/api/users/{id}/", "patch", "partial_update_users"),
            ("/api/users/{id}/", "delete", "destroy_users"),
        ] {
            assert_eq!(paths[path][method]["operationId"], id, "{method} {path}");
        }
        let names: Vec<&str> = paths["/api/users/"]["get"]["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["name"].as_str())
            .collect();
        for expected in [
            "limit",
            "offset",
            "search",
            "ordering",
            "username",
            "username__iexact",
            "email__in",
            "phone_number__lte",
        ] {
            assert!(names.contains(&expected), "{expected} in {names:?}");
        }
        let create = &paths["/api/users/"]["post"];
        let statuses: Vec<&String> = create["responses"]
            .as_object()
            .map(|r| r.keys().collect())
            .unwrap_or_default();
        for status in ["201", "400", "406", "415"] {
            assert!(statuses.iter().any(|s| s.as_str() == status), "{status}");
        }
        let link = &create["responses"]["201"]["links"]["RetrieveUsers"];
        assert_eq!(link["operationId"], "retrieve_users");
        assert_eq!(link["parameters"]["id"], "$response.body#/id");
        assert_eq!(
            create["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"],
            "#/components/schemas/users.input.multipart"
        );
        let user = &document["components"]["schemas"]["users"];
        assert_eq!(user["additionalProperties"], false);
        assert_eq!(user["properties"]["date_joined"]["format"], "date-time");
    }
}

on_both! {
    /// `openapi_path: null` switches the document off.
    fn the_document_can_be_switched_off(db) {
        let dir = common::copy_spec(&books_spec(), "openapi-off");
        let routes = std::fs::read_to_string(dir.join("routes.yaml")).expect("reads");
        std::fs::write(
            dir.join("routes.yaml"),
            routes.replace(
                "  response_validation: enforce\n",
                "  response_validation: enforce\n  openapi_path: null\n",
            ),
        )
        .expect("writes");
        let gw = Gateway::start_on(db, &dir, &[]);
        assert_eq!(gw.get("/openapi.json").status, 404);
    }
}

on_both! {
    /// Editing the spec files (a tighter length, a new column with its migration) changes the
    /// behaviour and the document alike, with no code change.
    fn a_schema_change_changes_behaviour_and_document_without_code(db) {
        let dir = common::copy_spec(&books_spec(), "openapi-change");
        // A new length limit on an existing field.
        common::edit(
            &dir.join("schemas/book-input.json"),
            r#""title": { "type": "string", "minLength": 1, "maxLength": 200 }"#,
            r#""title": { "type": "string", "minLength": 1, "maxLength": 5 }"#,
        );
        // A new optional field: a column, a representation property, an input property. The
        // migration has no dialect in its name, so it applies to both databases.
        std::fs::write(
            dir.join("migrations/0002_subtitle.sql"),
            "ALTER TABLE library_book ADD COLUMN subtitle text NOT NULL DEFAULT '';\n",
        )
        .expect("writes");
        common::edit(
            &dir.join("schemas/book.json"),
            r#""pages": {"#,
            r#""subtitle": { "type": "string", "title": "Subtitle" }, "pages": {"#,
        );
        common::edit(
            &dir.join("schemas/book.json"),
            r#""required": ["book_id", "title","#,
            r#""required": ["book_id", "subtitle", "title","#,
        );
        common::edit(
            &dir.join("schemas/book-input.json"),
            r#""pages": {"#,
            r#""subtitle": { "type": "string", "maxLength": 40 }, "pages": {"#,
        );
        let gw = Gateway::start_on(db, &dir, &[]);

        let long = gw.json(
            "POST",
            "/library/books/",
            &json!({"title": "Too long", "isbn": "0000000000001"}),
        );
        assert_eq!(long.status, 400);
        assert_eq!(long.json(), json!({"title": ["At most 5 characters."]}));
        let made = gw.json(
            "POST",
            "/library/books/",
            &json!({"title": "Dune", "isbn": "0000000000001", "subtitle": "  A novel "}),
        );
        assert_eq!(made.status, 201, "{}", made.text());
        assert_eq!(made.json()["subtitle"], "A novel");

        let document = gw.get("/openapi.json").json();
        let input = &document["components"]["schemas"]["books.input"]["properties"];
        assert_eq!(input["title"]["maxLength"], 5);
        assert_eq!(input["subtitle"]["maxLength"], 40);
        assert_eq!(
            document["components"]["schemas"]["books"]["properties"]["subtitle"]["type"],
            "string"
        );
        assert_valid(&document);
    }
}

/// The component `name` of `document` as a validator, its `$ref`s resolved in the document.
fn component(document: &Value, name: &str) -> jsonschema::Validator {
    let rooted = json!({"$ref": format!("#/components/schemas/{name}"), "components": document["components"]});
    jsonschema::validator_for(&rooted).expect("component compiles")
}

on_both! {
    /// Client generators name a model by its schema's title: every component has its own,
    /// and each media type of a body has a component of its own.
    fn every_component_and_body_media_type_has_its_own_title(db) {
        for spec in [users_spec(), books_spec()] {
            let gw = Gateway::start_on(db, &spec, &[]);
            let document = gw.get("/openapi.json").json();
            let schemas = document["components"]["schemas"].as_object().expect("components");
            let titles: Vec<&str> = schemas.values().filter_map(|s| s["title"].as_str()).collect();
            let mut distinct = titles.clone();
            distinct.sort_unstable();
            distinct.dedup();
            assert_eq!(titles.len(), distinct.len(), "{titles:?}");
            let operations = document["paths"].as_object().into_iter().flatten();
            for (path, item) in operations {
                for (method, op) in item.as_object().into_iter().flatten() {
                    let content = op["requestBody"]["content"].as_object();
                    let refs: Vec<&str> = content
                        .into_iter()
                        .flatten()
                        .filter_map(|(_, media)| media["schema"]["$ref"].as_str())
                        .collect();
                    let mut unique = refs.clone();
                    unique.dedup();
                    assert_eq!(refs, unique, "{method} {path}");
                    for name in refs {
                        let name = name.rsplit('/').next().unwrap_or_default();
                        assert!(schemas[name]["title"].is_string(), "{name} has a title");
                    }
                }
            }
        }
    }
}

on_both! {
    /// Filters, search, ordering and paging are the list's parameters, on no other
    /// operation (the detail ones have only their conditional headers), and each lookup
    /// says in words what it keeps.
    fn list_parameters_are_on_the_list_only_and_say_what_they_do(db) {
        let gw = Gateway::users_on(db);
        let document = gw.get("/openapi.json").json();
        let detail = &document["paths"]["/api/users/{id}/"];
        for method in ["get", "put", "patch", "delete"] {
            // Only the conditional-request headers (tests/conditional.rs).
            let parameters = detail[method]["parameters"].as_array().cloned().unwrap_or_default();
            assert!(parameters.iter().all(|p| p["in"] == "header"), "{method}: {}", detail[method]);
        }
        assert!(document["paths"]["/api/users/"]["post"].get("parameters").is_none());
        let list = document["paths"]["/api/users/"]["get"]["parameters"]
            .as_array()
            .expect("list parameters");
        let about = |name: &str| {
            list.iter()
                .find(|p| p["name"] == name)
                .and_then(|p| p["description"].as_str())
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(about("username__istartswith"), "username starts with the value, ignoring case.");
        assert_eq!(about("email__in"), "email is one of the comma-separated values.");
        assert_eq!(about("phone_number"), "phone_number equals the value.");
        assert_eq!(about("username__lte"), "username is less than or equal to the value.");
    }
}

on_both! {
    /// `info.title` and `info.version` come from the contract's settings, and default to the
    /// gateway's own name and version.
    fn title_and_version_come_from_settings_or_the_crate(db) {
        let users = Gateway::users_on(db).get("/openapi.json").json();
        assert_eq!(users["info"], json!({"title": "User Management API", "version": env!("CARGO_PKG_VERSION")}));
        let books = Gateway::start_on(db, &books_spec(), &[]).get("/openapi.json").json();
        assert_eq!(books["info"], json!({"title": env!("CARGO_PKG_NAME"), "version": env!("CARGO_PKG_VERSION")}));
        let dir = common::copy_spec(&books_spec(), "openapi-info");
        let routes = std::fs::read_to_string(dir.join("routes.yaml")).expect("reads");
        std::fs::write(
            dir.join("routes.yaml"),
            routes.replace(
                "  response_validation: enforce\n",
                "  response_validation: enforce\n  title: Library\n  version: 2.1.0\n",
            ),
        )
        .expect("writes");
        let named = Gateway::start_on(db, &dir, &[]).get("/openapi.json").json();
        assert_eq!(named["info"], json!({"title": "Library", "version": "2.1.0"}));
    }
}

on_both! {
    /// The document and the gateway agree on e-mail addresses, on JSON and form bodies: a
    /// local part longer than RFC 5321's 64 octets is valid under Django's rule, so the
    /// document has no `format: email` (which tools read as RFC 5321) but that rule's pattern.
    fn the_document_and_the_gateway_agree_on_email_addresses(db) {
        let gw = Gateway::users_on(db);
        let document = gw.get("/openapi.json").json();
        let json_input = component(&document, "users.input");
        let form_input = component(&document, "users.input.form");
        for name in ["users.input", "users.patch", "users.input.form", "users.input.multipart"] {
            let email = &document["components"]["schemas"][name]["properties"]["email"];
            assert!(email.get("format").is_none(), "{name}: {email}");
            assert!(email["pattern"].is_string() && email["description"].is_string(), "{name}");
        }
        let long = format!("{}@example.com", "a".repeat(65));
        let json_body = json!({"username": "long_json", "email": long});
        assert!(json_input.is_valid(&json_body));
        let made = gw.json("POST", "/api/users/", &json_body);
        assert_eq!(made.status, 201, "{}", made.text());
        let form_body = json!({"username": "long_form", "email": format!("b{long}")});
        assert!(form_input.is_valid(&form_body));
        let form = format!("username=long_form&email=b{long}");
        let made = gw.send(
            "POST",
            "/api/users/",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            form.as_bytes(),
        );
        assert_eq!(made.status, 201, "{}", made.text());
        for bad in ["no-at-sign", "a@b", "a..b@example.com"] {
            let body = json!({"username": "bad_mail", "email": bad});
            assert!(!json_input.is_valid(&body), "{bad}");
            let refused = gw.json("POST", "/api/users/", &body);
            assert_eq!(refused.status, 400, "{bad}");
            assert_eq!(refused.json(), json!({"email": ["Enter a valid email address."]}));
        }
    }
}

on_both! {
    /// Patterns are written so that every reader reads them alike: no `\p{..}` classes
    /// (Python's `re` has none), the same strings matched as the schema files' patterns.
    fn patterns_are_portable_and_mean_what_the_schemas_say(db) {
        let gw = Gateway::users_on(db);
        let document = gw.get("/openapi.json").json();
        let text = document.to_string();
        assert!(!text.contains("\\\\p{"), "a \\p{{..}} class is left");
        let input = component(&document, "users.input");
        for (username, valid) in [("Zoë_1.a@b+c-d", true), ("名前٣", true), ("no space", false), ("a/b", false)] {
            let body = json!({"username": username, "email": "x@example.com"});
            assert_eq!(input.is_valid(&body), valid, "{username}");
            let answer = gw.json("POST", "/api/users/", &body);
            assert_eq!(answer.status == 201, valid, "{username}: {}", answer.text());
            if valid {
                let id = answer.json()["id"].as_i64().unwrap_or_default();
                assert_eq!(gw.send("DELETE", &format!("/api/users/{id}/"), &[], b"").status, 204);
            }
        }
    }
}
