//! The embedded session store: a token is valid only while its session row exists.

use crate::ids::UserId;
use crate::models::Session;
use crate::schema::sessions;
use crate::store::{run, Db, Store, StoreError};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

/// The live session `$sid` at `$now` over connection `$c`, written once for both backends
/// (`$($aw)*` is `.await` for PostgreSQL, nothing for the blocking SQLite side). No `LIMIT`
/// (`first`): the key finds one row at most, and SQLite (3.47 on) plans a `LIMIT ?` by its bound
/// value, so a statement with one is compiled again on every run (seen as `sqlite3Reprepare`,
/// 7 % of the server's CPU in a connect storm).
macro_rules! find_session {
    ($c:ident, $sid:expr, $now:expr, $($aw:tt)*) => {
        sessions::table
            .find($sid)
            .filter(sessions::expires_at.gt($now))
            .select(Session::as_select())
            .load::<Session>($c)
            $($aw)*
            .map(|rows| rows.into_iter().next())
    };
}

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
    /// Asked by every authenticated request and WebSocket upgrade: on SQLite it runs on a reader,
    /// on this thread (crate::readers).
    pub async fn session(&self, sid: &str, now: i64) -> Result<Option<Session>, StoreError> {
        match &*self.db {
            Db::Pg(_) => run!(self, |conn| Ok(find_session!(conn, sid, now, .await)?)),
            Db::Sqlite(_, readers) => readers.read(|c| blocking::session(c, sid, now)),
        }
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

mod blocking {
    use crate::models::Session;
    use crate::schema::sessions;
    use diesel::prelude::*;

    pub(super) fn session(
        c: &mut SqliteConnection,
        sid: &str,
        now: i64,
    ) -> QueryResult<Option<Session>> {
        find_session!(c, sid, now,)
    }
}
