//! `retrieve`: one row by key, within the request's scope.

use http::StatusCode;

use super::{Table, parse_key};
use crate::error::ApiError;
use crate::exec::Outcome;
use crate::plan::Plan;
use crate::route::ApiRequest;

/// GET on a detail route.
pub async fn run(table: &Table<'_>, req: &ApiRequest) -> Result<Outcome, ApiError> {
    let plan = Plan::Retrieve {
        key: parse_key(req.key.as_deref())?,
        scope: table.scope(req)?,
    };
    let row = table.row(&plan).await?.ok_or(ApiError::NotFound)?;
    Ok(Outcome::Json(StatusCode::OK, table.represent(&row, 0)?))
}
