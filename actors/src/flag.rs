//! [`Flag`]: a wake-up one side raises and the socket's owner polls in place. A socket keeps two
//! (a close request, a stalled write) for its whole life; as `Notify` waiters they were two boxed
//! futures per socket, idle or not.

use futures_util::task::AtomicWaker;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

#[derive(Default, Debug)]
pub struct Flag {
    raised: AtomicBool,
    waker: AtomicWaker,
}

impl Flag {
    /// Raises the flag and wakes its poller. Raised twice before a poll counts once.
    pub fn raise(&self) {
        self.raised.store(true, Ordering::Release);
        self.waker.wake();
    }

    /// Ready (and lowered again) once raised; otherwise registers `cx` to be woken.
    pub fn poll_take(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.raised.swap(false, Ordering::Acquire) {
            return Poll::Ready(());
        }
        self.waker.register(cx.waker());
        // Raised between the check and the registration: its wake may have gone to an old waker.
        if self.raised.swap(false, Ordering::Acquire) {
            return Poll::Ready(());
        }
        Poll::Pending
    }

    /// Waits until raised.
    pub async fn taken(&self) {
        std::future::poll_fn(|cx| self.poll_take(cx)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn a_raise_before_the_wait_is_not_lost_and_counts_once() {
        let f = Arc::new(Flag::default());
        f.raise();
        f.raise();
        f.taken().await;
        let waiting = tokio::spawn({
            let f = f.clone();
            async move { f.taken().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        f.raise();
        tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
            .await
            .unwrap()
            .unwrap();
    }
}
