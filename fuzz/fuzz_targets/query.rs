//! Any query string through the list grammar, the planner and the SQL builder: no panic,
//! and the statement's placeholders cover its parameters.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use specgate::plan::Plan;
use specgate::intake::query::{self, Query};
use specgate::intake::scope;
use specgate::sql;

use common::spec;

fuzz_target!(|data: &[u8]| {
    let raw = String::from_utf8_lossy(data);
    let resource = &spec().resources[0];
    let q = Query::parse(Some(&raw));
    let _ = q.with(&[("limit", Some("10".into())), ("offset", None)]);
    let limit = query::to_sql(query::limit(
        &q,
        "limit",
        resource.page_size,
        resource.max_page_size,
    ));
    let offset = query::to_sql(query::offset(&q, "offset"));
    let order = scope::ordering(resource, &q);
    if let Ok(scope) = scope::scope(resource, &q) {
        let plan = Plan::List {
            scope,
            order,
            limit,
            offset,
        };
        for dialect in [sql::Dialect::Postgres, sql::Dialect::Sqlite] {
            let st = sql::build(dialect, resource, &plan);
            assert!(st.sql.matches('$').count() >= st.params.len());
        }
    }
});
