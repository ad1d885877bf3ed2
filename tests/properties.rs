//! Property tests for the parts that read client input: for any query string and any body,
//! the parsers never panic, and client text reaches SQL only as bound parameters.

use std::path::PathBuf;

use proptest::prelude::*;
use serde_json::Value;
use specgate::contract::{self, Spec};
use specgate::intake::body;
use specgate::intake::query::{self, Query};
use specgate::intake::scope;
use specgate::plan::{Plan, SqlValue};
use specgate::sql;
use specgate::validate;

fn users() -> Spec {
    contract::load(&PathBuf::from(env!("CARGO_MANIFEST_DIR"))).unwrap_or_else(|p| panic!("{p:?}"))
}

/// A marker no identifier or SQL keyword contains; it must never reach the SQL text.
const MARK: &str = "ZQXJ";

fn param_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("search".to_owned()),
        Just("ordering".to_owned()),
        Just("limit".to_owned()),
        Just("offset".to_owned()),
        (
            prop::sample::select(vec!["username", "email", "phone_number", "id", "password"]),
            prop::sample::select(vec![
                "",
                "__exact",
                "__iexact",
                "__icontains",
                "__in",
                "__gt",
                "__lte",
                "__istartswith",
                "__regex"
            ])
        )
            .prop_map(|(f, l)| format!("{f}{l}")),
        "[a-z_]{1,12}",
    ]
}

fn value() -> impl Strategy<Value = String> {
    (any::<String>(), any::<String>()).prop_map(|(a, b)| format!("{a}{MARK}{b}"))
}

fn params_text(params: &[(String, String)]) -> String {
    params
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                k,
                percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn bound_text(value: &SqlValue) -> Vec<String> {
    match value {
        SqlValue::Text(Some(s)) => vec![s.clone()],
        SqlValue::TextList(items) => items.clone(),
        _ => Vec::new(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn raw_query_strings_never_panic(raw in ".{0,200}") {
        let q = Query::parse(Some(&raw));
        let _ = q.with(&[("limit", Some("1".into())), ("offset", None)]);
        let _ = query::limit(&q, "limit", 10, Some(50));
        let _ = query::offset(&q, "offset");
    }

    #[test]
    fn client_text_reaches_sql_only_as_parameters(
        params in prop::collection::vec((param_name(), value()), 0..8),
        key in any::<i64>(),
    ) {
        let spec = users();
        let resource = &spec.resources[0];
        let q = Query::parse(Some(&params_text(&params)));
        let limit = query::to_sql(query::limit(&q, "limit", resource.page_size, resource.max_page_size));
        let offset = query::to_sql(query::offset(&q, "offset"));
        let order = scope::ordering(resource, &q);
        match scope::scope(resource, &q) {
            Ok(scope) => {
                for plan in [
                    Plan::List { scope: scope.clone(), order, limit, offset },
                    Plan::Retrieve { key, scope: scope.clone() },
                    Plan::Destroy { key, scope },
                ] {
                    for dialect in [sql::Dialect::Postgres, sql::Dialect::Sqlite] {
                        let st = sql::build(dialect, resource, &plan);
                        prop_assert!(!st.sql.contains(MARK), "client text in SQL: {}", st.sql);
                        let placeholders = st.sql.matches('$').count();
                        prop_assert!(placeholders >= st.params.len());
                        let marked = st.params.iter().flat_map(bound_text).any(|t| t.contains(MARK));
                        let filtered = params.iter().any(|(k, v)| !v.trim().is_empty() && (k == "search" || k.starts_with("username") || k.starts_with("email") || k.starts_with("phone_number")));
                        if !filtered {
                            prop_assert!(!marked);
                        }
                    }
                }
            }
            Err(e) => prop_assert_eq!(e.status().as_u16(), 400),
        }
    }

    #[test]
    fn writes_carry_client_text_only_as_parameters(fields in prop::collection::btree_map("[a-z_]{1,12}", value(), 0..6)) {
        let spec = users();
        let resource = &spec.resources[0];
        let Some(input) = &resource.input else { return Ok(()) };
        let body: serde_json::Map<String, Value> = fields.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
        if let Ok(checked) = validate::check_input(input, Value::Object(body), true) {
            let values = checked.values.iter().filter_map(|(i, v)| {
                let field = &input.fields[*i];
                Some(specgate::plan::Assign { column: field.column.clone(), kind: field.kind, value: SqlValue::from_json(field.kind, v)? })
            }).collect::<Vec<_>>();
            for plan in [Plan::Create { values: values.clone(), guarded: Vec::new() }, Plan::Update { key: 1, scope: Default::default(), values }] {
                for dialect in [sql::Dialect::Postgres, sql::Dialect::Sqlite] {
                    let st = sql::build(dialect, resource, &plan);
                    prop_assert!(!st.sql.contains(MARK));
                }
            }
        }
    }

    #[test]
    fn any_body_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300), media in prop::sample::select(vec!["application/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=b", "text/plain"])) {
        let spec = users();
        if let Ok(value) = body::parse(Some(media), &bytes, 32)
            && let Some(input) = &spec.resources[0].input
        {
            let _ = validate::check_input(input, value.clone(), false);
            let _ = validate::check_input(input, value, true);
        }
    }

    #[test]
    fn any_json_body_validates_without_panicking(value in json_value()) {
        let spec = users();
        if let Some(input) = &spec.resources[0].input {
            let _ = validate::check_input(input, value.clone(), false);
            let _ = validate::check_input(input, value, true);
        }
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
    ];
    let object = prop::collection::btree_map(
        prop::sample::select(vec![
            "username",
            "email",
            "first_name",
            "last_name",
            "phone_number",
            "id",
            "x",
        ]),
        leaf.clone(),
        0..7,
    )
    .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()));
    prop_oneof![leaf, object]
}
