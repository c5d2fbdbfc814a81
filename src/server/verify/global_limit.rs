//! Rate limits that hold across instances, kept in Redis.
//!
//! With `PORTICO_REDIS_URL` set, each key's limit is a sliding window: at
//! most `limit` accepted requests in any 60 seconds, counted in one sorted
//! set per key that every instance shares. One Lua script decides and
//! records a request in one atomic round trip, on Redis's clock, so that
//! instances with skewed clocks agree and the wait they tell a client
//! (`retry_after`) is right whichever instance it asks next.
//!
//! Redis is the limit's engine, never the key's: when it does not answer in
//! time, verification goes on with the instance's own limits
//! ([`super::rate_limit::RateLimiter`]); the fallback is logged once per
//! outage, counted, and shown on the staff page and in `/metrics`. While
//! Redis is down one request a second tries it again, so an outage costs the
//! others nothing; the first answer ends the outage. A script the instance
//! stopped waiting for may still run when a stalled Redis resumes: its
//! request was decided alone, so its entry is removed from the window once
//! Redis answers again.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex,
    },
    time::{Duration, Instant},
};

pub use crate::model::staff::SharedLimitHealth;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// The sliding window, in milliseconds: limits are per minute.
const WINDOW_MS: u64 = 60_000;

/// How long one decision may wait for Redis before the instance decides alone.
pub const ANSWER_TIMEOUT: Duration = Duration::from_millis(250);

/// How often, while Redis is down, a request tries it again.
const RETRY_EVERY: Duration = Duration::from_secs(1);

/// Decides one request against a key's sliding window and records it when
/// accepted. KEYS[1]: the key's window. ARGV: the limit, the window (ms),
/// a member unique to this request. Returns `{1, 0}` when accepted, else
/// `{0, ms}`: how long until the window holds room for one more.
const SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, 0}
end
local nth = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
local wait = tonumber(nth[2]) + window - now
if wait < 1 then wait = 1 end
return {0, wait}
";

/// Counts one request against a key's monthly quota. KEYS[1]: the month's
/// counter. ARGV: the quota, the count to start from when the counter is
/// missing (empty: ask for it), the counter's life in ms. Returns `{1, n}`
/// when accepted as the n-th request, `{0, n}` when the quota is used up,
/// `{-1, 0}` when the counter is missing and no count was given.
const QUOTA_SCRIPT: &str = r"
local n = redis.call('GET', KEYS[1])
if not n then
  if ARGV[2] == '' then return {-1, 0} end
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3], 'NX')
  n = redis.call('GET', KEYS[1])
end
n = tonumber(n)
if n >= tonumber(ARGV[1]) then return {0, n} end
return {1, redis.call('INCR', KEYS[1])}
";

/// What the shared quota counter said about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaAnswer {
    /// Counted: the request is the n-th of the month.
    Accepted(i64),
    /// The quota is used up (n counted).
    Exceeded(i64),
    /// The month's counter does not exist yet: call again with the count
    /// so far (from the database).
    NeedsCount,
    /// Redis did not answer: the instance counts alone.
    Unavailable,
}

/// Why a script call got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unanswered {
    /// Not sent: Redis is down and it is not yet time to try again.
    NotSent,
    /// Sent, and no answer came in time (it may still run).
    Sent,
}

/// What the global limit said about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Within the limit (and counted).
    Accepted,
    /// Over the limit: the wait until one more request fits.
    Refused(Duration),
    /// Redis did not answer: the instance decides alone.
    Unavailable,
}

struct Health {
    up: bool,
    outages: u64,
    last_error: Option<String>,
    /// While down: when Redis was last tried.
    last_try: Option<Instant>,
}

/// The shared limiter: a Redis connection (reconnected by the client when
/// it drops), the script, and the backend's health.
pub struct GlobalLimiter {
    connection: ConnectionManager,
    script: redis::Script,
    quota_script: redis::Script,
    /// Prefixes every Redis key (`portico:rate:…`, `portico:quota:…`).
    namespace: String,
    /// Makes each request's member unique within this instance; the
    /// instance's own random id makes it unique across instances.
    sequence: AtomicU64,
    instance: String,
    fallbacks: AtomicU64,
    health: Mutex<Health>,
    /// Entries of requests whose script got no answer in time: `(window,
    /// member)`, removed once Redis answers (at most [`MAX_ABANDONED`]).
    abandoned: Mutex<Vec<(String, String)>>,
}

/// Most abandoned entries remembered for removal.
const MAX_ABANDONED: usize = 10_000;

impl std::fmt::Debug for GlobalLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GlobalLimiter")
            .field("health", &self.health())
            .finish_non_exhaustive()
    }
}

impl GlobalLimiter {
    /// A limiter on the Redis at `url` (`redis://[user:password@]host[:port][/db]`).
    /// It connects on first use, so a Redis that is down at start-up delays
    /// nothing. Errors: a URL the client cannot use.
    pub fn new(url: &str) -> redis::RedisResult<Self> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(ANSWER_TIMEOUT))
            .set_response_timeout(Some(ANSWER_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let connection = ConnectionManager::new_lazy_with_config(client, config)?;
        Ok(Self {
            connection,
            script: redis::Script::new(SCRIPT),
            quota_script: redis::Script::new(QUOTA_SCRIPT),
            namespace: "portico:".to_owned(),
            sequence: AtomicU64::new(0),
            instance: crate::server::secrets::tokens::NewToken::generate()
                .reveal()
                .chars()
                .take(12)
                .collect(),
            fallbacks: AtomicU64::new(0),
            abandoned: Mutex::new(Vec::new()),
            health: Mutex::new(Health {
                up: true,
                outages: 0,
                last_error: None,
                last_try: None,
            }),
        })
    }

    /// Decides one request of the key with public id `key_id`, limited to
    /// `per_minute` accepted requests in any 60 seconds.
    pub async fn check(&self, key_id: &str, per_minute: u32) -> Decision {
        let member = format!(
            "{}:{}",
            self.instance,
            self.sequence.fetch_add(1, Ordering::Relaxed)
        );
        let window = format!("{}rate:{key_id}", self.namespace);
        let mut invocation = self.script.key(&window);
        invocation
            .arg(per_minute.max(1))
            .arg(WINDOW_MS)
            .arg(&member);
        match self.run(&invocation).await {
            Ok((1, _)) => Decision::Accepted,
            Ok((_, wait_ms)) => Decision::Refused(Duration::from_millis(wait_ms.max(1) as u64)),
            Err(Unanswered::Sent) => {
                // It may still run: take its entry out once Redis answers.
                self.abandon(window, member);
                Decision::Unavailable
            }
            Err(Unanswered::NotSent) => Decision::Unavailable,
        }
    }

    /// Runs one script call, unless Redis is down and it is not yet time to
    /// try again, within [`ANSWER_TIMEOUT`], and keeps the backend's health.
    /// An error: no answer (the instance decides alone).
    async fn run(
        &self,
        invocation: &redis::ScriptInvocation<'_>,
    ) -> Result<(i64, i64), Unanswered> {
        if !self.may_try(Instant::now()) {
            self.fallbacks.fetch_add(1, Ordering::Relaxed);
            return Err(Unanswered::NotSent);
        }
        let mut connection = self.connection.clone();
        let answer =
            tokio::time::timeout(ANSWER_TIMEOUT, invocation.invoke_async(&mut connection)).await;
        match answer {
            Ok(Ok(answer)) => {
                self.answered();
                self.remove_abandoned(connection).await;
                Ok(answer)
            }
            Ok(Err(e)) => {
                self.failed(describe(&e));
                Err(Unanswered::Sent)
            }
            Err(_) => {
                self.failed(format!(
                    "no answer within {} ms",
                    ANSWER_TIMEOUT.as_millis()
                ));
                Err(Unanswered::Sent)
            }
        }
    }

    /// Remembers the entry of a request Redis did not answer in time.
    fn abandon(&self, window: String, member: String) {
        let mut abandoned = self.abandoned.lock().expect("limiter abandoned lock");
        if abandoned.len() < MAX_ABANDONED {
            abandoned.push((window, member));
        }
    }

    /// Removes the entries of abandoned requests, which a stalled Redis may
    /// have run after all (sent on the same connection after them, so this
    /// runs after them). A removal that fails is tried again next time.
    async fn remove_abandoned(&self, mut connection: ConnectionManager) {
        let entries = std::mem::take(&mut *self.abandoned.lock().expect("limiter abandoned lock"));
        if entries.is_empty() {
            return;
        }
        let mut pipe = redis::pipe();
        for (window, member) in &entries {
            pipe.zrem(window, member).ignore();
        }
        let removed =
            tokio::time::timeout(ANSWER_TIMEOUT, pipe.query_async::<()>(&mut connection)).await;
        if !matches!(removed, Ok(Ok(()))) {
            let mut abandoned = self.abandoned.lock().expect("limiter abandoned lock");
            abandoned.extend(entries);
            abandoned.truncate(MAX_ABANDONED);
        }
    }

    /// Asks Redis whether it answers (a `PING`) and records the answer, so
    /// that the staff page and `/readyz` see a recovery before the next
    /// verification does. Errors as [`Self::ping`].
    pub async fn refresh(&self) -> Result<(), String> {
        let result = self.ping().await;
        match &result {
            Ok(()) => {
                self.answered();
                self.remove_abandoned(self.connection.clone()).await;
            }
            Err(e) => self.failed_quietly(e.clone()),
        }
        result
    }

    /// Counts one request of the key with public id `key_id` against its
    /// `quota` for `month` (`YYYYMM`); `count_so_far` starts a missing
    /// counter, which lives `ttl`. A request whose answer is lost may have
    /// been counted (a quota errs towards refusing, never towards more).
    pub async fn take_quota(
        &self,
        key_id: &str,
        month: u32,
        quota: i64,
        count_so_far: Option<i64>,
        ttl: Duration,
    ) -> QuotaAnswer {
        let mut invocation = self
            .quota_script
            .key(format!("{}quota:{key_id}:{month}", self.namespace));
        invocation
            .arg(quota)
            .arg(count_so_far.map(|n| n.to_string()).unwrap_or_default())
            .arg(ttl.as_millis() as u64);
        match self.run(&invocation).await {
            Ok((1, n)) => QuotaAnswer::Accepted(n),
            Ok((0, n)) => QuotaAnswer::Exceeded(n),
            Ok(_) => QuotaAnswer::NeedsCount,
            Err(_) => QuotaAnswer::Unavailable,
        }
    }

    /// Whether Redis answers a `PING` now (for `/readyz`). Errors: what
    /// went wrong, without addresses or passwords.
    pub async fn ping(&self) -> Result<(), String> {
        let mut connection = self.connection.clone();
        let answer = tokio::time::timeout(
            ANSWER_TIMEOUT,
            redis::cmd("PING").query_async::<String>(&mut connection),
        )
        .await;
        match answer {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(describe(&e)),
            Err(_) => Err(format!(
                "no answer within {} ms",
                ANSWER_TIMEOUT.as_millis()
            )),
        }
    }

    /// The backend's health and fallback count.
    pub fn health(&self) -> SharedLimitHealth {
        let health = self.health.lock().expect("limiter health lock");
        SharedLimitHealth {
            up: health.up,
            fallbacks: self.fallbacks.load(Ordering::Relaxed),
            outages: health.outages,
            last_error: health.last_error.clone(),
        }
    }

    /// Up: always. Down: one request per [`RETRY_EVERY`].
    fn may_try(&self, now: Instant) -> bool {
        let mut health = self.health.lock().expect("limiter health lock");
        if health.up {
            return true;
        }
        match health.last_try {
            Some(last) if now.saturating_duration_since(last) < RETRY_EVERY => false,
            _ => {
                health.last_try = Some(now);
                true
            }
        }
    }

    fn answered(&self) {
        let mut health = self.health.lock().expect("limiter health lock");
        if !health.up {
            health.up = true;
            health.last_try = None;
            tracing::info!("Redis answers again: rate limits hold across instances again");
        }
    }

    /// A failed check that decided no request (no fallback counted).
    fn failed_quietly(&self, error: String) {
        self.note_failure(error);
    }

    fn failed(&self, error: String) {
        self.fallbacks.fetch_add(1, Ordering::Relaxed);
        self.note_failure(error);
    }

    fn note_failure(&self, error: String) {
        let mut health = self.health.lock().expect("limiter health lock");
        if health.up {
            health.up = false;
            health.outages += 1;
            health.last_try = Some(Instant::now());
            tracing::warn!(
                error = %error,
                "Redis does not answer: rate limits are per instance until it does"
            );
        }
        health.last_error = Some(error);
    }
}

/// An error in words, without the server's address or a password (the
/// client's messages name neither; its kind and category are enough).
fn describe(e: &redis::RedisError) -> String {
    if let Some(code) = e.code() {
        // Redis's own refusal, e.g. `ERR DB index is out of range`.
        format!("Redis answered {code}: {}", e.detail().unwrap_or(""))
    } else if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connection_refusal() {
        "connection refused".to_owned()
    } else if e.is_connection_dropped() || e.is_io_error() {
        "connection lost".to_owned()
    } else {
        format!("{:?}", e.kind())
    }
}
