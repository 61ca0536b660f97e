//! Typing indicators (issue 19, item 3): a rich client's `{"type":"typing","chatType","id"}` is
//! relayed to the peer of a single chat, or to a group's connected members through the group's
//! actor, as a rich-only frame that is never stored, never queued offline and never sent to
//! someone who blacklisted the sender (or, in a single chat, whom the sender blacklisted). At
//! most one relay per sender and conversation every [`TYPING_EVERY_MS`]; more are dropped.

use chatd_actors::group::FanoutItem;
use chatd_actors::wire::push::Push;
use chatd_actors::Target;
use chatd_schema::UserId;
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::ops::message::Peer;
use crate::ops::send::group_send_facts;
use crate::state::AppState;

/// The shortest time between two relays of one sender's typing in one conversation.
pub const TYPING_EVERY_MS: i64 = 3_000;
/// Entries the limiter keeps before it forgets the expired ones.
const LIMITER_SWEEP_AT: usize = 4_096;

/// When each (sender, conversation) was last relayed. Per node: with several nodes a user typing
/// on two devices connected to two nodes may be relayed once per node.
#[derive(Default)]
pub struct TypingLimiter(Mutex<HashMap<(UserId, i64, bool), i64>>);

impl TypingLimiter {
    /// Whether a relay is allowed now (and notes it).
    fn allow(&self, key: (UserId, i64, bool), now: i64) -> bool {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= LIMITER_SWEEP_AT {
            map.retain(|_, at| now - *at < TYPING_EVERY_MS);
        }
        match map.get(&key) {
            Some(at) if now - *at < TYPING_EVERY_MS => false,
            _ => {
                map.insert(key, now);
                true
            }
        }
    }
}

/// Relays the caller's typing in `peer`'s conversation. `Ok(false)` when rate limited (dropped,
/// not an error: clients send these freely).
pub async fn typing(app: &AppState, caller: &Caller, peer: Peer) -> Result<bool, ApiError> {
    let (group, id) = match peer {
        Peer::User(u) => (false, u.0),
        Peer::Group(g) => (true, g.0),
    };
    if !app
        .typing
        .allow((caller.user_id, id, group), app.clock.now_ms())
    {
        return Ok(false);
    }
    match peer {
        Peer::User(other) => {
            if other == caller.user_id || app.store.blocked_either(caller.user_id, other).await? {
                return Ok(false);
            }
            let frame = json!({"type": "typing", "chatType": "single", "id": caller.user_id.0,
                "user_id": caller.user_id.0});
            app.delivery.route(
                &[Target::recipient(other)],
                &Arc::new(Push::rich_only(&frame.to_string())),
            );
        }
        Peer::Group(gid) => {
            let facts = group_send_facts(app, gid, caller.user_id).await?;
            let frame = json!({"type": "typing", "chatType": "group", "id": gid.0,
                "user_id": caller.user_id.0});
            let item = FanoutItem {
                out: Arc::new(Push::rich_only(&frame.to_string())),
                sender: caller.user_id,
                sender_sid: Some(caller.sid.clone()),
                exclude: facts.blockers.clone(),
                also: Vec::new(),
            };
            app.registry.group(gid).await?.fan_out(vec![item]).await;
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_relay_per_sender_and_conversation_every_three_seconds() {
        let l = TypingLimiter::default();
        let k = (UserId(1), 2, false);
        assert!(l.allow(k, 10_000));
        assert!(!l.allow(k, 12_999));
        assert!(
            l.allow((UserId(1), 2, true), 12_999),
            "the group 2 is another conversation"
        );
        assert!(l.allow((UserId(3), 2, false), 12_999), "another sender");
        assert!(l.allow(k, 13_000));
    }
}
