//! The daemon's writes to its files (the metrics, the status, the mail
//! spool, the epoch files), done by one helper thread so that the event
//! loop never waits for a filesystem.
//!
//! Even a write that never asks for `fsync` waits when the filesystem is
//! *frozen*: `fsfreeze`, and every VM backup agent that quiesces the guest
//! for a snapshot (qemu-guest-agent's `guest-fsfreeze-freeze`, VMware's
//! quiesced snapshots, an LVM snapshot script), blocks each `open`,
//! `write`, `rename` and `unlink` on it until the thaw, seconds later.
//! Done from the loop, that froze the heartbeats: a primary whose metrics
//! file sat on the frozen filesystem found its clock two intervals ahead
//! at the thaw, dropped its addresses and let the secondary take over
//! (docs/operations.md §12, "A slow disk or a frozen filesystem"). A busy
//! disk does the same to the `fsync`s the epoch files need.
//!
//! So the loop only queues: [`Disk::submit`] hands a job (a closure that
//! does the whole write and logs its own outcome) to the thread and
//! returns. Jobs run one at a time, in the order submitted, so a removal
//! queued after a write to the same file happens after it. A job queued
//! for a file that already has one waiting *replaces* it (the newer
//! content wins; a removal cancels a write not yet begun): the queue holds
//! at most one job per file, so a filesystem frozen for minutes costs a
//! bounded amount of memory, and the metrics rewritten every five seconds
//! meanwhile are written once, current, at the thaw.
//!
//! A daemon runs two: one for its state, spool and metrics, and one for
//! the files an operator's command waits for (the status and the answer
//! to `--handover`, next to the pid file in `/run`), so that `--status`
//! still answers, and says which write is stuck, while a filesystem under
//! the first is frozen or hung.
//!
//! The threads are why the log reads the time zone itself
//! ([`crate::notify::log::local_offset`]): the `time` crate's own reading
//! works only while the process has one thread.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::notify::log::Logger;

/// A write (or removal) of one file, run on the writer thread. It logs its
/// own outcome to the logger it is given, and never panics (the release
/// build aborts on a panic, here as anywhere in the daemon).
pub type Job = Box<dyn FnOnce(&Logger) + Send>;

/// A job finished after longer than this is logged with how long it took.
pub const SLOW: Duration = Duration::from_secs(1);

/// A handle on the writer thread; clones share it. See the module
/// documentation.
#[derive(Clone)]
pub struct Disk {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Disk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let q = self.shared.lock();
        f.debug_struct("Disk")
            .field("queued", &q.jobs.len())
            .field("running", &q.running.as_ref().map(|r| &r.0))
            .finish()
    }
}

struct Shared {
    queue: Mutex<Queue>,
    /// Signalled when a job is queued.
    work: Condvar,
    /// Signalled when a job ends.
    ended: Condvar,
}

#[derive(Default)]
struct Queue {
    /// Waiting jobs, oldest first, at most one per file.
    jobs: VecDeque<(PathBuf, Job)>,
    /// The file being written, since when.
    running: Option<(PathBuf, Instant)>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // Only queue operations hold the lock (never a job), and none of
        // them can panic half-way: a poisoned lock holds a whole queue.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What the writer thread is stuck on: a file it has been writing (or
/// removing) for a while, and how many jobs wait behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stuck {
    /// The file.
    pub path: PathBuf,
    /// How long the job has run.
    pub for_: Duration,
    /// Jobs waiting behind it.
    pub waiting: usize,
}

impl Disk {
    /// Starts a writer thread named `disk`, which logs to `log`. Fails only
    /// if the thread cannot be created (the daemon then refuses to start:
    /// it would stall on the first frozen filesystem).
    pub fn start(log: Logger) -> std::io::Result<Disk> {
        Disk::start_named("disk", log)
    }

    /// [`Disk::start`], the thread named `name` (as `top -H` shows it).
    pub fn start_named(name: &str, log: Logger) -> std::io::Result<Disk> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            work: Condvar::new(),
            ended: Condvar::new(),
        });
        let worker = Arc::clone(&shared);
        std::thread::Builder::new()
            .name(name.to_owned())
            // Jobs format a few lines and call the filesystem: a small
            // stack is plenty, and keeps the daemon's memory small.
            .stack_size(64 * 1024)
            .spawn(move || run(&worker, &log))?;
        Ok(Disk { shared })
    }

    /// Queues `job`, which writes or removes `path`, replacing a job for
    /// `path` that has not begun. Never waits for the disk.
    pub fn submit(&self, path: &Path, job: impl FnOnce(&Logger) + Send + 'static) {
        let job: Job = Box::new(job);
        let mut q = self.shared.lock();
        match q.jobs.iter_mut().find(|(p, _)| p == path) {
            Some(slot) => slot.1 = job,
            None => q.jobs.push_back((path.to_owned(), job)),
        }
        drop(q);
        self.shared.work.notify_one();
    }

    /// The job running for longer than `limit`, if one is, at `now`.
    pub fn stuck(&self, now: Instant, limit: Duration) -> Option<Stuck> {
        let q = self.shared.lock();
        let (path, since) = q.running.as_ref()?;
        let for_ = now.saturating_duration_since(*since);
        (for_ > limit).then(|| Stuck {
            path: path.clone(),
            for_,
            waiting: q.jobs.len(),
        })
    }

    /// Waits at most `limit` until every job queued so far has run; false
    /// if some have not (a filesystem still frozen). For shutdown and
    /// tests only, never from the event loop.
    pub fn wait_idle(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let mut q = self.shared.lock();
        while !q.jobs.is_empty() || q.running.is_some() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            q = self
                .shared
                .ended
                .wait_timeout(q, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }
}

/// The writer thread: runs the jobs one at a time, for as long as the
/// process lives (it holds no lock while a job runs).
fn run(shared: &Shared, log: &Logger) {
    let mut q = shared.lock();
    loop {
        let Some((path, job)) = q.jobs.pop_front() else {
            q = shared.work.wait(q).unwrap_or_else(PoisonError::into_inner);
            continue;
        };
        let started = Instant::now();
        q.running = Some((path.clone(), started));
        drop(q);
        job(log);
        let took = started.elapsed();
        if took > SLOW {
            log.notice(format_args!(
                "writing {} took {:.1} s (a slow or frozen filesystem): the heartbeats went on \
                 meanwhile",
                path.display(),
                took.as_secs_f64()
            ));
        }
        q = shared.lock();
        q.running = None;
        shared.ended.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    fn disk() -> (Disk, crate::notify::log::LogCapture) {
        let (log, capture) = Logger::memory("disk-test");
        (Disk::start(log).expect("thread"), capture)
    }

    /// A job that blocks until the returned sender is dropped or sends,
    /// so a test controls when the writer is busy.
    fn gate() -> (mpsc::Sender<()>, impl FnOnce(&Logger) + Send + 'static) {
        let (tx, rx) = mpsc::channel::<()>();
        (tx, move |_: &Logger| {
            let _ = rx.recv_timeout(Duration::from_secs(10));
        })
    }

    #[test]
    fn jobs_run_in_order_off_the_callers_thread() {
        let (disk, _) = disk();
        let (tx, rx) = mpsc::channel();
        let caller = std::thread::current().id();
        for n in 0..5 {
            let tx = tx.clone();
            disk.submit(&PathBuf::from(format!("/f{n}")), move |_| {
                tx.send((n, std::thread::current().id())).unwrap();
            });
        }
        assert!(disk.wait_idle(Duration::from_secs(10)));
        let ran: Vec<_> = rx.try_iter().collect();
        assert_eq!(
            ran.iter().map(|r| r.0).collect::<Vec<_>>(),
            vec![0, 1, 2, 3, 4]
        );
        assert!(
            ran.iter().all(|r| r.1 != caller),
            "ran on the caller's thread"
        );
    }

    #[test]
    fn a_job_for_a_file_already_waiting_replaces_it_and_keeps_its_place() {
        let (disk, _) = disk();
        let (open, blocker) = gate();
        disk.submit(Path::new("/busy"), blocker);
        let (tx, rx) = mpsc::channel();
        for (file, content) in [("/a", 1), ("/b", 2), ("/a", 3), ("/a", 4)] {
            let tx = tx.clone();
            disk.submit(Path::new(file), move |_| tx.send((file, content)).unwrap());
        }
        drop(open);
        assert!(disk.wait_idle(Duration::from_secs(10)));
        assert_eq!(
            rx.try_iter().collect::<Vec<_>>(),
            vec![("/a", 4), ("/b", 2)]
        );
    }

    #[test]
    fn a_long_job_is_reported_stuck_and_the_caller_never_waits() {
        let (disk, capture) = disk();
        let (open, blocker) = gate();
        disk.submit(Path::new("/frozen/metrics.prom"), blocker);
        // Running, not waiting (a waiting one the next submit replaces).
        for _ in 0..1000 {
            if disk.stuck(Instant::now(), Duration::ZERO).is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let submitted = Instant::now();
        for _ in 0..1000 {
            disk.submit(Path::new("/frozen/metrics.prom"), |_| {});
        }
        assert!(
            submitted.elapsed() < Duration::from_secs(5),
            "submit waited for the writer"
        );
        assert!(!disk.wait_idle(Duration::from_millis(50)));
        let stuck = disk
            .stuck(
                Instant::now() + Duration::from_secs(3),
                Duration::from_secs(2),
            )
            .expect("stuck");
        assert_eq!(stuck.path, Path::new("/frozen/metrics.prom"));
        assert_eq!(stuck.waiting, 1, "a thousand rewrites queue as one");
        assert!(disk.stuck(Instant::now(), Duration::from_secs(2)).is_none());
        std::thread::sleep(SLOW + Duration::from_millis(100));
        drop(open);
        assert!(disk.wait_idle(Duration::from_secs(10)));
        assert!(disk.stuck(Instant::now(), Duration::ZERO).is_none());
        assert!(
            capture.contains("writing /frozen/metrics.prom took"),
            "{}",
            capture.text()
        );
    }
}
