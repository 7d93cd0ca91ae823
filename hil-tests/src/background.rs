//! A thread of the lab that runs until it is told to stop: the observers,
//! the service stand-in and its client, the forgers. It is told to stop and
//! joined when dropped, so none outlives what started it (a test that
//! fails included); its work checks the flag and returns soon after.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// A running thread and the flag that stops it.
#[derive(Debug)]
pub struct Background<T> {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<T>>,
}

impl<T> Background<T> {
    /// A stop flag for a thread about to be started elsewhere (in a
    /// namespace: [`Netns::spawn_thread`](crate::netns::Netns::spawn_thread)),
    /// which gets a clone of it.
    pub fn flag() -> Arc<AtomicBool> {
        Arc::new(AtomicBool::new(false))
    }

    /// The thread `handle`, which stops when `stop` is set.
    pub fn new(stop: Arc<AtomicBool>, handle: JoinHandle<T>) -> Background<T> {
        Background {
            stop,
            handle: Some(handle),
        }
    }

    /// Tells the thread to stop and waits for it: its result (`Err` if it
    /// panicked), or `None` if it was halted before.
    pub fn halt(&mut self) -> Option<std::thread::Result<T>> {
        self.stop.store(true, Ordering::SeqCst);
        self.handle.take().map(JoinHandle::join)
    }
}

impl<T: Send + 'static> Background<T> {
    /// Runs `work` in a new thread, with the flag that tells it to stop.
    pub fn spawn(work: impl FnOnce(&AtomicBool) -> T + Send + 'static) -> Background<T> {
        let stop = Background::<T>::flag();
        let flag = Arc::clone(&stop);
        Background::new(stop, std::thread::spawn(move || work(&flag)))
    }
}

impl<T> Drop for Background<T> {
    fn drop(&mut self) {
        let _ = self.halt();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_background_thread_stops_when_told_and_gives_its_result() {
        let mut b = Background::spawn(|stop| {
            let mut turns = 0u32;
            while !stop.load(Ordering::SeqCst) && turns < 10_000 {
                turns += 1;
                std::thread::sleep(Duration::from_millis(1));
            }
            turns
        });
        std::thread::sleep(Duration::from_millis(20));
        let turns = b.halt().expect("first halt").expect("no panic");
        assert!(turns < 10_000, "{turns}");
        assert!(b.halt().is_none());
    }
}
