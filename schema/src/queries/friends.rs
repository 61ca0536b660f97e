//! Friendships (directional rows; an accepted application creates both directions).

use crate::ids::UserId;
use crate::models::{FriendApplication, Friendship, NewFriendship, User};
use crate::schema::{friend_applications, friendships, users};
use crate::store::{run, run_write, Store, StoreError};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

impl Store {
    /// The row `user_id → friend_id` (how `user_id` sees `friend_id`), if any.
    pub async fn friendship(
        &self,
        user_id: UserId,
        friend_id: UserId,
    ) -> Result<Option<Friendship>, StoreError> {
        run!(self, |conn| Ok(friendships::table
            .filter(friendships::user_id.eq(user_id))
            .filter(friendships::friend_id.eq(friend_id))
            .select(Friendship::as_select())
            .first(conn)
            .await
            .optional()?))
    }

    /// Whether either of `a` and `b` has blacklisted the other (one query).
    pub async fn blocked_either(&self, a: UserId, b: UserId) -> Result<bool, StoreError> {
        run!(self, |conn| Ok(friendships::table
            .filter(
                friendships::user_id
                    .eq(a)
                    .and(friendships::friend_id.eq(b))
                    .or(friendships::user_id.eq(b).and(friendships::friend_id.eq(a))),
            )
            .filter(friendships::isblack.eq(1))
            .select(friendships::user_id)
            .first::<UserId>(conn)
            .await
            .optional()?
            .is_some()))
    }

    /// The row `user_id → friend_id` when it is a friendship (active): a row left behind as a
    /// block by [`Store::unfriend`] lists nowhere and grants nothing.
    pub async fn active_friendship(
        &self,
        user_id: UserId,
        friend_id: UserId,
    ) -> Result<Option<Friendship>, StoreError> {
        Ok(self
            .friendship(user_id, friend_id)
            .await?
            .filter(|f| f.status == 1))
    }

    /// Creates both directions of a friendship. A direction that exists stays as it is, except a
    /// block left by an unfriending, which becomes a friendship again with its block kept (its
    /// owner sees it in the list again and can lift it).
    pub async fn befriend(
        &self,
        a: UserId,
        a_remark: &str,
        b: UserId,
        b_remark: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let rows = [
            NewFriendship {
                user_id: a,
                friend_id: b,
                nickname: a_remark.to_string(),
                create_time: now,
                update_time: now,
            },
            NewFriendship {
                user_id: b,
                friend_id: a,
                nickname: b_remark.to_string(),
                create_time: now,
                update_time: now,
            },
        ];
        let rows = &rows;
        run_write!(self, |conn| {
            conn.transaction::<_, diesel::result::Error, _>(async |c| {
                for row in rows {
                    diesel::update(
                        friendships::table
                            .filter(friendships::user_id.eq(row.user_id))
                            .filter(friendships::friend_id.eq(row.friend_id))
                            .filter(friendships::status.ne(1)),
                    )
                    .set((
                        friendships::status.eq(1),
                        friendships::nickname.eq(&row.nickname),
                        friendships::update_time.eq(row.update_time),
                    ))
                    .execute(c)
                    .await?;
                    diesel::insert_into(friendships::table)
                        .values(row)
                        .on_conflict((friendships::user_id, friendships::friend_id))
                        .do_nothing()
                        .execute(c)
                        .await?;
                }
                Ok(())
            })
            .await
            .map_err(StoreError::from)
        })
    }

    /// Sets `isblack` on the row `user_id → friend_id`.
    pub async fn set_blacklisted(
        &self,
        user_id: UserId,
        friend_id: UserId,
        black: bool,
        now: i64,
    ) -> Result<usize, StoreError> {
        run_write!(self, |conn| Ok(diesel::update(
            friendships::table
                .filter(friendships::user_id.eq(user_id))
                .filter(friendships::friend_id.eq(friend_id)),
        )
        .set((
            friendships::isblack.eq(i32::from(black)),
            friendships::update_time.eq(now),
        ))
        .execute(conn)
        .await?))
    }
}

/// Friend applications and the friend list.
impl Store {
    pub async fn create_application(
        &self,
        from: UserId,
        to: UserId,
        note: &str,
        now: i64,
    ) -> Result<FriendApplication, StoreError> {
        run_write!(self, |conn| Ok(diesel::insert_into(
            friend_applications::table
        )
        .values((
            friend_applications::user_id.eq(from),
            friend_applications::friend_id.eq(to),
            friend_applications::nickname.eq(note),
            friend_applications::status.eq("pending"),
            friend_applications::create_time.eq(now),
            friend_applications::update_time.eq(now),
        ))
        .returning(FriendApplication::as_returning())
        .get_result(conn)
        .await?))
    }

    /// The pending application from `from` to `to`, if any.
    pub async fn pending_application(
        &self,
        from: UserId,
        to: UserId,
    ) -> Result<Option<FriendApplication>, StoreError> {
        run!(self, |conn| Ok(friend_applications::table
            .filter(friend_applications::user_id.eq(from))
            .filter(friend_applications::friend_id.eq(to))
            .filter(friend_applications::status.eq("pending"))
            .order(friend_applications::id.desc())
            .select(FriendApplication::as_select())
            .first(conn)
            .await
            .optional()?))
    }

    pub async fn application(&self, id: i64) -> Result<Option<FriendApplication>, StoreError> {
        run!(self, |conn| Ok(friend_applications::table
            .find(id)
            .select(FriendApplication::as_select())
            .first(conn)
            .await
            .optional()?))
    }

    /// Applications sent to `user_id`, newest first, with their applicants.
    pub async fn applications_to(
        &self,
        user_id: UserId,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<(FriendApplication, User)>, StoreError> {
        run!(self, |conn| Ok(friend_applications::table
            .inner_join(users::table.on(users::id.eq(friend_applications::user_id)))
            .filter(friend_applications::friend_id.eq(user_id))
            .order(friend_applications::id.desc())
            .offset(offset)
            .limit(limit)
            .select((FriendApplication::as_select(), User::as_select()))
            .load(conn)
            .await?))
    }

    pub async fn pending_count(&self, user_id: UserId) -> Result<i64, StoreError> {
        run!(self, |conn| Ok(friend_applications::table
            .filter(friend_applications::friend_id.eq(user_id))
            .filter(friend_applications::status.eq("pending"))
            .count()
            .get_result(conn)
            .await?))
    }

    /// Moves a still-pending application to `status`; false when it was no longer pending (so two
    /// concurrent handlers cannot both act on it).
    pub async fn settle_application(
        &self,
        id: i64,
        status: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        run_write!(self, |conn| Ok(diesel::update(
            friend_applications::table
                .find(id)
                .filter(friend_applications::status.eq("pending")),
        )
        .set((
            friend_applications::status.eq(status),
            friend_applications::update_time.eq(now),
        ))
        .execute(conn)
        .await?
            == 1))
    }

    /// My friendship rows (active) with each friend's user row, oldest first.
    pub async fn friends_of(
        &self,
        user_id: UserId,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<(Friendship, User)>, StoreError> {
        run!(self, |conn| Ok(friendships::table
            .inner_join(users::table.on(users::id.eq(friendships::friend_id)))
            .filter(friendships::user_id.eq(user_id))
            .filter(friendships::status.eq(1))
            .order(friendships::id.asc())
            .offset(offset)
            .limit(limit)
            .select((Friendship::as_select(), User::as_select()))
            .load(conn)
            .await?))
    }

    pub async fn friend_count(&self, user_id: UserId) -> Result<i64, StoreError> {
        run!(self, |conn| Ok(friendships::table
            .filter(friendships::user_id.eq(user_id))
            .filter(friendships::status.eq(1))
            .count()
            .get_result(conn)
            .await?))
    }

    /// Flips `isblack` (or `ismystarfriend` when `star`) on my row for `friend_id`. The star needs
    /// a friendship; the block may also be lifted from a block left by an unfriending, and such a
    /// row, once it blocks nothing, is removed.
    pub async fn toggle_friend_flag(
        &self,
        user_id: UserId,
        friend_id: UserId,
        star: bool,
        now: i64,
    ) -> Result<usize, StoreError> {
        run_write!(self, |conn| {
            conn.transaction::<_, diesel::result::Error, _>(async |c| {
                let target = friendships::table
                    .filter(friendships::user_id.eq(user_id))
                    .filter(friendships::friend_id.eq(friend_id));
                let one = 1i32.into_sql::<diesel::sql_types::Integer>();
                Ok(if star {
                    diesel::update(target.filter(friendships::status.eq(1)))
                        .set((
                            friendships::ismystarfriend.eq(one - friendships::ismystarfriend),
                            friendships::update_time.eq(now),
                        ))
                        .execute(c)
                        .await?
                } else {
                    let n = diesel::update(target)
                        .set((
                            friendships::isblack.eq(one - friendships::isblack),
                            friendships::update_time.eq(now),
                        ))
                        .execute(c)
                        .await?;
                    diesel::delete(
                        target
                            .filter(friendships::status.ne(1))
                            .filter(friendships::isblack.eq(0)),
                    )
                    .execute(c)
                    .await?;
                    n
                })
            })
            .await
            .map_err(StoreError::from)
        })
    }

    pub async fn set_friend_visibility(
        &self,
        user_id: UserId,
        friend_id: UserId,
        friendlookme: i32,
        melookfriend: i32,
        now: i64,
    ) -> Result<usize, StoreError> {
        run_write!(self, |conn| Ok(diesel::update(
            friendships::table
                .filter(friendships::user_id.eq(user_id))
                .filter(friendships::friend_id.eq(friend_id))
                .filter(friendships::status.eq(1)),
        )
        .set((
            friendships::friendlookme.eq(friendlookme),
            friendships::melookfriend.eq(melookfriend),
            friendships::update_time.eq(now),
        ))
        .execute(conn)
        .await?))
    }

    /// Ends `a`'s friendship with `b` (SPEC §9.17): removes `a`'s row and `b`'s row, except that
    /// a row in which `b` has blocked `a` stays as a block (status 0: it lists nowhere and grants
    /// nothing, but still keeps `a`'s messages from `b`), and every pending application between
    /// the two. False, changing nothing, when `b` is not in `a`'s list.
    pub async fn unfriend(&self, a: UserId, b: UserId, now: i64) -> Result<bool, StoreError> {
        run_write!(self, |conn| {
            conn.transaction::<_, diesel::result::Error, _>(async |c| {
                let mine = diesel::delete(
                    friendships::table
                        .filter(friendships::user_id.eq(a))
                        .filter(friendships::friend_id.eq(b))
                        .filter(friendships::status.eq(1)),
                )
                .execute(c)
                .await?;
                if mine == 0 {
                    return Ok(false);
                }
                let theirs = friendships::table
                    .filter(friendships::user_id.eq(b))
                    .filter(friendships::friend_id.eq(a));
                diesel::update(theirs.filter(friendships::isblack.eq(1)))
                    .set((friendships::status.eq(0), friendships::update_time.eq(now)))
                    .execute(c)
                    .await?;
                diesel::delete(theirs.filter(friendships::isblack.ne(1)))
                    .execute(c)
                    .await?;
                diesel::delete(
                    friend_applications::table
                        .filter(friend_applications::status.eq("pending"))
                        .filter(
                            (friend_applications::user_id
                                .eq(a)
                                .and(friend_applications::friend_id.eq(b)))
                            .or(friend_applications::user_id
                                .eq(b)
                                .and(friend_applications::friend_id.eq(a))),
                        ),
                )
                .execute(c)
                .await?;
                Ok(true)
            })
            .await
            .map_err(StoreError::from)
        })
    }
}
