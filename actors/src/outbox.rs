//! A socket's outgoing side, shared by the socket's task and every delivery. A delivery writes
//! the ready frame straight into the kernel (a non-blocking write) from whichever task routes it:
//! a group actor fanning one message out to 10,000 sockets makes 10,000 writes and wakes no
//! task, as uWebSockets' event loop does. Only when the kernel's buffer is full does the rest
//! wait in a bounded queue, which the socket's own task writes once the socket is writable
//! again. One lock per socket orders every write: direct ones, queued ones, and the task's own
//! (answers, pings, pongs and close replies).
//!
//! A socket that lets its queue fill is refused further pushes (the caller closes it with 1013).
//! The outbox notes the position of every message it is handed, and what the client confirmed:
//! a Ping with a fresh payload goes out behind what was handed, and the Pong that answers it
//! ([`Outbox::confirm`]) confirms all of that. Its user's delivered positions never pass a message
//! the client did not confirm (see [`crate::positions`]). The ping rides in the same write as a
//! message when one is due (at most one unanswered, about one per `confirm_every`, jittered so
//! that a group's members do not all answer at once), so a stream costs no extra write and no
//! wake-up; what is left unconfirmed when a stream pauses gets its ping from the registry's
//! flusher ([`Outbox::ping_if_due`]) or the heartbeat.

use bytes::Bytes;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

use crate::flag::Flag;

use crate::positions::{Pos, Taken, Tracks};
pub use crate::raw_socket::RawSocket;
use crate::wire::frames::Dialect;
use crate::wire::push::Push;

/// Most buffers handed to one vectored write.
const MAX_IOV: usize = 64;

/// One frame waiting for the socket.
#[derive(Debug)]
struct Entry {
    wire: Bytes,
    /// A message (counted by the caps), as opposed to answers, pings and notifications.
    message: bool,
}

/// What [`Outbox::push_entries`] takes: the frame, whether it is a message, its position.
type Item<'a> = (&'a Bytes, bool, Option<&'a Pos>);

#[derive(Debug, Default)]
struct State {
    /// Frames waiting for the socket, oldest first. Not empty means the socket's task has been
    /// told to write them, and new frames join the end instead of being written directly.
    queue: VecDeque<Entry>,
    /// Bytes of the first queued frame already written.
    head_sent: usize,
    /// Messages (frames with a payload) in the queue: what the cap counts.
    messages: usize,
    /// Their bytes: what the byte cap counts.
    message_bytes: usize,
    /// No more pushes: the socket is closing or has closed.
    closed: bool,
    /// What the socket was handed per conversation, and what the client confirmed.
    tracks: Tracks,
    /// Messages were handed since the last confirmation ping.
    unconfirmed: bool,
    /// The payload of the confirmation ping not answered yet.
    ping: Option<u64>,
    /// Confirmation pings sent (the next payload).
    pings: u64,
    /// When the next confirmation ping may go (none sent yet: at once).
    next_ping: Option<Instant>,
    /// About how long between two confirmation pings.
    confirm_every: Duration,
    /// The client confirms by acks (`Outbox::opt_in_acks`): pongs confirm nothing.
    acks: bool,
    /// Conversations whose live messages wait for the backlog ([`Outbox::hold_all`]).
    hold: Option<Box<hold::Hold>>,
}

impl State {
    fn enqueue(&mut self, wire: &Bytes, message: bool) {
        if message {
            self.messages += 1;
            self.message_bytes += wire.len();
        }
        self.queue.push_back(Entry {
            wire: wire.clone(),
            message,
        });
    }

    /// Notes the positions of `entries` as handed. Returns the payload of the confirmation ping
    /// to write behind them, if one is due now ([`State::pinged`]); the clock is read only when
    /// no ping is unanswered, not for every message of a stream.
    fn note<'a>(&mut self, entries: impl Iterator<Item = Item<'a>>) -> Option<u64> {
        let mut noted = false;
        for (_, _, pos) in entries {
            if let Some(pos) = pos {
                self.tracks.note(pos);
                noted = true;
            }
        }
        self.unconfirmed |= noted && !self.acks;
        if !noted || self.ping.is_some() {
            return None;
        }
        let now = Instant::now();
        self.ping_due(now).then(|| self.pinged(now))
    }
}

/// `outs` as `dialect` renders them: the items a push hands to [`Outbox::push_entries`].
fn items(outs: &[Arc<Push>], dialect: Dialect) -> impl Iterator<Item = Item<'_>> + Clone {
    outs.iter()
        .filter(move |o| o.reaches(dialect))
        .map(move |o| (o.wire(dialect), o.payload.is_some(), o.pos.as_ref()))
}

/// An item as one that lives no longer than `'s` (to join items made on the spot).
fn shorten<'s, 'l: 's>(item: Item<'l>) -> Item<'s> {
    item
}

/// Gathers up to [`MAX_IOV`] buffers for one write; returns how many.
fn gather<'a>(bufs: impl Iterator<Item = &'a [u8]>, slices: &mut [IoSlice<'a>; MAX_IOV]) -> usize {
    let mut n = 0;
    for (slot, buf) in slices.iter_mut().zip(bufs) {
        *slot = IoSlice::new(buf);
        n += 1;
    }
    n
}

/// Why a push was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The queue is at its cap: the client does not read fast enough.
    Full,
    /// The socket is closing; what it held goes offline.
    Closed,
}

/// What a push does when the queue is at its cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenFull {
    /// Refuse and stop taking pushes (the caller closes the socket with 1013).
    Close,
    /// Refuse this one only (see [`Outbox::push_waiting`]).
    Wait,
}

/// Generic over the socket so that the socket sits in the same allocation as the lock (one
/// cache miss less per delivery in a large fan-out); handles hold `Arc<Outbox>`, the socket type
/// erased. `repr(C)` keeps the lock next to the socket.
#[repr(C)]
pub struct Outbox<S: ?Sized = dyn RawSocket> {
    /// Tells the socket's task the queue is no longer empty (the kernel buffer was full).
    stalled: Flag,
    /// Tells pushers waiting for room that the queue has drained.
    drained: Notify,
    cap: usize,
    cap_bytes: usize,
    state: Mutex<State>,
    sock: S,
}

impl<S: RawSocket> Outbox<S> {
    /// An outbox over `sock` holding at most `cap` queued messages.
    pub fn new(sock: S, cap: usize) -> Outbox<S> {
        Self::with_limits(sock, cap, usize::MAX)
    }

    /// An outbox over `sock` holding at most `cap` queued messages and `cap_bytes` of them:
    /// a reader that never reads pins no more than that, however large the messages.
    pub fn with_limits(sock: S, cap: usize, cap_bytes: usize) -> Outbox<S> {
        Outbox {
            stalled: Flag::default(),
            drained: Notify::new(),
            cap: cap.max(1),
            cap_bytes: cap_bytes.max(1),
            state: Mutex::new(State::default()),
            sock,
        }
    }
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox").field("cap", &self.cap).finish()
    }
}

/// Writes as much of `queue` as the socket takes now. `Ok(true)`: all of it.
fn write_queue(sock: &dyn RawSocket, st: &mut State) -> io::Result<bool> {
    while !st.queue.is_empty() {
        let mut slices = [IoSlice::new(&[]); MAX_IOV];
        let head_sent = st.head_sent;
        let bufs = st.queue.iter().enumerate().map(|(i, e)| {
            let from = if i == 0 { head_sent } else { 0 };
            &e.wire[from..]
        });
        let n = gather(bufs, &mut slices);
        let tried = match n {
            1 => sock.try_write(&slices[0]),
            _ => sock.try_write_vectored(&slices[..n]),
        };
        let mut written = match tried {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(w) => w,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) => return Err(e),
        };
        while written > 0 {
            let Some(head) = st.queue.front() else { break };
            let left = head.wire.len() - st.head_sent;
            if written < left {
                st.head_sent += written;
                break;
            }
            written -= left;
            st.head_sent = 0;
            if let Some(done) = st.queue.pop_front() {
                if done.message {
                    st.messages -= 1;
                    st.message_bytes -= done.wire.len();
                }
            }
        }
    }
    Ok(true)
}

impl Outbox {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn socket(&self) -> &dyn RawSocket {
        &self.sock
    }

    /// Sends `entries` in order: written now when nothing is waiting, otherwise queued behind
    /// what is. `limit` `None` lets control frames past the cap (the socket's task bounds those
    /// by not reading while the queue is full). `last`: nothing may follow these (a close
    /// frame), so the outbox stops taking pushes in the same step.
    fn push_entries<'a>(
        &self,
        entries: impl Iterator<Item = Item<'a>> + Clone,
        limit: Option<WhenFull>,
        last: bool,
    ) -> Result<(), Refused> {
        let st = self.lock();
        self.push_locked(st, entries, limit, last)
    }

    /// [`Self::push_entries`] under a lock already taken.
    fn push_locked<'a>(
        &self,
        mut st: MutexGuard<'_, State>,
        entries: impl Iterator<Item = Item<'a>> + Clone,
        limit: Option<WhenFull>,
        last: bool,
    ) -> Result<(), Refused> {
        if st.closed {
            // Refused while closing: handed and never confirmed, so they stay in the backlog.
            st.note(entries);
            return Err(Refused::Closed);
        }
        // Under the same lock as the write below: no push can come between the two.
        st.closed |= last;
        if let Some(when_full) = limit {
            if !st.queue.is_empty() && self.full(&st) {
                if when_full == WhenFull::Close {
                    st.closed = true;
                    st.note(entries);
                }
                return Err(Refused::Full);
            }
        }
        // A ping that is due rides behind these messages, in the same write.
        let ping = st
            .note(entries.clone())
            .map(|payload| crate::wire::ping_with(&payload.to_be_bytes()));
        let entries = entries
            .map(shorten)
            .chain(ping.as_ref().map(|wire| (wire, false, None)));
        if st.queue.is_empty() {
            // The common case: the kernel takes it all now, and the queue is never touched.
            let mut slices = [IoSlice::new(&[]); MAX_IOV];
            let n = gather(entries.clone().map(|(w, _, _)| &w[..]), &mut slices);
            let sent = match n {
                0 => return Ok(()),
                1 => self.sock.send_now(&slices[0]),
                _ => self.sock.send_vectored_now(&slices[..n]),
            };
            // An error other than WouldBlock is met again by the socket's task, which then
            // closes the socket; what is queued here stays unwritten (and is reported so).
            let mut written = sent.unwrap_or(0);
            let mut rest = entries;
            // The first frame not written whole, if any: it heads the queue.
            let Some((head, message, _)) = rest.by_ref().find(|(wire, _, _)| {
                let whole = written >= wire.len();
                if whole {
                    written -= wire.len();
                }
                !whole
            }) else {
                return Ok(());
            };
            st.head_sent = written;
            st.enqueue(head, message);
            for (wire, message, _) in rest {
                st.enqueue(wire, message);
            }
            drop(st);
            self.stalled.raise();
            return Ok(());
        }
        for (wire, message, _) in entries {
            st.enqueue(wire, message);
        }
        Ok(())
    }

    /// Pushes `outs` (in order, one write) as `dialect` renders them.
    pub fn push(
        &self,
        outs: &[Arc<Push>],
        dialect: Dialect,
        when_full: WhenFull,
    ) -> Result<(), Refused> {
        let entries = items(outs, dialect);
        let st = self.lock();
        if st.hold.is_none() || st.closed {
            return self.push_locked(st, entries, Some(when_full), false);
        }
        self.push_holding(st, entries, when_full)
    }

    /// [`Self::push`] past the hold, refusing when full (a replay: the backlog it hands over is
    /// what the held messages wait for).
    fn push_unheld(&self, outs: &[Arc<Push>], dialect: Dialect) -> Result<(), Refused> {
        self.push_entries(items(outs, dialect), Some(WhenFull::Wait), false)
    }

    /// Pushes a frame of the socket's own (an answer, a ping, a pong): never refused for the cap.
    pub fn push_control(&self, wire: Bytes) -> Result<(), Refused> {
        self.push_entries(std::iter::once((&wire, false, None)), None, false)
    }

    /// Pushes the answer to the client's close frame and stops taking pushes: a client stops
    /// reading at the close frame (RFC 6455 §5.5.1), so a message written after it would count
    /// as delivered and never be read. The socket is still published until its user's actor
    /// ends it, so pushes meanwhile are refused, and reported as never written
    /// ([`Self::take_positions`]): they stay in the user's offline backlog.
    pub fn push_close_reply(&self, wire: Bytes) -> Result<(), Refused> {
        self.push_entries(std::iter::once((&wire, false, None)), None, true)
    }

    /// True while the queue is at its cap (the socket's task stops reading its client then, so
    /// answers cannot pile up either).
    pub fn is_full(&self) -> bool {
        self.full(&self.lock())
    }

    fn full(&self, st: &State) -> bool {
        st.messages >= self.cap || st.message_bytes >= self.cap_bytes
    }

    /// Pushes `outs`, waiting up to `limit` for room in the queue (offline replay: back-pressure
    /// instead of a 1013 close). Held conversations do not hold these: they are the backlog.
    pub async fn push_waiting(
        &self,
        outs: &[Arc<Push>],
        dialect: Dialect,
        limit: std::time::Duration,
    ) -> Result<(), Refused> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            // Registered before the push, so a drain between the two is not missed.
            let room = self.drained.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            match self.push_unheld(outs, dialect) {
                Err(Refused::Full) => {
                    if tokio::time::timeout_at(deadline, room).await.is_err() {
                        return Err(Refused::Full);
                    }
                }
                done => return done,
            }
        }
    }

    /// Resolves when the queue is no longer empty (the socket's task then calls [`Self::flush`]).
    pub async fn stalled(&self) {
        self.stalled.taken().await
    }

    /// [`Self::stalled`], polled in place by the socket's owner.
    pub fn poll_stalled(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        self.stalled.poll_take(cx)
    }

    /// Writes the queue out, waiting for the socket to be writable as often as needed.
    pub async fn flush(&self) -> io::Result<()> {
        poll_fn(|cx| loop {
            {
                let mut st = self.lock();
                match write_queue(&self.sock, &mut st) {
                    Ok(true) => {
                        drop(st);
                        self.drained.notify_waiters();
                        return Poll::Ready(Ok(()));
                    }
                    Ok(false) => {}
                    Err(e) => return Poll::Ready(Err(e)),
                }
            }
            match self.sock.poll_write_ready(cx) {
                Poll::Ready(Ok(())) => continue,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        })
        .await
    }

    /// Stops taking pushes and reports positions as [`Self::take_positions`] does: after this,
    /// nothing unwritten will be written. What stays queued is what the stream needs to stay
    /// well-formed: the rest of a partly written frame and control frames; [`Self::finish`]
    /// writes it.
    pub fn close(&self) -> Taken {
        let mut st = self.lock();
        st.closed = true;
        // Final: a pong that comes after this confirms nothing, and nothing is reported again.
        st.ping = None;
        let taken = std::mem::take(&mut st.tracks).take();
        let partial = st.head_sent > 0;
        let mut keep = VecDeque::new();
        for (i, e) in std::mem::take(&mut st.queue).into_iter().enumerate() {
            if e.message {
                if i == 0 && partial {
                    keep.push_back(Entry {
                        wire: e.wire,
                        message: false,
                    });
                }
            } else {
                keep.push_back(e);
            }
        }
        if keep.is_empty() {
            st.head_sent = 0;
        }
        st.queue = keep;
        st.messages = 0;
        st.message_bytes = 0;
        drop(st);
        self.drained.notify_waiters();
        taken
    }

    /// After [`Self::close`]: writes what is left and `last` (a close frame), then ends the
    /// sending direction. Gives up after `limit` (a client that does not read).
    pub async fn finish(&self, last: Option<Bytes>, limit: std::time::Duration) {
        if let Some(wire) = last {
            self.lock().queue.push_back(Entry {
                wire,
                message: false,
            });
        }
        let deadline = tokio::time::Instant::now() + limit;
        let _ = tokio::time::timeout_at(deadline, self.flush()).await;
        self.sock.shutdown_write();
        // What is left of the grace goes to reading (and dropping) what the client still sends
        // (its pongs, its close reply) until it ends its side: a socket closed with unread input
        // resets the connection, and a reset can throw away the close frame before the client
        // has read it.
        let _ = tokio::time::timeout_at(deadline, self.drain()).await;
    }

    /// Reads and drops the client's input until it ends or fails.
    async fn drain(&self) {
        let mut buf = [0u8; 1024];
        poll_fn(|cx| loop {
            match self.sock.poll_read_ready(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(_)) => return Poll::Ready(()),
                Poll::Pending => return Poll::Pending,
            }
            match self.sock.try_read(&mut buf) {
                Ok(0) => return Poll::Ready(()),
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(_) => return Poll::Ready(()),
            }
        })
        .await
    }
}

#[path = "outbox_confirm.rs"]
mod confirm;
#[path = "outbox_hold.rs"]
mod hold;
#[cfg(test)]
#[path = "outbox_tests.rs"]
mod tests;
