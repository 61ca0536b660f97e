//! The session store: Redis when configured (shared by every node), else the embedded store.
//! Logout deletes one session, a password change all others; their tokens stop working at once.

use chatd_schema::models::Session;
use chatd_schema::Store;
use redis::aio::ConnectionManager;

use crate::error::ApiError;

#[derive(Clone)]
pub enum Sessions {
    Store(Store),
    Redis {
        conn: ConnectionManager,
        prefix: String,
    },
}

impl Sessions {
    fn key(prefix: &str, sid: &str) -> String {
        format!("{prefix}session:{sid}")
    }
    fn user_key(prefix: &str, user_id: i64) -> String {
        format!("{prefix}user_sessions:{user_id}")
    }

    pub async fn create(
        &self,
        sid: &str,
        user_id: i64,
        role: &str,
        now: i64,
        ttl_secs: i64,
    ) -> Result<(), ApiError> {
        match self {
            Sessions::Store(store) => {
                store
                    .create_session(&Session {
                        id: sid.to_string(),
                        user_id,
                        role: role.to_string(),
                        create_time: now,
                        expires_at: now + ttl_secs * 1000,
                    })
                    .await?
            }
            Sessions::Redis { conn, prefix } => {
                let user_key = Self::user_key(prefix, user_id);
                redis::pipe()
                    .cmd("SET")
                    .arg(Self::key(prefix, sid))
                    .arg(user_id)
                    .arg("EX")
                    .arg(ttl_secs)
                    .ignore()
                    .cmd("SADD")
                    .arg(&user_key)
                    .arg(sid)
                    .ignore()
                    .cmd("EXPIRE")
                    .arg(&user_key)
                    .arg(ttl_secs)
                    .ignore()
                    .query_async::<()>(&mut conn.clone())
                    .await?;
            }
        }
        Ok(())
    }

    /// Whether session `sid` exists and belongs to `user_id`.
    pub async fn is_valid(&self, sid: &str, user_id: i64, now: i64) -> Result<bool, ApiError> {
        Ok(match self {
            Sessions::Store(store) => store
                .session(sid, now)
                .await?
                .is_some_and(|s| s.user_id == user_id),
            Sessions::Redis { conn, prefix } => {
                let owner: Option<i64> = redis::cmd("GET")
                    .arg(Self::key(prefix, sid))
                    .query_async(&mut conn.clone())
                    .await?;
                owner == Some(user_id)
            }
        })
    }

    pub async fn revoke(&self, sid: &str, user_id: i64) -> Result<(), ApiError> {
        match self {
            Sessions::Store(store) => store.delete_session(sid).await?,
            Sessions::Redis { conn, prefix } => {
                redis::pipe()
                    .cmd("DEL")
                    .arg(Self::key(prefix, sid))
                    .ignore()
                    .cmd("SREM")
                    .arg(Self::user_key(prefix, user_id))
                    .arg(sid)
                    .ignore()
                    .query_async::<()>(&mut conn.clone())
                    .await?;
            }
        }
        Ok(())
    }

    /// Revokes every session of `user_id` but `keep`; returns the revoked ids.
    /// Removes expired sessions; Redis expires its own keys, so there is nothing to do there.
    pub async fn purge_expired(&self, now: i64) -> Result<usize, ApiError> {
        match self {
            Sessions::Store(store) => Ok(store.delete_expired_sessions(now).await?),
            Sessions::Redis { .. } => Ok(0),
        }
    }

    pub async fn revoke_others(&self, user_id: i64, keep: &str) -> Result<Vec<String>, ApiError> {
        match self {
            Sessions::Store(store) => Ok(store.delete_sessions_except(user_id, keep).await?),
            Sessions::Redis { conn, prefix } => {
                let user_key = Self::user_key(prefix, user_id);
                let all: Vec<String> = redis::cmd("SMEMBERS")
                    .arg(&user_key)
                    .query_async(&mut conn.clone())
                    .await?;
                let others: Vec<String> = all.into_iter().filter(|s| s != keep).collect();
                if !others.is_empty() {
                    let mut pipe = redis::pipe();
                    for sid in &others {
                        pipe.cmd("DEL").arg(Self::key(prefix, sid)).ignore();
                        pipe.cmd("SREM").arg(&user_key).arg(sid).ignore();
                    }
                    pipe.query_async::<()>(&mut conn.clone()).await?;
                }
                Ok(others)
            }
        }
    }
}
