//! `retrieve`: one row by key, within the request's scope, with its entity tag; a 304 when
//! the client's copy is current, a 412 when its `If-Match` does not hold.

use http::StatusCode;

use super::{Table, parse_key};
use crate::error::ApiError;
use crate::exec::Outcome;
use crate::plan::Plan;
use crate::route::ApiRequest;
use crate::route::precondition::Verdict;

/// GET (and HEAD) on a detail route.
pub async fn run(table: &Table<'_>, req: &ApiRequest) -> Result<Outcome, ApiError> {
    let plan = Plan::Retrieve {
        key: parse_key(req.key.as_deref())?,
        scope: table.scope(req)?,
    };
    let current = table.current(&plan).await?;
    let verdict = req
        .precondition
        .evaluate(current.as_ref().map(|(_, tag)| tag), true);
    match (verdict, current) {
        (Verdict::Failed, _) => Err(ApiError::PreconditionFailed),
        (Verdict::NotModified, Some((_, tag))) => Ok(Outcome::NotModified(tag)),
        (_, Some((value, tag))) => Ok(Outcome::Tagged(StatusCode::OK, value, tag)),
        (_, None) => Err(ApiError::NotFound),
    }
}
