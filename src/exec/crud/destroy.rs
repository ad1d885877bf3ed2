//! `destroy`: deletes one row by key, within the request's scope.

use super::{Table, parse_key};
use crate::error::ApiError;
use crate::exec::Outcome;
use crate::plan::Plan;
use crate::route::ApiRequest;

/// DELETE on a detail route: 204, or 404 when no row was deleted.
pub async fn run(table: &Table<'_>, req: &ApiRequest) -> Result<Outcome, ApiError> {
    let plan = Plan::Destroy {
        key: parse_key(req.key.as_deref())?,
        scope: table.scope(req)?,
    };
    match table.row(&plan).await? {
        Some(_) => Ok(Outcome::NoContent),
        None => Err(ApiError::NotFound),
    }
}
