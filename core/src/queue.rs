//! The bounded queue every machine keeps its pending [`Action`]s in.
//!
//! Core allocates nothing, so the queue has a fixed capacity, sized for the
//! longest burst one input can cause many times over. A host that drains
//! after every input (as [`Machine`](crate::Machine) asks) never fills it.
//! A host that stops draining would, and then something has to give: the
//! *oldest* action goes, because the newest ones describe the machine's
//! present (a `RemoveAddresses` after an older `AddAddresses`), and the
//! machine must keep deciding whatever its host does.
//!
//! What goes is not lost silently. The queue counts it
//! ([`Stats::actions_dropped`](crate::Stats::actions_dropped)), and the
//! next action the host takes is
//! `Action::Notify(Event::ActionsLost { count })`, saying how many went
//! since it last heard. That notice needs no room in the queue: it is made
//! when the host polls, so it cannot be dropped in turn, and it comes
//! first, exactly where the lost (older) actions would have been.

use heapless::Deque;

use crate::action::{Action, Event};

/// A drop-oldest queue of [`Action`]s that reports what it drops. See the
/// module documentation.
#[derive(Debug, Clone)]
pub(crate) struct ActionQueue<const N: usize> {
    queue: Deque<Action, N>,
    /// Dropped since the host was last told (the next `pop` tells it).
    unreported: u32,
    /// Dropped since the machine started, saturating.
    dropped: u32,
}

impl<const N: usize> ActionQueue<N> {
    /// An empty queue.
    pub const fn new() -> Self {
        ActionQueue {
            queue: Deque::new(),
            unreported: 0,
            dropped: 0,
        }
    }

    /// Queues `action`; when the queue is full, the oldest action is
    /// dropped (and counted) to make room.
    pub fn push(&mut self, action: Action) {
        if self.queue.is_full() {
            self.queue.pop_front();
            self.unreported = self.unreported.saturating_add(1);
            self.dropped = self.dropped.saturating_add(1);
        }
        // Cannot fail: room was made above (and heapless refuses a
        // capacity of 0 at compile time).
        let _ = self.queue.push_back(action);
    }

    /// The next action: first, if actions were dropped since the last
    /// call, the notice saying how many; then the oldest queued one.
    pub fn pop(&mut self) -> Option<Action> {
        if self.unreported > 0 {
            let count = core::mem::take(&mut self.unreported);
            return Some(Action::Notify(Event::ActionsLost { count }));
        }
        self.queue.pop_front()
    }

    /// How many actions were dropped since the machine started.
    pub fn dropped(&self) -> u32 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::Stage;
    use std::vec::Vec;

    fn drain<const N: usize>(q: &mut ActionQueue<N>) -> Vec<Action> {
        core::iter::from_fn(|| q.pop()).collect()
    }

    #[test]
    fn an_overflow_drops_the_oldest_counts_them_and_says_so_first() {
        let mut q = ActionQueue::<3>::new();
        q.push(Action::AddAddresses);
        q.push(Action::Announce);
        q.push(Action::RunStage(Stage::PostAcq));
        assert_eq!(q.dropped(), 0);
        q.push(Action::RunStage(Stage::PreRel));
        q.push(Action::RemoveAddresses);
        assert_eq!(q.dropped(), 2);
        assert_eq!(
            drain(&mut q),
            [
                Action::Notify(Event::ActionsLost { count: 2 }),
                Action::RunStage(Stage::PostAcq),
                Action::RunStage(Stage::PreRel),
                Action::RemoveAddresses,
            ],
            "the notice stands where the two oldest were"
        );
        // Told once; the total stays readable.
        q.push(Action::Announce);
        assert_eq!(drain(&mut q), [Action::Announce]);
        assert_eq!(q.dropped(), 2);
    }

    #[test]
    fn losses_between_two_polls_are_told_in_one_notice() {
        let mut q = ActionQueue::<2>::new();
        for _ in 0..10 {
            q.push(Action::Announce);
        }
        assert_eq!(
            q.pop(),
            Some(Action::Notify(Event::ActionsLost { count: 8 }))
        );
        assert_eq!(q.pop(), Some(Action::Announce));
        for _ in 0..3 {
            q.push(Action::AddAddresses);
        }
        assert_eq!(
            drain(&mut q),
            [
                Action::Notify(Event::ActionsLost { count: 2 }),
                Action::AddAddresses,
                Action::AddAddresses,
            ],
            "the one left from before went first"
        );
        assert_eq!(q.dropped(), 10);
    }
}
