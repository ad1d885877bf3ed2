//! The pipeline: one request in, one response out. Resolves the route, negotiates the
//! representation, runs the action through plan → sql → db, and renders the result or the
//! error. Every stage it calls knows only its neighbours; this is where they meet.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};

use crate::config::Limits;
use crate::db::{self, Db, DbError};
use crate::error::ApiError;
use crate::intake::body;
use crate::metadata;
use crate::plan::{Assign, Plan, Scope, SqlValue};
use crate::request::query::{self, Query};
use crate::request::router::{self, Resolution};
use crate::request::scope;
use crate::respond::{self, Render};
use crate::spec::{Action, Resource, ResponseValidation, Route, Spec};
use crate::sql;
use crate::validate::{self, Checked, FieldErrors};

/// The compiled spec and the database: all a request needs.
pub struct Gateway {
    spec: Spec,
    limits: Limits,
    /// The OpenAPI document, built once, when it is served.
    openapi: Option<Value>,
    db: Db,
    next_id: AtomicU64,
}

/// What one request brings to an action.
struct Call<'a> {
    route: &'a Route,
    resource: &'a Resource,
    key: Option<&'a str>,
    query: Query,
    request: &'a Request<Bytes>,
    render: Render,
}

impl Gateway {
    /// A gateway serving `spec` from `db`.
    pub fn new(spec: Spec, db: Db, limits: Limits) -> Gateway {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or_default();
        let openapi = spec
            .openapi_path
            .as_ref()
            .map(|_| crate::openapi::document(&spec));
        Gateway {
            openapi,
            limits,
            spec,
            db,
            next_id: AtomicU64::new(seed << 16),
        }
    }

    /// The database, for shutdown.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Answers one request, and logs it with its id, status and duration.
    pub async fn handle(&self, mut request: Request<Bytes>) -> Response<Bytes> {
        let started = Instant::now();
        // Methods are read upper-cased, as Django does (`get` is GET; `brew` is BREW).
        if request
            .method()
            .as_str()
            .bytes()
            .any(|b| b.is_ascii_lowercase())
            && let Ok(method) =
                Method::from_bytes(request.method().as_str().to_ascii_uppercase().as_bytes())
        {
            *request.method_mut() = method;
        }
        let id = format!("{:016x}", self.next_id.fetch_add(1, Ordering::Relaxed));
        let mut response = self.dispatch(&request, &id).await;
        if request.method() == Method::HEAD {
            let length = response.body().len();
            *response.body_mut() = Bytes::new();
            response
                .headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        }
        if let Ok(value) = HeaderValue::from_str(&id) {
            response.headers_mut().insert("x-request-id", value);
        }
        tracing::info!(
            request_id = %id,
            method = %request.method(),
            path = %request.uri().path(),
            status = response.status().as_u16(),
            micros = started.elapsed().as_micros() as u64,
            "request"
        );
        response
    }

    async fn dispatch(&self, request: &Request<Bytes>, id: &str) -> Response<Bytes> {
        let path = request.uri().path();
        let raw_query = request.uri().query().unwrap_or_default();
        if raw_query.len() > self.limits.max_query_bytes {
            return respond::error(&ApiError::QueryTooLong, Render::default(), None);
        }
        if raw_query.split('&').filter(|p| !p.is_empty()).count() > self.limits.max_query_params {
            return respond::error(&ApiError::TooManyParameters, Render::default(), None);
        }
        if self.spec.readiness_path.as_deref() == Some(path) {
            return self.readiness().await;
        }
        if let (Some(document), Some(at)) = (&self.openapi, &self.spec.openapi_path)
            && path == at
        {
            return serve_document(request, document);
        }
        let (index, key, format) = match router::resolve(&self.spec.routes, path) {
            Resolution::Matched { route, key, format } => (route, key, format),
            Resolution::AddSlash => return redirect(request),
            Resolution::NotFound => {
                return respond::error(&ApiError::NotFound, Render::default(), None);
            }
        };
        let route = &self.spec.routes[index];
        let resource = &self.spec.resources[route.resource];
        let allow = Some(route.allow.as_str());
        let render = match negotiate(request) {
            Ok(render) => render,
            Err(e) => return respond::error(&e, Render::default(), allow),
        };
        let query = Query::parse(request.uri().query());
        // DRF's `?format=` override: only `json` is served; any other format is not found.
        let format = format.as_deref().or(query.last("format"));
        if format.is_some_and(|f| f != "json") {
            return respond::error(&ApiError::NotFound, render, allow);
        }
        let call = Call {
            route,
            resource,
            key: key.as_deref(),
            query,
            request,
            render,
        };
        if request.method() == Method::OPTIONS {
            return self.options(&call).await;
        }
        let Some(action) = route.action(request.method()) else {
            let e = ApiError::MethodNotAllowed(request.method().to_string());
            return respond::error(&e, render, allow);
        };
        match self.run(action, &call).await {
            Ok(response) => response,
            Err(e) => {
                if e.is_server_fault() {
                    tracing::error!(request_id = %id, route = %route.template, "{e:?}");
                }
                respond::error(&e, render, allow)
            }
        }
    }

    /// 200 when the database answers, 503 (with `Retry-After`) when it does not: for load
    /// balancers, which stop sending traffic to an unready gateway.
    async fn readiness(&self) -> Response<Bytes> {
        match self.db.ready().await {
            Ok(()) => respond::json(
                StatusCode::OK,
                &json!({"status": "ready"}),
                Render::default(),
                None,
            ),
            Err(e) => respond::error(
                &ApiError::Unavailable(format!("{e:?}")),
                Render::default(),
                None,
            ),
        }
    }

    /// OPTIONS: the metadata; on a detail route whose object is missing (or out of scope),
    /// without the write actions, as DRF leaves out what it cannot check permissions on.
    async fn options(&self, call: &Call<'_>) -> Response<Bytes> {
        let mut body = metadata::metadata(call.route, call.resource);
        if call.route.key_param.is_some() {
            let found = match (parse_key(call.key), self.scope(call)) {
                (Ok(key), Ok(scope)) => self.must_exist(call.resource, key, &scope).await.is_ok(),
                _ => false,
            };
            if !found && let Some(map) = body.as_object_mut() {
                map.remove("actions");
            }
        }
        respond::json(StatusCode::OK, &body, call.render, Some(&call.route.allow))
    }

    async fn run(&self, action: Action, call: &Call<'_>) -> Result<Response<Bytes>, ApiError> {
        match action {
            Action::List => self.list(call).await,
            Action::Retrieve => self.retrieve(call).await,
            Action::Create => self.create(call).await,
            Action::Update => self.update(call, false).await,
            Action::PartialUpdate => self.update(call, true).await,
            Action::Destroy => self.destroy(call).await,
        }
    }

    async fn list(&self, call: &Call<'_>) -> Result<Response<Bytes>, ApiError> {
        let resource = call.resource;
        let limit = query::limit(
            &call.query,
            "limit",
            resource.page_size,
            resource.max_page_size,
        );
        let offset = query::offset(&call.query, "offset");
        let plan = Plan::List {
            scope: self.scope(call)?,
            order: scope::ordering(resource, &call.query),
            limit: query::to_sql(limit),
            offset: query::to_sql(offset),
        };
        let rows = self
            .db
            .rows(&sql::build(self.db.dialect(), resource, &plan))
            .await
            .map_err(db_error)?;
        let mut count: i128 = 0;
        let mut results = Vec::with_capacity(rows.len());
        let key_at = 1 + resource.key_field;
        for row in &rows {
            count = i128::from(db::int(row, 0).map_err(db_error)?);
            if !db::is_null(row, key_at) {
                let object = Value::Object(db::decode(row, &resource.fields, 1).map_err(db_error)?);
                self.check_output(resource, &object)?;
                results.push(object);
            }
        }
        let base = self.base_url(call.request);
        let link = |changes: &[(&str, Option<String>)]| {
            let query = call.query.with(changes);
            Value::String(format!("{base}{}?{query}", call.request.uri().path()))
        };
        let next = if offset.saturating_add(limit) >= count {
            Value::Null
        } else {
            link(&[
                ("limit", Some(limit.to_string())),
                ("offset", Some((offset + limit).to_string())),
            ])
        };
        let previous = if offset <= 0 {
            Value::Null
        } else if offset - limit <= 0 {
            link(&[("limit", Some(limit.to_string())), ("offset", None)])
        } else {
            link(&[
                ("limit", Some(limit.to_string())),
                ("offset", Some((offset - limit).to_string())),
            ])
        };
        // Built by hand: `json!` would serialize `results` into a second copy.
        let mut body = serde_json::Map::with_capacity(4);
        body.insert(
            "count".into(),
            Value::from(i64::try_from(count).unwrap_or(i64::MAX)),
        );
        body.insert("next".into(), next);
        body.insert("previous".into(), previous);
        body.insert("results".into(), Value::Array(results));
        let body = Value::Object(body);
        Ok(respond::json(
            StatusCode::OK,
            &body,
            call.render,
            Some(&call.route.allow),
        ))
    }

    async fn retrieve(&self, call: &Call<'_>) -> Result<Response<Bytes>, ApiError> {
        let key = parse_key(call.key)?;
        let plan = Plan::Retrieve {
            key,
            scope: self.scope(call)?,
        };
        let row = self
            .db
            .row(&sql::build(self.db.dialect(), call.resource, &plan))
            .await
            .map_err(db_error)?;
        let row = row.ok_or(ApiError::NotFound)?;
        self.represent(call, &row, StatusCode::OK)
    }

    async fn create(&self, call: &Call<'_>) -> Result<Response<Bytes>, ApiError> {
        let resource = call.resource;
        let checked = self.checked_body(call, false)?;
        if !checked.errors.is_empty() {
            return Err(self.invalid(resource, checked, None).await);
        }
        let values = assignments(resource, &checked);
        let guarded = resource
            .unique
            .iter()
            .filter(|u| values.iter().any(|a| a.column == u.column))
            .map(|u| u.column.clone())
            .collect();
        let plan = Plan::Create { values, guarded };
        self.write(call, &plan, &checked, None, StatusCode::CREATED)
            .await
    }

    async fn update(&self, call: &Call<'_>, partial: bool) -> Result<Response<Bytes>, ApiError> {
        let resource = call.resource;
        let key = parse_key(call.key)?;
        let scope = self.scope(call)?;
        let checked = match self.checked_body(call, partial) {
            Ok(checked) if checked.errors.is_empty() => checked,
            // The row's absence is reported before anything about the body.
            other => {
                self.must_exist(resource, key, &scope).await?;
                return match other {
                    Ok(checked) => Err(self.invalid(resource, checked, Some(key)).await),
                    Err(e) => Err(e),
                };
            }
        };
        let plan = Plan::Update {
            key,
            scope,
            values: assignments(resource, &checked),
        };
        self.write(call, &plan, &checked, Some(key), StatusCode::OK)
            .await
    }

    /// Runs a create or update. A unique violation is answered with every taken value; when
    /// the conflicting row is already gone by the time it is looked for, the write is tried
    /// once more.
    async fn write(
        &self,
        call: &Call<'_>,
        plan: &Plan,
        checked: &Checked,
        except: Option<i64>,
        status: StatusCode,
    ) -> Result<Response<Bytes>, ApiError> {
        let statement = sql::build(self.db.dialect(), call.resource, plan);
        for _ in 0..2 {
            match self.db.row(&statement).await {
                Ok(Some(row)) => return self.represent(call, &row, status),
                Ok(None) if !matches!(plan, Plan::Create { .. }) => return Err(ApiError::NotFound),
                // A create inserts nothing when a guarded unique value is taken.
                Ok(None) | Err(DbError::Unique) => {
                    let taken = self.taken(call.resource, checked, except).await?;
                    if !taken.is_empty() {
                        return Err(named_errors(call.resource, taken));
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

    async fn destroy(&self, call: &Call<'_>) -> Result<Response<Bytes>, ApiError> {
        let key = parse_key(call.key)?;
        let plan = Plan::Destroy {
            key,
            scope: self.scope(call)?,
        };
        match self
            .db
            .row(&sql::build(self.db.dialect(), call.resource, &plan))
            .await
            .map_err(db_error)?
        {
            Some(_) => Ok(respond::no_content(Some(&call.route.allow))),
            None => Err(ApiError::NotFound),
        }
    }

    /// The rows a request can see: its filters and search, on list and detail routes.
    fn scope(&self, call: &Call<'_>) -> Result<Scope, ApiError> {
        scope::scope(call.resource, &call.query)
    }

    async fn must_exist(
        &self,
        resource: &Resource,
        key: i64,
        scope: &Scope,
    ) -> Result<(), ApiError> {
        let plan = Plan::Exists {
            key,
            scope: scope.clone(),
        };
        match self
            .db
            .row(&sql::build(self.db.dialect(), resource, &plan))
            .await
            .map_err(db_error)?
        {
            Some(_) => Ok(()),
            None => Err(ApiError::NotFound),
        }
    }

    /// Parses and checks the body; errors about the body as a whole come back as `Err`.
    fn checked_body(&self, call: &Call<'_>, partial: bool) -> Result<Checked, ApiError> {
        let Some(input) = &call.resource.input else {
            return Err(ApiError::Internal("resource has no input schema".into()));
        };
        let content_type = call
            .request
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let value = body::parse(
            content_type.as_deref(),
            call.request.body(),
            self.limits.max_json_depth,
        )?;
        validate::check_input(input, value, partial).map_err(|e| {
            ApiError::Invalid(vec![(validate::NON_FIELD_ERRORS.to_owned(), vec![e.0])])
        })
    }

    /// The 400 for a body: its field errors plus the uniqueness messages of fields that
    /// passed but whose values are taken (by another row than `except`).
    async fn invalid(
        &self,
        resource: &Resource,
        checked: Checked,
        except: Option<i64>,
    ) -> ApiError {
        let Some(input) = &resource.input else {
            return ApiError::Internal("resource has no input schema".into());
        };
        match self.taken(resource, &checked, except).await {
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
                named_errors(resource, errors)
            }
            Err(e) => e,
        }
    }

    /// The uniqueness messages of the fields that passed validation but whose values another
    /// row (than `except`) already holds.
    async fn taken(
        &self,
        resource: &Resource,
        checked: &Checked,
        except: Option<i64>,
    ) -> Result<Vec<(usize, Vec<String>)>, ApiError> {
        let Some(input) = &resource.input else {
            return Ok(Vec::new());
        };
        let candidates: Vec<(usize, &crate::spec::Unique, SqlValue)> = checked
            .values
            .iter()
            .chain(&checked.well_formed)
            .filter_map(|(i, value)| {
                let unique = resource
                    .unique
                    .iter()
                    .find(|u| u.field == input.fields[*i].name)?;
                let value = SqlValue::from_json(input.fields[*i].kind, value)
                    .filter(|_| !value.is_null())?;
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
        let plan = Plan::Taken { checks, except };
        let row = self
            .db
            .row(&sql::build(self.db.dialect(), resource, &plan))
            .await
            .map_err(db_error)?;
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

    fn represent(
        &self,
        call: &Call<'_>,
        row: &db::Row,
        status: StatusCode,
    ) -> Result<Response<Bytes>, ApiError> {
        let object = Value::Object(db::decode(row, &call.resource.fields, 0).map_err(db_error)?);
        self.check_output(call.resource, &object)?;
        Ok(respond::json(
            status,
            &object,
            call.render,
            Some(&call.route.allow),
        ))
    }

    fn check_output(&self, resource: &Resource, object: &Value) -> Result<(), ApiError> {
        if self.spec.response_validation == ResponseValidation::Off {
            return Ok(());
        }
        match validate::check_output(&resource.representation.validator, object) {
            Ok(()) => Ok(()),
            Err(problems) if self.spec.response_validation == ResponseValidation::Log => {
                tracing::warn!(resource = %resource.name, "response violates its schema: {problems}");
                Ok(())
            }
            Err(problems) => Err(ApiError::Internal(format!(
                "response violates the schema of {}: {problems}",
                resource.name
            ))),
        }
    }

    fn base_url(&self, request: &Request<Bytes>) -> String {
        if let Some(url) = &self.spec.public_url {
            return url.clone();
        }
        let host = request
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| request.uri().authority().map(|a| a.as_str()))
            .unwrap_or("localhost");
        format!("http://{host}")
    }
}

/// Field errors by input-field index, as the API's 400: fields in input-schema order.
fn named_errors(resource: &Resource, mut errors: Vec<(usize, Vec<String>)>) -> ApiError {
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
fn parse_key(key: Option<&str>) -> Result<i64, ApiError> {
    key.and_then(query::python_int)
        .filter(|k| *k > 0 && *k < i64::MAX)
        .ok_or(ApiError::NotFound)
}

fn assignments(resource: &Resource, checked: &Checked) -> Vec<Assign> {
    let Some(input) = &resource.input else {
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

/// The representation the request's `Accept` asks for.
fn negotiate(request: &Request<Bytes>) -> Result<Render, ApiError> {
    let accept = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    respond::negotiate(accept)
}

/// GET/HEAD of the OpenAPI document.
fn serve_document(request: &Request<Bytes>, document: &Value) -> Response<Bytes> {
    const ALLOW: &str = "GET, HEAD, OPTIONS";
    let render = match negotiate(request) {
        Ok(render) => render,
        Err(e) => return respond::error(&e, Render::default(), Some(ALLOW)),
    };
    match *request.method() {
        Method::GET | Method::HEAD | Method::OPTIONS => {
            respond::json(StatusCode::OK, document, render, Some(ALLOW))
        }
        ref other => respond::error(
            &ApiError::MethodNotAllowed(other.to_string()),
            render,
            Some(ALLOW),
        ),
    }
}

fn redirect(request: &Request<Bytes>) -> Response<Bytes> {
    let mut location = format!("{}/", request.uri().path());
    if let Some(q) = request.uri().query() {
        location.push('?');
        location.push_str(q);
    }
    let status = if matches!(*request.method(), Method::GET | Method::HEAD) {
        StatusCode::MOVED_PERMANENTLY
    } else {
        StatusCode::PERMANENT_REDIRECT
    };
    respond::redirect(status, &location)
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
}
