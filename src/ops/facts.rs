//! The cache of what a group send needs to know about its sender and group (the group is active, the sender is
//! an active member and an active user, who blacklisted the sender, the names and avatars the
//! message carries), cached per (group, sender). A burst of messages from one sender then costs
//! no store reads before the writer. An entry is valid while the store's generation is the one
//! it was read at: any write to users, groups, members or friendships refreshes every entry.
//! Refusals are never cached: they re-read the store.

use chatd_schema::{GroupId, UserId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Past this many entries the cache starts over (a bound, not an eviction policy: senders with
/// bursts refill it at once).
const MAX_ENTRIES: usize = 65_536;

#[derive(Debug)]
pub struct GroupSendFacts {
    pub group_id: GroupId,
    pub sender_id: UserId,
    pub from_name: String,
    pub from_avatar: String,
    pub to_name: String,
    pub to_avatar: String,
    /// The message's `extra` JSON (the group reference clients show).
    pub extra: String,
    /// Members who blacklisted the sender: they do not get the message.
    pub blockers: Vec<UserId>,
}

/// (group, sender) → the generation the facts were read at, and the facts.
type Entries = HashMap<(GroupId, UserId), (u64, Arc<GroupSendFacts>)>;

#[derive(Default)]
pub struct FactsCache {
    entries: Mutex<Entries>,
}

impl FactsCache {
    pub(crate) fn get(
        &self,
        key: (GroupId, UserId),
        generation: u64,
    ) -> Option<Arc<GroupSendFacts>> {
        let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&key)
            .filter(|(g, _)| *g == generation)
            .map(|(_, f)| f.clone())
    }

    pub(crate) fn put(&self, key: (GroupId, UserId), generation: u64, facts: Arc<GroupSendFacts>) {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(key, (generation, facts));
    }
}
