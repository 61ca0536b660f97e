//! Group invitations of the compact API (seed 003 `/api/request`).

use crate::ids::{GroupId, UserId};
use crate::models::{Group, GroupRequest};
use crate::schema::{chat_groups, group_requests};
use crate::store::{run, run_write, Store, StoreError};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

impl Store {
    /// The pending invitation of `user_id` to `group_id`, or a new one from `invited_by`.
    pub async fn invite_to_group(
        &self,
        group_id: GroupId,
        user_id: UserId,
        invited_by: UserId,
        now: i64,
    ) -> Result<GroupRequest, StoreError> {
        run_write!(self, |conn| {
            let existing: Option<GroupRequest> = group_requests::table
                .filter(group_requests::group_id.eq(group_id))
                .filter(group_requests::user_id.eq(user_id))
                .filter(group_requests::status.eq("pending"))
                .select(GroupRequest::as_select())
                .first(conn)
                .await
                .optional()?;
            if let Some(r) = existing {
                return Ok(r);
            }
            Ok(diesel::insert_into(group_requests::table)
                .values((
                    group_requests::group_id.eq(group_id),
                    group_requests::user_id.eq(user_id),
                    group_requests::invited_by.eq(invited_by),
                    group_requests::status.eq("pending"),
                    group_requests::create_time.eq(now),
                    group_requests::update_time.eq(now),
                ))
                .returning(GroupRequest::as_returning())
                .get_result(conn)
                .await?)
        })
    }

    pub async fn group_request(&self, id: i64) -> Result<Option<GroupRequest>, StoreError> {
        run!(self, |conn| Ok(group_requests::table
            .find(id)
            .select(GroupRequest::as_select())
            .first(conn)
            .await
            .optional()?))
    }

    /// Pending invitations to `user_id` in active groups, oldest first, with their groups.
    pub async fn pending_requests_to(
        &self,
        user_id: UserId,
    ) -> Result<Vec<(GroupRequest, Group)>, StoreError> {
        run!(self, |conn| Ok(group_requests::table
            .inner_join(chat_groups::table)
            .filter(group_requests::user_id.eq(user_id))
            .filter(group_requests::status.eq("pending"))
            .filter(chat_groups::status.eq(1))
            .order(group_requests::id.asc())
            .select((GroupRequest::as_select(), Group::as_select()))
            .load(conn)
            .await?))
    }

    /// Settles a pending invitation; false when it was no longer pending.
    pub async fn settle_group_request(
        &self,
        id: i64,
        status: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        run_write!(self, |conn| Ok(diesel::update(
            group_requests::table
                .find(id)
                .filter(group_requests::status.eq("pending")),
        )
        .set((
            group_requests::status.eq(status),
            group_requests::update_time.eq(now),
        ))
        .execute(conn)
        .await?
            == 1))
    }
}
