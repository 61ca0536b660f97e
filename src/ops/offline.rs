//! The offline queue as clients see it: replay over WebSocket (`chatGetmessageOffLine`) and the
//! compact pull (`GET /api/message`).

use chatd_actors::wire::push::{compact_frame, Push};
use chatd_schema::UserId;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

use crate::error::ApiError;
use crate::state::AppState;

fn no_socket() -> ApiError {
    ApiError::bad(
        "no connected WebSocket: connect first, then fetch offline messages",
        "WebSocket 未连接，请先连接再获取离线消息",
    )
}

/// Pushes every queued message to the user's sockets in order (waiting for room in each socket's
/// queue), then removes what was pushed. With no socket the queue is kept. One replay per user
/// at a time.
pub async fn replay(app: &AppState, user_id: UserId) -> Result<(), ApiError> {
    // The user's actor hands out its sockets and the slot that runs the user's replays one at a
    // time: two replays at once would push the same entries twice.
    let slot = app
        .registry
        .replay_slot(user_id)
        .await
        .ok_or_else(no_socket)?;
    let _turn = slot.lock.lock().await;
    let sockets = slot.sockets;
    if sockets.is_empty() {
        return Err(no_socket());
    }
    let offline = &app.offline;
    let items = offline.peek(user_id, app.clock.now_ms()).await?;
    let now = app.clock.now_ms();
    let mut done = Vec::with_capacity(items.len());
    let mut live = sockets;
    for item in items {
        let Some(out) = Push::from_payload(&item.payload, now) else {
            done.push(item); // unreadable entries are dropped, not replayed forever
            continue;
        };
        let out = [Arc::new(out)];
        let mut still = Vec::with_capacity(live.len());
        for s in live {
            let pushed = s
                .outbox
                .push_waiting(&out, s.dialect, Duration::from_secs(10))
                .await;
            if pushed.is_ok() {
                still.push(s);
            }
        }
        live = still;
        if live.is_empty() {
            break;
        }
        done.push(item);
    }
    // A socket that dies later spills what it held back into the queue: nothing is lost.
    offline.remove(user_id, &done).await?;
    if live.is_empty() && done.is_empty() {
        return Err(no_socket());
    }
    Ok(())
}

/// `GET /api/message`: the queue in compact frames grouped by sender.
pub async fn pull_compact(
    app: &AppState,
    user_id: UserId,
    descending: bool,
    drop: bool,
    kind: &str,
) -> Result<Value, ApiError> {
    // While the user is connected, in turn with their replays (a pull that drops must not
    // overlap a replay of the same entries).
    let slot = app.registry.replay_slot(user_id).await;
    let _turn = match &slot {
        Some(slot) => Some(slot.lock.lock().await),
        None => None,
    };
    let offline = &app.offline;
    let items = offline.peek(user_id, app.clock.now_ms()).await?;
    let mut chosen = Vec::new();
    let mut frames: Vec<(i64, String, Value)> = Vec::new();
    for item in items {
        let Ok(m) = serde_json::from_str::<Value>(&item.payload) else {
            continue;
        };
        let is_group = m["chatType"] == "group";
        let wanted = match kind {
            "unicast" => !is_group,
            "multicast" => is_group,
            _ => true,
        };
        if !wanted {
            continue;
        }
        let sender = match &m["from_id"] {
            Value::Number(n) => n.to_string(),
            other => other.as_str().unwrap_or("0").to_string(),
        };
        let ts = m["create_time"].as_i64().unwrap_or(0);
        frames.push((ts, sender, compact_frame(&m)));
        chosen.push(item);
    }
    // Stable sort keeps queue order among equal timestamps.
    frames.sort_by_key(|(ts, _, _)| *ts);
    if descending {
        frames.reverse();
    }
    let mut groups: Vec<(String, Vec<Value>)> = Vec::new();
    for (_, sender, frame) in frames {
        match groups.iter_mut().find(|(s, _)| *s == sender) {
            Some((_, list)) => list.push(frame),
            None => groups.push((sender, vec![frame])),
        }
    }
    if drop {
        offline.remove(user_id, &chosen).await?;
    }
    Ok(Value::Array(
        groups
            .into_iter()
            .map(|(id, messages)| json!({"id": id, "messages": messages}))
            .collect(),
    ))
}
