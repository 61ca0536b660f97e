//! Fixed-window counters for the embedded rate limiter.

use crate::schema::rate_limits;
use crate::store::{run, Store, StoreError};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

impl Store {
    /// Hits in the current window of `key` (0 when the window has passed).
    pub async fn limit_count(
        &self,
        key: &str,
        window_ms: i64,
        now: i64,
    ) -> Result<i64, StoreError> {
        run!(self, |conn| {
            let row: Option<(i64, i64)> = rate_limits::table
                .find(key)
                .select((rate_limits::window_start, rate_limits::hits))
                .first(conn)
                .await
                .optional()?;
            Ok(match row {
                Some((start, hits)) if now - start < window_ms => hits,
                _ => 0,
            })
        })
    }

    /// Counts one hit on `key`, starting a new window when the old one has passed; returns the
    /// hits in the window including this one.
    pub async fn limit_hit(&self, key: &str, window_ms: i64, now: i64) -> Result<i64, StoreError> {
        run!(self, |conn| {
            conn.transaction::<_, diesel::result::Error, _>(async |c| {
                let row: Option<(i64, i64)> = rate_limits::table
                    .find(key)
                    .select((rate_limits::window_start, rate_limits::hits))
                    .first(c)
                    .await
                    .optional()?;
                let (start, hits) = match row {
                    Some((start, hits)) if now - start < window_ms => (start, hits + 1),
                    _ => (now, 1),
                };
                diesel::insert_into(rate_limits::table)
                    .values((
                        rate_limits::rl_key.eq(key),
                        rate_limits::window_start.eq(start),
                        rate_limits::hits.eq(hits),
                    ))
                    .on_conflict(rate_limits::rl_key)
                    .do_update()
                    .set((
                        rate_limits::window_start.eq(start),
                        rate_limits::hits.eq(hits),
                    ))
                    .execute(c)
                    .await?;
                Ok(hits)
            })
            .await
            .map_err(StoreError::from)
        })
    }
}
