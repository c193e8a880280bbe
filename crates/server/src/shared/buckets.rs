//! Rate limits every node counts against together: the same token bucket
//! as `clickledger_domain::rate::Bucket` (rate, burst), kept in Redis as
//! `prefix:rl:{kind}:{key}` and checked by one Lua script, so a check is one
//! atomic round trip and two nodes never both spend the last token. The
//! bucket expires once it would be full again (an absent bucket is a full
//! one). Without Redis, or while it is away, this node's own buckets decide.

use std::fmt::Display;
use std::hash::Hash;
use std::sync::{Arc, LazyLock};

use clickledger_domain::rate::Limit;

use super::connection::{Lua, Redis};
use crate::security::Limiter;
use crate::util::sha256_hex;

/// KEYS[1] the bucket; ARGV rate per second, burst, and `1` to take a token
/// or `0` to only look. Answers 0 when a token is there, else the seconds
/// until one is. Time is Redis's own clock, one clock for every node.
const BUCKET: &str = r#"
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(tokens + math.max(now - at, 0) / 1000 * rate, burst)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.max(math.ceil((1 - tokens) / rate), 1)
end
if ARGV[3] == '1' then
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
  redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
end
return wait
"#;

static SCRIPT: LazyLock<Lua> = LazyLock::new(|| Lua::new(BUCKET));

/// Token buckets of one kind (`postback_ip`, `click_ip`, `login_account`…).
pub struct Buckets<K> {
    kind: &'static str,
    local: Limiter<K>,
    redis: Option<Arc<Redis>>,
    /// The key names a person (the e-mail tried at a login): Redis gets its
    /// hash, never the address.
    hashed: bool,
}

impl<K: Hash + Eq + Display> Buckets<K> {
    pub fn new(kind: &'static str, redis: Option<&Arc<Redis>>) -> Buckets<K> {
        Buckets {
            kind,
            local: Limiter::default(),
            redis: redis.cloned(),
            hashed: false,
        }
    }

    /// Keys go to Redis as their SHA-256.
    pub fn hashed(mut self) -> Buckets<K> {
        self.hashed = true;
        self
    }

    /// Takes a token; `Err(retry after seconds)` when `key` is over `limit`.
    pub async fn check(&self, key: K, limit: Limit, now_ms: i64) -> Result<(), u64> {
        match self.shared(&key, limit, true).await {
            Some(answer) => answer,
            None => self.local.check(key, limit, now_ms),
        }
    }

    /// What `check` would answer, without taking a token.
    pub async fn peek(&self, key: &K, limit: Limit, now_ms: i64) -> Result<(), u64> {
        match self.shared(key, limit, false).await {
            Some(answer) => answer,
            None => self.local.peek(key, limit, now_ms),
        }
    }

    /// Forgets this node's full buckets (Redis expires its own).
    pub fn prune(&self, limit: Limit, now_ms: i64) {
        self.local.prune(limit, now_ms);
    }

    async fn shared(&self, key: &K, limit: Limit, take: bool) -> Option<Result<(), u64>> {
        let redis = self.redis.as_ref()?;
        let key = key.to_string();
        let key = if self.hashed {
            sha256_hex(&key)[..32].to_string()
        } else {
            key
        };
        let name = redis.key(&["rl", self.kind, &key]);
        let args = [
            limit.per_second.to_string(),
            limit.burst.to_string(),
            if take { "1" } else { "0" }.to_string(),
        ];
        let wait: u64 = redis.script("rate limit", &SCRIPT, &[&name], &args).await?;
        Some(if wait == 0 { Ok(()) } else { Err(wait) })
    }
}
