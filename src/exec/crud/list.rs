//! `list`: one page of rows within the request's scope, with the count and DRF's
//! limit/offset links, in one statement.

use http::StatusCode;
use serde_json::{Map, Value};

use super::{Table, db_error};
use crate::db;
use crate::error::ApiError;
use crate::exec::Outcome;
use crate::intake::{query, scope};
use crate::plan::Plan;
use crate::route::ApiRequest;

/// GET on a list route.
pub async fn run(table: &Table<'_>, req: &ApiRequest) -> Result<Outcome, ApiError> {
    let resource = table.resource;
    let limit = query::limit(
        &req.query,
        "limit",
        resource.page_size,
        resource.max_page_size,
    );
    let offset = query::offset(&req.query, "offset");
    let plan = Plan::List {
        scope: table.scope(req)?,
        order: scope::ordering(resource, &req.query),
        limit: query::to_sql(limit),
        offset: query::to_sql(offset),
    };
    let rows = table.rows(&plan).await?;
    let mut count: i128 = 0;
    let mut results = Vec::with_capacity(rows.len());
    let key_at = 1 + resource.key_field;
    for row in &rows {
        count = i128::from(db::int(row, 0).map_err(db_error)?);
        if !db::is_null(row, key_at) {
            results.push(table.represent(row, 1)?);
        }
    }
    let page = Page {
        limit,
        offset,
        count,
    };
    // Built by hand: `json!` would serialize `results` into a second copy.
    let mut body = Map::with_capacity(4);
    body.insert(
        "count".into(),
        Value::from(i64::try_from(count).unwrap_or(i64::MAX)),
    );
    body.insert("next".into(), page.next(req));
    body.insert("previous".into(), page.previous(req));
    body.insert("results".into(), Value::Array(results));
    Ok(Outcome::Json(StatusCode::OK, Value::Object(body)))
}

/// Where the page is, for its links.
struct Page {
    limit: i128,
    offset: i128,
    count: i128,
}

impl Page {
    /// The next page's URL, or null on the last page.
    fn next(&self, req: &ApiRequest) -> Value {
        if self.offset.saturating_add(self.limit) >= self.count {
            return Value::Null;
        }
        link(
            req,
            &[
                ("limit", Some(self.limit.to_string())),
                ("offset", Some((self.offset + self.limit).to_string())),
            ],
        )
    }

    /// The previous page's URL (without `offset` for the first page), or null on the first.
    fn previous(&self, req: &ApiRequest) -> Value {
        if self.offset <= 0 {
            Value::Null
        } else if self.offset - self.limit <= 0 {
            link(
                req,
                &[("limit", Some(self.limit.to_string())), ("offset", None)],
            )
        } else {
            link(
                req,
                &[
                    ("limit", Some(self.limit.to_string())),
                    ("offset", Some((self.offset - self.limit).to_string())),
                ],
            )
        }
    }
}

/// This request's URL with the query changed.
fn link(req: &ApiRequest, changes: &[(&str, Option<String>)]) -> Value {
    let query = req.query.with(changes);
    Value::String(format!("{}{}?{query}", req.base, req.uri.path()))
}
