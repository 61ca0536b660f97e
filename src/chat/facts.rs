//! What a group send needs to know about its sender and group (the group is active, the sender is
//! an active member and an active user, who blacklisted the sender, the names and avatars the
//! message carries), cached per (group, sender). A burst of messages from one sender then costs
//! no store reads before the writer. An entry is valid while the store's generation is the one
//! it was read at: any write to users, groups, members or friendships refreshes every entry.
//! Refusals are never cached: they re-read the store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::app::AppState;
use crate::chat::groups::{active_group, active_member, group_ref, member_avatar, member_name};
use crate::chat::send::active_sender;
use crate::error::ApiError;

/// Past this many entries the cache starts over (a bound, not an eviction policy: senders with
/// bursts refill it at once).
const MAX_ENTRIES: usize = 65_536;

#[derive(Debug)]
pub struct GroupSendFacts {
    pub group_id: i64,
    pub sender_id: i64,
    pub from_name: String,
    pub from_avatar: String,
    pub to_name: String,
    pub to_avatar: String,
    /// The message's `extra` JSON (the group reference clients show).
    pub extra: String,
    /// Members who blacklisted the sender: they do not get the message.
    pub blockers: Vec<i64>,
}

/// (group, sender) → the generation the facts were read at, and the facts.
type Entries = HashMap<(i64, i64), (u64, Arc<GroupSendFacts>)>;

#[derive(Default)]
pub struct FactsCache {
    entries: Mutex<Entries>,
}

impl FactsCache {
    fn get(&self, key: (i64, i64), generation: u64) -> Option<Arc<GroupSendFacts>> {
        let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&key)
            .filter(|(g, _)| *g == generation)
            .map(|(_, f)| f.clone())
    }

    fn put(&self, key: (i64, i64), generation: u64, facts: Arc<GroupSendFacts>) {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(key, (generation, facts));
    }
}

/// The facts for `sender` sending to `group_id`, or the refusal (no such group, not a member,
/// sender disabled).
pub async fn group_send_facts(
    app: &AppState,
    group_id: i64,
    sender: i64,
) -> Result<Arc<GroupSendFacts>, ApiError> {
    // Read before the rows: a write landing in between moves it on, so what is cached under it
    // can be stale only until the next lookup.
    let generation = app.store.generation();
    if let Some(f) = app.send_facts.get((group_id, sender), generation) {
        return Ok(f);
    }
    let group = active_group(app.store.group_by_id(group_id).await?)?;
    let member = active_member(app, group.id, sender).await?;
    let user = active_sender(app, sender).await?;
    let blockers = app.store.blockers_of(user.id).await?;
    let facts = Arc::new(GroupSendFacts {
        group_id: group.id,
        sender_id: user.id,
        from_name: member_name(Some(&member), &user),
        from_avatar: member_avatar(Some(&member), &user),
        to_name: group.name.clone(),
        to_avatar: group.avatar.clone(),
        extra: serde_json::json!({"group": group_ref(&group)}).to_string(),
        blockers,
    });
    app.send_facts
        .put((group_id, sender), generation, facts.clone());
    Ok(facts)
}
