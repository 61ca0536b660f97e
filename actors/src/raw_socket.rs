//! [`RawSocket`]: the non-blocking socket operations an outbox needs, for tokio's TCP and Unix
//! streams (the benches add an in-memory one).

use std::io::{self, IoSlice};
use std::task::{Context, Poll};

/// The non-blocking half of a connected socket that an outbox writes to and the socket's
/// task reads from (tokio's `TcpStream` and `UnixStream`; the benches use an in-memory one).
pub trait RawSocket: Send + Sync + 'static {
    /// A plain `send`, bypassing tokio's readiness cache (which a successful write does not
    /// change): a fan-out's direct write then touches only the socket itself. On `WouldBlock`
    /// the caller hands over to the socket's task, whose [`Self::try_write`] clears the
    /// readiness properly before it waits.
    fn send_now(&self, buf: &[u8]) -> io::Result<usize>;
    /// [`Self::send_now`] with several buffers (`sendmsg`).
    fn send_vectored_now(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize>;
    /// One buffer: on Linux `send`, which skips the file layer that `writev` goes through.
    fn try_write(&self, buf: &[u8]) -> io::Result<usize>;
    fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize>;
    /// Ready when a write may make progress; registers `cx` to be woken otherwise.
    fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize>;
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    /// Ends the sending direction (the peer reads end of stream after what was written).
    fn shutdown_write(&self);
}

macro_rules! raw_socket {
    ($t:ty) => {
        impl RawSocket for $t {
            fn send_now(&self, buf: &[u8]) -> io::Result<usize> {
                socket2::SockRef::from(self).send_with_flags(buf, SEND_FLAGS)
            }
            fn send_vectored_now(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
                socket2::SockRef::from(self).send_vectored_with_flags(bufs, SEND_FLAGS)
            }
            fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
                <$t>::try_write(self, buf)
            }
            fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
                <$t>::try_write_vectored(self, bufs)
            }
            fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                <$t>::poll_write_ready(self, cx)
            }
            fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
                <$t>::try_read(self, buf)
            }
            fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                <$t>::poll_read_ready(self, cx)
            }
            fn shutdown_write(&self) {
                let _ = socket2::SockRef::from(self).shutdown(std::net::Shutdown::Write);
            }
        }
    };
}

/// A peer that has gone away is an error, not a SIGPIPE.
#[cfg(any(target_os = "linux", target_os = "android"))]
const SEND_FLAGS: std::ffi::c_int = libc::MSG_NOSIGNAL;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const SEND_FLAGS: std::ffi::c_int = 0;

raw_socket!(tokio::net::TcpStream);
#[cfg(unix)]
raw_socket!(tokio::net::UnixStream);
