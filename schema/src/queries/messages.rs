//! Messages: the batched durable write (seq assignment + idempotency), history and sync.

use crate::ids::UserId;
use crate::models::{MessageInsert, MessageRow, NewMessage};
use crate::queries::positions::{ensure_position, OPEN};
use crate::schema::{conversations, message_audience, messages};
use crate::store::{run, Db, Store, StoreError};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

/// The outcome of storing one message.
#[derive(Debug, Clone)]
pub struct StoredMessage {
    pub row: MessageRow,
    /// False when the sender's `client_msg_id` matched an earlier message: `row` is that one.
    pub fresh: bool,
}

/// The statements of [`Store::insert_messages`], written once for the async (PostgreSQL) and the
/// blocking (SQLite) connection: `$($aw)*` is `.await` for the first and nothing for the second.
macro_rules! store_batch {
    ($c:ident, $batch:expr, $($aw:tt)*) => {{
        let mut out = Vec::with_capacity($batch.len());
        for m in $batch.iter() {
            if let Some(cid) = &m.client_msg_id {
                // At most one row (a unique index); no `LIMIT ?`, which SQLite compiles again
                // on every run (see `find_session!`).
                let existing: Option<MessageRow> = messages::table
                    .filter(messages::from_id.eq(m.from_id))
                    .filter(messages::client_msg_id.eq(cid))
                    .select(MessageRow::as_select())
                    .load::<MessageRow>($c)
                    $($aw)*?
                    .into_iter()
                    .next();
                if let Some(row) = existing {
                    out.push(StoredMessage { row, fresh: false });
                    continue;
                }
            }
            let seq: i64 = diesel::insert_into(conversations::table)
                .values((
                    conversations::conv_key.eq(&m.conv_key),
                    conversations::last_seq.eq(1i64),
                ))
                .on_conflict(conversations::conv_key)
                .do_update()
                .set(conversations::last_seq.eq(conversations::last_seq + 1i64))
                .returning(conversations::last_seq)
                .get_result($c)
                $($aw)*?;
            let row: MessageRow = diesel::insert_into(messages::table)
                .values(MessageInsert {
                    uuid: &m.uuid,
                    conv_key: &m.conv_key,
                    seq,
                    chat_type: &m.chat_type,
                    msg_type: &m.msg_type,
                    from_id: m.from_id,
                    to_id: m.to_id,
                    from_name: &m.from_name,
                    from_avatar: &m.from_avatar,
                    to_name: &m.to_name,
                    to_avatar: &m.to_avatar,
                    data: &m.data,
                    options: &m.options,
                    extra: m.extra.as_deref(),
                    client_msg_id: m.client_msg_id.as_deref(),
                    isremove: 0,
                    create_time: m.create_time,
                    private: i32::from(m.private),
                })
                .returning(MessageRow::as_returning())
                .get_result($c)
                $($aw)*?;
            if seq == 1 && m.chat_type == "single" {
                for u in [m.from_id, UserId(m.to_id)] {
                    if u.is_user() {
                        ensure_position!($c, u, &m.conv_key, 0i64, OPEN, $($aw)*);
                    }
                }
            }
            for u in &m.audience {
                diesel::insert_into(message_audience::table)
                    .values((
                        message_audience::user_id.eq(*u),
                        message_audience::message_id.eq(row.id),
                    ))
                    .on_conflict_do_nothing()
                    .execute($c)
                    $($aw)*?;
                ensure_position!($c, *u, &m.conv_key, seq - 1, seq - 1, $($aw)*);
            }
            out.push(StoredMessage { row, fresh: true });
        }
        Ok(out)
    }};
}

/// The blocking (SQLite) side, where diesel's own `RunQueryDsl` is the one in scope.
mod blocking {
    use super::StoredMessage;
    use crate::ids::UserId;
    use crate::models::{MessageInsert, MessageRow, NewMessage};
    use crate::queries::positions::{ensure_position, OPEN};
    use crate::schema::{conversations, message_audience, messages};
    use diesel::prelude::*;

    pub(super) fn insert_messages(
        c: &mut SqliteConnection,
        batch: &[NewMessage],
    ) -> QueryResult<Vec<StoredMessage>> {
        // Takes the write lock up front: a deferred transaction that reads first and is then
        // refused the lock fails at once, without waiting (SQLite's busy handler is not called
        // for that upgrade).
        c.immediate_transaction(|c| store_batch!(c, batch,))
    }
}

impl Store {
    /// Stores a batch of messages in one transaction, in order: each gets the next `seq` of its
    /// conversation; a repeated `(from_id, client_msg_id)` returns the first message instead.
    pub async fn insert_messages(
        &self,
        batch: &[NewMessage],
    ) -> Result<Vec<StoredMessage>, StoreError> {
        match &*self.db {
            Db::Pg(pool) => {
                let mut conn = pool
                    .get()
                    .await
                    .map_err(|e| StoreError::Pool(e.to_string()))?;
                Ok(conn
                    .transaction::<_, diesel::result::Error, _>(
                        async |c| store_batch!(c, batch, .await),
                    )
                    .await?)
            }
            Db::Sqlite(mutex, _) => {
                // The whole batch in one blocking call: through the async wrapper every
                // statement would be its own hop to a blocking thread.
                let batch = batch.to_vec();
                let mut conn = mutex.lock().await;
                Ok(conn
                    .spawn_blocking(move |c| blocking::insert_messages(c, &batch))
                    .await?)
            }
        }
    }

    pub async fn message_by_uuid(&self, uuid: &str) -> Result<Option<MessageRow>, StoreError> {
        run!(self, |conn| Ok(messages::table
            .filter(messages::uuid.eq(uuid))
            .select(MessageRow::as_select())
            .first(conn)
            .await
            .optional()?))
    }

    /// Whether `from_id` has ever sent a (non-system) message in conversation `conv_key`.
    pub async fn has_sent_in(&self, conv_key: &str, from_id: UserId) -> Result<bool, StoreError> {
        run!(self, |conn| {
            let found: Option<i64> = messages::table
                .filter(messages::conv_key.eq(conv_key))
                .filter(messages::from_id.eq(from_id))
                .filter(messages::msg_type.ne("systemNotice"))
                .select(messages::id)
                .first(conn)
                .await
                .optional()?;
            Ok(found.is_some())
        })
    }

    /// One conversation, newest first: messages with `seq < before_seq` (when given) created at
    /// or after `since_time`, at most `limit`.
    pub async fn history(
        &self,
        conv_key: &str,
        before_seq: Option<i64>,
        since_time: i64,
        limit: i64,
    ) -> Result<Vec<MessageRow>, StoreError> {
        let before = before_seq.unwrap_or(i64::MAX);
        run!(self, |conn| Ok(messages::table
            .filter(messages::conv_key.eq(conv_key))
            .filter(messages::seq.lt(before))
            .filter(messages::create_time.ge(since_time))
            .order(messages::seq.desc())
            .limit(limit)
            .select(MessageRow::as_select())
            .load(conn)
            .await?))
    }

    /// Everything addressed to or sent by `user_id` in single chats, plus messages of the given
    /// group conversations, with internal id > `after_id` and `create_time > after_time`, oldest
    /// first, at most `limit`. (The caller filters group messages older than the join time.)
    pub async fn sync_messages(
        &self,
        user_id: UserId,
        group_keys: &[String],
        after_id: i64,
        after_time: i64,
        limit: i64,
    ) -> Result<Vec<MessageRow>, StoreError> {
        run!(self, |conn| Ok(messages::table
            .filter(messages::id.gt(after_id))
            .filter(messages::create_time.gt(after_time))
            .filter(
                messages::chat_type
                    .eq("single")
                    .and(
                        messages::to_id
                            .eq(user_id)
                            .or(messages::from_id.eq(user_id))
                    )
                    .or(messages::conv_key.eq_any(group_keys)),
            )
            .order(messages::id.asc())
            .limit(limit)
            .select(MessageRow::as_select())
            .load(conn)
            .await?))
    }
}

impl Store {
    /// Marks a message revoked and drops its content; false when it was already revoked.
    pub async fn revoke_message(&self, uuid: &str) -> Result<bool, StoreError> {
        run!(self, |conn| Ok(diesel::update(
            messages::table
                .filter(messages::uuid.eq(uuid))
                .filter(messages::isremove.eq(0)),
        )
        .set((messages::isremove.eq(1), messages::data.eq("")))
        .execute(conn)
        .await?
            == 1))
    }
}
