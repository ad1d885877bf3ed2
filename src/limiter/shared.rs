//! The Redis store: one Lua script per decision does the whole GCRA step atomically on the
//! server, with the server's clock (`TIME`), so every instance sharing the server and the
//! prefix enforces one limit. The connection is redis's `ConnectionManager` (multiplexed,
//! reconnecting), made on first use. When Redis fails, the limit's `on_redis_failure`
//! applies; the failure is counted, logged once when it starts and once when Redis is back,
//! and Redis is left alone for a second before it is tried again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Script};
use tokio::sync::OnceCell;

use super::{Decision, Memory, Outcome};
use crate::admin::Metrics;
use crate::contract::limits::{Limit, OnFailure};

/// The GCRA step. KEYS[1]: the caller's key; ARGV[1]: the interval, ARGV[2]: the burst
/// times the interval (both in microseconds). Returns {allowed, remaining, reset µs}.
/// Times are written with `%.0f`: Lua's default number format keeps 14 digits, fewer than a
/// time in microseconds has.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - capacity
if allow_at > now then
  return {0, 0, allow_at - now}
end
local ttl = math.ceil((new_tat - now) / 1000) + 1
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', ttl)
return {1, math.floor((now + capacity - new_tat) / interval), new_tat - now}
";

/// How long one decision may take before Redis counts as failed.
const DEADLINE: Duration = Duration::from_millis(500);
/// How long Redis is left alone after it failed.
const PAUSE: Duration = Duration::from_secs(1);

/// One limit's counts in Redis.
pub struct Shared {
    name: Arc<str>,
    client: Client,
    connection: OnceCell<ConnectionManager>,
    script: Script,
    prefix: String,
    interval_us: u64,
    capacity_us: u64,
    on_failure: OnFailure,
    /// This process's own limit, for `on_redis_failure: local`.
    local: Memory,
    /// Redis answered last time (for the log's two lines per outage).
    healthy: AtomicBool,
    /// Until when Redis is left alone, in milliseconds since `epoch`.
    paused_until: AtomicU64,
    epoch: Instant,
}

impl Shared {
    /// The store of `limit` on the server at `url`, its keys starting with `prefix`; the
    /// error says why the URL is unusable.
    pub fn new(
        limit: &Limit,
        url: &str,
        prefix: &str,
        on_failure: OnFailure,
    ) -> Result<Shared, String> {
        let client = Client::open(url).map_err(|e| format!("redis_url: {e}"))?;
        let interval_us = u64::try_from(limit.interval.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        Ok(Shared {
            name: limit.name.clone(),
            client,
            connection: OnceCell::new(),
            script: Script::new(GCRA),
            prefix: prefix.to_owned(),
            interval_us,
            capacity_us: interval_us.saturating_mul(u64::from(limit.burst)),
            on_failure,
            local: Memory::new(limit),
            healthy: AtomicBool::new(true),
            paused_until: AtomicU64::new(0),
            epoch: Instant::now(),
        })
    }

    /// Decides for `key` in Redis, or as `on_redis_failure` says when Redis fails.
    pub async fn decide(&self, key: String, metrics: &Metrics) -> Outcome {
        if self.paused() {
            return self.fallback(key);
        }
        match tokio::time::timeout(DEADLINE, self.ask(&key)).await {
            Ok(Ok(decision)) => {
                if !self.healthy.swap(true, Ordering::Relaxed) {
                    tracing::info!(limit = %self.name, "rate limit store: Redis answers again");
                }
                Outcome::Decided {
                    decision,
                    store: "redis",
                }
            }
            Ok(Err(error)) => self.failed(&error.to_string(), key, metrics),
            Err(_) => self.failed("no answer in time", key, metrics),
        }
    }

    async fn ask(&self, key: &str) -> redis::RedisResult<Decision> {
        let connection = self
            .connection
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(DEADLINE))
                    .set_response_timeout(Some(DEADLINE))
                    .set_number_of_retries(1);
                ConnectionManager::new_lazy_with_config(self.client.clone(), config)
            })
            .await?;
        let (allowed, remaining, reset): (i64, i64, i64) = self
            .script
            .key(format!("{}{key}", self.prefix))
            .arg(self.interval_us)
            .arg(self.capacity_us)
            .invoke_async(&mut connection.clone())
            .await?;
        Ok(Decision {
            allowed: allowed == 1,
            remaining: u32::try_from(remaining.max(0)).unwrap_or(u32::MAX),
            reset: Duration::from_micros(u64::try_from(reset.max(0)).unwrap_or(0)),
        })
    }

    fn failed(&self, error: &str, key: String, metrics: &Metrics) -> Outcome {
        metrics.rate_limit_redis_error(&self.name);
        let until = self.now_ms().saturating_add(PAUSE.as_millis() as u64);
        self.paused_until.store(until, Ordering::Relaxed);
        if self.healthy.swap(false, Ordering::Relaxed) {
            tracing::warn!(
                limit = %self.name,
                error,
                on_redis_failure = ?self.on_failure,
                "rate limit store: Redis fails; the failure choice applies until it answers again"
            );
        }
        self.fallback(key)
    }

    fn fallback(&self, key: String) -> Outcome {
        match self.on_failure {
            OnFailure::Allow => Outcome::Uncounted,
            OnFailure::Deny => Outcome::Refused,
            OnFailure::Local => Outcome::Decided {
                decision: self.local.decide(key),
                store: "local",
            },
        }
    }

    fn paused(&self) -> bool {
        self.now_ms() < self.paused_until.load(Ordering::Relaxed)
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}
