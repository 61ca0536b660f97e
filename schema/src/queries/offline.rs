//! The embedded offline queue: one row per queued message (rich JSON payload) per user.

use crate::ids::UserId;
use crate::models::OfflineRow;
use crate::schema::offline_messages;
use crate::store::{run, Store, StoreError};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

impl Store {
    /// Appends `(user_id, payload)` rows in one transaction, then trims each touched user's queue
    /// to its newest `cap` rows.
    pub async fn offline_push(
        &self,
        rows: &[(UserId, &str)],
        now: i64,
        cap: i64,
    ) -> Result<(), StoreError> {
        let mut users: Vec<UserId> = rows.iter().map(|r| r.0).collect();
        users.sort_unstable();
        users.dedup();
        let users = &users;
        run!(self, |conn| {
            conn.transaction::<_, diesel::result::Error, _>(async |c| {
                // Row by row: SQLite has no multi-row INSERT through diesel-async, and
                // inside one transaction the per-row cost is small on both backends.
                for (uid, payload) in rows {
                    diesel::insert_into(offline_messages::table)
                        .values((
                            offline_messages::user_id.eq(*uid),
                            offline_messages::payload.eq(*payload),
                            offline_messages::create_time.eq(now),
                        ))
                        .execute(c)
                        .await?;
                }
                for uid in users {
                    let boundary: Option<i64> = offline_messages::table
                        .filter(offline_messages::user_id.eq(uid))
                        .order(offline_messages::id.desc())
                        .offset(cap)
                        .select(offline_messages::id)
                        .first(c)
                        .await
                        .optional()?;
                    if let Some(b) = boundary {
                        diesel::delete(
                            offline_messages::table
                                .filter(offline_messages::user_id.eq(uid))
                                .filter(offline_messages::id.le(b)),
                        )
                        .execute(c)
                        .await?;
                    }
                }
                Ok(())
            })
            .await
            .map_err(StoreError::from)
        })
    }

    /// The user's queue, oldest first, after dropping rows queued before `min_time`.
    pub async fn offline_peek(
        &self,
        user_id: UserId,
        min_time: i64,
    ) -> Result<Vec<OfflineRow>, StoreError> {
        run!(self, |conn| {
            diesel::delete(
                offline_messages::table
                    .filter(offline_messages::user_id.eq(user_id))
                    .filter(offline_messages::create_time.lt(min_time)),
            )
            .execute(conn)
            .await?;
            Ok(offline_messages::table
                .filter(offline_messages::user_id.eq(user_id))
                .order(offline_messages::id.asc())
                .select(OfflineRow::as_select())
                .load(conn)
                .await?)
        })
    }

    pub async fn offline_delete(&self, user_id: UserId, ids: &[i64]) -> Result<(), StoreError> {
        run!(self, |conn| {
            for chunk in ids.chunks(500) {
                diesel::delete(
                    offline_messages::table
                        .filter(offline_messages::user_id.eq(user_id))
                        .filter(offline_messages::id.eq_any(chunk)),
                )
                .execute(conn)
                .await?;
            }
            Ok(())
        })
    }
}
