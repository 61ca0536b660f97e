//! Delivered positions as the realtime core moves them. History is the only copy of a message:
//! a user's offline backlog is every message of their conversations above their delivered
//! position there (`chatd-schema`'s `queries/positions.rs`). Nothing is written per message for
//! a user who is not connected; live delivery moves positions instead, and only as far as the
//! client has **confirmed** (SPEC §9.26): written to the kernel is not delivered.
//!
//! 1. every message frame carries its position ([`Pos`]: conversation and `seq`);
//! 2. a socket's outbox tracks, per conversation ([`Tracks`]), what it was handed and how much
//!    of it the client confirmed: after writing messages the socket sends a Ping with a fresh
//!    payload, and the Pong that answers it confirms every frame written before it (a client
//!    answers a Ping after reading what came before; RFC 6455 §5.5.3). A client that opted in
//!    to acks confirms by position instead, and its Pongs confirm nothing;
//! 3. the user's [`UserPositions`] (shared by the user's actor and its published socket list)
//!    gathers those into positions due: the highest confirmed, never past a message one of the
//!    user's sockets holds unconfirmed, nor past one a socket that ended never confirmed (unless
//!    another open socket was handed it too);
//! 4. [`flush`] writes them: the registry's flusher for every connected user every
//!    [`FLUSH_EVERY`], a user's actor when a socket ends, a replay before it reads the backlog.
//!
//! After a crash or a dropped connection a position may lag what the client has: the client
//! gets a message twice and de-duplicates it by `id` (SPEC §3); it never gets it zero times.
//!
//! A conversation is *behind* from a seq on when the user may lack messages from there that no
//! open socket was handed: the backlog found when the first socket connects, what a socket that
//! ended never confirmed. Confirmations there do not move its position until a socket that was
//! handed everything from that seq on is open (its own unconfirmed messages then hold the
//! position), or a replay has handed the backlog over. Until the backlog is known (just after
//! the first socket connects) every conversation counts as behind.
//!
//! With several nodes, a message another node routed before it heard that the user is here was
//! not sent to this node, yet later ones are: nothing moves until every node has acknowledged the
//! user's arrival and the backlog was learned after that ([`UserPositions::await_peers`],
//! [`UserPositions::confirm`]), so such a message is counted in the backlog.

use chatd_schema::{Store, StoreError, UserId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// How often connected users' positions are written.
pub const FLUSH_EVERY: Duration = Duration::from_secs(2);

/// The offline backlog's limits (SPEC §3): at most `cap` messages, none older than `max_age_ms`.
#[derive(Debug, Clone, Copy)]
pub struct OfflineConfig {
    pub cap: i64,
    pub max_age_ms: i64,
}

/// Where a message stands in its conversation.
#[derive(Debug, Clone)]
pub struct Pos {
    pub conv: Arc<str>,
    pub seq: i64,
}

#[path = "positions_tracks.rs"]
mod tracks;
pub use tracks::Taken;
pub(crate) use tracks::Tracks;

fn lookup(list: &[(Arc<str>, i64)], conv: &str) -> Option<i64> {
    list.iter().find(|(c, _)| **c == *conv).map(|(_, s)| *s)
}

fn raise(map: &mut HashMap<Arc<str>, i64>, conv: &Arc<str>, seq: i64) {
    let at = map.entry(conv.clone()).or_insert(seq);
    *at = (*at).max(seq);
}

#[derive(Debug, Default)]
struct State {
    /// The backlog at connect time is known (until then everything counts as behind).
    known: bool,
    /// Conversations where the user may lack messages from this seq on that no open socket
    /// was handed.
    behind: HashMap<Arc<str>, i64>,
    /// Positions to write, per conversation.
    due: HashMap<Arc<str>, i64>,
    /// Confirmed in conversations that do not move yet: they join `due` when they do.
    held: HashMap<Arc<str>, i64>,
    /// Other nodes may not know yet that the user is here: the epoch of the arrival waiting for
    /// their acknowledgement ([`UserPositions::await_peers`]).
    awaiting: Option<u64>,
    epochs: u64,
    /// Replays begun, and the number of the last one that handed the whole backlog over: a
    /// backlog learned before that replay read its own is out of date.
    replays: u64,
    caught: u64,
    /// Times the positions were forgotten: a backlog learned before is out of date.
    forgets: u64,
}

impl State {
    /// Whether confirmations in `conv` may move its position.
    fn moving(&self, conv: &str) -> bool {
        self.known && self.awaiting.is_none() && !self.behind.contains_key(conv)
    }

    /// A backlog read after replay number `replays` and forget number `forgets`: these
    /// conversations may lack messages from the seq given on.
    fn learned(&mut self, replays: u64, forgets: u64, behind: Vec<(String, i64)>) -> bool {
        if forgets != self.forgets {
            return false;
        }
        self.known = true;
        if self.caught <= replays {
            for (conv, low) in behind {
                let at = self.behind.entry(Arc::from(conv)).or_insert(low);
                *at = (*at).min(low);
            }
        }
        true
    }
}

/// One connected user's positions: shared by the user's actor, the published socket list (the
/// flusher reads it there) and replays.
#[derive(Debug, Default)]
pub struct UserPositions {
    state: Mutex<State>,
}

impl UserPositions {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The backlog at connect time: these conversations lack messages from the seq given on.
    pub fn known(&self, behind: Vec<(String, i64)>) {
        let mut st = self.lock();
        let (replays, forgets) = (st.replays, st.forgets);
        st.learned(replays, forgets, behind);
    }

    /// Reads which of `user`'s conversations have a backlog (messages since `since` above the
    /// position) and makes them behind. A replay that read the backlog after this began makes
    /// the answer out of date (it handed all of it over), and so does a forget. On a store error
    /// nothing moves until a replay: repeats at worst, never a loss.
    pub async fn learn(&self, store: &Store, user: UserId, since: i64) {
        let (replays, forgets) = {
            let st = self.lock();
            (st.replays, st.forgets)
        };
        match store.behind_convs(user, since).await {
            Ok(convs) => {
                self.lock().learned(replays, forgets, convs);
            }
            Err(e) => tracing::error!(user = %user, error = %e, "reading the backlog failed"),
        }
    }

    /// The conversations behind now, with the first seq the backlog may hold there; `None`
    /// while the backlog is not known (every conversation counts as behind then). What a new
    /// socket holds back until the backlog is handed over (`Outbox::hold_only`).
    pub fn behind_now(&self) -> Option<Vec<(Arc<str>, i64)>> {
        let st = self.lock();
        if !st.known || st.awaiting.is_some() {
            return None;
        }
        Some(st.behind.iter().map(|(c, s)| (c.clone(), *s)).collect())
    }

    /// The user just arrived on this node and other nodes may still route without them: nothing
    /// moves until [`UserPositions::confirm`] with the epoch returned here.
    pub fn await_peers(&self) -> u64 {
        let mut st = self.lock();
        st.epochs += 1;
        st.awaiting = Some(st.epochs);
        st.epochs
    }

    /// The arrival still waiting for other nodes, if any.
    pub fn awaiting_peers(&self) -> Option<u64> {
        self.lock().awaiting
    }

    /// Every node has acknowledged the arrival of `epoch`: learns the backlog now (a message
    /// routed without this node was stored before, so it is counted) and lets positions move.
    /// A later arrival (a new epoch) still waits for its own acknowledgement. On a store error
    /// nothing moves until the next confirmation.
    pub async fn confirm(&self, store: &Store, user: UserId, since: i64, epoch: u64) {
        let (replays, forgets) = {
            let st = self.lock();
            if st.awaiting != Some(epoch) {
                return;
            }
            (st.replays, st.forgets)
        };
        match store.behind_convs(user, since).await {
            Ok(convs) => {
                let mut st = self.lock();
                if st.learned(replays, forgets, convs) && st.awaiting == Some(epoch) {
                    st.awaiting = None;
                }
            }
            Err(e) => tracing::error!(user = %user, error = %e, "reading the backlog failed"),
        }
    }

    /// [`UserPositions::confirm`] once the backlog was read: these conversations are behind.
    pub fn confirmed(&self, epoch: u64, behind: Vec<(String, i64)>) {
        let mut st = self.lock();
        let (replays, forgets) = (st.replays, st.forgets);
        if st.learned(replays, forgets, behind) && st.awaiting == Some(epoch) {
            st.awaiting = None;
        }
    }

    /// Deliveries may have been lost on the way here (Redis went away between nodes): nothing
    /// moves until the backlog is learned again ([`UserPositions::learn`]). The caller also
    /// restarts the sockets' tracks (`Outbox::restart_positions`).
    pub fn forget(&self) {
        let mut st = self.lock();
        st.known = false;
        st.behind.clear();
        st.held.clear();
        st.forgets += 1;
    }

    /// A replay is about to read the backlog: its number, for [`UserPositions::caught_up`].
    pub fn replay_begins(&self) -> u64 {
        let mut st = self.lock();
        st.replays += 1;
        st.replays
    }

    /// Replay number `replay` handed the backlog over (`everything`: all of it, else only the
    /// conversations of `to`). The conversations of `to` move to the seq given at once (what the
    /// backlog's cap or a dropping pull left out counts as delivered); the others move as the
    /// client confirms what the replay handed it.
    pub fn caught_up(&self, to: &[(String, i64)], everything: bool, replay: u64) {
        let mut st = self.lock();
        if everything {
            st.known = true;
            st.behind.clear();
            st.caught = st.caught.max(replay);
        }
        for (conv, seq) in to {
            let conv: Arc<str> = Arc::from(conv.as_str());
            st.behind.remove(&conv);
            raise(&mut st.due, &conv, *seq);
        }
    }

    /// Merges what the user's sockets report and returns the positions to write now: the highest
    /// confirmed, never past a message one of them holds unconfirmed. `closed` reports come
    /// from sockets that ended: what they never confirmed makes its conversation behind, unless
    /// an open socket was handed it too.
    pub fn due(&self, open: Vec<Taken>, closed: Vec<Taken>) -> Vec<(String, i64)> {
        let mut st = self.lock();
        let first_open = |conv: &str| open.iter().filter_map(|t| lookup(&t.first, conv)).min();
        let covered = |conv: &str, low: i64| first_open(conv).is_some_and(|f| f <= low);
        let mut floor: Vec<(Arc<str>, i64)> = Vec::new();
        let mut floor_at =
            |conv: &Arc<str>, low: i64| match floor.iter_mut().find(|(c, _)| c == conv) {
                Some((_, s)) => *s = (*s).min(low),
                None => floor.push((conv.clone(), low)),
            };
        // What a socket that ended never confirmed, and no open socket was handed too.
        let mut gaps: Vec<(Arc<str>, i64)> = Vec::new();
        for t in &closed {
            for (conv, low) in &t.unconfirmed {
                if !covered(conv, *low) {
                    floor_at(conv, *low);
                    gaps.push((conv.clone(), *low));
                }
            }
        }
        for t in &open {
            for (conv, low) in &t.unconfirmed {
                floor_at(conv, *low);
            }
        }
        if st.known {
            // An open socket handed everything from the gap on: its own unconfirmed messages
            // hold the position from now on.
            st.behind.retain(|conv, low| !covered(conv, *low));
        }
        // Confirmations (below the gaps: the floor caps them) before the gaps make their
        // conversations behind.
        for t in open.iter().chain(&closed) {
            for (conv, seq) in &t.confirmed {
                if st.moving(conv) {
                    raise(&mut st.due, conv, *seq);
                } else {
                    raise(&mut st.held, conv, *seq);
                }
            }
        }
        for (conv, low) in gaps {
            let at = st.behind.entry(conv).or_insert(low);
            *at = (*at).min(low);
        }
        let ready: Vec<Arc<str>> = st.held.keys().filter(|c| st.moving(c)).cloned().collect();
        for conv in ready {
            if let Some(seq) = st.held.remove(&conv) {
                raise(&mut st.due, &conv, seq);
            }
        }
        let mut out = Vec::with_capacity(st.due.len());
        let State {
            due, held, behind, ..
        } = &mut *st;
        due.retain(|conv, seq| match lookup(&floor, conv) {
            Some(low) if low <= *seq => {
                out.push((conv.to_string(), low - 1));
                // The rest waits for its confirmation, or, behind, for the gap to be filled.
                if behind.contains_key(conv) {
                    raise(held, conv, *seq);
                    false
                } else {
                    true
                }
            }
            _ => {
                out.push((conv.to_string(), *seq));
                false
            }
        });
        out.retain(|(_, seq)| *seq > 0);
        out
    }

    /// Puts positions whose write failed back, to be tried again.
    pub fn retry(&self, failed: Vec<(String, i64)>) {
        let mut st = self.lock();
        for (conv, seq) in failed {
            raise(&mut st.due, &Arc::from(conv.as_str()), seq);
        }
    }
}

/// One user's share of a [`flush`]: what their open sockets report, and the reports of sockets
/// that just ended.
pub struct Report {
    pub user: UserId,
    pub positions: Arc<UserPositions>,
    pub open: Vec<Taken>,
    pub closed: Vec<Taken>,
}

/// The one way positions are written: works out each user's due positions from their sockets'
/// reports, writes them all in one call, and puts them back to be tried again if that fails
/// (the error is returned for the caller to report). Returns how many rows were written.
pub async fn flush(store: &Store, reports: Vec<Report>) -> Result<usize, StoreError> {
    let mut rows = Vec::new();
    let mut owners = Vec::new();
    for r in reports {
        let due = r.positions.due(r.open, r.closed);
        if !due.is_empty() {
            rows.extend(due.iter().map(|(conv, seq)| (r.user, conv.clone(), *seq)));
            owners.push((r.positions, due));
        }
    }
    if rows.is_empty() {
        return Ok(0);
    }
    match store.advance_positions(&rows).await {
        Ok(()) => Ok(rows.len()),
        Err(e) => {
            for (positions, due) in owners {
                positions.retry(due);
            }
            Err(e)
        }
    }
}

#[cfg(test)]
#[path = "positions_tests.rs"]
mod tests;
