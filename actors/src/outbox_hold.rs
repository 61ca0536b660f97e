//! The hold on live messages (SPEC §9.26, order across a reconnect): while a socket's user has
//! a backlog not handed over yet, the outbox parks live messages of those conversations, and
//! lets them out behind the backlog (`Outbox::release`), behind what the backlog carried.

use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::{Arc, MutexGuard};

use super::{Item, Outbox, Refused, State, WhenFull};
use crate::positions::Pos;

/// Live messages of conversations where the socket's user has a backlog not handed over yet,
/// parked so that the backlog comes first (SPEC §9.26: per conversation, `seq` ascending across
/// reconnects). Exists only while something is held.
#[derive(Debug, Default)]
pub(super) struct Hold {
    /// Every conversation is held: the user's backlog is not known yet.
    all: bool,
    /// The conversations held.
    convs: Vec<Arc<str>>,
    /// Their live messages, in the order they came.
    parked: VecDeque<(Bytes, Pos)>,
}

impl Hold {
    fn holds(&self, conv: &str) -> bool {
        self.all || self.convs.iter().any(|c| **c == *conv)
    }

    /// Takes the parked messages of conversations `pick` says, in order.
    fn take(&mut self, mut pick: impl FnMut(&Pos) -> bool) -> Vec<(Bytes, Pos)> {
        let mut out = Vec::new();
        let mut keep = VecDeque::new();
        for (wire, pos) in self.parked.drain(..) {
            if pick(&pos) {
                out.push((wire, pos));
            } else {
                keep.push_back((wire, pos));
            }
        }
        self.parked = keep;
        out
    }
}

impl Outbox {
    /// [`Outbox::push`] while something is held: parks what is, pushes the rest.
    pub(super) fn push_holding<'a>(
        &self,
        mut st: MutexGuard<'_, State>,
        entries: impl Iterator<Item = Item<'a>>,
        when_full: WhenFull,
    ) -> Result<(), Refused> {
        // Rare (a socket's first moments, or a backlog not fetched yet): park what is held.
        let mut rest = Vec::new();
        let mut overflow = Vec::new();
        if let Some(hold) = st.hold.as_mut() {
            for item in entries {
                match item.2 {
                    Some(pos) if hold.holds(&pos.conv) => {
                        hold.parked.push_back((item.0.clone(), pos.clone()));
                    }
                    _ => rest.push(item),
                }
            }
            if hold.parked.len() > self.cap {
                // Holding more than the socket may queue: order gives way, all of it goes out.
                overflow = hold.parked.drain(..).collect();
            }
        }
        if !overflow.is_empty() {
            st.hold = None;
            let released = overflow.iter().map(|(w, p)| (w, true, Some(p)));
            return self.push_locked(st, released.chain(rest), Some(when_full), false);
        }
        self.push_locked(st, rest.into_iter(), Some(when_full), false)
    }

    /// Parks the live messages of every conversation until [`Self::hold_only`] says which
    /// conversations have a backlog (a socket opened before its user's backlog is known).
    pub fn hold_all(&self) {
        self.lock().hold = Some(Box::new(Hold {
            all: true,
            ..Hold::default()
        }));
    }

    /// The user's backlog is known: only `behind` (conversation, first seq the backlog may hold
    /// there) stay held; the rest of what was parked goes out, in order. A conversation whose
    /// parked messages start at or below that seq has no gap, and goes out too.
    pub fn hold_only(&self, behind: &[(Arc<str>, i64)]) -> Result<(), Refused> {
        let mut st = self.lock();
        if st.closed {
            return Ok(());
        }
        let mut hold = st.hold.take().unwrap_or_default();
        let lowest = |conv: &str| {
            hold.parked
                .iter()
                .filter(|(_, p)| *p.conv == *conv)
                .map(|(_, p)| p.seq)
                .min()
        };
        let convs: Vec<Arc<str>> = behind
            .iter()
            .filter(|(conv, low)| lowest(conv).is_none_or(|first| first > *low))
            .map(|(conv, _)| conv.clone())
            .collect();
        let released = hold.take(|p| !convs.contains(&p.conv));
        hold.all = false;
        hold.convs = convs;
        if !hold.convs.is_empty() {
            st.hold = Some(hold);
        }
        self.push_released(st, released)
    }

    /// The backlog of the conversations of `ends` (of every conversation: `everything`) was
    /// handed over, up to the seq given: their parked messages follow, those at or below it
    /// left out (the backlog had them).
    pub fn release(&self, ends: &[(String, i64)], everything: bool) -> Result<(), Refused> {
        let mut st = self.lock();
        let Some(mut hold) = st.hold.take() else {
            return Ok(());
        };
        let end = |p: &Pos| ends.iter().find(|(c, _)| **c == *p.conv).map(|(_, s)| *s);
        let released: Vec<(Bytes, Pos)> = hold
            .take(|p| everything || end(p).is_some())
            .into_iter()
            .filter(|(_, p)| end(p).is_none_or(|e| p.seq > e))
            .collect();
        if everything {
            hold.all = false;
            hold.convs.clear();
        } else {
            hold.convs.retain(|c| !ends.iter().any(|(e, _)| **e == **c));
        }
        if hold.all || !hold.convs.is_empty() || !hold.parked.is_empty() {
            st.hold = Some(hold);
        }
        self.push_released(st, released)
    }

    /// Whether live messages are held.
    pub fn holding(&self) -> bool {
        self.lock().hold.is_some()
    }

    /// Writes messages taken out of the hold, in order (they count as ordinary pushes).
    fn push_released(
        &self,
        st: MutexGuard<'_, State>,
        released: Vec<(Bytes, Pos)>,
    ) -> Result<(), Refused> {
        if released.is_empty() {
            return Ok(());
        }
        let items = released.iter().map(|(w, p)| (w, true, Some(p)));
        self.push_locked(st, items, Some(WhenFull::Close), false)
    }
}
