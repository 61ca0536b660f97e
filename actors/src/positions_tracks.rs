//! What one socket was handed per conversation and what its client confirmed ([`Tracks`]), and
//! what it reports when asked ([`Taken`]): the outbox keeps one under its lock.

use smallvec::SmallVec;
use std::sync::Arc;

use super::Pos;

/// One conversation as one socket has seen it. Seqs are positive; 0 stands for none.
#[derive(Debug)]
struct Track {
    conv: Arc<str>,
    /// Lowest seq handed since the socket opened (or since its user's positions were forgotten):
    /// the socket was handed every later message of the conversation that was the user's.
    first: i64,
    /// Lowest and highest seq handed since the last confirmation ping was sent.
    open_low: i64,
    open_high: i64,
    /// Lowest and highest seq the outstanding ping covers.
    ping_low: i64,
    ping_high: i64,
    /// Highest seq the client confirmed, and the highest already reported.
    confirmed: i64,
    reported: i64,
}

impl Track {
    fn new(conv: Arc<str>) -> Track {
        Track {
            conv,
            first: i64::MAX,
            open_low: 0,
            open_high: 0,
            ping_low: 0,
            ping_high: 0,
            confirmed: 0,
            reported: 0,
        }
    }

    fn lowest_unconfirmed(&self) -> Option<i64> {
        [self.open_low, self.ping_low]
            .into_iter()
            .filter(|s| *s > 0)
            .min()
    }
}

/// Lowers `low` to `seq` (0 is none).
fn lower(low: &mut i64, seq: i64) {
    *low = if *low == 0 { seq } else { (*low).min(seq) };
}

/// Per conversation, what one socket was handed and what its client confirmed. Most sockets see
/// one or two conversations, so a short list beats a map; the first entry is held inline, in the
/// outbox's own memory, because a large fan-out notes a position for every socket it writes and
/// a separate buffer would cost each of them one more cache miss.
#[derive(Debug, Default)]
pub(crate) struct Tracks(SmallVec<[Track; 1]>);

impl Tracks {
    fn find(&mut self, conv: &Arc<str>) -> &mut Track {
        // The conversation just noted is the likeliest: look from the end, pointer first.
        let at = self
            .0
            .iter()
            .rposition(|t| Arc::ptr_eq(&t.conv, conv) || *t.conv == **conv);
        let at = match at {
            Some(at) => at,
            None => {
                self.0.push(Track::new(conv.clone()));
                self.0.len() - 1
            }
        };
        &mut self.0[at]
    }

    /// A message was handed to the socket (written, queued, or refused because it is closing).
    pub(crate) fn note(&mut self, pos: &Pos) {
        let t = self.find(&pos.conv);
        t.first = t.first.min(pos.seq);
        lower(&mut t.open_low, pos.seq);
        t.open_high = t.open_high.max(pos.seq);
    }

    /// A confirmation ping goes out behind everything handed so far: its pong confirms that.
    pub(crate) fn pinged(&mut self) {
        for t in self.0.iter_mut().filter(|t| t.open_low > 0) {
            lower(&mut t.ping_low, t.open_low);
            t.ping_high = t.ping_high.max(t.open_high);
            t.open_low = 0;
            t.open_high = 0;
        }
    }

    /// The outstanding ping was answered.
    pub(crate) fn ponged(&mut self) {
        for t in self.0.iter_mut().filter(|t| t.ping_high > 0) {
            t.confirmed = t.confirmed.max(t.ping_high);
            t.ping_low = 0;
            t.ping_high = 0;
        }
    }

    /// The client acknowledged everything it was handed in `conv` up to `seq`.
    pub(crate) fn acked(&mut self, conv: &str, seq: i64) {
        let Some(t) = self.0.iter_mut().find(|t| *t.conv == *conv) else {
            return;
        };
        for (low, high) in [
            (&mut t.open_low, &mut t.open_high),
            (&mut t.ping_low, &mut t.ping_high),
        ] {
            if *low == 0 || *low > seq {
                continue;
            }
            if *high <= seq {
                t.confirmed = t.confirmed.max(*high);
                (*low, *high) = (0, 0);
            } else {
                // Cumulative: whatever is still unconfirmed there lies above `seq`.
                t.confirmed = t.confirmed.max(seq);
                *low = seq + 1;
            }
        }
    }

    /// Deliveries may have been lost on the way here: what was handed before proves nothing
    /// about what comes next, so `first` starts again.
    pub(crate) fn restart(&mut self) {
        for t in self.0.iter_mut() {
            t.first = i64::MAX;
        }
    }

    /// What to report now (see [`Taken`]).
    pub(crate) fn take(&mut self) -> Taken {
        let mut taken = Taken::default();
        for t in self.0.iter_mut() {
            if t.confirmed > t.reported {
                taken.confirmed.push((t.conv.clone(), t.confirmed));
                t.reported = t.confirmed;
            }
            if let Some(low) = t.lowest_unconfirmed() {
                taken.unconfirmed.push((t.conv.clone(), low));
            }
            if t.first != i64::MAX {
                taken.first.push((t.conv.clone(), t.first));
            }
        }
        // Every push looks its conversation up in this list: a socket of a user in many
        // conversations keeps only those with something pending. A dropped one starts again
        // with a later `first`, which covers less: a conversation may wait for a replay
        // instead, never the other way round.
        if self.0.len() > KEEP {
            self.0.retain(|t| t.lowest_unconfirmed().is_some());
        }
        taken
    }
}

/// Conversations a socket's tracks keep with nothing pending.
const KEEP: usize = 16;

/// What one socket reports when its positions are taken.
#[derive(Debug, Default)]
pub struct Taken {
    /// Highest seq confirmed per conversation, where it moved since last taken.
    pub confirmed: Vec<(Arc<str>, i64)>,
    /// Lowest seq handed and not confirmed, per conversation.
    pub unconfirmed: Vec<(Arc<str>, i64)>,
    /// Lowest seq handed since the socket opened, per conversation.
    pub first: Vec<(Arc<str>, i64)>,
}
