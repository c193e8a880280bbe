//! The one connection to the Redis the nodes share: multiplexed (every
//! request's commands are pipelined on it) and reconnected in the
//! background by the redis crate's connection manager.
//!
//! Redis only ever makes the nodes agree; it is never allowed to refuse
//! traffic. A call that fails or takes longer than `CALL_TIMEOUT` answers
//! `None` and the caller decides with this node's memory. After a
//! connection failure the node does not ask Redis again for `REST` (so a
//! Redis that is down costs each request nothing), and it warns at most once
//! per `WARN_EVERY`.

use std::sync::atomic::{AtomicI64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, ErrorKind, FromRedisValue, RedisError, ServerErrorKind};

use crate::metrics::Metrics;
use crate::util::now_ms;

/// Longest a request waits for Redis before deciding alone. Redis answers
/// in well under a millisecond on a LAN; this only bounds a stalled one.
const CALL_TIMEOUT: Duration = Duration::from_millis(250);
/// How long a node decides alone after Redis failed to connect or answer.
const REST_MS: i64 = 1_000;
/// At most one warning per this many milliseconds while Redis is away.
const WARN_EVERY_MS: i64 = 10_000;

pub struct Redis {
    conn: ConnectionManager,
    prefix: String,
    /// Until when (unix ms) calls skip Redis after a connection failure.
    resting_until: AtomicI64,
    /// When the last "Redis is away" warning was logged (unix ms).
    warned_at: AtomicI64,
    metrics: Arc<Metrics>,
}

/// A Lua script called by its SHA-1 (`EVALSHA`), sent whole (`EVAL`) only
/// when Redis does not know it yet (`NOSCRIPT`: a restarted or flushed
/// Redis); `EVAL` also caches it, so the next call is an `EVALSHA` again.
pub struct Lua {
    source: &'static str,
    sha: String,
}

impl Lua {
    pub fn new(source: &'static str) -> Lua {
        Lua {
            source,
            sha: redis::Script::new(source).get_hash().to_string(),
        }
    }
}

impl Redis {
    /// Reads the URL (`redis://host:port/db`); connects on first use, so a
    /// node starts and serves while Redis is still away.
    pub fn open(url: &str, prefix: &str, metrics: Arc<Metrics>) -> Result<Redis, String> {
        // the URL may carry a password: errors never repeat it
        let client = redis::Client::open(url).map_err(|e| format!("--redis: {e}"))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(CALL_TIMEOUT))
            // one quick retry; past that the node rests and asks again later
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        let conn = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| format!("--redis: {e}"))?;
        Ok(Redis {
            conn,
            prefix: prefix.trim_end_matches(':').to_string(),
            resting_until: AtomicI64::new(0),
            warned_at: AtomicI64::new(i64::MIN),
            metrics,
        })
    }

    /// Connects now and says so in the log; `false` (with a warning) when
    /// Redis does not answer, in which case the node limits alone until it
    /// does.
    pub async fn connect(&self) -> bool {
        let mut conn = self.conn.clone();
        let ping = redis::cmd("PING");
        match tokio::time::timeout(
            Duration::from_secs(3),
            ping.query_async::<String>(&mut conn),
        )
        .await
        {
            Ok(Ok(_)) => {
                tracing::info!(prefix = %self.prefix, "redis connected: rate limits, webhook replays and unique clicks are shared");
                true
            }
            Ok(Err(e)) => {
                self.failed("connect", &e.to_string(), true);
                false
            }
            Err(_) => {
                self.failed("connect", "no answer within 3 s", true);
                false
            }
        }
    }

    /// `prefix:part:part…`, the name of a shared key.
    pub fn key(&self, parts: &[&str]) -> String {
        let mut k = self.prefix.clone();
        for p in parts {
            k.push(':');
            k.push_str(p);
        }
        k
    }

    /// One command; `None` when Redis is away or answered an error (logged),
    /// and the caller decides alone.
    pub async fn call<T: FromRedisValue>(&self, what: &'static str, cmd: &Cmd) -> Option<T> {
        let mut conn = self.available()?;
        let result = tokio::time::timeout(CALL_TIMEOUT, cmd.query_async::<T>(&mut conn)).await;
        self.settle(what, result)
    }

    /// A script with its keys and arguments, as `call`.
    pub async fn script<T: FromRedisValue>(
        &self,
        what: &'static str,
        lua: &Lua,
        keys: &[&str],
        args: &[String],
    ) -> Option<T> {
        let mut conn = self.available()?;
        let invoke = |verb: &str, body: &str| {
            let mut c = redis::cmd(verb);
            c.arg(body).arg(keys.len()).arg(keys).arg(args);
            c
        };
        let run = async {
            match invoke("EVALSHA", &lua.sha)
                .query_async::<T>(&mut conn)
                .await
            {
                Err(e) if e.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                    invoke("EVAL", lua.source).query_async::<T>(&mut conn).await
                }
                other => other,
            }
        };
        let result = tokio::time::timeout(CALL_TIMEOUT, run).await;
        self.settle(what, result)
    }

    /// The connection, unless the node is resting from a failure.
    fn available(&self) -> Option<ConnectionManager> {
        if now_ms() < self.resting_until.load(Relaxed) {
            self.metrics.redis_fallback();
            return None;
        }
        Some(self.conn.clone())
    }

    fn settle<T>(
        &self,
        what: &'static str,
        result: Result<Result<T, RedisError>, tokio::time::error::Elapsed>,
    ) -> Option<T> {
        match result {
            Ok(Ok(v)) => Some(v),
            Ok(Err(e)) => {
                // A refused or dropped connection rests the node; an error
                // reply (say, a key of the wrong type) costs only this call.
                let unreachable = e.is_io_error()
                    || e.is_timeout()
                    || e.is_connection_dropped()
                    || e.is_connection_refusal();
                self.failed(what, &e.to_string(), unreachable);
                None
            }
            Err(_) => {
                self.failed(what, "no answer in time", true);
                None
            }
        }
    }

    fn failed(&self, what: &str, error: &str, rest: bool) {
        self.metrics.redis_fallback();
        let now = now_ms();
        if rest {
            self.resting_until.store(now + REST_MS, Relaxed);
        }
        let last = self.warned_at.load(Relaxed);
        if now.saturating_sub(last) >= WARN_EVERY_MS
            && self
                .warned_at
                .compare_exchange(last, now, Relaxed, Relaxed)
                .is_ok()
        {
            tracing::warn!(
                %error,
                check = what,
                "redis is away: this node limits, guards replays and counts unique clicks alone until it answers"
            );
        }
    }
}
