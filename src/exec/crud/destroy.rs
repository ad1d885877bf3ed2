//! `destroy`: deletes one row by key, within the request's scope, under its preconditions
//! (in the statement, or judged first in its transaction: `Table::conditions`).

use super::{Table, db_error, parse_key};
use crate::error::ApiError;
use crate::exec::Outcome;
use crate::plan::Plan;
use crate::route::ApiRequest;

/// DELETE on a detail route: 204, or 404 when no row was deleted, or 412 when a
/// precondition failed.
pub async fn run(table: &Table<'_>, req: &ApiRequest) -> Result<Outcome, ApiError> {
    let key = parse_key(req.key.as_deref())?;
    let (scope, guard) = table.conditions(req, key, table.scope(req)?);
    let plan = Plan::Destroy { key, scope };
    let deleted = match &guard {
        None => table.row(&plan).await?.map(|_| Ok(())),
        Some(guard) => {
            let statement = crate::sql::build(table.db.dialect(), table.resource, &plan);
            let check = |row| table.admit(req, row);
            let written = table.db.write(Some(guard), check, &statement, |_| Ok(()));
            table.timed(written).await.map_err(db_error)?
        }
    };
    match deleted {
        Some(Ok(())) => Ok(Outcome::NoContent),
        Some(Err(refused)) => Err(refused),
        None => Err(table.missing(req)),
    }
}
