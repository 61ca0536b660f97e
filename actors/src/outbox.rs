//! A socket's outgoing side, shared by the socket's task and every delivery. A delivery writes
//! the ready frame straight into the kernel (a non-blocking write) from whichever task routes it:
//! a group actor fanning one message out to 10,000 sockets makes 10,000 writes and wakes no
//! task, as uWebSockets' event loop does. Only when the kernel's buffer is full does the rest
//! wait in a bounded queue, which the socket's own task writes once the socket is writable
//! again. One lock per socket orders every write: direct ones, queued ones, and the task's own
//! (answers, pings, pongs and close replies).
//!
//! A socket that lets its queue fill is refused further pushes (the caller closes it with 1013).
//! The outbox notes the position of every message it is handed and of every one it could not
//! write ([`Outbox::take_positions`]), so that its user's delivered positions never pass a
//! message the client was not sent (see [`crate::positions`]).

use bytes::Bytes;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;
use tokio::sync::Notify;

use crate::flag::Flag;

use crate::positions::{note_min, Pos, Sent, Taken};
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
    /// The message's position in its conversation, if it is a stored message.
    pos: Option<Pos>,
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
    /// Highest position handed over per conversation (written or queued) since last taken.
    sent: Sent,
    /// Lowest position refused per conversation (the socket was closing): never written.
    refused: Vec<(Arc<str>, i64)>,
}

impl State {
    fn enqueue(&mut self, wire: &Bytes, message: bool, pos: Option<&Pos>) {
        if message {
            self.messages += 1;
            self.message_bytes += wire.len();
        }
        self.queue.push_back(Entry {
            wire: wire.clone(),
            message,
            pos: pos.cloned(),
        });
    }

    fn refuse<'a>(&mut self, entries: impl Iterator<Item = Item<'a>>) {
        for (_, _, pos) in entries {
            if let Some(pos) = pos {
                note_min(&mut self.refused, pos);
            }
        }
    }
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
        let mut st = self.lock();
        if st.closed {
            st.refuse(entries);
            return Err(Refused::Closed);
        }
        // Under the same lock as the write below: no push can come between the two.
        st.closed |= last;
        if let Some(when_full) = limit {
            if !st.queue.is_empty() && self.full(&st) {
                if when_full == WhenFull::Close {
                    st.closed = true;
                    st.refuse(entries);
                }
                return Err(Refused::Full);
            }
        }
        for (_, _, pos) in entries.clone() {
            if let Some(pos) = pos {
                st.sent.note(pos);
            }
        }
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
            let Some((head, message, pos)) = rest.by_ref().find(|(wire, _, _)| {
                let whole = written >= wire.len();
                if whole {
                    written -= wire.len();
                }
                !whole
            }) else {
                return Ok(());
            };
            st.head_sent = written;
            st.enqueue(head, message, pos);
            for (wire, message, pos) in rest {
                st.enqueue(wire, message, pos);
            }
            drop(st);
            self.stalled.raise();
            return Ok(());
        }
        for (wire, message, pos) in entries {
            st.enqueue(wire, message, pos);
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
        let entries = outs
            .iter()
            .filter(move |o| o.reaches(dialect))
            .map(move |o| (o.wire(dialect), o.payload.is_some(), o.pos.as_ref()));
        self.push_entries(entries, Some(when_full), false)
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
    /// instead of a 1013 close).
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
            match self.push(outs, dialect, WhenFull::Wait) {
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

    /// What the socket was handed since last asked (highest position per conversation), and
    /// what it has not written (lowest position per conversation still queued or refused).
    pub fn take_positions(&self) -> Taken {
        let mut st = self.lock();
        let mut unwritten = st.refused.clone();
        // A partly written frame counts as unwritten: it may never arrive whole.
        for e in st.queue.iter() {
            if let Some(pos) = &e.pos {
                note_min(&mut unwritten, pos);
            }
        }
        Taken {
            sent: st.sent.take(),
            unwritten,
        }
    }

    /// Stops taking pushes and reports positions as [`Self::take_positions`] does: after this,
    /// nothing unwritten will be written. What stays queued is what the stream needs to stay
    /// well-formed: the rest of a partly written frame and control frames; [`Self::finish`]
    /// writes it.
    pub fn close(&self) -> Taken {
        self.lock().closed = true;
        let taken = self.take_positions();
        let mut st = self.lock();
        let partial = st.head_sent > 0;
        let mut keep = VecDeque::new();
        for (i, e) in std::mem::take(&mut st.queue).into_iter().enumerate() {
            if e.message {
                if i == 0 && partial {
                    keep.push_back(Entry {
                        wire: e.wire,
                        message: false,
                        pos: None,
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
        st.refused.clear();
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
                pos: None,
            });
        }
        let _ = tokio::time::timeout(limit, self.flush()).await;
        self.sock.shutdown_write();
    }
}

#[cfg(test)]
#[path = "outbox_tests.rs"]
mod tests;
