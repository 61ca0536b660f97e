//! Login sessions, kept in the store of record (the `sessions` table, both backends): a Redis
//! restart or outage logs nobody out. Logout deletes one session, a password change all others;
//! their tokens stop working at once, on every node (each request reads the row: no cache that a
//! revocation on another node would have to reach).

use chatd_schema::models::Session;
use chatd_schema::{SessionId, Store, UserId};

use crate::error::ApiError;

#[derive(Clone)]
pub struct Sessions(pub Store);

impl Sessions {
    pub async fn create(
        &self,
        sid: &str,
        user_id: UserId,
        role: &str,
        now: i64,
        ttl_secs: i64,
    ) -> Result<(), ApiError> {
        self.0
            .create_session(&Session {
                id: SessionId(sid.to_string()),
                user_id,
                role: role.to_string(),
                create_time: now,
                expires_at: now + ttl_secs * 1000,
            })
            .await?;
        Ok(())
    }

    /// Whether session `sid` exists, has not expired, and belongs to `user_id`.
    pub async fn is_valid(&self, sid: &str, user_id: UserId, now: i64) -> Result<bool, ApiError> {
        Ok(self
            .0
            .session(sid, now)
            .await?
            .is_some_and(|s| s.user_id == user_id))
    }

    pub async fn revoke(&self, sid: &str) -> Result<(), ApiError> {
        Ok(self.0.delete_session(sid).await?)
    }

    /// Removes expired sessions.
    pub async fn purge_expired(&self, now: i64) -> Result<usize, ApiError> {
        Ok(self.0.delete_expired_sessions(now).await?)
    }

    /// Revokes every session of `user_id` but `keep`; returns the revoked ids.
    pub async fn revoke_others(
        &self,
        user_id: UserId,
        keep: &str,
    ) -> Result<Vec<String>, ApiError> {
        Ok(self.0.delete_sessions_except(user_id, keep).await?)
    }
}
