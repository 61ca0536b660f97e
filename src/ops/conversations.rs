//! The conversation list and mute (issue 19, items 1 and 5): every single chat and group the
//! caller takes part in, newest activity first, with the last message they may see, their read
//! position and unread count, paged by an opaque cursor; and a per-user mute flag that changes
//! nothing but the flag (muted conversations still count unread; clients silence them).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chatd_actors::wire::message::message_json;
use chatd_actors::wire::push::Push;
use chatd_actors::Target;
use chatd_schema::{ConversationRow, ListCursor};
use serde_json::{json, Value};
use std::sync::Arc;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::ops::message::Peer;
use crate::ops::reads::{chat_type, conversation};
use crate::state::AppState;

/// The cursor a client gets back: opaque to it, the next page's start to us.
pub fn encode_cursor(c: &ListCursor) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{}", c.activity, c.conv_key))
}

/// A cursor this server made, or a clear error (never a page from a forged key's elsewhere: the
/// list is always the caller's own rows, the cursor only says where to start).
pub fn decode_cursor(s: &str) -> Result<ListCursor, ApiError> {
    let bad = || ApiError::bad("cursor is not one this server gave", "cursor 无效");
    let text = URL_SAFE_NO_PAD
        .decode(s.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(bad)?;
    let (activity, key) = text.split_once(':').ok_or_else(bad)?;
    let activity: i64 = activity.parse().map_err(|_| bad())?;
    if activity < 0 || !(key.starts_with("s:") || key.starts_with("g:")) || key.len() > 64 {
        return Err(bad());
    }
    Ok(ListCursor {
        activity,
        conv_key: key.to_string(),
    })
}

fn row_json(row: &ConversationRow) -> Value {
    let group = row.conv_key.starts_with("g:");
    json!({
        "chatType": if group { "group" } else { "single" },
        "id": row.peer_id,
        "name": row.name,
        "avatar": row.avatar,
        "last_message": row.last.as_ref().map(message_json),
        "last_seq": row.last_seq,
        "read_seq": row.read_seq,
        "unread": row.unread,
        "unread_more": row.unread_more,
        "muted": row.muted,
        "update_time": row.last.as_ref().map(|m| m.create_time),
    })
}

/// GET /api/chat/conversations: a page of the caller's conversations and where the next starts.
pub async fn list(
    app: &AppState,
    caller: &Caller,
    cursor: Option<&str>,
    limit: i64,
) -> Result<Value, ApiError> {
    let from = match cursor.map(str::trim) {
        None | Some("") => ListCursor::first(),
        Some(c) => decode_cursor(c)?,
    };
    let rows = app
        .store
        .conversations(caller.user_id, &from, limit)
        .await?;
    let next = if rows.len() as i64 == limit {
        rows.last().map(|r| encode_cursor(&r.cursor))
    } else {
        None
    };
    let list: Vec<Value> = rows.iter().map(row_json).collect();
    Ok(json!({"list": list, "next_cursor": next}))
}

/// POST /api/chat/mute: sets the caller's mute flag on a conversation (a group only while a
/// member; a single chat with any existing user) and tells the caller's other devices.
pub async fn mute(
    app: &AppState,
    caller: &Caller,
    peer: Peer,
    muted: bool,
) -> Result<Value, ApiError> {
    if let Peer::User(u) = peer {
        app.store
            .user_by_id(u)
            .await?
            .ok_or_else(|| ApiError::not_found("no such user", "用户不存在"))?;
    }
    let key = conversation(app, caller, &peer).await?;
    if !app.store.set_muted(caller.user_id, &key, muted).await? {
        return Err(ApiError::forbidden(
            "you are not a member of this group",
            "你不是该群的成员",
        ));
    }
    let (kind, id) = chat_type(&peer);
    let sync = json!({"type": "muteSync", "chatType": kind, "id": id, "muted": muted});
    app.delivery.route(
        &[Target::other_devices(
            caller.user_id,
            Some(caller.sid.clone()),
        )],
        &Arc::new(Push::rich_only(&sync.to_string())),
    );
    Ok(json!({"chatType": kind, "id": id, "muted": muted}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_comes_back_as_it_went() {
        let c = ListCursor {
            activity: 912,
            conv_key: "s:3:17".into(),
        };
        assert_eq!(decode_cursor(&encode_cursor(&c)).ok(), Some(c));
    }

    #[test]
    fn a_forged_cursor_is_refused() {
        for bad in [
            "",
            "!!",
            "bm9wZQ",
            &URL_SAFE_NO_PAD.encode("x:s:1:2"),
            &URL_SAFE_NO_PAD.encode("-1:s:1:2"),
            &URL_SAFE_NO_PAD.encode("5:users"),
        ] {
            assert!(decode_cursor(bad).is_err(), "{bad}");
        }
    }
}
