//! Executing a resolved request: the innermost service of the stack. It takes one contract
//! snapshot (which the request keeps to its end, whatever a reload swaps meanwhile), resolves the request against it ([`crate::route`]), dispatches to the executor
//! of the route's target, and renders the outcome or the error in one place.

pub mod crud;
pub mod mirror;
pub mod proxy;

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use serde_json::{Value, json};

use crate::admin::Metrics;
use crate::config::Limits;
use crate::contract::{Action, ProxyValidation, Spec, Target};
use crate::db::Db;
use crate::docs;
use crate::error::ApiError;
use crate::http::layers::routing::Routed;
use crate::http::{Body, Resp};
use crate::respond::{self, Fault, MatchedRoute, Render};
use crate::route::precondition::EntityTag;
use crate::route::{self, ApiRequest, Intent, Refusal, SPECIAL_ALLOW};
use crate::store::{Contract, ContractStore};

/// What an executor produces; rendered by [`Gateway`] with the request's rendering.
#[derive(Debug)]
pub enum Outcome {
    /// A JSON body with its status.
    Json(StatusCode, Value),
    /// A row's representation with its status and its entity tag (`ETag`).
    Tagged(StatusCode, Value, EntityTag),
    /// 304: the client's copy, of this tag, is current.
    NotModified(EntityTag),
    /// 204, no body.
    NoContent,
    /// An upstream's answer, passed on as it is.
    Forwarded(Response<Bytes>),
}

/// The contract store and the database: all a request needs once it is past the layers.
struct Shared {
    store: Arc<ContractStore>,
    /// `None` when every route is proxied (the store then refuses contracts that need one).
    db: Option<Db>,
    limits: Limits,
    metrics: Arc<Metrics>,
    mirror: mirror::Queue,
}

/// One request's view: the contract snapshot it resolved against, and the shared parts.
struct Run<'a> {
    contract: &'a Arc<Contract>,
    shared: &'a Shared,
}

/// The innermost service: resolve, execute, render.
#[derive(Clone, Copy)]
pub struct Gateway {
    shared: &'static Shared,
}

impl Gateway {
    /// A gateway serving the contracts of `store` from `db` (none when every route is
    /// proxied), with the mirror's background
    /// task started (it waits, idle, until a contract mirrors something).
    pub fn new(
        store: Arc<ContractStore>,
        db: Option<Db>,
        limits: Limits,
        metrics: Arc<Metrics>,
    ) -> Gateway {
        let (mirror, queued) = mirror::Queue::new(limits.mirror_queue, limits.mirror_keep);
        // One per process, for its whole life: a request copies a reference instead of
        // counting one more owner of a value every worker thread shares.
        let shared: &'static Shared = Box::leak(Box::new(Shared {
            store,
            db,
            limits,
            metrics,
            mirror,
        }));
        tokio::spawn(mirror::serve(shared, queued));
        Gateway { shared }
    }

    /// What the mirror found, for the admin listener's `/mirror`.
    pub fn mirror_log(&self) -> Arc<mirror::Log> {
        self.shared.mirror.log.clone()
    }

    /// Answers one request that got through the layers, wholly on one contract snapshot.
    /// The snapshot is the one the routing layer took, when the request passed it.
    pub async fn answer(&self, mut request: Request<Bytes>) -> Resp {
        let contract = match request.extensions_mut().remove::<Routed>() {
            Some(routed) => routed.contract,
            None => self.shared.store.snapshot(),
        };
        let run = Run {
            contract: &contract,
            shared: self.shared,
        };
        match route::resolve(&contract.spec, request) {
            Ok(Intent::Proxy(action, upstream, req)) if run.streams(action, &req) => {
                run.streamed(upstream, &req).await
            }
            Ok(intent) => run.dispatch(intent).await.map(Body::from),
            Err(refusal) => refused(&contract.spec, refusal).map(Body::from),
        }
    }
}

impl Run<'_> {
    async fn dispatch(&self, intent: Intent) -> Response<Bytes> {
        match intent {
            Intent::Ready => self.readiness().await,
            Intent::Document(render) => self.document(render),
            Intent::SpecialOptions => {
                respond::no_content(Some(&HeaderValue::from_static(SPECIAL_ALLOW)))
            }
            Intent::Redirect(status, location) => respond::redirect(status, &location),
            Intent::Docs(want) => self.docs(want),
            Intent::Explore(route, method) => self.explore(route, &method),
            Intent::Options(req) => {
                let outcome = match self.table(&req) {
                    Ok(table) => Ok(crud::options(&table, &req).await),
                    Err(e) => Err(e),
                };
                self.render(&req, outcome)
            }
            Intent::Act(action, req) => {
                let outcome = self.act(action, &req).await;
                let response = self.render(&req, outcome);
                self.mirror(action, req, &response);
                response
            }
            Intent::Proxy(action, upstream, req) => {
                let outcome = self.proxy().run(action, upstream, &req).await;
                let response = self.render(&req, outcome.map(Outcome::Forwarded));
                if let Some(action) = action {
                    self.mirror(action, req, &response);
                }
                response
            }
        }
    }

    /// Whether a proxied request's answer can be streamed: nothing reads its body (the
    /// route checks nothing, no mirror compares it, and HEAD's length is counted here).
    fn streams(&self, action: Option<Action>, req: &ApiRequest) -> bool {
        let spec = &self.contract.spec;
        req.route(spec).validate == ProxyValidation::Off
            && req.method != Method::HEAD
            && (action.is_none() || spec.mirror(req.route, &req.method).is_none())
    }

    /// A proxied answer streamed from its upstream, or the error the fault makes.
    async fn streamed(&self, upstream: usize, req: &ApiRequest) -> Resp {
        match self.proxy().stream(upstream, req).await {
            Ok(mut response) => {
                let template = req.route(&self.contract.spec).template.clone();
                response.extensions_mut().insert(MatchedRoute(template));
                response
            }
            Err(e) => self.render(req, Err(e)).map(Body::from),
        }
    }

    /// The proxy executor on this request's contract.
    fn proxy(&self) -> proxy::Proxy<'_> {
        proxy::Proxy {
            spec: &self.contract.spec,
            upstreams: &self.contract.upstreams,
            limits: &self.shared.limits,
            metrics: &self.shared.metrics,
        }
    }

    /// Runs the action on the route's target.
    async fn act(&self, action: Action, req: &ApiRequest) -> Result<Outcome, ApiError> {
        crud::run(&self.table(req)?, action, req).await
    }

    /// The table a route's requests run against (an imported route has none: every method
    /// of it is proxied).
    fn table(&self, req: &ApiRequest) -> Result<crud::Table<'_>, ApiError> {
        let spec = &self.contract.spec;
        let route = req.route(spec);
        let Target::Table(resource) = route.target else {
            return Err(ApiError::Internal(
                "a native action on an imported route".into(),
            ));
        };
        let Some(db) = &self.shared.db else {
            return Err(ApiError::Internal(
                "a native action, but the gateway runs without a database".into(),
            ));
        };
        Ok(crud::Table {
            spec,
            route,
            resource: &spec.resources[resource],
            db,
            limits: &self.shared.limits,
            metrics: &self.shared.metrics,
        })
    }

    /// The one place an executor's result becomes a response.
    fn render(&self, req: &ApiRequest, outcome: Result<Outcome, ApiError>) -> Response<Bytes> {
        if let Err(e) = &outcome {
            self.count_invalid(&req.route(&self.contract.spec).template, e);
        }
        self.rendered(req, outcome)
    }

    /// An executor's result as a response, counted nowhere (the mirror's answers are not
    /// the clients').
    fn rendered(&self, req: &ApiRequest, outcome: Result<Outcome, ApiError>) -> Response<Bytes> {
        let route = req.route(&self.contract.spec);
        let allow = Some(&route.allow);
        let mut response = match outcome {
            Ok(Outcome::Json(status, body)) => respond::json(status, &body, req.render, allow),
            Ok(Outcome::Tagged(status, body, tag)) => {
                let response = respond::json(status, &body, req.render, allow);
                respond::tagged(response, tag.header_value())
            }
            Ok(Outcome::NotModified(tag)) => respond::not_modified(tag.header_value(), allow),
            Ok(Outcome::NoContent) => respond::no_content(allow),
            Ok(Outcome::Forwarded(response)) => response,
            Err(e) => {
                let mut response = respond::error(&e, req.render, allow);
                if e.is_server_fault() {
                    response.extensions_mut().insert(Fault(format!("{e:?}")));
                }
                response
            }
        };
        response
            .extensions_mut()
            .insert(MatchedRoute(route.template.clone()));
        response
    }

    /// Counts a request the schemas refused, or a response that violated its schema.
    fn count_invalid(&self, route: &str, error: &ApiError) {
        match error {
            ApiError::Invalid(_)
            | ApiError::Parse(_)
            | ApiError::TooDeep(_)
            | ApiError::UnsupportedMediaType(_)
            | ApiError::RequestViolation(_) => self.shared.metrics.request_invalid(route),
            ApiError::ResponseInvalid(_) | ApiError::UpstreamViolation(_) => {
                self.shared.metrics.response_invalid(route)
            }
            _ => {}
        }
    }

    /// 200 when the database answers (or there is none), 503 (with `Retry-After`) when it
    /// does not: for load balancers, which stop sending traffic to an unready gateway.
    async fn readiness(&self) -> Response<Bytes> {
        let ready = match &self.shared.db {
            Some(db) => db.ready().await,
            None => Ok(()),
        };
        match ready {
            Ok(()) => respond::json(
                StatusCode::OK,
                &json!({"status": "ready"}),
                Render::default(),
                None,
            ),
            Err(e) => respond::error(
                &ApiError::Unavailable(e.to_string()),
                Render::default(),
                None,
            ),
        }
    }

    /// GET/HEAD of the OpenAPI document.
    fn document(&self, render: Render) -> Response<Bytes> {
        let allow = HeaderValue::from_static(SPECIAL_ALLOW);
        match &self.contract.openapi {
            Some(document) => respond::json(StatusCode::OK, document, render, Some(&allow)),
            None => respond::error(&ApiError::NotFound, render, None),
        }
    }

    /// GET/HEAD under the docs path: the explorer's page, its files, or a 404.
    fn docs(&self, want: docs::Want) -> Response<Bytes> {
        let spec = &self.contract.spec;
        let (Some(at), Some(openapi)) = (&spec.docs_path, &spec.openapi_path) else {
            return respond::error(&ApiError::NotFound, Render::default(), None);
        };
        match want {
            docs::Want::Page => docs::page(at, openapi, &spec.title),
            docs::Want::Slash => respond::redirect(StatusCode::MOVED_PERMANENTLY, at),
            docs::Want::Asset(asset) => docs::asset(asset),
            docs::Want::Missing => respond::error(&ApiError::NotFound, Render::default(), None),
        }
    }

    /// 303 to the explorer at the operation of `route`'s `method` (GET's, for HEAD) in the
    /// served document: `#/{tag}/{operationId}`, Swagger UI's `default` tag when it has
    /// none; the page itself when the document names no operation id.
    fn explore(&self, route: usize, method: &http::Method) -> Response<Bytes> {
        let spec = &self.contract.spec;
        let Some(at) = &spec.docs_path else {
            return respond::error(&ApiError::NotFound, Render::default(), None);
        };
        let template = &spec.routes[route].template;
        let method = if method == http::Method::HEAD {
            "get".to_owned()
        } else {
            method.as_str().to_ascii_lowercase()
        };
        let operation = self
            .contract
            .openapi
            .as_ref()
            .and_then(|d| d.get("paths")?.get(&**template)?.get(&method));
        let id = operation.and_then(|op| op.get("operationId")?.as_str());
        let tag = operation
            .and_then(|op| op.get("tags")?.get(0)?.as_str())
            .unwrap_or("default");
        let location = match id {
            Some(id) => docs::deep_link(at, tag, id),
            None => at.clone(),
        };
        let mut response = respond::redirect(StatusCode::SEE_OTHER, &location);
        response
            .extensions_mut()
            .insert(MatchedRoute(template.clone()));
        response
    }
}

/// A request refused while resolving, rendered in the API's error format.
fn refused(spec: &Spec, refusal: Refusal) -> Response<Bytes> {
    let mut response = respond::error(&refusal.error, refusal.render, refusal.allow.as_ref());
    if let Some(index) = refusal.route {
        let template = spec.routes[index].template.clone();
        response.extensions_mut().insert(MatchedRoute(template));
    }
    response
}
