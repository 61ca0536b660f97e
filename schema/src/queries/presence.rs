//! Presence (issue 19, item 4): when a user was last connected, and who may see it — friends
//! both ways, neither having blacklisted the other.

use crate::ids::UserId;
use crate::schema::{friendships, users};
use crate::store::{run, Db, Store, StoreError};
use diesel::alias;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

alias!(friendships as back: BackFriendships);

/// `$user`'s friendship rows that are returned: active both ways, neither side blacklisting.
macro_rules! mutual {
    ($user:expr) => {
        friendships::table
            .inner_join(
                back.on(back
                    .field(friendships::user_id)
                    .eq(friendships::friend_id)
                    .and(back.field(friendships::friend_id).eq(friendships::user_id))),
            )
            .filter(friendships::user_id.eq($user))
            .filter(friendships::status.eq(1))
            .filter(friendships::isblack.eq(0))
            .filter(back.field(friendships::status).eq(1))
            .filter(back.field(friendships::isblack).eq(0))
    };
}

/// [`Store::presence_of`] over `$c`, for both backends (`$($aw)*`: `.await` or nothing). The
/// key finds one row at most; no `LIMIT ?`, which SQLite compiles again on every run.
macro_rules! presence_of {
    ($c:ident, $user:expr, $($aw:tt)*) => {
        users::table
            .filter(users::id.eq($user))
            .select((users::userset, users::last_seen))
            .load::<(String, Option<i64>)>($c)
            $($aw)*
            .map(|rows| rows.into_iter().next())
    };
}

/// [`Store::presence_audience`] over `$c`, for both backends.
macro_rules! audience {
    ($c:ident, $user:expr, $($aw:tt)*) => {
        mutual!($user).select(friendships::friend_id).load::<UserId>($c)$($aw)*
    };
}

impl Store {
    /// Records that the last socket anywhere of each of `users` closed at `at` (ms), in one
    /// statement. Not a cached field: the send path's caches stay as they are.
    pub async fn set_last_seen(&self, users: &[UserId], at: i64) -> Result<(), StoreError> {
        if users.is_empty() {
            return Ok(());
        }
        run!(self, |conn| {
            diesel::update(users::table.filter(users::id.eq_any(users)))
                .set(users::last_seen.eq(at))
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// `user`'s settings text and last-seen time, for deciding what to announce. Asked on every
    /// arrival and leave that someone may see: on SQLite on a reader, on this thread.
    pub async fn presence_of(
        &self,
        user: UserId,
    ) -> Result<Option<(String, Option<i64>)>, StoreError> {
        match &*self.db {
            Db::Pg(_) => run!(self, |conn| Ok(presence_of!(conn, user, .await)?)),
            Db::Sqlite(_, readers) => readers.read(|c| blocking::presence_of(c, user)),
        }
    }

    /// Who may see `user`'s presence: users with an active friendship to `user` that `user`
    /// returns, where neither side has blacklisted the other (one query). Asked on every
    /// user's first socket (a connect storm asks it for each): on SQLite on a reader, on this
    /// thread.
    pub async fn presence_audience(&self, user: UserId) -> Result<Vec<UserId>, StoreError> {
        match &*self.db {
            Db::Pg(_) => run!(self, |conn| Ok(audience!(conn, user, .await)?)),
            Db::Sqlite(_, readers) => readers.read(|c| blocking::audience(c, user)),
        }
    }

    /// Of `ids`, those whose presence `viewer` may see (as [`Store::presence_audience`] reads
    /// it from the other side), each with their settings text and last-seen time.
    pub async fn presence_view(
        &self,
        viewer: UserId,
        ids: &[UserId],
    ) -> Result<Vec<(UserId, String, Option<i64>)>, StoreError> {
        run!(self, |conn| Ok(mutual!(viewer)
            .inner_join(users::table.on(users::id.eq(friendships::friend_id)))
            .filter(friendships::friend_id.eq_any(ids))
            .select((friendships::friend_id, users::userset, users::last_seen))
            .load(conn)
            .await?))
    }
}

mod blocking {
    use super::back;
    use crate::ids::UserId;
    use crate::schema::{friendships, users};
    use diesel::prelude::*;

    pub(super) fn presence_of(
        c: &mut SqliteConnection,
        user: UserId,
    ) -> QueryResult<Option<(String, Option<i64>)>> {
        presence_of!(c, user,)
    }

    pub(super) fn audience(c: &mut SqliteConnection, user: UserId) -> QueryResult<Vec<UserId>> {
        audience!(c, user,)
    }
}
