//! Presence (issue 19, item 4): a user is online while any of their sockets on any node is open.
//! Their friends (both ways, neither blocking) who are online themselves are told of a change
//! with the rich frame `{"type":"presence","user_id","online","last_seen"}`, on the sockets that
//! asked for it (`presence=1` on `/ws`: a frame nobody asked for would arrive in the middle of
//! existing clients' conversations); friends connected nowhere cost nothing. A user whose `userset` says `"presence": 0` is never announced.
//!
//! Debounced: when the last socket closes, `users.last_seen` is written at once and the offline
//! frame waits [`PresenceConfig::debounce`]; a return before then announces nothing either way
//! (the stored `last_seen` is how a node that did not see the leave knows it was a flap). One
//! task per node, fed in order by the registry's table changes ([`Change`]); it never holds a
//! socket, a lock or the registry, and its store queries run off the delivery path.
//!
//! Across nodes, "online anywhere" is this node's table plus the directory of other nodes'
//! users, so the node a user leaves last is the one that announces it. A node killed with users
//! on it announces nothing for them (other nodes forget them silently); their `last_seen` stays
//! at their previous leave.

use chatd_schema::UserId;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::delivery::{Delivery, Target};
use crate::wire::push::Push;

/// How presence is announced.
#[derive(Debug, Clone, Copy)]
pub struct PresenceConfig {
    /// A reconnect within this long after the last socket closed is not an offline-online flap.
    pub debounce: Duration,
}

impl Default for PresenceConfig {
    fn default() -> Self {
        PresenceConfig {
            debounce: Duration::from_secs(10),
        }
    }
}

/// A change of this node's table: a user's first socket here opened, or their last one closed.
#[derive(Debug, Clone, Copy)]
pub enum Change {
    Arrived(UserId),
    Left(UserId),
}

/// Whether a `userset` JSON text hides its user's presence (`"presence": 0`, as a number or
/// text). Anything else, an unparsable text included, shows it.
pub fn hidden(userset: &str) -> bool {
    serde_json::from_str::<Value>(userset).ok().and_then(|v| {
        let p = v.get("presence")?;
        p.as_i64().or_else(|| p.as_str()?.trim().parse().ok())
    }) == Some(0)
}

/// Whether a user who left at `last_seen` still counts as online at `now` (their offline frame
/// is not due yet, so a return is a flap).
pub fn within_debounce(last_seen: Option<i64>, now: i64, debounce: Duration) -> bool {
    last_seen.is_some_and(|t| now - t < debounce.as_millis() as i64)
}

/// The frame friends get.
pub fn frame(user: UserId, online: bool, last_seen: Option<i64>) -> Value {
    json!({"type": "presence", "user_id": user.0, "online": online, "last_seen": last_seen})
}

/// Starts the node's presence task; the registry feeds it through `changes`.
pub fn spawn(delivery: Delivery, changes: mpsc::UnboundedReceiver<Change>, cfg: PresenceConfig) {
    tokio::spawn(run(delivery, changes, cfg));
}

/// Most changes handled as one batch (one `last_seen` statement for the leaves among them).
const BATCH: usize = 512;

async fn run(
    delivery: Delivery,
    mut changes: mpsc::UnboundedReceiver<Change>,
    cfg: PresenceConfig,
) {
    // Users whose offline frame is waiting: (when it is due, who, the last_seen written).
    // Deadlines are pushed in order, so the front is always the next due.
    let mut pending: VecDeque<(Instant, UserId, i64)> = VecDeque::new();
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let next_due = pending.front().map(|(at, _, _)| *at);
        tokio::select! {
            n = changes.recv_many(&mut batch, BATCH) => {
                if n == 0 {
                    return;
                }
                let mut leaves = Vec::new();
                for change in batch.drain(..) {
                    match change {
                        Change::Arrived(user) => {
                            // A leave earlier in this batch is written first: the arrival's
                            // flap check reads it.
                            let at = record_leaves(&delivery, &mut leaves).await;
                            queue(&mut pending, &mut leaves, at, cfg);
                            arrived(&delivery, user, cfg).await;
                        }
                        Change::Left(user) => leaves.push(user),
                    }
                }
                let at = record_leaves(&delivery, &mut leaves).await;
                queue(&mut pending, &mut leaves, at, cfg);
            },
            _ = sleep_until(next_due) => {
                let now = Instant::now();
                while pending.front().is_some_and(|(at, _, _)| *at <= now) {
                    if let Some((_, user, at)) = pending.pop_front() {
                        gone(&delivery, user, at).await;
                    }
                }
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Of `leaves`, keeps those not connected through another node and writes their `last_seen`
/// (one statement); answers the time written. One already back here is kept: their return is
/// queued behind this leave, and the `last_seen` written now is what makes it a flap.
async fn record_leaves(delivery: &Delivery, leaves: &mut Vec<UserId>) -> i64 {
    leaves.retain(|u| !delivery.online_elsewhere(*u));
    let now = delivery.clock().now_ms();
    if let Err(e) = delivery.store().set_last_seen(leaves, now).await {
        tracing::warn!(error = %e, users = leaves.len(), "presence: writing last_seen failed");
    }
    now
}

fn queue(
    pending: &mut VecDeque<(Instant, UserId, i64)>,
    leaves: &mut Vec<UserId>,
    at: i64,
    cfg: PresenceConfig,
) {
    let due = Instant::now() + cfg.debounce;
    pending.extend(leaves.drain(..).map(|u| (due, u, at)));
}

/// `user`'s friends who may see `user`'s presence and are connected with a socket that asked for
/// it (or through another node): usually none on a connect storm's accounts, and then this one
/// query is the whole cost of the change.
async fn online_audience(delivery: &Delivery, user: UserId) -> Vec<Target> {
    match delivery.store().presence_audience(user).await {
        Ok(a) => a
            .into_iter()
            .filter(|f| delivery.wants_presence(*f))
            .map(Target::recipient)
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, user = user.0, "presence: reading friends failed");
            Vec::new()
        }
    }
}

/// `user`'s settings text and last-seen time, or `None` (logged) when unreadable.
async fn facts(delivery: &Delivery, user: UserId) -> Option<(String, Option<i64>)> {
    match delivery.store().presence_of(user).await {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, user = user.0, "presence: reading the user failed");
            None
        }
    }
}

fn tell(delivery: &Delivery, targets: &[Target], frame: Value) {
    delivery.route(targets, &Arc::new(Push::presence(&frame.to_string())));
}

/// `user`'s first socket here opened: tells their online friends unless that is no change.
pub async fn arrived(delivery: &Delivery, user: UserId, cfg: PresenceConfig) {
    // Already online through another node: nothing changed for friends.
    if delivery.online_elsewhere(user) {
        return;
    }
    let targets = online_audience(delivery, user).await;
    if targets.is_empty() {
        return;
    }
    let Some((userset, last_seen)) = facts(delivery, user).await else {
        return;
    };
    if hidden(&userset) || within_debounce(last_seen, delivery.clock().now_ms(), cfg.debounce) {
        return;
    }
    tell(delivery, &targets, frame(user, true, None));
}

/// The debounce after `user` left at `at` has passed: announce it unless they came back (or
/// left again later, which its own wait announces).
async fn gone(delivery: &Delivery, user: UserId, at: i64) {
    if delivery.online_anywhere(user) {
        return;
    }
    let targets = online_audience(delivery, user).await;
    if targets.is_empty() {
        return;
    }
    match facts(delivery, user).await {
        Some((userset, last_seen)) if last_seen == Some(at) && !hidden(&userset) => {
            tell(delivery, &targets, frame(user, false, Some(at)));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presence_zero_hides_anything_else_shows() {
        assert!(hidden(r#"{"presence":0}"#));
        assert!(hidden(r#"{"presence":"0","chatset":{"user":1}}"#));
        assert!(!hidden(r#"{"presence":1}"#));
        assert!(!hidden(r#"{"chatset":{"visitor":0,"user":0}}"#));
        assert!(!hidden("not json"));
        assert!(!hidden(""));
    }

    #[test]
    fn a_return_within_the_debounce_is_a_flap() {
        let d = Duration::from_secs(10);
        assert!(within_debounce(Some(1_000), 10_999, d));
        assert!(!within_debounce(Some(1_000), 11_000, d));
        assert!(!within_debounce(None, 11_000, d));
    }

    #[test]
    fn the_frame_says_who_and_when() {
        assert_eq!(
            frame(UserId(7), false, Some(99)),
            json!({"type": "presence", "user_id": 7, "online": false, "last_seen": 99})
        );
    }
}
