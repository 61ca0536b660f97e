//! The per-user send budget (SPEC §9.25): every frame a user's sockets send (text, binary and
//! control frames alike) and every REST send draws from one bucket per user, refilled at
//! `CHAT_WS_FRAMES_PER_SEC` with bursts of twice that. One bucket per user, not per socket: a
//! client cannot multiply its allowance by opening more sockets or switching to REST.

use chatd_schema::UserId;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;

pub struct SendBudget {
    buckets: DefaultKeyedRateLimiter<UserId>,
}

impl SendBudget {
    pub fn new(per_sec: u32) -> SendBudget {
        let rate = NonZeroU32::new(per_sec.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = rate.saturating_mul(NonZeroU32::MIN.saturating_add(1));
        SendBudget {
            buckets: RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
        }
    }

    /// Takes one unit of `user`'s budget; false when it is spent (the frame or send is refused).
    pub fn take(&self, user: UserId) -> bool {
        self.buckets.check_key(&user).is_ok()
    }

    /// Forgets users whose bucket is full again (they cost nothing to re-create); the server
    /// calls this now and then so the map does not grow with every user ever seen.
    pub fn forget_idle(&self) {
        self.buckets.retain_recent();
        self.buckets.shrink_to_fit();
    }

    /// Users with a bucket in memory.
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_bucket_per_user_with_a_burst_of_twice_the_rate() {
        let b = SendBudget::new(5);
        let taken = (0..100).filter(|_| b.take(UserId(1))).count();
        assert_eq!(taken, 10, "burst of twice the rate");
        assert!(b.take(UserId(2)), "another user has a budget of their own");
        assert_eq!(b.len(), 2);
    }
}
