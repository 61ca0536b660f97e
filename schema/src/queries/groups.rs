//! Groups and their members.

use crate::conv;
use crate::ids::{GroupId, UserId};
use crate::models::{Group, GroupMember, User};
use crate::queries::positions::{close_part, open_part};
use crate::schema::{chat_groups, friendships, group_members, users};
use crate::store::{run, run_write, Store, StoreError};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

/// A member row to insert.
#[derive(Debug, Clone)]
pub struct NewMember {
    pub user_id: UserId,
    pub status: i32,
    pub invited_by: Option<UserId>,
    pub join_desc: Option<String>,
}

impl Store {
    /// Creates a group owned by `owner` with `members` (the owner first), all active.
    pub async fn create_group(
        &self,
        uuid: &str,
        owner: UserId,
        name: &str,
        avatar: &str,
        members: &[UserId],
        now: i64,
    ) -> Result<Group, StoreError> {
        run_write!(self, |conn| {
            conn.transaction::<_, diesel::result::Error, _>(async |c| {
                let group: Group = diesel::insert_into(chat_groups::table)
                    .values((
                        chat_groups::uuid.eq(uuid),
                        chat_groups::user_id.eq(owner),
                        chat_groups::name.eq(name),
                        chat_groups::avatar.eq(avatar),
                        chat_groups::invite_confirm.eq(0),
                        chat_groups::status.eq(1),
                        chat_groups::create_time.eq(now),
                        chat_groups::update_time.eq(now),
                    ))
                    .returning(Group::as_returning())
                    .get_result(c)
                    .await?;
                for m in members {
                    diesel::insert_into(group_members::table)
                        .values((
                            group_members::group_id.eq(group.id),
                            group_members::user_id.eq(*m),
                            group_members::status.eq(1),
                            group_members::invited_by.eq(Some(owner)),
                            group_members::joined_at.eq(now),
                            group_members::create_time.eq(now),
                            group_members::update_time.eq(now),
                        ))
                        .on_conflict((group_members::group_id, group_members::user_id))
                        .do_nothing()
                        .execute(c)
                        .await?;
                    open_part!(c, *m, &conv::group(group.id), .await);
                }
                Ok(group)
            })
            .await
            .map_err(StoreError::from)
        })
    }

    pub async fn group_by_id(&self, id: GroupId) -> Result<Option<Group>, StoreError> {
        run!(self, |conn| Ok(chat_groups::table
            .find(id)
            .select(Group::as_select())
            .first(conn)
            .await
            .optional()?))
    }

    /// Active groups `user_id` is an active member of, newest first, with the member row.
    pub async fn groups_of(
        &self,
        user_id: UserId,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<(Group, GroupMember)>, StoreError> {
        run!(self, |conn| Ok(group_members::table
            .inner_join(chat_groups::table)
            .filter(group_members::user_id.eq(user_id))
            .filter(group_members::status.eq(1))
            .filter(chat_groups::status.eq(1))
            .order(chat_groups::id.desc())
            .offset(offset)
            .limit(limit)
            .select((Group::as_select(), GroupMember::as_select()))
            .load(conn)
            .await?))
    }

    /// Member rows of a group with `status` (1 active, 2 pending), with their users, by join order.
    pub async fn group_members_with_users(
        &self,
        group_id: GroupId,
        status: i32,
    ) -> Result<Vec<(GroupMember, User)>, StoreError> {
        self.first_group_members_with_users(group_id, status, i64::MAX)
            .await
    }

    /// The first `limit` members of a group with status `status`, in joining order, with their
    /// users (what the default name and avatar are composed of: a membership change in a
    /// 100,000-member group must not read every member).
    pub async fn first_group_members_with_users(
        &self,
        group_id: GroupId,
        status: i32,
        limit: i64,
    ) -> Result<Vec<(GroupMember, User)>, StoreError> {
        run!(self, |conn| Ok(group_members::table
            .inner_join(users::table.on(users::id.eq(group_members::user_id)))
            .filter(group_members::group_id.eq(group_id))
            .filter(group_members::status.eq(status))
            .order(group_members::id.asc())
            .limit(limit)
            .select((GroupMember::as_select(), User::as_select()))
            .load(conn)
            .await?))
    }

    /// Ids of a group's active members.
    pub async fn active_member_ids(&self, group_id: GroupId) -> Result<Vec<UserId>, StoreError> {
        run!(self, |conn| Ok(group_members::table
            .filter(group_members::group_id.eq(group_id))
            .filter(group_members::status.eq(1))
            .order(group_members::id.asc())
            .select(group_members::user_id)
            .load(conn)
            .await?))
    }

    /// Users who blacklisted `sender` (their friendship row for the sender has `isblack`).
    pub async fn blockers_of(&self, sender: UserId) -> Result<Vec<UserId>, StoreError> {
        run!(self, |conn| Ok(friendships::table
            .filter(friendships::friend_id.eq(sender))
            .filter(friendships::isblack.eq(1))
            .select(friendships::user_id)
            .load(conn)
            .await?))
    }

    /// Sets name, avatar, remark and join setting in one write (the caller passes all four).
    pub async fn update_group(&self, g: &Group, now: i64) -> Result<(), StoreError> {
        run_write!(self, |conn| {
            diesel::update(chat_groups::table.find(g.id))
                .set((
                    chat_groups::name.eq(&g.name),
                    chat_groups::avatar.eq(&g.avatar),
                    chat_groups::remark.eq(&g.remark),
                    chat_groups::invite_confirm.eq(g.invite_confirm),
                    chat_groups::status.eq(g.status),
                    chat_groups::update_time.eq(now),
                ))
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    pub async fn set_member_nickname(
        &self,
        group_id: GroupId,
        user_id: UserId,
        nickname: &str,
        now: i64,
    ) -> Result<usize, StoreError> {
        run_write!(self, |conn| Ok(diesel::update(
            group_members::table
                .filter(group_members::group_id.eq(group_id))
                .filter(group_members::user_id.eq(user_id))
                .filter(group_members::status.eq(1)),
        )
        .set((
            group_members::nickname.eq(nickname),
            group_members::update_time.eq(now),
        ))
        .execute(conn)
        .await?))
    }

    /// Adds (or re-adds) a member row with the given status; an active member's part in the
    /// group's conversation opens, anyone else's closes.
    pub async fn upsert_member(
        &self,
        group_id: GroupId,
        m: &NewMember,
        now: i64,
    ) -> Result<(), StoreError> {
        let key = conv::group(group_id);
        run_write!(self, |conn| {
            conn.transaction::<_, diesel::result::Error, _>(async |c| {
                diesel::insert_into(group_members::table)
                    .values((
                        group_members::group_id.eq(group_id),
                        group_members::user_id.eq(m.user_id),
                        group_members::status.eq(m.status),
                        group_members::invited_by.eq(m.invited_by),
                        group_members::join_desc.eq(&m.join_desc),
                        group_members::joined_at.eq(now),
                        group_members::create_time.eq(now),
                        group_members::update_time.eq(now),
                    ))
                    .on_conflict((group_members::group_id, group_members::user_id))
                    .do_update()
                    .set((
                        group_members::status.eq(m.status),
                        group_members::invited_by.eq(m.invited_by),
                        group_members::join_desc.eq(&m.join_desc),
                        group_members::joined_at.eq(now),
                        group_members::update_time.eq(now),
                    ))
                    .execute(c)
                    .await?;
                if m.status == 1 {
                    open_part!(c, m.user_id, &key, .await);
                } else {
                    close_part!(c, m.user_id, &key, .await);
                }
                Ok(())
            })
            .await
            .map_err(StoreError::from)
        })
    }

    /// Activates a pending member (their part in the conversation opens); false when there was
    /// no pending row.
    pub async fn activate_member(
        &self,
        group_id: GroupId,
        user_id: UserId,
        now: i64,
    ) -> Result<bool, StoreError> {
        let key = conv::group(group_id);
        run_write!(self, |conn| {
            conn.transaction::<_, diesel::result::Error, _>(async |c| {
                let done = diesel::update(
                    group_members::table
                        .filter(group_members::group_id.eq(group_id))
                        .filter(group_members::user_id.eq(user_id))
                        .filter(group_members::status.eq(2)),
                )
                .set((
                    group_members::status.eq(1),
                    group_members::joined_at.eq(now),
                    group_members::update_time.eq(now),
                ))
                .execute(c)
                .await?
                    == 1;
                if done {
                    open_part!(c, user_id, &key, .await);
                }
                Ok(done)
            })
            .await
            .map_err(StoreError::from)
        })
    }

    /// Removes a member row (their part in the conversation closes at its current end); false
    /// when there was none.
    pub async fn remove_member(
        &self,
        group_id: GroupId,
        user_id: UserId,
    ) -> Result<bool, StoreError> {
        let key = conv::group(group_id);
        run_write!(self, |conn| {
            conn.transaction::<_, diesel::result::Error, _>(async |c| {
                let done = diesel::delete(
                    group_members::table
                        .filter(group_members::group_id.eq(group_id))
                        .filter(group_members::user_id.eq(user_id)),
                )
                .execute(c)
                .await?
                    == 1;
                if done {
                    close_part!(c, user_id, &key, .await);
                }
                Ok(done)
            })
            .await
            .map_err(StoreError::from)
        })
    }

    /// Groups `user_id` is an active member of (in an active group), with the join time.
    pub async fn member_groups(&self, user_id: UserId) -> Result<Vec<(GroupId, i64)>, StoreError> {
        run!(self, |conn| Ok(group_members::table
            .inner_join(chat_groups::table)
            .filter(group_members::user_id.eq(user_id))
            .filter(group_members::status.eq(1))
            .filter(chat_groups::status.eq(1))
            .select((group_members::group_id, group_members::joined_at))
            .load(conn)
            .await?))
    }

    /// `user_id`'s member row in `group_id`, if any.
    pub async fn group_member(
        &self,
        group_id: GroupId,
        user_id: UserId,
    ) -> Result<Option<GroupMember>, StoreError> {
        run!(self, |conn| Ok(group_members::table
            .filter(group_members::group_id.eq(group_id))
            .filter(group_members::user_id.eq(user_id))
            .select(GroupMember::as_select())
            .first(conn)
            .await
            .optional()?))
    }

    /// The friendship rows `ids` of `owner` that are active and not blacklisted: their friend ids.
    pub async fn friends_from_rows(
        &self,
        owner: UserId,
        ids: &[i64],
    ) -> Result<Vec<UserId>, StoreError> {
        run!(self, |conn| Ok(friendships::table
            .filter(friendships::id.eq_any(ids))
            .filter(friendships::user_id.eq(owner))
            .filter(friendships::status.eq(1))
            .filter(friendships::isblack.eq(0))
            .select(friendships::friend_id)
            .load(conn)
            .await?))
    }
}
