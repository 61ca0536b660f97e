//! History of one conversation and sync across conversations (what makes "nothing lost"
//! checkable: a client that missed pushes can always catch up).

use chatd_actors::wire::message::message_json;
use chatd_schema::conv;
use serde_json::{json, Value};
use std::collections::HashMap;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::i18n::Msg;
use crate::ops::message::Peer;
use crate::state::AppState;

/// Newest first; `next_before_seq` continues the page, null at the end.
pub async fn history(
    app: &AppState,
    caller: &Caller,
    peer: Peer,
    before_seq: Option<i64>,
    limit: i64,
) -> Result<Value, ApiError> {
    let (key, since) = match peer {
        Peer::User(id) => (conv::single(caller.user_id, id), 0),
        Peer::Group(id) => {
            let member = app
                .store
                .group_member(id, caller.user_id)
                .await?
                .filter(|m| m.status == 1)
                .ok_or_else(|| {
                    ApiError::forbidden("you are not a member of this group", "你不是该群的成员")
                })?;
            (conv::group(id), member.joined_at)
        }
    };
    let rows = app.store.history(&key, before_seq, since, limit).await?;
    let next = if rows.len() as i64 == limit {
        rows.last().map(|r| r.seq)
    } else {
        None
    };
    let list: Vec<Value> = rows.iter().map(message_json).collect();
    Ok(json!({"list": list, "next_before_seq": next}))
}

/// `since` is a time in ms or a cursor from an earlier answer ("c<id>").
pub async fn sync(
    app: &AppState,
    caller: &Caller,
    since: Option<&str>,
    limit: i64,
) -> Result<Value, ApiError> {
    let (after_id, after_time) = match since.map(str::trim) {
        None | Some("") => (0, i64::MIN),
        Some(s) => match (s.strip_prefix('c'), s.parse::<i64>()) {
            (Some(id), _) => (id.parse::<i64>().map_err(|_| bad_since())?, i64::MIN),
            (None, Ok(ms)) => (0, ms),
            _ => return Err(bad_since()),
        },
    };
    let groups: HashMap<String, i64> = app
        .store
        .member_groups(caller.user_id)
        .await?
        .into_iter()
        .map(|(gid, joined)| (conv::group(gid), joined))
        .collect();
    let keys: Vec<String> = groups.keys().cloned().collect();
    let rows = app
        .store
        .sync_messages(caller.user_id, &keys, after_id, after_time, limit)
        .await?;
    let cursor = match rows.last() {
        Some(r) => format!("c{}", r.id),
        None if after_id > 0 => format!("c{after_id}"),
        None => since.filter(|s| !s.is_empty()).unwrap_or("c0").to_string(),
    };
    let list: Vec<Value> = rows
        .iter()
        .filter(|r| {
            groups
                .get(&r.conv_key)
                .is_none_or(|joined| r.create_time >= *joined)
        })
        .map(message_json)
        .collect();
    Ok(json!({"list": list, "cursor": cursor}))
}

fn bad_since() -> ApiError {
    ApiError::Invalid(Msg::new(
        "since must be a time in milliseconds or a cursor",
        "since 必须是毫秒时间或游标",
    ))
}
