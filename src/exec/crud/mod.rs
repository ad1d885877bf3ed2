//! The table executor: generic CRUD over a resource's table, one file per action. Each
//! action takes the parsed request whole and goes request → plan → statement → outcome.

mod create;
mod destroy;
mod list;
mod options;
mod retrieve;
mod unique;
mod update;

use std::time::Instant;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::Outcome;
use crate::admin::Metrics;
use crate::compat::python::python_int;
use crate::config::Limits;
use crate::contract::{Action, Resource, ResponseValidation, Route, Spec};
use crate::db::{self, Db, DbError, Row};
use crate::error::{ApiError, FieldErrors};
use crate::intake::scope;
use crate::plan::{Assign, Columns, Filter, Kind, Lookup, Plan, Scope, SqlValue};
use crate::route::ApiRequest;
use crate::route::precondition::{EntityTag, Tags, Verdict};
use crate::sql;
use crate::validate::{self, Checked};

pub use options::options;

/// What an action runs against: the route and its resource in the request's contract
/// snapshot, and the database.
pub struct Table<'a> {
    /// The contract the request resolved against.
    pub spec: &'a Spec,
    /// The matched route.
    pub route: &'a Route,
    /// The route's resource.
    pub resource: &'a Resource,
    /// Where the rows are.
    pub db: &'a Db,
    /// The request limits (JSON depth).
    pub limits: &'a Limits,
    /// Where statement durations are recorded.
    pub metrics: &'a Metrics,
}

/// Runs `action` on the table.
pub async fn run(table: &Table<'_>, action: Action, req: &ApiRequest) -> Result<Outcome, ApiError> {
    match action {
        Action::List => list::run(table, req).await,
        Action::Retrieve => retrieve::run(table, req).await,
        Action::Create => create::run(table, req).await,
        Action::Update => update::run(table, req, false).await,
        Action::PartialUpdate => update::run(table, req, true).await,
        Action::Destroy => destroy::run(table, req).await,
    }
}

impl Table<'_> {
    /// Runs a statement that answers at most one row.
    async fn row(&self, plan: &Plan) -> Result<Option<Row>, ApiError> {
        let statement = sql::build(self.db.dialect(), self.resource, plan);
        self.execute(&statement).await.map_err(db_error)
    }

    /// Runs a built statement that answers at most one row.
    async fn execute(&self, statement: &sql::Statement) -> Result<Option<Row>, DbError> {
        self.timed(self.db.row(statement)).await
    }

    /// Runs a statement that answers many rows.
    async fn rows(&self, plan: &Plan) -> Result<Vec<Row>, ApiError> {
        let statement = sql::build(self.db.dialect(), self.resource, plan);
        self.timed(self.db.rows(&statement)).await.map_err(db_error)
    }

    /// Awaits one statement and records how long it took.
    async fn timed<T>(
        &self,
        statement: impl Future<Output = Result<T, DbError>>,
    ) -> Result<T, DbError> {
        let started = Instant::now();
        let result = statement.await;
        self.metrics
            .statement(started.elapsed(), is_answer(&result));
        result
    }

    /// The rows a request can see: its filters and search, on list and detail routes.
    fn scope(&self, req: &ApiRequest) -> Result<Scope, ApiError> {
        scope::scope(self.resource, &req.query)
    }

    /// The row with `key` in `scope` as its representation and entity tag, if there is one.
    async fn current(&self, plan: &Plan) -> Result<Option<(Value, EntityTag)>, ApiError> {
        let row = self.row(plan).await?;
        row.map(|row| self.tagged(&row)).transpose()
    }

    /// A row's representation and its entity tag: `"v<n>"` from the version column after
    /// the fields, or the representation's hash.
    fn tagged(&self, row: &Row) -> Result<(Value, EntityTag), ApiError> {
        let value = self.represent(row, 0)?;
        let tag = match &self.resource.version {
            Some(_) => {
                let version = db::int(row, self.resource.fields.len()).map_err(db_error)?;
                EntityTag::strong(format!("v{version}"))
            }
            None => entity_tag(&value)?,
        };
        Ok((value, tag))
    }

    /// How a write on the row `key` meets the request's preconditions: a versioned
    /// resource's `If-Match` alone narrows the write's own statement to the versions it
    /// names; any other precondition is judged in the write's transaction against the row a
    /// lock-and-read guard gives first. The scope to write in, and that guard.
    fn conditions(
        &self,
        req: &ApiRequest,
        key: i64,
        mut scope: Scope,
    ) -> (Scope, Option<sql::Statement>) {
        let precondition = &req.precondition;
        if let (Some(column), Some(tags), None) = (
            &self.resource.version,
            &precondition.if_match,
            &precondition.if_none_match,
        ) {
            if let Tags::List(tags) = tags {
                scope.filters.push(Filter {
                    column: column.clone(),
                    kind: Kind::Integer,
                    lookup: Lookup::In,
                    value: SqlValue::IntList(versions(tags)),
                });
            }
            return (scope, None);
        }
        let plan = Plan::Lock {
            key,
            scope: scope.clone(),
        };
        let guard =
            (!precondition.is_empty()).then(|| sql::build(self.db.dialect(), self.resource, &plan));
        (scope, guard)
    }

    /// Why a write found no row to change: 412 when `If-Match` asked for one (it holds for
    /// no missing row, and a versioned write finds none when the version differs), else 404.
    fn missing(&self, req: &ApiRequest) -> ApiError {
        if req.precondition.if_match.is_some() {
            ApiError::PreconditionFailed
        } else {
            ApiError::NotFound
        }
    }

    /// A write's preconditions judged against the row its guard read (`None`: no row).
    fn admit(&self, req: &ApiRequest, row: Option<Row>) -> Result<(), ApiError> {
        let current = row.map(|row| self.tagged(&row)).transpose()?;
        judge(req, current.as_ref().map(|(_, tag)| tag))
    }

    /// 404 unless the row with `key` exists within `scope`; with preconditions, 412 first
    /// when they fail (a write whose body is refused is judged like one that is not).
    async fn must_exist_for(
        &self,
        req: &ApiRequest,
        key: i64,
        scope: &Scope,
    ) -> Result<(), ApiError> {
        if req.precondition.is_empty() {
            return self.must_exist(key, scope).await;
        }
        let plan = Plan::Retrieve {
            key,
            scope: scope.clone(),
        };
        let current = self.current(&plan).await?;
        judge(req, current.as_ref().map(|(_, tag)| tag))?;
        current.map(|_| ()).ok_or(ApiError::NotFound)
    }

    /// 404 unless the row with `key` exists within `scope`.
    async fn must_exist(&self, key: i64, scope: &Scope) -> Result<(), ApiError> {
        let plan = Plan::Exists {
            key,
            scope: scope.clone(),
        };
        self.row(&plan).await?.map(|_| ()).ok_or(ApiError::NotFound)
    }

    /// Parses and checks the body; errors about the body as a whole come back as `Err`.
    fn checked_body(&self, req: &ApiRequest, partial: bool) -> Result<Checked, ApiError> {
        checked_body(self.resource, req, self.limits, partial)
    }

    /// Parses and checks the body, then whether each value fits its column (a numeric's
    /// scale and precision, a varchar's length): what a column would round or cut is a
    /// field error, not a silent change.
    async fn checked(&self, req: &ApiRequest, partial: bool) -> Result<Checked, ApiError> {
        let mut checked = self.checked_body(req, partial)?;
        if let (Some(input), Some(columns)) = (&self.resource.input, self.columns().await?) {
            validate::fit_columns(input, columns, &mut checked);
        }
        Ok(checked)
    }

    /// The table's column types: read by the check that let this contract serve, or here
    /// on first need (the gateway starts while the database may be down). `None` while
    /// the table does not exist (nothing is kept, so it is read again next time).
    async fn columns(&self) -> Result<Option<&Columns>, ApiError> {
        if let Some(columns) = self.resource.columns.get() {
            return Ok(Some(columns));
        }
        let table = self.resource.table.name().into_owned();
        let columns = self
            .timed(self.db.table_columns(&table))
            .await
            .map_err(db_error)?;
        if columns.is_empty() {
            return Ok(None);
        }
        Ok(Some(self.resource.columns.get_or_init(|| columns)))
    }

    /// The row as the representation, checked against its schema.
    fn represent(&self, row: &Row, start: usize) -> Result<Value, ApiError> {
        let object =
            Value::Object(db::decode(row, &self.resource.fields, start).map_err(db_error)?);
        self.check_output(&object)?;
        Ok(object)
    }

    fn check_output(&self, object: &Value) -> Result<(), ApiError> {
        let mode = self.spec.response_validation;
        if mode == ResponseValidation::Off {
            return Ok(());
        }
        match validate::check_output(&self.resource.representation.validator, object) {
            Ok(()) => Ok(()),
            Err(problems) if mode == ResponseValidation::Log => {
                tracing::warn!(resource = %self.resource.name, "response violates its schema: {problems}");
                Ok(())
            }
            Err(problems) => Err(ApiError::ResponseInvalid(format!(
                "response violates the schema of {}: {problems}",
                self.resource.name
            ))),
        }
    }

    /// The validated body's values as column assignments.
    fn assignments(&self, checked: &Checked) -> Vec<Assign> {
        let Some(input) = &self.resource.input else {
            return Vec::new();
        };
        checked
            .values
            .iter()
            .filter_map(|(i, value)| {
                let field = &input.fields[*i];
                Some(Assign {
                    column: field.column.clone(),
                    kind: field.kind,
                    value: SqlValue::from_json(field.kind, value)?,
                })
            })
            .collect()
    }
}

/// Parses `req`'s body and checks it against `resource`'s input schema (`partial`: PATCH);
/// errors about the body as a whole come back as `Err`. The proxy checks bodies with it too.
pub fn checked_body(
    resource: &Resource,
    req: &ApiRequest,
    limits: &Limits,
    partial: bool,
) -> Result<Checked, ApiError> {
    let Some(input) = &resource.input else {
        return Err(ApiError::Internal("resource has no input schema".into()));
    };
    let value = crate::intake::body::parse(
        req.content_type().as_deref(),
        &req.body,
        limits.max_json_depth,
    )?;
    validate::check_input(input, value, partial)
        .map_err(|e| ApiError::Invalid(vec![(validate::NON_FIELD_ERRORS.to_owned(), vec![e.0])]))
}

/// The 400 naming each field's messages, by input field index, in field order.
pub fn field_errors(resource: &Resource, mut errors: Vec<(usize, Vec<String>)>) -> ApiError {
    let Some(input) = &resource.input else {
        return ApiError::Internal("resource has no input schema".into());
    };
    errors.sort_by_key(|(i, _)| *i);
    let named: FieldErrors = errors
        .into_iter()
        .map(|(i, m)| (input.fields[i].name.clone(), m))
        .collect();
    ApiError::Invalid(named)
}

/// The strong entity tag of a representation: the first 128 bits of the SHA-256 of its
/// compact JSON (as the gateway writes it, key order included), in hex. The same row state
/// has the same tag whichever action answered it, however the client asked it indented.
pub fn entity_tag(representation: &Value) -> Result<EntityTag, ApiError> {
    let json = serde_json::to_vec(representation)
        .map_err(|e| ApiError::Internal(format!("the representation cannot be written: {e}")))?;
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(&json);
    let hex = digest[..16]
        .iter()
        .flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 0xf)]])
        .map(char::from)
        .collect();
    Ok(EntityTag::strong(hex))
}

/// A write's preconditions against the row's current tag (`None`: no row): 412 when they
/// fail.
fn judge(req: &ApiRequest, current: Option<&EntityTag>) -> Result<(), ApiError> {
    match req.precondition.evaluate(current, false) {
        Verdict::Failed => Err(ApiError::PreconditionFailed),
        Verdict::Proceed | Verdict::NotModified => Ok(()),
    }
}

/// The versions strong `"v<n>"` tags name (the others name none).
fn versions(tags: &[EntityTag]) -> Vec<i64> {
    tags.iter()
        .filter(|t| !t.weak)
        .filter_map(|t| t.opaque.strip_prefix('v')?.parse().ok())
        .collect()
}

/// Whether a statement got its answer: a unique violation is an answer (the constraint
/// decided), the rest are errors.
fn is_answer<T>(result: &Result<T, DbError>) -> bool {
    matches!(result, Ok(_) | Err(DbError::Unique))
}

/// The database's error as the API's.
fn db_error(e: DbError) -> ApiError {
    match e {
        DbError::Unavailable(cause) => ApiError::Unavailable(cause),
        DbError::Unique => ApiError::Internal("unexpected unique violation".into()),
        DbError::Data(message) => {
            tracing::warn!("the database refused a value the schema allowed: {message}");
            ApiError::Parse("A value does not fit its column.".into())
        }
        DbError::Other(cause) => ApiError::Internal(cause),
    }
}

/// The key in the path, parsed like Python's `int()`; anything else is a 404.
pub fn parse_key(key: Option<&str>) -> Result<i64, ApiError> {
    key.and_then(python_int)
        .filter(|k| *k > 0 && *k < i64::MAX)
        .ok_or(ApiError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_like_python_and_the_rest_is_not_found() {
        assert_eq!(parse_key(Some("007")).ok(), Some(7));
        assert_eq!(parse_key(Some("+7")).ok(), Some(7));
        for bad in ["0", "-1", "abc", "", "99999999999999999999"] {
            assert!(
                matches!(parse_key(Some(bad)), Err(ApiError::NotFound)),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_tag_is_the_first_half_of_the_sha256_of_the_compact_json() {
        // sha256(b"{\"a\":1}") = 015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862
        let tag = entity_tag(&serde_json::json!({"a": 1})).map(|t| (t.weak, t.opaque));
        assert_eq!(
            tag.ok(),
            Some((false, "015abd7f5cc57a2dd94b7590f04ad808".to_owned()))
        );
    }
}
