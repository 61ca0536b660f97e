//! The offline backlog as clients see it: replay over WebSocket (`chatGetmessageOffLine`) and the
//! compact pull (`GET /api/message`). The backlog is not a copy: it is every message of the
//! user's conversations above their delivered position (SPEC §3; `chatd-actors`' `positions`).
//! A replay pushes it, and the positions move as the client confirms what it was handed (SPEC
//! §9.26); a dropping pull moves them as it answers.

use chatd_actors::positions::{self, Report};
use chatd_actors::user::ReplaySlot;
use chatd_actors::wire::message::message_json;
use chatd_actors::wire::push::{compact_frame, Push};
use chatd_schema::models::MessageRow;
use chatd_schema::UserId;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
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

/// The backlog: its messages (the newest `cap`, oldest first) and, per conversation, the last
/// seq it reaches (beyond the cap too: what the cap leaves out counts as sent).
struct Backlog {
    rows: Vec<MessageRow>,
    ends: HashMap<String, i64>,
}

/// Writes what the user's clients have confirmed so far (so the backlog leaves it out), then
/// reads the backlog.
async fn read_backlog(
    app: &AppState,
    user: UserId,
    slot: Option<&ReplaySlot>,
) -> Result<Backlog, ApiError> {
    if let Some(slot) = slot {
        let report = Report {
            user,
            positions: slot.positions.clone(),
            open: slot
                .sockets
                .iter()
                .map(|s| s.outbox.take_positions())
                .collect(),
            closed: Vec::new(),
        };
        if let Err(e) = positions::flush(&app.store, vec![report]).await {
            // The backlog then holds a few messages already delivered: repeats, never losses.
            tracing::warn!(user = %user, error = %e, "writing delivered positions failed");
        }
    }
    let since = app.clock.now_ms() - app.offline.max_age_ms;
    let mut ends: HashMap<String, i64> = app
        .store
        .backlog_convs(user, since)
        .await?
        .into_iter()
        .collect();
    let rows = app.store.backlog(user, since, app.offline.cap).await?;
    for r in &rows {
        let end = ends.entry(r.conv_key.clone()).or_insert(r.seq);
        *end = (*end).max(r.seq);
    }
    Ok(Backlog { rows, ends })
}

/// Pushes the backlog to the user's sockets in order (waiting for room in each socket's queue);
/// the positions move as the client confirms what it was handed. With no socket the backlog
/// stays. One replay per user at a time.
pub async fn replay(app: &AppState, user_id: UserId) -> Result<(), ApiError> {
    // The user's actor hands out its sockets and the slot that runs the user's replays one at a
    // time: two replays at once would push the same messages twice.
    let slot = app
        .registry
        .replay_slot(user_id)
        .await
        .ok_or_else(no_socket)?;
    let _turn = slot.lock.lock().await;
    if slot.sockets.is_empty() {
        return Err(no_socket());
    }
    let replay = slot.positions.replay_begins();
    let backlog = read_backlog(app, user_id, Some(&slot)).await?;
    let now = app.clock.now_ms();
    let mut live = slot.sockets.clone();
    for row in &backlog.rows {
        let out =
            Push::message(&message_json(row), now).at(Arc::from(row.conv_key.as_str()), row.seq);
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
            // Whatever was not written stays above the positions, for the next replay.
            return Err(no_socket());
        }
    }
    // Live messages held back for the backlog follow it now (those it had are left out).
    let ends: Vec<(String, i64)> = backlog.ends.into_iter().collect();
    for s in &live {
        if s.outbox.release(&ends, true).is_err() {
            s.control.close(1013);
        }
    }
    // Conversations the cap left out entirely count as delivered; the others move as the
    // client confirms what it was handed.
    let replayed: HashSet<&str> = backlog.rows.iter().map(|r| r.conv_key.as_str()).collect();
    let cut: Vec<(String, i64)> = ends
        .iter()
        .filter(|(conv, _)| !replayed.contains(conv.as_str()))
        .cloned()
        .collect();
    slot.positions.caught_up(&cut, true, replay);
    chatd_actors::metrics::replayed(backlog.rows.len());
    Ok(())
}

/// `GET /api/message`: the backlog in compact frames grouped by sender; `drop` moves the
/// positions past what it returned.
pub async fn pull_compact(
    app: &AppState,
    user_id: UserId,
    descending: bool,
    drop: bool,
    kind: &str,
) -> Result<Value, ApiError> {
    // While the user is connected, in turn with their replays (a pull that drops must not
    // overlap a replay of the same messages).
    let slot = app.registry.replay_slot(user_id).await;
    let _turn = match &slot {
        Some(slot) => Some(slot.lock.lock().await),
        None => None,
    };
    // Numbered before it reads, like a replay, when it will move positions.
    let replay = slot
        .as_ref()
        .filter(|_| drop)
        .map(|s| s.positions.replay_begins());
    let backlog = read_backlog(app, user_id, slot.as_ref()).await?;
    let wanted = |conv: &str| match kind {
        "unicast" => conv.starts_with("s:"),
        "multicast" => conv.starts_with("g:"),
        _ => true,
    };
    let mut frames: Vec<(i64, String, Value)> = Vec::new();
    chatd_actors::metrics::replayed(backlog.rows.iter().filter(|r| wanted(&r.conv_key)).count());
    for row in backlog.rows.iter().filter(|r| wanted(&r.conv_key)) {
        frames.push((
            row.create_time,
            row.from_id.to_string(),
            compact_frame(&message_json(row)),
        ));
    }
    // Stable sort keeps acceptance order among equal timestamps.
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
        let moved: Vec<(String, i64)> = backlog
            .ends
            .into_iter()
            .filter(|(conv, _)| wanted(conv))
            .collect();
        let rows: Vec<_> = moved
            .iter()
            .map(|(c, s)| (user_id, c.clone(), *s))
            .collect();
        app.store.advance_positions(&rows).await?;
        if let (Some(slot), Some(replay)) = (&slot, replay) {
            slot.positions.caught_up(&moved, kind == "all", replay);
            // Live messages held back for what this answer carries follow it.
            for s in &slot.sockets {
                if s.outbox.release(&moved, kind == "all").is_err() {
                    s.control.close(1013);
                }
            }
        }
    }
    Ok(Value::Array(
        groups
            .into_iter()
            .map(|(id, messages)| json!({"id": id, "messages": messages}))
            .collect(),
    ))
}
