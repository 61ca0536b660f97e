//! Read positions and receipts (issue 19, item 2): a user's read position per conversation
//! moves forward only; the user's other devices hear of it (`readSync`), the peer of a single
//! chat gets a receipt, and a group answers how many of its members have read a message on
//! request (one read never becomes a frame per member). Rich clients only: seed 003 clients are
//! never sent frame types they do not know.

use chatd_actors::wire::push::Push;
use chatd_actors::Target;
use chatd_schema::conv;
use serde_json::{json, Value};
use std::sync::Arc;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::ops::message::Peer;
use crate::state::AppState;

/// Groups up to this size answer who has read, not only how many.
pub const RECEIPT_NAMES_UP_TO: i64 = 500;

pub(crate) fn chat_type(peer: &Peer) -> (&'static str, i64) {
    match peer {
        Peer::User(u) => ("single", u.0),
        Peer::Group(g) => ("group", g.0),
    }
}

/// The conversation key of `peer` as `caller` sees it; a group only for a current member.
pub(crate) async fn conversation(
    app: &AppState,
    caller: &Caller,
    peer: &Peer,
) -> Result<String, ApiError> {
    match peer {
        Peer::User(u) => Ok(conv::single(caller.user_id, *u)),
        Peer::Group(g) => {
            app.store
                .group_member(*g, caller.user_id)
                .await?
                .filter(|m| m.status == 1)
                .ok_or_else(|| {
                    ApiError::forbidden("you are not a member of this group", "你不是该群的成员")
                })?;
            Ok(conv::group(*g))
        }
    }
}

/// Moves the caller's read position in `peer`'s conversation to `seq` (never back, never past
/// the last message) and tells who should know. Answers the read position now.
pub async fn mark_read(
    app: &AppState,
    caller: &Caller,
    peer: Peer,
    seq: i64,
) -> Result<Value, ApiError> {
    if seq < 1 {
        return Err(ApiError::bad(
            "seq must be at least 1",
            "seq 必须大于等于 1",
        ));
    }
    let key = conversation(app, caller, &peer).await?;
    let (read_seq, moved) = app
        .store
        .advance_read(caller.user_id, &key, seq)
        .await?
        .ok_or_else(|| ApiError::not_found("no such conversation", "会话不存在"))?;
    let (kind, id) = chat_type(&peer);
    if moved {
        let sync = json!({"type": "readSync", "chatType": kind, "id": id, "seq": read_seq});
        app.delivery.route(
            &[Target::other_devices(
                caller.user_id,
                Some(caller.sid.clone()),
            )],
            &Arc::new(Push::rich_only(&sync.to_string())),
        );
        if let Peer::User(other) = peer {
            if other != caller.user_id && !app.store.blocked_either(caller.user_id, other).await? {
                let receipt = json!({"type": "receipt", "chatType": "single",
                    "id": caller.user_id.0, "seq": read_seq, "user_id": caller.user_id.0});
                app.delivery.route(
                    &[Target::recipient(other)],
                    &Arc::new(Push::rich_only(&receipt.to_string())),
                );
            }
        }
    }
    Ok(json!({"chatType": kind, "id": id, "read_seq": read_seq}))
}

/// How many current members of group `peer` have read up to `seq`, and who when the group has
/// at most [`RECEIPT_NAMES_UP_TO`] members. Single chats: whether the peer has.
pub async fn receipts(
    app: &AppState,
    caller: &Caller,
    peer: Peer,
    seq: i64,
) -> Result<Value, ApiError> {
    let key = conversation(app, caller, &peer).await?;
    let (count, total, who) = app
        .store
        .read_receipts(&key, seq, RECEIPT_NAMES_UP_TO)
        .await?;
    let users: Option<Vec<i64>> = who.map(|w| w.into_iter().map(|u| u.0).collect());
    let (kind, id) = chat_type(&peer);
    Ok(
        json!({"chatType": kind, "id": id, "seq": seq, "count": count, "members": total,
        "users": users}),
    )
}
