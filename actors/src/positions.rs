//! Delivered positions as the realtime core moves them (issue 21). History is the only copy of a
//! message: a user's offline backlog is every message of their conversations above their
//! delivered position there (`chatd-schema`'s `queries/positions.rs`). Nothing is written per
//! message for a user who is not connected; live delivery moves positions instead:
//!
//! 1. every message frame carries its position ([`Pos`]: conversation and `seq`);
//! 2. a socket's outbox notes the highest position it was handed per conversation ([`Sent`]),
//!    and knows the lowest one still queued (not yet in the kernel);
//! 3. the user's [`UserPositions`] (shared by the user's actor and its published socket list)
//!    gathers those into positions due, never past a message still queued on any of the user's
//!    sockets, nor past one a closed socket never wrote;
//! 4. the registry's flusher writes every connected user's due positions in one transaction every
//!    [`FLUSH_EVERY`]; a user's actor writes its own when its last socket ends; shutdown writes
//!    everything once more.
//!
//! After a crash a position may lag what was delivered: the client gets a message twice and
//! de-duplicates it by `id` (SPEC §3); it never gets it zero times.
//!
//! A conversation where the user had a backlog when they connected is *behind*: live pushes
//! there do not move its position (the messages below them have not been sent) until a replay
//! or a dropping pull has sent the backlog ([`UserPositions::caught_up`]). Until the backlog is
//! known (just after the first socket connects) every conversation counts as behind.
//!
//! With several nodes, a message another node routed before it heard that the user is here was
//! not sent to this node, yet later ones are: nothing moves until every node has acknowledged the
//! user's arrival and the backlog was learned after that ([`UserPositions::await_peers`],
//! [`UserPositions::confirm`]), so such a message is counted in the backlog.

use smallvec::SmallVec;
use std::collections::{HashMap, HashSet};
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

/// Per conversation, the highest `seq` handed to one socket since last taken. Most sockets see
/// one or two conversations between flushes, so a short list beats a map; the first entry is
/// held inline, in the outbox's own memory, because a large fan-out notes a position for every
/// socket it writes and a separate buffer would cost each of them one more cache miss.
#[derive(Debug, Default)]
pub(crate) struct Sent(SmallVec<[(Arc<str>, i64); 1]>);

impl Sent {
    pub(crate) fn note(&mut self, pos: &Pos) {
        note_max(&mut self.0, pos);
    }

    pub(crate) fn take(&mut self) -> Vec<(Arc<str>, i64)> {
        std::mem::take(&mut self.0).into_vec()
    }
}

/// Raises `list`'s entry for `pos.conv` to `pos.seq` (adding it if missing).
fn note_max(list: &mut SmallVec<[(Arc<str>, i64); 1]>, pos: &Pos) {
    // The conversation just noted is the likeliest: look from the end, pointer first.
    for (conv, seq) in list.iter_mut().rev() {
        if Arc::ptr_eq(conv, &pos.conv) || **conv == *pos.conv {
            *seq = (*seq).max(pos.seq);
            return;
        }
    }
    list.push((pos.conv.clone(), pos.seq));
}

/// Lowers `list`'s entry for `pos.conv` to `pos.seq` (adding it if missing).
pub(crate) fn note_min(list: &mut Vec<(Arc<str>, i64)>, pos: &Pos) {
    for (conv, seq) in list.iter_mut().rev() {
        if Arc::ptr_eq(conv, &pos.conv) || **conv == *pos.conv {
            *seq = (*seq).min(pos.seq);
            return;
        }
    }
    list.push((pos.conv.clone(), pos.seq));
}

/// What one outbox reports when its positions are taken.
#[derive(Debug, Default)]
pub struct Taken {
    /// Highest seq handed to the socket, per conversation.
    pub sent: Vec<(Arc<str>, i64)>,
    /// Lowest seq not yet written, per conversation (still queued, or refused).
    pub unwritten: Vec<(Arc<str>, i64)>,
}

#[derive(Debug, Default)]
struct State {
    /// The backlog at connect time is known (until then everything counts as behind).
    known: bool,
    behind: HashSet<Arc<str>>,
    /// Positions to write, per conversation.
    due: HashMap<Arc<str>, i64>,
    /// Other nodes may not know yet that the user is here: the epoch of the arrival waiting for
    /// their acknowledgement ([`UserPositions::await_peers`]).
    awaiting: Option<u64>,
    epochs: u64,
}

impl State {
    /// Whether live pushes in `conv` may move its position.
    fn moving(&self, conv: &Arc<str>) -> bool {
        self.known && self.awaiting.is_none() && !self.behind.contains(conv)
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

    /// The backlog at connect time: these conversations are behind.
    pub fn known(&self, behind: Vec<String>) {
        let mut st = self.lock();
        st.known = true;
        st.behind.extend(behind.into_iter().map(Arc::from));
    }

    /// Reads which of `user`'s conversations have a backlog (messages since `since` above the
    /// position) and makes them behind ([`UserPositions::known`]). On a store error nothing
    /// moves until a replay: repeats at worst, never a loss.
    pub async fn learn(&self, store: &chatd_schema::Store, user: chatd_schema::UserId, since: i64) {
        match store.behind_convs(user, since).await {
            Ok(convs) => self.known(convs),
            Err(e) => tracing::error!(user = %user, error = %e, "reading the backlog failed"),
        }
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
    /// nothing moves until the next confirmation or a replay.
    pub async fn confirm(
        &self,
        store: &chatd_schema::Store,
        user: chatd_schema::UserId,
        since: i64,
        epoch: u64,
    ) {
        if self.awaiting_peers() != Some(epoch) {
            return;
        }
        match store.behind_convs(user, since).await {
            Ok(convs) => self.confirmed(epoch, convs),
            Err(e) => tracing::error!(user = %user, error = %e, "reading the backlog failed"),
        }
    }

    /// [`UserPositions::confirm`] once the backlog was read: these conversations are behind.
    pub fn confirmed(&self, epoch: u64, behind: Vec<String>) {
        let mut st = self.lock();
        st.known = true;
        st.behind.extend(behind.into_iter().map(Arc::from));
        if st.awaiting == Some(epoch) {
            st.awaiting = None;
        }
    }

    /// Deliveries may have been lost on the way here (Redis went away between nodes): nothing
    /// moves until the backlog is learned again ([`UserPositions::known`]).
    pub fn forget(&self) {
        let mut st = self.lock();
        st.known = false;
        st.behind.clear();
    }

    /// A replay or a dropping pull sent everything up to `to` in these conversations.
    pub fn caught_up(&self, to: &[(String, i64)], everything: bool) {
        let mut st = self.lock();
        if everything {
            st.known = true;
            st.behind.clear();
        }
        for (conv, seq) in to {
            let conv: Arc<str> = Arc::from(conv.as_str());
            st.behind.remove(&conv);
            let due = st.due.entry(conv).or_insert(*seq);
            *due = (*due).max(*seq);
        }
    }

    /// Merges what the user's sockets report and returns the positions to write now: nothing past
    /// a message still unwritten on any socket. `closed` reports come from sockets that ended:
    /// what they never wrote makes its conversation behind.
    pub fn due(&self, open: Vec<Taken>, closed: Vec<Taken>) -> Vec<(String, i64)> {
        let mut st = self.lock();
        let mut floor: Vec<(Arc<str>, i64)> = Vec::new();
        for t in open.iter().chain(&closed) {
            for (conv, seq) in &t.unwritten {
                note_min(
                    &mut floor,
                    &Pos {
                        conv: conv.clone(),
                        seq: *seq,
                    },
                );
            }
        }
        for t in open.iter().chain(&closed) {
            for (conv, seq) in &t.sent {
                if !st.moving(conv) {
                    continue;
                }
                let due = st.due.entry(conv.clone()).or_insert(*seq);
                *due = (*due).max(*seq);
            }
        }
        // Written up to just below the first unwritten (the floor below), and no further until
        // a replay has sent the rest.
        for t in closed.iter() {
            for (conv, _) in &t.unwritten {
                st.behind.insert(conv.clone());
            }
        }
        let mut out = Vec::with_capacity(st.due.len());
        let State { due, behind, .. } = &mut *st;
        due.retain(|conv, seq| {
            let first_unwritten = floor.iter().find(|(c, _)| c == conv).map(|(_, s)| *s);
            match first_unwritten {
                Some(first) if first <= *seq => {
                    out.push((conv.to_string(), first - 1));
                    // Still queued somewhere: the rest is tried again next time. Never written
                    // by a socket that ended: the rest waits for a replay.
                    !behind.contains(conv)
                }
                _ => {
                    out.push((conv.to_string(), *seq));
                    false
                }
            }
        });
        out.retain(|(_, seq)| *seq > 0);
        out
    }

    /// Puts positions whose write failed back, to be tried again.
    pub fn retry(&self, failed: Vec<(String, i64)>) {
        let mut st = self.lock();
        for (conv, seq) in failed {
            let due = st.due.entry(Arc::from(conv.as_str())).or_insert(seq);
            *due = (*due).max(seq);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[(&str, i64)]) -> Vec<(Arc<str>, i64)> {
        items.iter().map(|(c, s)| (Arc::from(*c), *s)).collect()
    }

    fn taken(sent: &[(&str, i64)], unwritten: &[(&str, i64)]) -> Taken {
        Taken {
            sent: list(sent),
            unwritten: list(unwritten),
        }
    }

    fn due(p: &UserPositions, open: Vec<Taken>, closed: Vec<Taken>) -> Vec<(String, i64)> {
        let mut d = p.due(open, closed);
        d.sort();
        d
    }

    #[test]
    fn nothing_moves_once_forgotten_until_known_again() {
        let p = UserPositions::default();
        p.known(vec![]);
        p.forget();
        let sent = |seq| Taken {
            sent: vec![(Arc::from("s:1:2"), seq)],
            unwritten: vec![],
        };
        assert!(p.due(vec![sent(4)], vec![]).is_empty(), "forgotten: behind");
        p.known(vec![]);
        assert_eq!(p.due(vec![sent(5)], vec![]), vec![("s:1:2".to_string(), 5)]);
    }

    #[test]
    fn nothing_moves_until_the_backlog_is_known() {
        let p = UserPositions::default();
        assert!(due(&p, vec![taken(&[("s:1:2", 5)], &[])], vec![]).is_empty());
        p.known(vec![]);
        assert_eq!(
            due(&p, vec![taken(&[("s:1:2", 7)], &[])], vec![]),
            [("s:1:2".to_string(), 7)]
        );
        // Written once: nothing is due until more is sent.
        assert!(due(&p, vec![taken(&[], &[])], vec![]).is_empty());
    }

    #[test]
    fn a_position_stops_below_what_any_socket_still_queues() {
        let p = UserPositions::default();
        p.known(vec![]);
        // One device was handed up to 9; another still queues from 4 on.
        let d = due(
            &p,
            vec![
                taken(&[("g:1", 9)], &[]),
                taken(&[("g:1", 9)], &[("g:1", 4)]),
            ],
            vec![],
        );
        assert_eq!(d, [("g:1".to_string(), 3)]);
        // Once the queue is written, the rest follows.
        assert_eq!(
            due(&p, vec![taken(&[], &[]), taken(&[], &[])], vec![]),
            [("g:1".to_string(), 9)]
        );
    }

    #[test]
    fn a_socket_that_ended_unwritten_holds_its_conversation_until_a_replay() {
        let p = UserPositions::default();
        p.known(vec![]);
        let d = due(&p, vec![], vec![taken(&[("g:1", 9)], &[("g:1", 6)])]);
        assert_eq!(d, [("g:1".to_string(), 5)]);
        // Later live pushes there do not move it (6..9 were never written)...
        assert!(due(&p, vec![taken(&[("g:1", 12)], &[])], vec![]).is_empty());
        // ...other conversations move as usual...
        assert_eq!(
            due(&p, vec![taken(&[("s:1:2", 3)], &[])], vec![]),
            [("s:1:2".to_string(), 3)]
        );
        // ...until a replay has sent the backlog.
        p.caught_up(&[("g:1".to_string(), 12)], true);
        assert_eq!(
            due(&p, vec![taken(&[("g:1", 14)], &[])], vec![]),
            [("g:1".to_string(), 14)]
        );
    }

    #[test]
    fn conversations_behind_at_connect_wait_for_the_replay() {
        let p = UserPositions::default();
        p.known(vec!["g:1".to_string()]);
        assert!(due(&p, vec![taken(&[("g:1", 40)], &[])], vec![]).is_empty());
        p.caught_up(&[("g:1".to_string(), 38)], false);
        assert_eq!(due(&p, vec![], vec![]), [("g:1".to_string(), 38)]);
    }

    #[test]
    fn nothing_moves_until_other_nodes_know_of_the_latest_arrival() {
        let p = UserPositions::default();
        p.known(vec![]);
        let first = p.await_peers();
        // A replay does not open the gate: other nodes may still route without this one.
        p.caught_up(&[], true);
        assert!(due(&p, vec![taken(&[("g:1", 5)], &[])], vec![]).is_empty());
        // The user left and came back before the first arrival was acknowledged.
        let second = p.await_peers();
        p.confirmed(first, vec![]);
        assert!(due(&p, vec![taken(&[("g:1", 6)], &[])], vec![]).is_empty());
        assert_eq!(p.awaiting_peers(), Some(second));
        // Confirmed after the second: what the backlog held then stays behind, the rest moves.
        p.confirmed(second, vec!["g:2".to_string()]);
        assert_eq!(
            due(&p, vec![taken(&[("g:1", 7), ("g:2", 9)], &[])], vec![]),
            [("g:1".to_string(), 7)]
        );
    }

    #[test]
    fn failed_writes_are_tried_again() {
        let p = UserPositions::default();
        p.known(vec![]);
        let d = due(&p, vec![taken(&[("s:1:2", 4)], &[])], vec![]);
        p.retry(d);
        assert_eq!(due(&p, vec![], vec![]), [("s:1:2".to_string(), 4)]);
    }
}
