//! Rate limits: `rate_limits:` in `routes.yaml` (named GCRA limits, each with its key and its
//! store) and `settings.trusted_proxies` (whose `X-Forwarded-For` names the client), checked
//! and compiled once so the request path only reads numbers.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

/// One named limit, as written under `rate_limits:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitDef {
    /// Requests allowed per `per`.
    pub rate: u32,
    /// The period `rate` is counted over.
    pub per: Per,
    /// Requests allowed at once, after a quiet spell (default: `rate`).
    pub burst: Option<u32>,
    /// What a caller is told apart by: `address`, `api_key`, `subject` or `claim:NAME`.
    #[serde(default = "default_key")]
    pub key: String,
    /// Where the counts live: `memory` (this process), `redis` (shared by instances), or
    /// `auto` (Redis when `redis_url` is given, else memory).
    #[serde(default)]
    pub store: StoreKind,
    /// The Redis server, with `store: redis` (`redis://host:port/db`).
    pub redis_url: Option<String>,
    /// What every Redis key of this limit starts with (then the limit's name and the key).
    #[serde(default = "default_prefix")]
    pub key_prefix: String,
    /// What a request gets when Redis cannot be asked.
    #[serde(default)]
    pub on_redis_failure: OnFailure,
}

fn default_key() -> String {
    "address".to_owned()
}

fn default_prefix() -> String {
    "specgate:rl:".to_owned()
}

/// The period of a rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Per {
    /// One second.
    Second,
    /// Sixty seconds.
    Minute,
    /// 3,600 seconds.
    Hour,
}

impl Per {
    /// The period in seconds.
    pub fn seconds(self) -> u64 {
        match self {
            Per::Second => 1,
            Per::Minute => 60,
            Per::Hour => 3600,
        }
    }
}

/// Where a limit's counts live.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// In this process (one instance).
    #[default]
    Memory,
    /// In Redis, shared by every instance using the same server and prefix.
    Redis,
    /// In Redis when `redis_url` is given (not empty), else in memory.
    Auto,
}

/// What a request gets when the Redis store fails.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnFailure {
    /// Let it through, uncounted.
    Allow,
    /// Refuse it (503).
    Deny,
    /// Count it in this process's own limit, as `store: memory` would.
    #[default]
    Local,
}

/// What a limit tells callers apart by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyBy {
    /// The client's address (after trusted proxies).
    Address,
    /// The authenticated API key's name (else the address).
    ApiKey,
    /// The authenticated subject, else the key's name (else the address); `claim:sub` too.
    Subject,
    /// A claim of the caller's token, text or a number (else the address): `claim:NAME`.
    Claim(String),
}

/// The compiled store of a limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Store {
    /// Counts in this process.
    Memory,
    /// Counts in Redis.
    Redis {
        /// The server's URL.
        url: String,
        /// The prefix of every key, the limit's name included (`specgate:rl:NAME:`).
        prefix: String,
        /// What happens when the server cannot be asked.
        on_failure: OnFailure,
    },
}

/// A compiled limit: a GCRA of `burst` requests at once, one more every `interval`.
#[derive(Debug, Clone)]
pub struct Limit {
    /// Its name in `rate_limits:`, for headers, logs and metrics.
    pub name: Arc<str>,
    /// Requests per period.
    pub rate: u32,
    /// The period, in seconds.
    pub period: u64,
    /// Requests allowed at once.
    pub burst: u32,
    /// The time one request's share takes to come back (`period / rate`).
    pub interval: Duration,
    /// What callers are told apart by.
    pub key: KeyBy,
    /// Where the counts live.
    pub store: Store,
    /// The name as a structured-field string (`"name"`), for the `RateLimit` header.
    pub quoted: String,
    /// `RateLimit-Policy`: `"name";q=BURST;w=SECONDS`, the seconds the whole burst takes
    /// to come back (rounded up).
    pub policy: http::HeaderValue,
}

/// Compiles the limit `name`; the error says what is wrong with it.
pub fn compile(name: &str, def: &LimitDef) -> Result<Limit, String> {
    if name == "off" {
        return Err(
            "`off` is the word that switches a route's limit off; name the limit otherwise".into(),
        );
    }
    if def.rate == 0 {
        return Err("rate must be at least 1".into());
    }
    let burst = def.burst.unwrap_or(def.rate);
    if burst == 0 {
        return Err("burst must be at least 1".into());
    }
    let period = def.per.seconds();
    let interval = Duration::from_secs(period) / def.rate;
    if interval.is_zero() {
        return Err("rate is too high for its period".into());
    }
    let quoted = sf_string(name)?;
    let window = (interval * burst).as_secs_f64().ceil().max(1.0) as u64;
    let policy = http::HeaderValue::from_str(&format!("{quoted};q={burst};w={window}"))
        .map_err(|_| "the name must be printable ASCII".to_owned())?;
    Ok(Limit {
        quoted,
        policy,
        name: name.into(),
        rate: def.rate,
        period,
        burst,
        interval,
        key: key_by(&def.key)?,
        store: store(name, def)?,
    })
}

/// `name` as a structured-field string (RFC 9651 §3.3.3): printable ASCII, `"` and `\\`
/// escaped.
fn sf_string(name: &str) -> Result<String, String> {
    if !name.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err("the name must be printable ASCII (it is sent in headers)".into());
    }
    let escaped = name.replace('\\', "\\\\").replace('"', "\\\"");
    Ok(format!("\"{escaped}\""))
}

fn key_by(key: &str) -> Result<KeyBy, String> {
    match key {
        "address" => Ok(KeyBy::Address),
        "api_key" => Ok(KeyBy::ApiKey),
        "subject" => Ok(KeyBy::Subject),
        "claim:sub" => Ok(KeyBy::Subject),
        _ => match key.strip_prefix("claim:") {
            Some(name) if !name.is_empty() => Ok(KeyBy::Claim(name.to_owned())),
            Some(_) => Err(format!("key {key:?}: name the claim, as in claim:tenant")),
            None => Err(format!(
                "key {key:?} must be address, api_key, subject or claim:NAME"
            )),
        },
    }
}

fn store(name: &str, def: &LimitDef) -> Result<Store, String> {
    // An empty URL is no URL: `redis_url: ${REDIS_URL:-}` with `store: auto` lets a
    // deployment choose with the environment.
    let url = def.redis_url.as_deref().filter(|u| !u.is_empty());
    match (def.store, url) {
        (StoreKind::Memory | StoreKind::Auto, None) => Ok(Store::Memory),
        (StoreKind::Memory, Some(_)) => {
            Err("redis_url is read only with store: redis or auto".into())
        }
        (StoreKind::Redis, None) => Err("store: redis needs redis_url".into()),
        (StoreKind::Redis | StoreKind::Auto, Some(url)) => {
            let schemes = ["redis://", "rediss://", "unix://", "redis+unix://"];
            if !schemes.iter().any(|s| url.starts_with(s)) {
                return Err(format!(
                    "redis_url {url:?} must start with redis:// or rediss://"
                ));
            }
            Ok(Store::Redis {
                url: url.to_owned(),
                prefix: format!("{}{name}:", def.key_prefix),
                on_failure: def.on_redis_failure,
            })
        }
    }
}

/// An address or a network (`10.0.0.0/8`, `::1`), for `settings.trusted_proxies`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    bits: u8,
}

impl Cidr {
    /// Reads `text`; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let bad = || format!("{text:?} is not an address or a network (10.0.0.0/8)");
        let (addr, bits) = match text.split_once('/') {
            Some((addr, bits)) => (addr, Some(bits.parse::<u8>().map_err(|_| bad())?)),
            None => (text, None),
        };
        let network: IpAddr = addr.trim().parse().map_err(|_| bad())?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let bits = bits.unwrap_or(max);
        if bits > max {
            return Err(bad());
        }
        Ok(Cidr { network, bits })
    }

    /// Whether `addr` is in this network.
    pub fn contains(&self, addr: IpAddr) -> bool {
        let addr = match addr {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
            v4 => v4,
        };
        match (self.network, addr) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                prefix_eq(net.to_bits().into(), a.to_bits().into(), self.bits, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                prefix_eq(net.to_bits(), a.to_bits(), self.bits, 128)
            }
            _ => false,
        }
    }
}

/// Whether the first `bits` of two `width`-bit numbers agree.
fn prefix_eq(a: u128, b: u128, bits: u8, width: u32) -> bool {
    let shift = width - u32::from(bits);
    shift >= width || (a >> shift) == (b >> shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_hold_their_addresses() {
        let net = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(net.contains("10.1.2.3".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        assert!(net.contains("::ffff:10.0.0.9".parse().unwrap()));
        let one = Cidr::parse("127.0.0.1").unwrap();
        assert!(one.contains("127.0.0.1".parse().unwrap()));
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        assert!(
            Cidr::parse("fd00::/8")
                .unwrap()
                .contains("fd12::1".parse().unwrap())
        );
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("nonsense").is_err());
    }

    #[test]
    fn auto_is_redis_only_with_a_url() {
        let def = |store: &str, url: &str| -> LimitDef {
            serde_yaml::from_str(&format!(
                "rate: 1\nper: second\nstore: {store}\nredis_url: \"{url}\"\n"
            ))
            .unwrap()
        };
        let store_of = |store, url| compile("l", &def(store, url)).map(|l| l.store);
        assert_eq!(store_of("auto", ""), Ok(Store::Memory));
        assert!(matches!(
            store_of("auto", "redis://h:1"),
            Ok(Store::Redis { .. })
        ));
        assert_eq!(store_of("memory", ""), Ok(Store::Memory));
        assert!(store_of("memory", "redis://h:1").is_err());
        assert!(store_of("redis", "").is_err());
        assert!(store_of("redis", "http://h").is_err());
    }

    #[test]
    fn keys_are_words_or_claims() {
        assert_eq!(key_by("subject"), Ok(KeyBy::Subject));
        assert_eq!(key_by("claim:sub"), Ok(KeyBy::Subject));
        assert_eq!(key_by("claim:tenant"), Ok(KeyBy::Claim("tenant".into())));
        assert!(key_by("claim:").is_err());
        assert!(key_by("ip").is_err());
    }
}
