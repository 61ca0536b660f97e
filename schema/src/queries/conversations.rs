//! The conversation list (issue 19): one row per single chat and group a user takes part in,
//! newest activity first, with the other side's name and avatar, the last message the user may
//! see, their read position, unread count and mute flag — one statement whatever the number of
//! conversations (a backward probe of the `(conv_key, seq)` index per conversation for its last
//! message, then joins and counts for the listed rows only).
//!
//! The text is shared by both backends: PostgreSQL numbers its parameters `$n`, SQLite takes the
//! same text with `?n`.

use crate::ids::{MessageId, UserId};
use crate::models::MessageRow;
use crate::queries::positions::OPEN;
use crate::schema::conv_positions;
use crate::store::{run, Db, Store, StoreError};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};
use diesel_async::RunQueryDsl;

/// Unread messages are counted among the first `UNREAD_WINDOW` seqs above the read position, so
/// that listing a conversation with a huge backlog costs a bounded index range; past it the row
/// says `unread_more`.
pub const UNREAD_WINDOW: i64 = 1000;

/// Whether message `$m` is one the user of position row `$p` may see: not private, or
/// addressed to them.
macro_rules! visible {
    ($m:literal, $p:literal) => {
        concat!(
            "(",
            $m,
            ".private = 0 OR EXISTS (SELECT 1 FROM message_audience a WHERE a.user_id = ",
            $p,
            ".user_id AND a.message_id = ",
            $m,
            ".id))"
        )
    };
}

// `p` is materialized so that each position's last message is looked up once (SQLite would
// otherwise inline the subquery into every place `p.last_id` is named); `page` sorts and cuts
// the page before anything is joined, so only listed rows pay for names, the message and the
// unread count.
const LIST: &str = concat!(
    "WITH p AS MATERIALIZED (SELECT q.*, (SELECT l.id FROM messages l \
        WHERE l.conv_key = q.conv_key AND l.seq <= q.until_seq AND ",
    visible!("l", "q"),
    " ORDER BY l.seq DESC LIMIT 1) AS last_id \
        FROM conv_positions q WHERE q.user_id = $1 AND q.until_seq = $2), \
     page AS MATERIALIZED (SELECT p.* FROM p \
        WHERE ((p.conv_key LIKE 's:%' AND p.last_id IS NOT NULL) \
            OR (p.conv_key LIKE 'g:%' AND EXISTS (SELECT 1 FROM chat_groups s \
                WHERE s.id = p.peer_id AND s.status = 1))) \
          AND (COALESCE(p.last_id, 0) < $3 \
            OR (COALESCE(p.last_id, 0) = $3 AND p.conv_key < $4)) \
        ORDER BY COALESCE(p.last_id, 0) DESC, p.conv_key DESC LIMIT $6) \
     SELECT p.conv_key AS conv_key, p.peer_id AS peer_id, p.read_seq AS read_seq, \
       p.muted AS muted, c.last_seq AS last_seq, COALESCE(p.last_id, 0) AS activity, \
       (SELECT COUNT(*) FROM messages n \
          WHERE n.conv_key = p.conv_key AND n.seq > p.read_seq \
            AND n.seq <= p.read_seq + $5 AND n.seq <= p.until_seq \
            AND n.from_id <> p.user_id AND ",
    visible!("n", "p"),
    " AND NOT EXISTS (SELECT 1 FROM friendships b WHERE b.user_id = p.user_id \
              AND b.friend_id = n.from_id AND b.isblack = 1)) AS unread, \
       u.nickname AS user_nickname, u.username AS user_username, u.avatar AS user_avatar, \
       f.nickname AS remark, g.name AS group_name, g.avatar AS group_avatar, \
       m.uuid AS m_uuid, m.seq AS m_seq, m.chat_type AS m_chat_type, m.msg_type AS m_msg_type, \
       m.from_id AS m_from_id, m.to_id AS m_to_id, m.from_name AS m_from_name, \
       m.from_avatar AS m_from_avatar, m.to_name AS m_to_name, m.to_avatar AS m_to_avatar, \
       m.data AS m_data, m.options AS m_options, m.extra AS m_extra, \
       m.client_msg_id AS m_client_msg_id, m.isremove AS m_isremove, \
       m.create_time AS m_create_time \
     FROM page p \
     LEFT JOIN conversations c ON c.conv_key = p.conv_key \
     LEFT JOIN messages m ON m.id = p.last_id \
     LEFT JOIN users u ON p.conv_key LIKE 's:%' AND u.id = p.peer_id \
     LEFT JOIN friendships f ON p.conv_key LIKE 's:%' AND f.user_id = p.user_id \
          AND f.friend_id = p.peer_id \
     LEFT JOIN chat_groups g ON p.conv_key LIKE 'g:%' AND g.id = p.peer_id \
     ORDER BY activity DESC, p.conv_key DESC"
);

/// Where a page of the list starts: below this activity (a message id), then below this key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListCursor {
    pub activity: i64,
    pub conv_key: String,
}

impl ListCursor {
    /// The start of the list.
    pub fn first() -> ListCursor {
        ListCursor {
            activity: i64::MAX,
            conv_key: String::new(),
        }
    }
}

/// One row of a user's conversation list.
#[derive(Debug, Clone)]
pub struct ConversationRow {
    pub conv_key: String,
    /// The peer user (single chat) or the group.
    pub peer_id: i64,
    /// The peer's name as this user sees it (their remark for a friend, else the peer's
    /// nickname, else username), or the group's name.
    pub name: String,
    pub avatar: String,
    pub read_seq: i64,
    pub last_seq: i64,
    pub unread: i64,
    /// More unread than [`UNREAD_WINDOW`] seqs hold may exist.
    pub unread_more: bool,
    pub muted: bool,
    pub last: Option<MessageRow>,
    /// Where the next page starts, when this is the page's last row.
    pub cursor: ListCursor,
}

#[derive(QueryableByName)]
struct Raw {
    #[diesel(sql_type = Text)]
    conv_key: String,
    #[diesel(sql_type = BigInt)]
    peer_id: i64,
    #[diesel(sql_type = BigInt)]
    read_seq: i64,
    #[diesel(sql_type = Integer)]
    muted: i32,
    #[diesel(sql_type = Nullable<BigInt>)]
    last_seq: Option<i64>,
    #[diesel(sql_type = BigInt)]
    activity: i64,
    #[diesel(sql_type = BigInt)]
    unread: i64,
    #[diesel(sql_type = Nullable<Text>)]
    user_nickname: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    user_username: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    user_avatar: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    remark: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    group_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    group_avatar: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    m_uuid: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    m_seq: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    m_chat_type: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    m_msg_type: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    m_from_id: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    m_to_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    m_from_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    m_from_avatar: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    m_to_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    m_to_avatar: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    m_data: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    m_options: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    m_extra: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    m_client_msg_id: Option<String>,
    #[diesel(sql_type = Nullable<Integer>)]
    m_isremove: Option<i32>,
    #[diesel(sql_type = Nullable<BigInt>)]
    m_create_time: Option<i64>,
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

impl Raw {
    fn into_row(self) -> ConversationRow {
        let group = self.conv_key.starts_with("g:");
        let name = if group {
            self.group_name.unwrap_or_default()
        } else if self.peer_id == 0 {
            // The author of server notices has no account row.
            "System".to_string()
        } else {
            non_empty(self.remark)
                .or(non_empty(self.user_nickname))
                .or(self.user_username)
                .unwrap_or_default()
        };
        let avatar = if group {
            self.group_avatar
        } else {
            self.user_avatar
        }
        .unwrap_or_default();
        // Every message column is present when the join found a message (the uuid says so).
        let last = self.m_uuid.map(|uuid| MessageRow {
            id: MessageId(self.activity),
            uuid,
            conv_key: self.conv_key.clone(),
            seq: self.m_seq.unwrap_or(0),
            chat_type: self.m_chat_type.unwrap_or_default(),
            msg_type: self.m_msg_type.unwrap_or_default(),
            from_id: UserId(self.m_from_id.unwrap_or(0)),
            to_id: self.m_to_id.unwrap_or(0),
            from_name: self.m_from_name.unwrap_or_default(),
            from_avatar: self.m_from_avatar.unwrap_or_default(),
            to_name: self.m_to_name.unwrap_or_default(),
            to_avatar: self.m_to_avatar.unwrap_or_default(),
            data: self.m_data.unwrap_or_default(),
            options: self.m_options.unwrap_or_default(),
            extra: self.m_extra,
            client_msg_id: self.m_client_msg_id,
            isremove: self.m_isremove.unwrap_or(0),
            create_time: self.m_create_time.unwrap_or(0),
        });
        let last_seq = self.last_seq.unwrap_or(0);
        ConversationRow {
            cursor: ListCursor {
                activity: self.activity,
                conv_key: self.conv_key.clone(),
            },
            conv_key: self.conv_key,
            peer_id: self.peer_id,
            name,
            avatar,
            read_seq: self.read_seq,
            last_seq,
            unread: self.unread,
            unread_more: last_seq > self.read_seq + UNREAD_WINDOW,
            muted: self.muted != 0,
            last,
        }
    }
}

/// The list statement `$sql` with its parameters bound: the caller, open parts only, where the
/// page starts, the unread window, the page's size.
macro_rules! list_query {
    ($sql:expr, $user:expr, $from:expr, $limit:expr) => {
        diesel::sql_query($sql.as_str())
            .bind::<BigInt, _>($user.0)
            .bind::<BigInt, _>(OPEN)
            .bind::<BigInt, _>($from.activity)
            .bind::<Text, _>($from.conv_key.as_str())
            .bind::<BigInt, _>(UNREAD_WINDOW)
            .bind::<BigInt, _>($limit)
    };
}

/// The list statement in `backend`'s parameter syntax.
fn list_sql(pg: bool) -> String {
    if pg {
        LIST.to_string()
    } else {
        LIST.replace('$', "?")
    }
}

impl Store {
    /// `user`'s conversations after `from`, newest activity first, at most `limit`: one
    /// statement (see the module doc).
    pub async fn conversations(
        &self,
        user: UserId,
        from: &ListCursor,
        limit: i64,
    ) -> Result<Vec<ConversationRow>, StoreError> {
        let pg = matches!(&*self.db, Db::Pg(_));
        let sql = list_sql(pg);
        let rows: Vec<Raw> = run!(self, |conn| Ok::<_, StoreError>(
            list_query!(sql, user, from, limit).load(conn).await?
        ))?;
        Ok(rows.into_iter().map(Raw::into_row).collect())
    }

    /// The plan the database makes for [`Store::conversations`], one line per step, for tests
    /// that hold the list to its indexes.
    pub async fn conversations_plan(&self, user: UserId) -> Result<Vec<String>, StoreError> {
        /// PostgreSQL's `EXPLAIN` names its one column `QUERY PLAN`; SQLite's `EXPLAIN QUERY
        /// PLAN` has the step in `detail`.
        #[derive(QueryableByName)]
        struct PgLine {
            #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
            line: String,
        }
        #[derive(QueryableByName)]
        struct SqliteLine {
            #[diesel(sql_type = Text)]
            detail: String,
        }
        let first = ListCursor::first();
        Ok(match &*self.db {
            Db::Pg(_) => {
                let sql = format!("EXPLAIN {}", list_sql(true));
                let lines: Vec<PgLine> = run!(self, |conn| Ok::<_, StoreError>(
                    list_query!(sql, user, first, 50i64).load(conn).await?
                ))?;
                lines.into_iter().map(|l| l.line).collect()
            }
            Db::Sqlite(..) => {
                let sql = format!("EXPLAIN QUERY PLAN {}", list_sql(false));
                let lines: Vec<SqliteLine> = run!(self, |conn| Ok::<_, StoreError>(
                    list_query!(sql, user, first, 50i64).load(conn).await?
                ))?;
                lines.into_iter().map(|l| l.detail).collect()
            }
        })
    }

    /// Sets `user`'s mute flag on conversation `conv`. A single chat without messages yet gets
    /// its position here (at 0: there is nothing before it); a group only ever has the position
    /// its join made, so `false` answers a user with no part in it.
    pub async fn set_muted(
        &self,
        user: UserId,
        conv: &str,
        muted: bool,
    ) -> Result<bool, StoreError> {
        let flag = i32::from(muted);
        let single = conv.starts_with("s:");
        run!(self, |conn| {
            let changed = diesel::update(
                conv_positions::table
                    .filter(conv_positions::user_id.eq(user))
                    .filter(conv_positions::conv_key.eq(conv))
                    .filter(conv_positions::until_seq.eq(OPEN)),
            )
            .set(conv_positions::muted.eq(flag))
            .execute(conn)
            .await?;
            if changed > 0 {
                return Ok(true);
            }
            if !single {
                return Ok(false);
            }
            diesel::insert_into(conv_positions::table)
                .values((
                    conv_positions::user_id.eq(user),
                    conv_positions::conv_key.eq(conv),
                    conv_positions::peer_id.eq(crate::conv::peer_of(user, conv)),
                    conv_positions::muted.eq(flag),
                ))
                .on_conflict((conv_positions::user_id, conv_positions::conv_key))
                .do_update()
                .set(conv_positions::muted.eq(flag))
                .execute(conn)
                .await?;
            Ok(true)
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sqlite_takes_the_same_text_with_numbered_question_marks() {
        let sql = super::list_sql(false);
        assert!(!sql.contains('$'));
        assert!(sql.contains("q.user_id = ?1"));
        assert!(sql.contains("LIMIT ?6"));
    }
}
