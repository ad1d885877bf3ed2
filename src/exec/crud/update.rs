//! `update` and `partial_update`: validates the body and updates one row by key.

use http::StatusCode;

use super::{Table, parse_key, unique};
use crate::error::ApiError;
use crate::exec::Outcome;
use crate::plan::Plan;
use crate::route::ApiRequest;

/// PUT (`partial` false) or PATCH (`partial` true) on a detail route. A valid body goes
/// straight to the update (no row → 404); an invalid one first costs an existence check,
/// because the row's absence is reported before anything about the body.
pub async fn run(table: &Table<'_>, req: &ApiRequest, partial: bool) -> Result<Outcome, ApiError> {
    let key = parse_key(req.key.as_deref())?;
    let scope = table.scope(req)?;
    let checked = match table.checked(req, partial).await {
        Ok(checked) if checked.errors.is_empty() => checked,
        other => {
            table.must_exist(key, &scope).await?;
            return match other {
                Ok(checked) => Err(unique::invalid(table, checked, Some(key)).await),
                Err(e) => Err(e),
            };
        }
    };
    let plan = Plan::Update {
        key,
        scope,
        values: table.assignments(&checked),
    };
    unique::write(table, &plan, &checked, Some(key), StatusCode::OK).await
}
