//! Delivered positions: per user and conversation, the highest `seq` known delivered to one of
//! the user's devices. History is the only copy of a message; a user's offline backlog is every
//! message of their conversations above their position (SPEC §3), read by one indexed query.
//!
//! A position row exists for every conversation a user takes part in: a single chat's two users
//! get theirs with the conversation's first message (same transaction), a group member with the
//! join (positioned at the group's last seq then, so nothing from before the join is theirs), a
//! user a message is addressed to beyond the participants with that message. `until_seq` closes
//! a group member's part when they leave or are removed.
//!
//! `read_seq` is kept beside `delivered_seq` for unread counts and receipts.

use crate::ids::UserId;
use crate::models::MessageRow;
use crate::schema::{conv_positions, conversations, friendships, message_audience, messages};
use crate::store::{run, Db, Store, StoreError};
use diesel::dsl::{max, not};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text};
use diesel_async::RunQueryDsl;

/// `until_seq` of a user who still takes part in the conversation.
pub const OPEN: i64 = i64::MAX;

/// Most conversations [`Store::behind_convs`] probes one by one.
pub const PROBES: usize = 64;

/// Most rows one SQLite transaction of [`Store::advance_positions`] writes: about a millisecond
/// of updates, the longest a message batch waits behind a flush.
pub const ADVANCE_CHUNK: usize = 256;

/// The messages above `$user`'s positions that are theirs: not their own, not from a user they
/// blacklisted, created at or after `$min_time`, within their part of the conversation (or
/// addressed to them by name), and not private to others.
macro_rules! backlog_query {
    ($user:expr, $min_time:expr) => {{
        let blocked = friendships::table
            .filter(friendships::user_id.eq($user))
            .filter(friendships::isblack.eq(1))
            .select(friendships::friend_id);
        let named = message_audience::table
            .filter(message_audience::user_id.eq($user))
            .select(message_audience::message_id);
        conv_positions::table
            .inner_join(
                messages::table.on(messages::conv_key
                    .eq(conv_positions::conv_key)
                    .and(messages::seq.gt(conv_positions::delivered_seq))),
            )
            .filter(conv_positions::user_id.eq($user))
            .filter(messages::from_id.ne($user))
            .filter(messages::create_time.ge($min_time))
            .filter(not(messages::from_id.eq_any(blocked)))
            .filter(
                messages::private
                    .eq(0)
                    .and(messages::seq.le(conv_positions::until_seq))
                    .or(messages::id.eq_any(named)),
            )
    }};
}

/// The candidates of [`Store::behind_convs`]: conversations whose last seq is above `$user`'s
/// position, within their part.
macro_rules! behind_candidates {
    ($c:ident, $user:expr) => {
        conv_positions::table
            .inner_join(
                conversations::table.on(conversations::conv_key.eq(conv_positions::conv_key)),
            )
            .filter(conv_positions::user_id.eq($user))
            .filter(conversations::last_seq.gt(conv_positions::delivered_seq))
            .filter(conv_positions::delivered_seq.lt(conv_positions::until_seq))
            .select((conv_positions::conv_key, conv_positions::delivered_seq))
    };
}

/// The body of [`Store::behind_convs`] over connection `$c`, written once for both backends
/// (`$($aw)*` is `.await` for PostgreSQL, nothing for the blocking SQLite side).
macro_rules! behind_check {
    ($c:ident, $user:expr, $min_time:expr, $($aw:tt)*) => {{
        let candidates: Vec<(String, i64)> = behind_candidates!($c, $user).load($c)$($aw)*?;
        let mut behind = Vec::new();
        for (i, (conv, delivered)) in candidates.into_iter().enumerate() {
            // `EXISTS`, not `LIMIT 1`: SQLite compiles a statement with a bound `LIMIT` again
            // on every run (see `find_session!`).
            let hit: bool = if i < PROBES {
                diesel::select(diesel::dsl::exists(
                    backlog_query!($user, $min_time)
                        .filter(conv_positions::conv_key.eq(&conv))
                        .select(messages::id),
                ))
                .get_result($c)
                $($aw)*?
            } else {
                true
            };
            if hit {
                behind.push((conv, delivered + 1));
            }
        }
        behind
    }};
}

impl Store {
    /// `user`'s offline backlog: the newest `cap` messages above their positions (see
    /// [`backlog_query!`]), oldest first, in the order the server accepted them.
    pub async fn backlog(
        &self,
        user: UserId,
        min_time: i64,
        cap: i64,
    ) -> Result<Vec<MessageRow>, StoreError> {
        let mut rows: Vec<MessageRow> = run!(self, |conn| Ok::<_, StoreError>(
            backlog_query!(user, min_time)
                .order(messages::id.desc())
                .limit(cap)
                .select(MessageRow::as_select())
                .load(conn)
                .await?
        ))?;
        rows.reverse();
        Ok(rows)
    }

    /// The conversations where `user` has a backlog, each with the last seq of it: live pushes
    /// there must not move the position past messages the user has not been sent yet, and a
    /// replay that sent the newest `cap` moves it to that last seq.
    pub async fn backlog_convs(
        &self,
        user: UserId,
        min_time: i64,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let rows: Vec<(String, Option<i64>)> = run!(self, |conn| Ok::<_, StoreError>(
            backlog_query!(user, min_time)
                .group_by(conv_positions::conv_key)
                .select((conv_positions::conv_key, max(messages::seq)))
                .load(conn)
                .await?
        ))?;
        Ok(rows
            .into_iter()
            .map(|(conv, last)| (conv, last.unwrap_or(0)))
            .collect())
    }

    /// The conversations where `user` has a backlog, found cheaply enough to ask on every
    /// connect: those whose last seq is above the user's position (a primary-key join), each
    /// then probed for one message that is really theirs (the first match ends the probe). Past
    /// [`PROBES`] candidates the rest count as behind unprobed: a superset is safe (a
    /// conversation counted behind only waits for the replay to move its position). Each comes
    /// with the first seq the backlog may hold there (just above the position).
    pub async fn behind_convs(
        &self,
        user: UserId,
        min_time: i64,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        match &*self.db {
            Db::Pg(pool) => {
                let mut conn = pool
                    .get()
                    .await
                    .map_err(|e| StoreError::Pool(e.to_string()))?;
                let c = &mut *conn;
                Ok(behind_check!(c, user, min_time, .await))
            }
            // Every user connecting asks it: on a reader, on this thread (crate::readers).
            Db::Sqlite(_, readers) => readers.read(|c| blocking::behind(c, user, min_time)),
        }
    }

    /// Moves delivered positions `(user, conversation, seq)` forward (never back): one statement
    /// on PostgreSQL; on SQLite, transactions of at most [`ADVANCE_CHUNK`] rows. Each row stands
    /// alone (a position only moves forward), so on an error the rows already written stay
    /// written and writing them all again is harmless.
    pub async fn advance_positions(&self, to: &[(UserId, String, i64)]) -> Result<(), StoreError> {
        if to.is_empty() {
            return Ok(());
        }
        match &*self.db {
            Db::Pg(pool) => {
                let mut conn = pool
                    .get()
                    .await
                    .map_err(|e| StoreError::Pool(e.to_string()))?;
                let users: Vec<i64> = to.iter().map(|(u, _, _)| u.0).collect();
                let convs: Vec<&str> = to.iter().map(|(_, c, _)| c.as_str()).collect();
                let seqs: Vec<i64> = to.iter().map(|(_, _, s)| *s).collect();
                diesel::sql_query(
                    "UPDATE conv_positions p SET delivered_seq = v.seq \
                     FROM (SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[]) \
                           AS t(user_id, conv_key, seq)) v \
                     WHERE p.user_id = v.user_id AND p.conv_key = v.conv_key \
                       AND p.delivered_seq < v.seq",
                )
                .bind::<Array<BigInt>, _>(users)
                .bind::<Array<Text>, _>(convs)
                .bind::<Array<BigInt>, _>(seqs)
                .execute(&mut conn)
                .await?;
                Ok(())
            }
            // The message writer shares this connection, and its lock is fair: between two
            // chunks a waiting message batch goes first, so a flush of every connected user's
            // positions never holds a message back for longer than one chunk.
            Db::Sqlite(mutex, _) => {
                for chunk in to.chunks(ADVANCE_CHUNK) {
                    let chunk = chunk.to_vec();
                    let mut conn = mutex.lock().await;
                    conn.spawn_blocking(move |c| blocking::advance(c, &chunk))
                        .await?;
                }
                Ok(())
            }
        }
    }

    /// Moves `user`'s read position in `conv` forward to `seq`, never back and never past the
    /// conversation's last message. Returns the read position now and whether it moved; `None`
    /// when the user has no part in the conversation.
    pub async fn advance_read(
        &self,
        user: UserId,
        conv: &str,
        seq: i64,
    ) -> Result<Option<(i64, bool)>, StoreError> {
        run!(self, |conn| {
            let last: Option<i64> = conversations::table
                .filter(conversations::conv_key.eq(conv))
                .select(conversations::last_seq)
                .first(conn)
                .await
                .optional()?;
            let Some(last) = last else { return Ok(None) };
            let to = seq.min(last);
            let moved = diesel::update(
                conv_positions::table
                    .filter(conv_positions::user_id.eq(user))
                    .filter(conv_positions::conv_key.eq(conv))
                    .filter(conv_positions::read_seq.lt(to)),
            )
            .set(conv_positions::read_seq.eq(to))
            .execute(conn)
            .await?;
            let now: Option<i64> = conv_positions::table
                .filter(conv_positions::user_id.eq(user))
                .filter(conv_positions::conv_key.eq(conv))
                .select(conv_positions::read_seq)
                .first(conn)
                .await
                .optional()?;
            Ok(now.map(|n| (n, moved > 0)))
        })
    }

    /// Of the current members of group conversation `conv`, how many have read up to `seq`,
    /// how many there are, and who has read (only when there are at most `list_up_to`).
    pub async fn read_receipts(
        &self,
        conv: &str,
        seq: i64,
        list_up_to: i64,
    ) -> Result<(i64, i64, Option<Vec<UserId>>), StoreError> {
        run!(self, |conn| {
            let members = conv_positions::table
                .filter(conv_positions::conv_key.eq(conv))
                .filter(conv_positions::until_seq.eq(OPEN));
            let total: i64 = members.count().get_result(conn).await?;
            let read = members.filter(conv_positions::read_seq.ge(seq));
            let count: i64 = read.count().get_result(conn).await?;
            let who = if total <= list_up_to {
                Some(
                    read.order(conv_positions::user_id.asc())
                        .select(conv_positions::user_id)
                        .load(conn)
                        .await?,
                )
            } else {
                None
            };
            Ok((count, total, who))
        })
    }

    /// `user`'s positions (conversation, delivered seq), for tests and tools.
    pub async fn positions_of(&self, user: UserId) -> Result<Vec<(String, i64)>, StoreError> {
        run!(self, |conn| Ok(conv_positions::table
            .filter(conv_positions::user_id.eq(user))
            .order(conv_positions::conv_key.asc())
            .select((conv_positions::conv_key, conv_positions::delivered_seq))
            .load(conn)
            .await?))
    }
}

/// The blocking (SQLite) side, where diesel's own `RunQueryDsl` is the one in scope.
mod blocking {
    use super::PROBES;
    use crate::ids::UserId;
    use crate::schema::{conv_positions, conversations, friendships, message_audience, messages};
    use diesel::dsl::not;
    use diesel::prelude::*;

    pub(super) fn behind(
        c: &mut SqliteConnection,
        user: UserId,
        min_time: i64,
    ) -> QueryResult<Vec<(String, i64)>> {
        Ok(behind_check!(c, user, min_time,))
    }

    pub(super) fn advance(
        c: &mut SqliteConnection,
        to: &[(UserId, String, i64)],
    ) -> QueryResult<()> {
        c.immediate_transaction(|c| {
            for (user, conv, seq) in to {
                diesel::update(
                    conv_positions::table
                        .filter(conv_positions::user_id.eq(*user))
                        .filter(conv_positions::conv_key.eq(conv))
                        .filter(conv_positions::delivered_seq.lt(*seq)),
                )
                .set(conv_positions::delivered_seq.eq(*seq))
                .execute(c)?;
            }
            Ok(())
        })
    }
}

/// Statements run inside other writes' transactions (membership changes, the message batch), as
/// macros so each expands against its own backend's connection.
macro_rules! last_seq {
    ($c:ident, $conv:expr, $($aw:tt)*) => {{
        let last: Option<i64> = crate::schema::conversations::table
            .filter(crate::schema::conversations::conv_key.eq($conv))
            .select(crate::schema::conversations::last_seq)
            .first($c)
            $($aw)*
            .optional()?;
        last.unwrap_or(0)
    }};
}
pub(crate) use last_seq;

/// Opens `$user`'s part in group conversation `$conv`: from the conversation's current end, so
/// nothing from before the join is theirs. An open part (already a member) is left alone.
macro_rules! open_part {
    ($c:ident, $user:expr, $conv:expr, $($aw:tt)*) => {{
        use crate::schema::conv_positions as cp;
        let last = crate::queries::positions::last_seq!($c, $conv, $($aw)*);
        let open: Option<i64> = cp::table
            .filter(cp::user_id.eq($user))
            .filter(cp::conv_key.eq($conv))
            .select(cp::until_seq)
            .first($c)
            $($aw)*
            .optional()?;
        match open {
            Some(crate::queries::positions::OPEN) => {}
            Some(_) => {
                diesel::update(cp::table.filter(cp::user_id.eq($user)).filter(cp::conv_key.eq($conv)))
                    .set((
                        cp::delivered_seq.eq(last),
                        cp::read_seq.eq(last),
                        cp::until_seq.eq(crate::queries::positions::OPEN),
                    ))
                    .execute($c)
                    $($aw)*?;
            }
            None => {
                diesel::insert_into(cp::table)
                    .values((
                        cp::user_id.eq($user),
                        cp::conv_key.eq($conv),
                        cp::delivered_seq.eq(last),
                        cp::read_seq.eq(last),
                        cp::peer_id.eq(crate::conv::peer_of($user, $conv)),
                    ))
                    .execute($c)
                    $($aw)*?;
            }
        }
    }};
}
pub(crate) use open_part;

/// Closes `$user`'s part in group conversation `$conv` at its current end.
macro_rules! close_part {
    ($c:ident, $user:expr, $conv:expr, $($aw:tt)*) => {{
        use crate::schema::conv_positions as cp;
        let last = crate::queries::positions::last_seq!($c, $conv, $($aw)*);
        diesel::update(
            cp::table
                .filter(cp::user_id.eq($user))
                .filter(cp::conv_key.eq($conv))
                .filter(cp::until_seq.eq(crate::queries::positions::OPEN)),
        )
        .set(cp::until_seq.eq(last))
        .execute($c)
        $($aw)*?;
    }};
}
pub(crate) use close_part;

/// Gives `$user` a position in `$conv` if they have none, at `$at` (a single chat's first
/// message: 0; a user named by one message: just below it, their part ending there too).
macro_rules! ensure_position {
    ($c:ident, $user:expr, $conv:expr, $at:expr, $until:expr, $($aw:tt)*) => {{
        use crate::schema::conv_positions as cp;
        diesel::insert_into(cp::table)
            .values((
                cp::user_id.eq($user),
                cp::conv_key.eq($conv),
                cp::delivered_seq.eq($at),
                cp::read_seq.eq($at),
                cp::until_seq.eq($until),
                cp::peer_id.eq(crate::conv::peer_of($user, $conv)),
            ))
            .on_conflict((cp::user_id, cp::conv_key))
            .do_nothing()
            .execute($c)
            $($aw)*?;
    }};
}
pub(crate) use ensure_position;

#[cfg(test)]
mod tests {
    use super::ADVANCE_CHUNK;
    use crate::conv;
    use crate::models::NewUser;
    use crate::store::Store;

    /// A flush larger than one SQLite transaction's chunk writes every row, and a position
    /// never moves back, even when a later chunk holds an older one.
    #[tokio::test]
    async fn a_flush_of_many_chunks_writes_every_row_and_never_moves_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db").to_string_lossy().into_owned();
        let store = Store::connect(&path).await.unwrap();
        let n = ADVANCE_CHUNK * 2 + 10;
        let mut users = Vec::with_capacity(n);
        for i in 0..n {
            let u = NewUser::plain(format!("u{i}"), format!("user{i}"), 0);
            users.push(store.create_user(&u).await.unwrap().id);
        }
        let group = store
            .create_group("g", users[0], "g", "", &users, 0)
            .await
            .unwrap();
        let key = conv::group(group.id);
        let mut rows: Vec<_> = users.iter().map(|u| (*u, key.clone(), 7)).collect();
        // The first user's position again, lower, in the last chunk.
        rows.push((users[0], key.clone(), 3));
        store.advance_positions(&rows).await.unwrap();
        for u in [users[0], users[ADVANCE_CHUNK], users[n - 1]] {
            assert_eq!(store.positions_of(u).await.unwrap(), vec![(key.clone(), 7)]);
        }
    }
}
