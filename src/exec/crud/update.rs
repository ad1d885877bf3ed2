//! `update` and `partial_update`: validates the body and updates one row by key, under
//! its preconditions (`If-Match`, `If-None-Match`).

use http::StatusCode;

use super::{Table, parse_key, unique};
use crate::error::ApiError;
use crate::exec::Outcome;
use crate::plan::Plan;
use crate::route::ApiRequest;

/// PUT (`partial` false) or PATCH (`partial` true) on a detail route. A valid body goes
/// straight to the update (no row → 404); an invalid one first costs an existence check,
/// because the row's absence is reported before anything about the body (and so is a
/// failed precondition). With preconditions, the row is locked and judged in the update's
/// own transaction: of two writers sending the same `If-Match`, one gets 412.
pub async fn run(table: &Table<'_>, req: &ApiRequest, partial: bool) -> Result<Outcome, ApiError> {
    let key = parse_key(req.key.as_deref())?;
    let scope = table.scope(req)?;
    let checked = match table.checked(req, partial).await {
        Ok(checked) if checked.errors.is_empty() => checked,
        other => {
            table.must_exist_for(req, key, &scope).await?;
            return match other {
                Ok(checked) => Err(unique::invalid(table, checked, Some(key)).await),
                Err(e) => Err(e),
            };
        }
    };
    let (scope, guard) = table.conditions(req, key, scope);
    let plan = Plan::Update {
        key,
        scope,
        values: table.assignments(&checked),
    };
    let write = unique::Write {
        plan: &plan,
        req,
        guard,
    };
    unique::write(table, write, &checked, Some(key), StatusCode::OK).await
}
