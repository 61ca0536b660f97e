//! Rate limiting with fixed windows: Redis counters when configured (shared by all nodes), else
//! counters in the embedded store. Redis windows are keyed by the server clock's window index
//! (`now / window`), so they follow the same (injectable) clock as everything else; the key
//! expires after two windows.

use chatd_schema::Store;
use redis::aio::ConnectionManager;

use crate::error::ApiError;

#[derive(Clone)]
pub enum Limiter {
    Store(Store),
    Redis {
        conn: ConnectionManager,
        prefix: String,
    },
}

impl Limiter {
    fn key(prefix: &str, key: &str, window_ms: i64, now: i64) -> String {
        format!("{prefix}limit:{key}:{}", now.div_euclid(window_ms.max(1)))
    }

    /// Hits counted in the current window of `key`.
    pub async fn count(&self, key: &str, window_ms: i64, now: i64) -> Result<i64, ApiError> {
        Ok(match self {
            Limiter::Store(store) => store.limit_count(key, window_ms, now).await?,
            Limiter::Redis { conn, prefix } => {
                let v: Option<i64> = redis::cmd("GET")
                    .arg(Self::key(prefix, key, window_ms, now))
                    .query_async(&mut conn.clone())
                    .await?;
                v.unwrap_or(0)
            }
        })
    }

    /// Counts a hit; returns the hits in the window including this one.
    pub async fn hit(&self, key: &str, window_ms: i64, now: i64) -> Result<i64, ApiError> {
        Ok(match self {
            Limiter::Store(store) => store.limit_hit(key, window_ms, now).await?,
            Limiter::Redis { conn, prefix } => {
                let k = Self::key(prefix, key, window_ms, now);
                let (n,): (i64,) = redis::pipe()
                    .cmd("INCR")
                    .arg(&k)
                    .cmd("PEXPIRE")
                    .arg(&k)
                    .arg(window_ms * 2)
                    .ignore()
                    .query_async(&mut conn.clone())
                    .await?;
                n
            }
        })
    }
}
