//! Fixed-window counters for the embedded rate limiter.

use crate::schema::rate_limits;
use crate::store::{run, Store, StoreError};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

impl Store {
    /// Counts one hit on `key`, starting a new window when the old one has passed; returns the
    /// hits in the window including this one. One upsert: concurrent hits on PostgreSQL each
    /// count (a read-then-write would let them overwrite each other).
    pub async fn limit_hit(&self, key: &str, window_ms: i64, now: i64) -> Result<i64, StoreError> {
        run!(self, |conn| {
            conn.transaction::<_, diesel::result::Error, _>(async |c| {
                diesel::delete(
                    rate_limits::table
                        .find(key)
                        .filter(rate_limits::window_start.le(now - window_ms)),
                )
                .execute(c)
                .await?;
                diesel::insert_into(rate_limits::table)
                    .values((
                        rate_limits::rl_key.eq(key),
                        rate_limits::window_start.eq(now),
                        rate_limits::hits.eq(1i64),
                    ))
                    .on_conflict(rate_limits::rl_key)
                    .do_update()
                    .set(rate_limits::hits.eq(rate_limits::hits + 1i64))
                    .returning(rate_limits::hits)
                    .get_result(c)
                    .await
            })
            .await
            .map_err(StoreError::from)
        })
    }

    /// Takes one hit back (an attempt that turned out not to count), never below zero.
    pub async fn limit_unhit(&self, key: &str) -> Result<(), StoreError> {
        run!(self, |conn| {
            diesel::update(
                rate_limits::table
                    .find(key)
                    .filter(rate_limits::hits.gt(0i64)),
            )
            .set(rate_limits::hits.eq(rate_limits::hits - 1i64))
            .execute(conn)
            .await?;
            Ok(())
        })
    }
}
