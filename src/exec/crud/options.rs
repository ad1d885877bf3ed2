//! OPTIONS on a table route: DRF's metadata from the schemas.

use http::StatusCode;

use super::{Table, parse_key};
use crate::exec::Outcome;
use crate::metadata;
use crate::route::ApiRequest;

/// The metadata; on a detail route whose object is missing (or out of scope), without the
/// write actions, as DRF leaves out what it cannot check permissions on.
pub async fn options(table: &Table<'_>, req: &ApiRequest) -> Outcome {
    let mut body = metadata::metadata(table.route, table.resource);
    if table.route.key_param.is_some() {
        let found = match (parse_key(req.key.as_deref()), table.scope(req)) {
            (Ok(key), Ok(scope)) => table.must_exist(key, &scope).await.is_ok(),
            _ => false,
        };
        if !found && let Some(map) = body.as_object_mut() {
            map.remove("actions");
        }
    }
    Outcome::Json(StatusCode::OK, body)
}
