//! Confirmations (SPEC §9.26): the pings an outbox sends behind what it handed, the pongs and
//! acks that confirm it, and what its tracks report (`crate::positions`).

use std::time::{Duration, Instant};

use super::{Outbox, State};
use crate::positions::Taken;

impl State {
    /// Whether a confirmation ping should go now: messages await one, none is unanswered, and
    /// the last went long enough ago.
    pub(super) fn ping_due(&self, now: Instant) -> bool {
        self.unconfirmed && self.ping.is_none() && self.next_ping.is_none_or(|at| now >= at)
    }

    /// A confirmation ping goes out behind everything handed so far: its payload.
    pub(super) fn pinged(&mut self, now: Instant) -> u64 {
        self.pings += 1;
        self.ping = Some(self.pings);
        if !self.acks {
            self.tracks.pinged();
        }
        self.unconfirmed = false;
        // Between 3/4 and 5/4 of the interval, varying per socket and per ping: the members of
        // a group all handed the same message must not all be pinged, and answer, at once.
        let spread = (self as *const State as u64 >> 4).wrapping_add(self.pings) % 512;
        let every = self.confirm_every.as_micros() as u64;
        let wait = every * 3 / 4 + every * spread / 1024;
        self.next_ping = Some(now + Duration::from_micros(wait));
        self.pings
    }
}

impl Outbox {
    /// What the client confirmed since last asked (highest position per conversation), what it
    /// has not confirmed (lowest position per conversation: queued, written since the last
    /// answered ping, or refused), and what the socket was handed first.
    pub fn take_positions(&self) -> Taken {
        self.lock().tracks.take()
    }

    /// Sends a confirmation ping behind everything handed so far, unless one is outstanding or
    /// the socket is closing (the heartbeat). True when one was sent.
    pub fn push_ping(&self) -> bool {
        self.ping_when(Instant::now(), |st| st.ping.is_none())
    }

    /// Sends a confirmation ping if messages await one and it is time (the registry's flusher
    /// asks every socket: messages handed just before a stream paused are confirmed by this).
    pub fn ping_if_due(&self, now: Instant) -> bool {
        self.ping_when(now, |st| st.ping_due(now))
    }

    /// Writes a confirmation ping when the socket is open and `due` says so.
    fn ping_when(&self, now: Instant, due: impl FnOnce(&State) -> bool) -> bool {
        let mut st = self.lock();
        if st.closed || !due(&st) {
            return false;
        }
        let wire = crate::wire::ping_with(&st.pinged(now).to_be_bytes());
        self.push_locked(st, std::iter::once((&wire, false, None)), None, false)
            .is_ok()
    }

    /// About how long between two confirmation pings (the socket's `confirm_every`).
    pub fn confirm_every(&self, every: Duration) {
        self.lock().confirm_every = every;
    }

    /// A confirmation ping is waiting for its pong.
    #[cfg(test)]
    pub(crate) fn ping_outstanding(&self) -> bool {
        self.lock().ping.is_some()
    }

    /// The client answered a ping with `payload`. `Some(more)` when it answered the outstanding
    /// confirmation ping (what it covered is confirmed; `more`: messages were handed since, to
    /// be confirmed by the next); `None` for any other pong (unsolicited, or stale).
    pub fn confirm(&self, payload: &[u8]) -> Option<bool> {
        let mut st = self.lock();
        let n = st.ping?;
        if payload != n.to_be_bytes() {
            return None;
        }
        st.ping = None;
        if !st.acks {
            st.tracks.ponged();
        }
        Some(st.unconfirmed)
    }

    /// From now on the client confirms by acks ([`Self::ack`]); pongs confirm nothing. What an
    /// outstanding ping covered needs an ack too.
    pub fn opt_in_acks(&self) {
        let mut st = self.lock();
        st.acks = true;
        st.unconfirmed = false;
    }

    /// The client acknowledged everything it was handed in `conv` up to `seq` (acks only).
    pub fn ack(&self, conv: &str, seq: i64) {
        let mut st = self.lock();
        if st.acks {
            st.tracks.acked(conv, seq);
        }
    }

    /// Deliveries may have been lost on the way to this node: what the socket was handed so far
    /// proves nothing about what comes next (see `Tracks::restart`).
    pub fn restart_positions(&self) {
        self.lock().tracks.restart();
    }
}
