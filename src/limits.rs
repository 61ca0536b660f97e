//! Rate limiting with fixed windows (attempts are counted before they are made, see
//! [`Limiter::try_acquire`]): Redis counters when configured (shared by all nodes), else
//! counters in the embedded store. Redis windows are keyed by the server clock's window index
//! (`now / window`), so they follow the same (injectable) clock as everything else; the key
//! expires after two windows.
//!
//! Redis may be down: a Redis call that fails or takes longer than [`REDIS_WAIT`] falls back to
//! the store's counters (shared by every node too, when the store is PostgreSQL), and for
//! [`REDIS_PAUSE`] after it no request asks Redis at all. During an outage a limit therefore counts in two places and may let through up
//! to twice its number in a window; it never blocks a request on Redis.

use chatd_schema::Store;
use redis::aio::ConnectionManager;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::error::ApiError;

/// The longest a request waits for Redis before using the store's counters instead.
pub const REDIS_WAIT: Duration = Duration::from_millis(300);

#[derive(Clone)]
pub enum Limiter {
    Store(Store),
    Redis {
        conn: ConnectionManager,
        prefix: String,
        /// Where attempts are counted while Redis cannot answer.
        store: Store,
        /// Until when (ms on [`pause_epoch`]'s clock) Redis is not asked, after a failure.
        paused_until: Arc<AtomicU64>,
    },
}

/// After a Redis call fails, how long limits count in the store without asking Redis again.
pub const REDIS_PAUSE: Duration = Duration::from_secs(2);

fn pause_epoch() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// Runs a Redis call within [`REDIS_WAIT`]; `None` when it failed or took too long, or when a
/// call failed less than [`REDIS_PAUSE`] ago (an outage costs one wait, not one per request).
async fn within<T>(
    paused_until: &AtomicU64,
    what: &str,
    call: impl Future<Output = redis::RedisResult<T>>,
) -> Option<T> {
    if pause_epoch() < paused_until.load(Ordering::Relaxed) {
        return None;
    }
    let failed = match tokio::time::timeout(REDIS_WAIT, call).await {
        Ok(Ok(v)) => return Some(v),
        Ok(Err(e)) => format!("failed: {e}"),
        Err(_) => "timed out".to_string(),
    };
    tracing::warn!("Redis {what} {failed}; counting in the store for {REDIS_PAUSE:?}");
    crate::metrics::redis_error("limits");
    paused_until.store(
        pause_epoch() + REDIS_PAUSE.as_millis() as u64,
        Ordering::Relaxed,
    );
    None
}

impl Limiter {
    fn key(prefix: &str, key: &str, window_ms: i64, now: i64) -> String {
        format!("{prefix}limit:{key}:{}", now.div_euclid(window_ms.max(1)))
    }

    /// Takes back a hit counted at `now` (same window), e.g. a login whose password was right.
    pub async fn unhit(&self, key: &str, window_ms: i64, now: i64) -> Result<(), ApiError> {
        match self {
            Limiter::Store(store) => store.limit_unhit(key).await?,
            Limiter::Redis {
                conn,
                prefix,
                store,
                paused_until,
            } => {
                // A window key is never used again once its window has passed, so a DECR that
                // lands after it expired only leaves a dead key (with a TTL) behind.
                let k = Self::key(prefix, key, window_ms, now);
                let mut conn = conn.clone();
                let call = async {
                    redis::pipe()
                        .cmd("DECR")
                        .arg(&k)
                        .ignore()
                        .cmd("PEXPIRE")
                        .arg(&k)
                        .arg(window_ms * 2)
                        .ignore()
                        .query_async::<()>(&mut conn)
                        .await
                };
                if within(paused_until, "unhit", call).await.is_none() {
                    store.limit_unhit(key).await?;
                }
            }
        }
        Ok(())
    }

    /// Counts one attempt against every `(key, limit)` *before* it is made, so that however many
    /// arrive at once, no more than `limit` are ever let through in a window (SPEC §9.19). None,
    /// with nothing left counted, when one of the limits is already reached. The attempt stays
    /// counted unless it is [`Attempt::release`]d.
    pub async fn try_acquire(
        &self,
        limits: &[(String, i64)],
        window_ms: i64,
        now: i64,
    ) -> Result<Option<Attempt<'_>>, ApiError> {
        let mut attempt = Attempt {
            limiter: self,
            keys: Vec::with_capacity(limits.len()),
            window_ms,
            now,
        };
        for (key, limit) in limits {
            let hits = self.hit(key, window_ms, now).await?;
            attempt.keys.push(key.clone());
            if hits > *limit {
                attempt.release().await?;
                return Ok(None);
            }
        }
        Ok(Some(attempt))
    }

    /// Counts a hit; returns the hits in the window including this one.
    pub async fn hit(&self, key: &str, window_ms: i64, now: i64) -> Result<i64, ApiError> {
        Ok(match self {
            Limiter::Store(store) => store.limit_hit(key, window_ms, now).await?,
            Limiter::Redis {
                conn,
                prefix,
                store,
                paused_until,
            } => {
                let k = Self::key(prefix, key, window_ms, now);
                let mut conn = conn.clone();
                let call = async {
                    redis::pipe()
                        .cmd("INCR")
                        .arg(&k)
                        .cmd("PEXPIRE")
                        .arg(&k)
                        .arg(window_ms * 2)
                        .ignore()
                        .query_async::<(i64,)>(&mut conn)
                        .await
                };
                match within(paused_until, "hit", call).await {
                    Some((n,)) => n,
                    None => store.limit_hit(key, window_ms, now).await?,
                }
            }
        })
    }
}

/// An attempt counted against its limits (see [`Limiter::try_acquire`]).
pub struct Attempt<'a> {
    limiter: &'a Limiter,
    keys: Vec<String>,
    window_ms: i64,
    now: i64,
}

impl Attempt<'_> {
    /// Takes the attempt back: it did not count (a right password, nothing created).
    pub async fn release(self) -> Result<(), ApiError> {
        for key in &self.keys {
            self.limiter.unhit(key, self.window_ms, self.now).await?;
        }
        Ok(())
    }
}
