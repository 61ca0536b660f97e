//! The offline queue: what a user could not be sent, kept until they fetch it. A Redis list per
//! user when Redis is configured (shared by every node), otherwise rows in the embedded store.
//! Both keep at most `cap` messages per user and drop what is older than `max_age_ms`; what is
//! dropped here is still in history.

use chatd_schema::Store;
use chatd_schema::UserId;
use redis::aio::ConnectionManager;
use std::collections::BTreeSet;
use std::sync::Arc;

use crate::error::ActorsError;

#[derive(Debug, Clone, Copy)]
pub struct OfflineConfig {
    pub cap: i64,
    pub max_age_ms: i64,
}

/// One queued message as read back: `payload` is the rich message JSON; `handle` identifies the
/// entry for removal (a row id, or the Redis list element).
#[derive(Debug, Clone)]
pub struct QueuedItem {
    pub payload: String,
    handle: Handle,
}

#[derive(Debug, Clone)]
enum Handle {
    Row(i64),
    Element(String),
}

#[derive(Clone)]
pub enum OfflineQueue {
    Store {
        store: Store,
        cfg: OfflineConfig,
    },
    Redis {
        conn: ConnectionManager,
        prefix: Arc<str>,
        cfg: OfflineConfig,
    },
}

impl OfflineQueue {
    fn key(prefix: &str, user_id: UserId) -> String {
        format!("{prefix}offline:{user_id}")
    }

    /// Appends every `(user, payload)` in one write (one transaction, or one Redis pipeline).
    pub async fn push(&self, items: &[(UserId, Arc<str>)], now: i64) -> Result<(), ActorsError> {
        if items.is_empty() {
            return Ok(());
        }
        let users: BTreeSet<UserId> = items.iter().map(|(u, _)| *u).collect();
        match self {
            OfflineQueue::Store { store, cfg } => {
                let rows: Vec<(UserId, &str)> = items.iter().map(|(u, p)| (*u, &**p)).collect();
                store.offline_push(&rows, now, cfg.cap).await?;
            }
            OfflineQueue::Redis { conn, prefix, cfg } => {
                let mut pipe = redis::pipe();
                for (user, payload) in items {
                    // The enqueue time prefixes the element so age trimming needs no parsing.
                    pipe.cmd("RPUSH")
                        .arg(Self::key(prefix, *user))
                        .arg(format!("{now}:{payload}"))
                        .ignore();
                }
                let ttl_secs = (cfg.max_age_ms / 1000).max(1);
                for user in users {
                    let key = Self::key(prefix, user);
                    pipe.cmd("LTRIM").arg(&key).arg(-cfg.cap).arg(-1).ignore();
                    pipe.cmd("EXPIRE").arg(&key).arg(ttl_secs).ignore();
                }
                pipe.query_async::<()>(&mut conn.clone()).await?;
            }
        }
        Ok(())
    }

    /// The user's queue, oldest first (entries past the age limit are removed, not returned).
    pub async fn peek(&self, user_id: UserId, now: i64) -> Result<Vec<QueuedItem>, ActorsError> {
        match self {
            OfflineQueue::Store { store, cfg } => Ok(store
                .offline_peek(user_id, now - cfg.max_age_ms)
                .await?
                .into_iter()
                .map(|r| QueuedItem {
                    payload: r.payload,
                    handle: Handle::Row(r.id),
                })
                .collect()),
            OfflineQueue::Redis { conn, prefix, cfg } => {
                let key = Self::key(prefix, user_id);
                let raw: Vec<String> = redis::cmd("LRANGE")
                    .arg(&key)
                    .arg(0)
                    .arg(-1)
                    .query_async(&mut conn.clone())
                    .await?;
                let min_time = now - cfg.max_age_ms;
                let mut items = Vec::with_capacity(raw.len());
                let mut expired = Vec::new();
                for element in raw {
                    let (ts, payload) = match element.split_once(':') {
                        Some((ts, payload)) => {
                            (ts.parse::<i64>().unwrap_or(0), payload.to_string())
                        }
                        None => (0, element.clone()),
                    };
                    if ts < min_time {
                        expired.push(element);
                    } else {
                        items.push(QueuedItem {
                            payload,
                            handle: Handle::Element(element),
                        });
                    }
                }
                if !expired.is_empty() {
                    let mut pipe = redis::pipe();
                    for e in &expired {
                        pipe.cmd("LREM").arg(&key).arg(1).arg(e).ignore();
                    }
                    pipe.query_async::<()>(&mut conn.clone()).await?;
                }
                Ok(items)
            }
        }
    }

    /// Removes exactly the given entries (items queued meanwhile stay). Removing from the head in
    /// order keeps each Redis LREM O(1).
    pub async fn remove(&self, user_id: UserId, items: &[QueuedItem]) -> Result<(), ActorsError> {
        if items.is_empty() {
            return Ok(());
        }
        match self {
            OfflineQueue::Store { store, .. } => {
                let ids: Vec<i64> = items
                    .iter()
                    .filter_map(|i| match i.handle {
                        Handle::Row(id) => Some(id),
                        Handle::Element(_) => None,
                    })
                    .collect();
                store.offline_delete(user_id, &ids).await?;
            }
            OfflineQueue::Redis { conn, prefix, .. } => {
                let key = Self::key(prefix, user_id);
                let mut pipe = redis::pipe();
                for item in items {
                    if let Handle::Element(e) = &item.handle {
                        pipe.cmd("LREM").arg(&key).arg(1).arg(e).ignore();
                    }
                }
                pipe.query_async::<()>(&mut conn.clone()).await?;
            }
        }
        Ok(())
    }
}
