//! Mirror mode, for migrations: once the primary answered a mirrored method, the same
//! request is queued for the mirror (usually the native executor on its own database, the
//! primary being the legacy upstream); one background task sends each to the mirror, in
//! the primary's order so that writes meet the same rows on both sides, and compares the
//! two answers ([`compare`]). The client only ever waits for the primary: the queue is
//! bounded, and a request that finds it full is skipped and counted, never waited for.
//!
//! Differences are logged, counted per route in the metrics, and the last few kept for the
//! admin listener's `/mirror` ([`Log::report`]).

pub mod compare;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use bytes::Bytes;
use http::Response;
use http::header::{ACCEPT, CONTENT_TYPE};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use compare::Answer;

use super::{Outcome, Run, Shared};
use crate::admin::MirrorLabels;
use crate::contract::mirror::Mirror;
use crate::contract::{Action, Via};
use crate::route::ApiRequest;
use crate::store::Contract;

/// A request the primary answered, waiting for the mirror.
pub(super) struct Job {
    /// The contract the primary answered on (the mirror answers on the same one).
    contract: Arc<Contract>,
    /// The action the method runs.
    action: Action,
    /// The request itself (its body is shared bytes).
    req: ApiRequest,
    /// What the client got.
    primary: Answer,
}

/// The sending side of the mirror queue and the record of what the mirror found.
pub(super) struct Queue {
    sender: mpsc::Sender<Job>,
    /// What `/mirror` reports.
    pub log: Arc<Log>,
}

impl Queue {
    /// A queue of `capacity` requests keeping the last `keep` differences, and its
    /// receiving end for [`serve`].
    pub fn new(capacity: usize, keep: usize) -> (Queue, mpsc::Receiver<Job>) {
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        let log = Arc::new(Log {
            keep,
            recent: Mutex::new(VecDeque::new()),
            queued: AtomicU64::new(0),
            compared: AtomicU64::new(0),
            differed: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
        });
        (Queue { sender, log }, receiver)
    }
}

/// Counts and the last differences, for `/mirror`.
pub struct Log {
    keep: usize,
    recent: Mutex<VecDeque<Value>>,
    queued: AtomicU64,
    compared: AtomicU64,
    differed: AtomicU64,
    skipped: AtomicU64,
}

impl Log {
    /// The counts since start (`queued` less `compared` are waiting or at the mirror) and
    /// the kept differences, oldest first.
    pub fn report(&self) -> Value {
        let recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
        json!({
            "mirrored": true,
            "queued": self.queued.load(Ordering::Relaxed),
            "compared": self.compared.load(Ordering::Relaxed),
            "differed": self.differed.load(Ordering::Relaxed),
            "skipped": self.skipped.load(Ordering::Relaxed),
            "keep": self.keep,
            "differences": recent.iter().cloned().collect::<Vec<_>>(),
        })
    }

    fn keep_difference(&self, entry: Value) {
        if self.keep == 0 {
            return;
        }
        let mut recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
        while recent.len() >= self.keep {
            recent.pop_front();
        }
        recent.push_back(entry);
    }
}

impl Run<'_> {
    /// Queues `req` for its mirror, when its method is mirrored, with the primary's
    /// `response`; never waits (a full queue skips it).
    pub(super) fn mirror(&self, action: Action, req: ApiRequest, response: &Response<Bytes>) {
        let spec = &self.contract.spec;
        if spec.mirrors.is_empty() {
            return;
        }
        let Some(rule) = spec.mirror(req.route, &req.method) else {
            return;
        };
        let labels = labels(&req.route(spec).template, rule);
        let job = Job {
            contract: self.contract.clone(),
            action,
            primary: Answer {
                status: response.status(),
                body: response.body().clone(),
            },
            req,
        };
        let log = &self.shared.mirror.log;
        // Counted first, so that `compared` never runs ahead of `queued` in a report.
        log.queued.fetch_add(1, Ordering::Relaxed);
        if self.shared.mirror.sender.try_send(job).is_err() {
            log.queued.fetch_sub(1, Ordering::Relaxed);
            log.skipped.fetch_add(1, Ordering::Relaxed);
            self.shared.metrics.mirror_skipped(&labels);
        }
    }
}

/// Sends each queued request to its mirror and compares the answers, one at a time in the
/// primary's order, until the queue closes.
pub(super) async fn serve(shared: &'static Shared, mut receiver: mpsc::Receiver<Job>) {
    while let Some(job) = receiver.recv().await {
        let run = Run {
            contract: &job.contract,
            shared,
        };
        run.compare(&job).await;
    }
}

impl Run<'_> {
    /// Runs one job on its mirror and records the comparison.
    async fn compare(&self, job: &Job) {
        let spec = &self.contract.spec;
        let req = &job.req;
        let Some(rule) = spec.mirror(req.route, &req.method) else {
            return;
        };
        let route = req.route(spec);
        let answer = async {
            match rule.to {
                Via::Native => self.act(job.action, req).await,
                Via::Upstream(up) => self
                    .proxy()
                    .run(Some(job.action), up, req)
                    .await
                    .map(Outcome::Forwarded),
            }
        };
        let outcome = match tokio::time::timeout(self.shared.limits.request_timeout, answer).await {
            Ok(outcome) => outcome,
            Err(_) => Err(crate::error::ApiError::Unavailable(
                "the mirror did not answer in time".to_owned(),
            )),
        };
        let response = self.rendered(req, outcome);
        let mirror = Answer {
            status: response.status(),
            body: response.into_body(),
        };
        let differences = compare::differences(rule, &job.primary, &mirror);
        let log = &self.shared.mirror.log;
        self.shared
            .metrics
            .mirror_compared(&labels(&route.template, rule), !differences.is_empty());
        if !differences.is_empty() {
            tracing::warn!(route = %route.template, method = %req.method, uri = %req.uri,
                mirror = %rule.to_name, request_id = ?req.headers.get("x-request-id"),
                "the mirror answered differently: {}", differences.join("; "));
            log.keep_difference(entry(
                req,
                &route.template,
                &rule.to_name,
                job,
                &mirror,
                differences,
            ));
            log.differed.fetch_add(1, Ordering::Relaxed);
        }
        // Last, so that a report whose `compared` reached `queued` has every finding.
        log.compared.fetch_add(1, Ordering::Relaxed);
    }
}

/// The metrics labels of a mirrored method of `route`.
fn labels(route: &Arc<str>, rule: &Mirror) -> MirrorLabels {
    MirrorLabels {
        route: route.clone(),
        primary: rule.primary_name.clone(),
        mirror: rule.to_name.clone(),
    }
}

/// What `/mirror` shows of one difference: the request, both answers, what differed.
fn entry(
    req: &ApiRequest,
    route: &str,
    mirror_name: &str,
    job: &Job,
    mirror: &Answer,
    differences: Vec<String>,
) -> Value {
    let header = |name| {
        req.headers
            .get(name)
            .map(|v| Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .unwrap_or(Value::Null)
    };
    let at = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    json!({
        "at": at,
        "route": route,
        "mirror": mirror_name,
        "request": {
            "method": req.method.as_str(),
            "path": req.uri.to_string(),
            "headers": {
                "content-type": header(CONTENT_TYPE.as_str()),
                "accept": header(ACCEPT.as_str()),
                "x-request-id": header("x-request-id"),
            },
            "body": body(&req.body),
        },
        "primary": {"status": job.primary.status.as_u16(), "body": body(&job.primary.body)},
        "mirrored": {"status": mirror.status.as_u16(), "body": body(&mirror.body)},
        "differences": differences,
    })
}

/// A body as `/mirror` shows it: its JSON when it is JSON, else its text.
fn body(bytes: &Bytes) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    compare::json(bytes)
        .unwrap_or_else(|| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}
