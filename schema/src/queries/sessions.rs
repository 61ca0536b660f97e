//! The embedded session store: a token is valid only while its session row exists.

use crate::ids::UserId;
use crate::models::Session;
use crate::schema::sessions;
use crate::store::{run, Store, StoreError};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

impl Store {
    pub async fn create_session(&self, s: &Session) -> Result<(), StoreError> {
        run!(self, |conn| {
            diesel::insert_into(sessions::table)
                .values((
                    sessions::id.eq(&s.id),
                    sessions::user_id.eq(s.user_id),
                    sessions::role.eq(&s.role),
                    sessions::create_time.eq(s.create_time),
                    sessions::expires_at.eq(s.expires_at),
                ))
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// The session if it exists and has not expired at `now`.
    pub async fn session(&self, sid: &str, now: i64) -> Result<Option<Session>, StoreError> {
        run!(self, |conn| Ok(sessions::table
            .find(sid)
            .filter(sessions::expires_at.gt(now))
            .select(Session::as_select())
            .first(conn)
            .await
            .optional()?))
    }

    /// Deletes every session that expired before `now` (SPEC §9.20); returns how many.
    pub async fn delete_expired_sessions(&self, now: i64) -> Result<usize, StoreError> {
        run!(self, |conn| Ok(diesel::delete(
            sessions::table.filter(sessions::expires_at.le(now))
        )
        .execute(conn)
        .await?))
    }

    pub async fn delete_session(&self, sid: &str) -> Result<(), StoreError> {
        run!(self, |conn| {
            diesel::delete(sessions::table.find(sid))
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// Deletes every session of `user_id` except `keep`; returns the deleted ids.
    pub async fn delete_sessions_except(
        &self,
        user_id: UserId,
        keep: &str,
    ) -> Result<Vec<String>, StoreError> {
        run!(self, |conn| Ok(diesel::delete(
            sessions::table
                .filter(sessions::user_id.eq(user_id))
                .filter(sessions::id.ne(keep)),
        )
        .returning(sessions::id)
        .get_results(conn)
        .await?))
    }
}
