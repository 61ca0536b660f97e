//! A group's backlog: the messages not yet written to every member, how far each member has
//! got, and writing a run of members what they are due, on one thread or split over several.
//! The group actor ([`crate::group`]) decides when; this module decides who gets which slice.

use chatd_schema::UserId;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use smallvec::SmallVec;

use crate::delivery::{Delivery, Target};
use crate::online::Online;
use crate::remote::Forwards;
use crate::wire::push::Push;

/// One stored group message to deliver.
pub struct FanoutItem {
    pub out: Arc<Push>,
    pub sender: UserId,
    /// The sender's session: its other devices get the message, this one does not.
    pub sender_sid: Option<Arc<str>>,
    /// Members who blacklisted the sender (any order; sorted once when the actor takes it).
    pub exclude: Vec<UserId>,
    /// Non-members who must get it too (a removed member told of the removal).
    pub also: Vec<UserId>,
}

impl FanoutItem {
    /// Needs `exclude` sorted: it is asked once per member.
    fn reaches(&self, member: UserId) -> bool {
        member != self.sender && self.exclude.binary_search(&member).is_err()
    }
}

/// Messages not yet written to every member, and how far each member has got. Messages are
/// numbered in the order the actor took them in; `items[0]` is number `base`.
#[derive(Default)]
pub(crate) struct Backlog {
    items: Vec<FanoutItem>,
    /// `items[i].out`, side by side, so most members get one shared slice.
    outs: Vec<Arc<Push>>,
    base: u64,
    /// Per member (in the member list's order): the number of the first message it has not been
    /// given.
    next: Vec<u64>,
}

impl Backlog {
    fn end(&self) -> u64 {
        self.base + self.items.len() as u64
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// Starts over for `members` members, every one up to date.
    pub(crate) fn reset(&mut self, members: usize) {
        self.trim_to(self.end());
        self.next = vec![self.end(); members];
    }

    pub(crate) fn push(&mut self, mut item: FanoutItem) {
        item.exclude.sort_unstable();
        self.outs.push(item.out.clone());
        self.items.push(item);
    }

    /// Members `range` of the member list `members`, and their view on the backlog.
    pub(crate) fn part<'a>(&'a mut self, members: &'a [UserId], range: Range<usize>) -> Part<'a> {
        let end = range.end.min(self.next.len());
        let start = range.start.min(end);
        Part {
            members: members.get(start..end).unwrap_or_default(),
            items: &self.items,
            outs: &self.outs,
            base: self.base,
            next: &mut self.next[start..end],
        }
    }

    /// The whole member list `members` in runs of `size` (the last may be shorter).
    fn parts<'a>(&'a mut self, members: &'a [UserId], size: usize) -> Vec<Part<'a>> {
        let size = size.max(1);
        let (items, outs, base) = (&self.items[..], &self.outs[..], self.base);
        self.next
            .chunks_mut(size)
            .zip(members.chunks(size))
            .map(|(next, members)| Part {
                members,
                items,
                outs,
                base,
                next,
            })
            .collect()
    }

    /// Drops the messages every member has been given.
    pub(crate) fn trim(&mut self) {
        let done = self.next.iter().copied().min().unwrap_or(self.end());
        self.trim_to(done);
    }

    fn trim_to(&mut self, done: u64) {
        let n = (done - self.base) as usize;
        self.items.drain(..n);
        self.outs.drain(..n);
        self.base = done;
    }
}

/// A run of members' view on a [`Backlog`]: the messages, and how far each of these members
/// has got. Runs of one backlog are disjoint, so they can be written on separate threads.
pub(crate) struct Part<'a> {
    /// The run's members, in the member list's order.
    members: &'a [UserId],
    items: &'a [FanoutItem],
    outs: &'a [Arc<Push>],
    base: u64,
    /// Per member of the run: the number of the first message it has not been given.
    next: &'a mut [u64],
}

impl Part<'_> {
    fn end(&self) -> u64 {
        self.base + self.items.len() as u64
    }

    /// The indices into `items` that the run's member `k` has not been given; marks them given.
    fn take(&mut self, k: usize) -> Range<usize> {
        let end = self.end();
        match self.next.get_mut(k) {
            Some(next) => {
                let from = (*next - self.base) as usize;
                *next = end;
                from..self.items.len()
            }
            None => 0..0,
        }
    }

    /// Gives each of the run's members what it has not been given; what members on other nodes
    /// need is collected in `fw`, for the pass to forward once. Members are taken [`LOOKAHEAD`]
    /// at a time: looked up together under one read of the route table, their outboxes
    /// prefetched, then written (see [`crate::prefetch`]).
    pub(crate) fn deliver(&mut self, delivery: &Delivery, fw: &mut Forwards) {
        let members = self.members;
        let mut start = 0;
        for run in members.chunks(LOOKAHEAD) {
            let due: SmallVec<[Due; LOOKAHEAD]> = run
                .iter()
                .enumerate()
                .map(|(i, &member)| self.due(start + i, member))
                .collect();
            let mut here = [false; LOOKAHEAD];
            {
                let users = delivery.routes().users();
                let found: SmallVec<[Option<&Online>; LOOKAHEAD]> = run
                    .iter()
                    .zip(&due)
                    .map(|(member, due)| match due {
                        Due::Nothing => None,
                        _ => users.get(member),
                    })
                    .collect();
                for online in found.iter().flatten() {
                    online.prefetch();
                }
                for (i, (online, due)) in found.iter().zip(&due).enumerate() {
                    if let Some(online) = online {
                        online.push(self.outs(due), None);
                        here[i] = true;
                    }
                }
            }
            for (i, (&member, due)) in run.iter().zip(&due).enumerate() {
                if !matches!(due, Due::Nothing) {
                    let target = Target::recipient(member);
                    delivery.route_elsewhere(&target, here[i], self.outs(due), fw);
                }
            }
            start += run.len();
        }
    }

    /// What the run's member `k` (user `member`) is due now; marks it given.
    fn due(&mut self, k: usize, member: UserId) -> Due {
        let range = self.take(k);
        if range.is_empty() {
            return Due::Nothing;
        }
        let items = &self.items[range.clone()];
        if items.iter().all(|i| i.reaches(member)) {
            // The common case: a slice shared with every other member.
            return Due::Shared(range);
        }
        let some: Vec<Arc<Push>> = items
            .iter()
            .filter(|i| i.reaches(member))
            .map(|i| i.out.clone())
            .collect();
        if some.is_empty() {
            Due::Nothing
        } else {
            Due::Own(some)
        }
    }

    fn outs<'b>(&'b self, due: &'b Due) -> &'b [Arc<Push>] {
        match due {
            Due::Nothing => &[],
            Due::Shared(range) => &self.outs[range.clone()],
            Due::Own(outs) => outs,
        }
    }
}

/// Members looked up and prefetched together: enough to overlap their cache misses, few enough
/// that what was prefetched is still in cache when its turn comes, and the route table's read
/// lock is held for no more than this many writes.
const LOOKAHEAD: usize = 16;

/// What one member is due in a pass.
enum Due {
    Nothing,
    /// `items[range]`, shared with every member not excluded from any of them.
    Shared(Range<usize>),
    /// Some of them: the member blacklisted the sender of others.
    Own(Vec<Arc<Push>>),
}

/// Writes every member's due messages on up to `threads` threads (this one included), each
/// taking the next run of `run` members nobody has taken yet until none is left. Short runs
/// keep a thread the scheduler holds back from holding many members back with it: the others
/// take the rest. A thread that cannot be started leaves its share to the others.
pub(crate) fn deliver_split(
    backlog: &mut Backlog,
    members: &[UserId],
    run: usize,
    threads: usize,
    delivery: &Delivery,
) {
    // Each run waits in its slot until a thread takes it.
    let runs: Vec<Mutex<Option<Part<'_>>>> = backlog
        .parts(members, run)
        .into_iter()
        .map(|run| Mutex::new(Some(run)))
        .collect();
    let claimed = AtomicUsize::new(0);
    let forwards = Mutex::new(Forwards::default());
    let work = || {
        let mut fw = Forwards::default();
        while let Some(run) = runs.get(claimed.fetch_add(1, Ordering::Relaxed)) {
            let taken = run.lock().unwrap_or_else(|p| p.into_inner()).take();
            if let Some(mut part) = taken {
                part.deliver(delivery, &mut fw);
            }
        }
        if !fw.is_empty() {
            forwards.lock().unwrap_or_else(|p| p.into_inner()).merge(fw);
        }
    };
    std::thread::scope(|s| {
        let helpers: Vec<_> = (1..threads.min(runs.len()))
            .filter_map(|_| {
                std::thread::Builder::new()
                    .name("chatd-fanout".into())
                    .spawn_scoped(s, work)
                    .ok()
            })
            .collect();
        work();
        for helper in helpers {
            if let Err(panic) = helper.join() {
                std::panic::resume_unwind(panic);
            }
        }
    });
    delivery.forward(forwards.into_inner().unwrap_or_else(|p| p.into_inner()));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(sender: i64) -> FanoutItem {
        FanoutItem {
            out: Arc::new(Push::ephemeral("{}")),
            sender: UserId(sender),
            sender_sid: None,
            exclude: Vec::new(),
            also: Vec::new(),
        }
    }

    /// What member `k` is given now.
    fn take(b: &mut Backlog, k: usize) -> Range<usize> {
        b.part(&[], k..k + 1).take(0)
    }

    #[test]
    fn members_passed_get_late_messages_on_the_next_pass_and_the_rest_get_all_at_once() {
        let mut b = Backlog::default();
        b.reset(3);
        b.push(item(0));
        // The pass gives member 0 the first message...
        assert_eq!(take(&mut b, 0), 0..1);
        // ...then a second one arrives: members 1 and 2 get both in one write.
        b.push(item(0));
        assert_eq!(take(&mut b, 1), 0..2);
        assert_eq!(take(&mut b, 2), 0..2);
        b.trim();
        assert_eq!(b.len(), 1, "member 0 still needs the second");
        // The next pass gives member 0 only the second; the others have nothing left.
        assert_eq!(take(&mut b, 0), 0..1);
        assert_eq!(take(&mut b, 1), 1..1);
        assert_eq!(take(&mut b, 2), 1..1);
        b.trim();
        assert_eq!(b.len(), 0);
        assert_eq!(b.base, 2);
    }

    #[test]
    fn a_reset_brings_every_member_up_to_date_and_keeps_numbering() {
        let mut b = Backlog::default();
        b.reset(2);
        b.push(item(0));
        b.push(item(0));
        b.reset(4);
        assert_eq!(b.len(), 0);
        assert_eq!(b.next, vec![2; 4]);
        b.push(item(0));
        assert_eq!(take(&mut b, 3), 0..1);
        assert_eq!(take(&mut b, 9), 0..0, "no such member");
    }

    #[test]
    fn runs_of_a_split_pass_cover_every_member_once() {
        let mut b = Backlog::default();
        b.reset(10);
        b.push(item(0));
        let members: Vec<UserId> = (1..=10).map(UserId).collect();
        let sizes: Vec<usize> = b.parts(&members, 4).iter().map(|p| p.next.len()).collect();
        assert_eq!(sizes, vec![4, 4, 2]);
        let runs: Vec<Vec<UserId>> = b
            .parts(&members, 4)
            .iter()
            .map(|p| p.members.to_vec())
            .collect();
        assert_eq!(runs.concat(), members, "each member in one run, in order");
        for mut part in b.parts(&members, 4) {
            for k in 0..part.next.len() {
                assert_eq!(part.take(k), 0..1);
            }
        }
        b.trim();
        assert_eq!(b.len(), 0, "every member was given the message");
    }

    #[test]
    fn a_group_without_members_drops_its_backlog() {
        let mut b = Backlog::default();
        b.reset(0);
        b.push(item(0));
        b.trim();
        assert_eq!(b.len(), 0);
    }

    #[test]
    fn exclusions_are_sorted_once_taken_in() {
        let mut b = Backlog::default();
        let mut i = item(5);
        i.exclude = [9, 3, 7].map(UserId).to_vec();
        b.push(i);
        let i = &b.items[0];
        assert!(!i.reaches(UserId(5)), "not the sender");
        assert!(!i.reaches(UserId(3)) && !i.reaches(UserId(7)) && !i.reaches(UserId(9)));
        assert!(i.reaches(UserId(4)));
    }
}
