//! Software prefetch for the fan-out. A pass over a large group touches, for every member, the
//! route table's entry and the socket's outbox: memory last used a whole pass ago, long evicted
//! by the kernel's work for thousands of other sockets. Touched one member at a time, each is a
//! cache miss the pass waits for between two `send`s. A pass therefore looks up a run of members
//! at once and asks the CPU to start loading their outboxes ([`prefetch`]) before it writes to
//! the first: the misses overlap instead of adding up.

/// Asks the CPU to start loading the memory of `value` (up to [`MOST`] bytes) into its caches.
/// Only a hint: it never faults and changes nothing; on targets without a prefetch instruction
/// in stable Rust it does nothing.
#[inline]
pub(crate) fn prefetch<T: ?Sized>(value: &T) {
    let start = (value as *const T).cast::<u8>();
    let len = std::mem::size_of_val(value).min(MOST);
    if len == 0 {
        return;
    }
    let mut off = 0;
    while off < len {
        line(start.wrapping_add(off));
        off += LINE;
    }
    // The last line, when `value` does not start on a line boundary.
    line(start.wrapping_add(len - 1));
}

/// Cache line size of the machines this runs on (x86-64, and most ARM servers).
const LINE: usize = 64;
/// Most bytes of one value worth prefetching: an outbox's hot fields and its socket.
const MOST: usize = 5 * LINE;

#[cfg(target_arch = "x86_64")]
#[inline]
fn line(p: *const u8) {
    use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
    // SAFETY: SSE, which the intrinsic needs, is part of the x86-64 baseline every build of
    // this target has; a prefetch reads nothing the program sees and never faults, whatever
    // the address.
    unsafe {
        _mm_prefetch::<_MM_HINT_T0>(p.cast::<i8>());
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn line(_: *const u8) {}

#[cfg(test)]
mod tests {
    /// A hint only: prefetching any value, sized or not, changes nothing.
    #[test]
    fn prefetching_changes_nothing() {
        let big = vec![7u8; 4096];
        super::prefetch(&big[..]);
        super::prefetch(&big[1..3]);
        super::prefetch(&());
        assert!(big.iter().all(|b| *b == 7));
    }
}
