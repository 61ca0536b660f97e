//! Friendships (directional rows; an accepted application creates both directions).

use crate::models::{FriendApplication, Friendship, NewFriendship, User};
use crate::schema::{friend_applications, friendships, users};
use crate::store::{run, run_write, Store, StoreError};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

impl Store {
    /// The row `user_id → friend_id` (how `user_id` sees `friend_id`), if any.
    pub async fn friendship(
        &self,
        user_id: i64,
        friend_id: i64,
    ) -> Result<Option<Friendship>, StoreError> {
        run!(self, |conn| Ok(friendships::table
            .filter(friendships::user_id.eq(user_id))
            .filter(friendships::friend_id.eq(friend_id))
            .select(Friendship::as_select())
            .first(conn)
            .await
            .optional()?))
    }

    /// Creates both directions of a friendship (no-op for a direction that already exists).
    pub async fn befriend(
        &self,
        a: i64,
        a_remark: &str,
        b: i64,
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
        user_id: i64,
        friend_id: i64,
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
        from: i64,
        to: i64,
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
        from: i64,
        to: i64,
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
        user_id: i64,
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

    pub async fn pending_count(&self, user_id: i64) -> Result<i64, StoreError> {
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
        user_id: i64,
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

    pub async fn friend_count(&self, user_id: i64) -> Result<i64, StoreError> {
        run!(self, |conn| Ok(friendships::table
            .filter(friendships::user_id.eq(user_id))
            .filter(friendships::status.eq(1))
            .count()
            .get_result(conn)
            .await?))
    }

    /// Flips `isblack` (or `ismystarfriend` when `star`) on my row for `friend_id`.
    pub async fn toggle_friend_flag(
        &self,
        user_id: i64,
        friend_id: i64,
        star: bool,
        now: i64,
    ) -> Result<usize, StoreError> {
        run_write!(self, |conn| {
            let target = friendships::table
                .filter(friendships::user_id.eq(user_id))
                .filter(friendships::friend_id.eq(friend_id));
            let one = 1i32.into_sql::<diesel::sql_types::Integer>();
            Ok(if star {
                diesel::update(target)
                    .set((
                        friendships::ismystarfriend.eq(one - friendships::ismystarfriend),
                        friendships::update_time.eq(now),
                    ))
                    .execute(conn)
                    .await?
            } else {
                diesel::update(target)
                    .set((
                        friendships::isblack.eq(one - friendships::isblack),
                        friendships::update_time.eq(now),
                    ))
                    .execute(conn)
                    .await?
            })
        })
    }

    pub async fn set_friend_visibility(
        &self,
        user_id: i64,
        friend_id: i64,
        friendlookme: i32,
        melookfriend: i32,
        now: i64,
    ) -> Result<usize, StoreError> {
        run_write!(self, |conn| Ok(diesel::update(
            friendships::table
                .filter(friendships::user_id.eq(user_id))
                .filter(friendships::friend_id.eq(friend_id)),
        )
        .set((
            friendships::friendlookme.eq(friendlookme),
            friendships::melookfriend.eq(melookfriend),
            friendships::update_time.eq(now),
        ))
        .execute(conn)
        .await?))
    }

    /// Removes both directions of a friendship and every pending application between the two.
    pub async fn unfriend(&self, a: i64, b: i64) -> Result<(), StoreError> {
        run_write!(self, |conn| {
            conn.transaction::<_, diesel::result::Error, _>(async |c| {
                diesel::delete(
                    friendships::table.filter(
                        (friendships::user_id.eq(a).and(friendships::friend_id.eq(b)))
                            .or(friendships::user_id.eq(b).and(friendships::friend_id.eq(a))),
                    ),
                )
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
                Ok(())
            })
            .await
            .map_err(StoreError::from)
        })
    }
}
