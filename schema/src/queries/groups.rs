//! Group membership as the message paths need it (the group endpoints add more).

use crate::models::GroupMember;
use crate::schema::{chat_groups, group_members};
use crate::store::{run, Store, StoreError};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

impl Store {
    /// Groups `user_id` is an active member of (in an active group), with the join time.
    pub async fn member_groups(&self, user_id: i64) -> Result<Vec<(i64, i64)>, StoreError> {
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
        group_id: i64,
        user_id: i64,
    ) -> Result<Option<GroupMember>, StoreError> {
        run!(self, |conn| Ok(group_members::table
            .filter(group_members::group_id.eq(group_id))
            .filter(group_members::user_id.eq(user_id))
            .select(GroupMember::as_select())
            .first(conn)
            .await
            .optional()?))
    }
}
