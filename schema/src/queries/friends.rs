//! Friendships (directional rows; an accepted application creates both directions).

use crate::models::{Friendship, NewFriendship};
use crate::schema::friendships;
use crate::store::{run, Store, StoreError};
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
        run!(self, |conn| {
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
        run!(self, |conn| Ok(diesel::update(
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
