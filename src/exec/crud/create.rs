//! `create`: validates the body and inserts one row, guarded on its unique values. Its
//! preconditions, if any, are not judged: they would be about the list, which has no tag.

use http::StatusCode;

use super::{Table, unique};
use crate::error::ApiError;
use crate::exec::Outcome;
use crate::plan::Plan;
use crate::route::ApiRequest;

/// POST on a list route: 201 with the new row's representation and entity tag.
pub async fn run(table: &Table<'_>, req: &ApiRequest) -> Result<Outcome, ApiError> {
    let checked = table.checked(req, false).await?;
    if !checked.errors.is_empty() {
        return Err(unique::invalid(table, checked, None).await);
    }
    let values = table.assignments(&checked);
    let guarded = table
        .resource
        .unique
        .iter()
        .filter(|u| values.iter().any(|a| a.column == u.column))
        .map(|u| u.column.clone())
        .collect();
    let plan = Plan::Create { values, guarded };
    let write = unique::Write {
        plan: &plan,
        req,
        guard: None,
    };
    unique::write(table, write, &checked, None, StatusCode::CREATED).await
}
