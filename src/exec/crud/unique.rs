//! Uniqueness: writes that may hit a unique constraint, and the 400 that names every taken
//! value. The database's constraints decide on the happy path; only a violation (or a body
//! that failed other rules) costs the `SELECT EXISTS(…)` that finds which values are taken.

use http::StatusCode;

use super::{Table, db_error};
use crate::contract::Unique;
use crate::db::{self, DbError};
use crate::error::ApiError;
use crate::exec::Outcome;
use crate::plan::{Plan, SqlValue};
use crate::route::ApiRequest;
use crate::validate::{self, Checked};

/// Runs a create or update. A unique violation is answered with every taken value; when
/// the conflicting row is already gone by the time it is looked for, the write is tried
/// once more.
///
/// A conditional update's `guard` runs first in the write's transaction, and the request's
/// preconditions are judged against the row it locked (`Table::admit`).
pub async fn write(
    table: &Table<'_>,
    write: Write<'_>,
    checked: &Checked,
    except: Option<i64>,
    status: StatusCode,
) -> Result<Outcome, ApiError> {
    let Write { plan, req, guard } = write;
    let statement = crate::sql::build(table.db.dialect(), table.resource, plan);
    for _ in 0..2 {
        let check = |row| table.admit(req, row);
        let accept = |row| table.tagged(&row);
        let written = table.db.write(guard.as_ref(), check, &statement, accept);
        match table.timed(written).await {
            Ok(Some(answer)) => {
                let (value, tag) = answer?;
                return Ok(Outcome::Tagged(status, value, tag));
            }
            Ok(None) if !matches!(plan, Plan::Create { .. }) => return Err(table.missing(req)),
            // A create inserts nothing when a guarded unique value is taken.
            Ok(None) | Err(DbError::Unique) => {
                let taken = taken(table, checked, except).await?;
                if !taken.is_empty() {
                    return Err(named_errors(table, taken));
                }
            }
            Err(e) => return Err(db_error(e)),
        }
    }
    Err(ApiError::Invalid(vec![(
        validate::NON_FIELD_ERRORS.to_owned(),
        vec!["The write conflicted with another; please retry.".to_owned()],
    )]))
}

/// The write `write` runs: its plan, the request it answers, and the guard of a
/// conditional one.
pub struct Write<'a> {
    /// The create or update.
    pub plan: &'a Plan,
    /// The request (its preconditions).
    pub req: &'a ApiRequest,
    /// The lock-and-read judged before the write (`Table::conditions`), if conditional.
    pub guard: Option<crate::sql::Statement>,
}

/// The 400 for a body: its field errors plus the uniqueness messages of fields that passed
/// but whose values are taken (by another row than `except`).
pub async fn invalid(table: &Table<'_>, checked: Checked, except: Option<i64>) -> ApiError {
    let Some(input) = &table.resource.input else {
        return ApiError::Internal("resource has no input schema".into());
    };
    match taken(table, &checked, except).await {
        Ok(taken) => {
            let mut errors = checked.errors;
            for (i, mut unique) in taken {
                match errors.iter_mut().find(|(at, _)| *at == i) {
                    Some((_, messages)) => {
                        for message in unique.drain(..) {
                            validate::insert_unique(&input.fields[i], messages, message);
                        }
                    }
                    None => errors.push((i, unique)),
                }
            }
            named_errors(table, errors)
        }
        Err(e) => e,
    }
}

/// The uniqueness messages of the fields that passed validation but whose values another
/// row (than `except`) already holds.
async fn taken(
    table: &Table<'_>,
    checked: &Checked,
    except: Option<i64>,
) -> Result<Vec<(usize, Vec<String>)>, ApiError> {
    let Some(input) = &table.resource.input else {
        return Ok(Vec::new());
    };
    let candidates: Vec<(usize, &Unique, SqlValue)> = checked
        .values
        .iter()
        .chain(&checked.well_formed)
        .filter_map(|(i, value)| {
            let unique = table
                .resource
                .unique
                .iter()
                .find(|u| u.field == input.fields[*i].name)?;
            let value =
                SqlValue::from_json(input.fields[*i].kind, value).filter(|_| !value.is_null())?;
            Some((*i, unique, value))
        })
        .collect();
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let checks = candidates
        .iter()
        .map(|(_, u, v)| (u.column.clone(), v.clone()))
        .collect();
    let row = table.row(&Plan::Taken { checks, except }).await?;
    let taken = row
        .map(|r| db::bools(&r))
        .transpose()
        .map_err(db_error)?
        .unwrap_or_default();
    Ok(candidates
        .iter()
        .zip(taken)
        .filter(|(_, taken)| *taken)
        .map(|((i, unique, _), _)| (*i, vec![unique.message.clone()]))
        .collect())
}

/// Field errors by input-field index, as the API's 400: fields in input-schema order.
fn named_errors(table: &Table<'_>, errors: Vec<(usize, Vec<String>)>) -> ApiError {
    super::field_errors(table.resource, errors)
}
