use super::*;
use std::os::unix::fs::PermissionsExt;

fn dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

fn disk() -> (Disk, crate::notify::log::LogCapture) {
    let (log, capture) = crate::notify::log::Logger::memory("spool-test");
    (Disk::start(log).expect("the writer thread"), capture)
}

fn open(dir: &Path, max: usize) -> (Spool, Opened) {
    let (disk, _) = disk();
    Spool::open(
        dir,
        "failoverd",
        max,
        Backoff::default(),
        Instant::now(),
        disk,
    )
    .expect("open")
}

/// Waits until the writer thread has done what `s` queued.
fn settled(s: &Spool) {
    assert!(
        s.disk.wait_idle(Duration::from_secs(10)),
        "the writer is stuck"
    );
}

/// Makes the writer thread wait (on a job of its own) until the returned
/// sender is dropped.
fn hold(s: &Spool) -> std::sync::mpsc::Sender<()> {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    s.disk.submit(Path::new("/hold"), move |_| {
        let _ = rx.recv_timeout(Duration::from_secs(10));
    });
    tx
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

#[test]
fn a_message_is_one_file_named_for_its_daemon_order_and_event() {
    let d = dir();
    let spool_dir = d.path().join("spool");
    let (mut s, opened) = open(&spool_dir, 10);
    assert_eq!(opened.leftovers, 0);
    let mode = fs::metadata(&spool_dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "created private");
    let (t, dropped) = s
        .add(Instant::now(), "TookOver", b"To: root\n\nhi\n")
        .unwrap();
    assert!(dropped.is_empty());
    assert_eq!(t.tag, "TookOver");
    settled(&s);
    assert_eq!(
        names(&spool_dir),
        ["failoverd-00000000000000000001-TookOver.mail"]
    );
    let path = s.path(&t);
    assert_eq!(fs::read(&path).unwrap(), b"To: root\n\nhi\n");
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(s.read(&t).unwrap(), b"To: root\n\nhi\n");
    // A tag is cleaned for the file name.
    let (t2, _) = s.add(Instant::now(), "a/../b c", b"x").unwrap();
    assert_eq!(t2.tag, "abc");
}

#[test]
fn leftovers_come_back_oldest_first_and_numbering_goes_on() {
    let d = dir();
    let (mut s, _) = open(d.path(), 10);
    for tag in ["First", "Second", "Third"] {
        s.add(Instant::now(), tag, tag.as_bytes()).unwrap();
    }
    settled(&s);
    drop(s);
    // Another daemon's mail and strangers are not ours.
    fs::write(
        d.path()
            .join("heartbeatd-00000000000000000001-Acquired.mail"),
        "x",
    )
    .unwrap();
    fs::write(d.path().join("failoverd-notes.txt"), "x").unwrap();
    let (mut s, opened) = open(d.path(), 10);
    assert_eq!(opened.leftovers, 3);
    let tags: Vec<&str> = s.tickets().map(|t| t.tag.as_str()).collect();
    assert_eq!(tags, ["First", "Second", "Third"]);
    let now = Instant::now();
    assert_eq!(s.take_due(now).unwrap().tag, "First");
    assert_eq!(s.take_due(now).unwrap().tag, "Second");
    let (t, _) = s.add(now, "Fourth", b"4").unwrap();
    assert_eq!(t.seq, 4, "numbering goes on from the highest found");
    assert_eq!(s.take_due(now).unwrap().tag, "Third");
    assert_eq!(s.take_due(now).unwrap().tag, "Fourth");
    assert_eq!(s.take_due(now), None, "all four are being sent");
}

#[test]
fn a_delivered_message_is_removed_and_a_failed_one_waits_its_back_off() {
    let d = dir();
    let backoff = Backoff {
        first: Duration::from_secs(10),
        max: Duration::from_secs(25),
    };
    let t0 = Instant::now();
    let (disk, capture) = disk();
    let (mut s, _) = Spool::open(d.path(), "heartbeatd", 10, backoff, t0, disk).unwrap();
    let (a, _) = s.add(t0, "Acquired", b"a").unwrap();
    let (b, _) = s.add(t0, "PeerLost", b"b").unwrap();
    assert_eq!(s.take_due(t0), Some(a.clone()));
    assert_eq!(s.take_due(t0), Some(b.clone()));
    settled(&s);
    assert!(s.path(&a).exists());
    s.remove(&a);
    settled(&s);
    assert!(!s.path(&a).exists());
    assert_eq!(s.len(), 1);
    // Removing what is already gone is not an error.
    s.remove(&a);
    settled(&s);
    assert_eq!(capture.count(), 0, "{}", capture.text());

    assert_eq!(s.failed(&b, t0), Some(Duration::from_secs(10)));
    assert!(s.path(&b).exists(), "a failed message stays spooled");
    assert_eq!(s.next_due(), Some(t0 + Duration::from_secs(10)));
    assert!(!s.has_due(t0 + Duration::from_secs(9)));
    assert_eq!(s.take_due(t0 + Duration::from_secs(9)), None);
    let t1 = t0 + Duration::from_secs(10);
    assert_eq!(s.take_due(t1), Some(b.clone()));
    assert_eq!(s.failed(&b, t1), Some(Duration::from_secs(20)));
    let t2 = t1 + Duration::from_secs(20);
    assert_eq!(s.take_due(t2), Some(b.clone()));
    assert_eq!(s.failed(&b, t2), Some(Duration::from_secs(25)), "capped");
    s.remove(&b);
    assert_eq!(s.failed(&b, t2), None, "no longer spooled");
    assert!(s.is_empty());
}

#[test]
fn the_spool_is_bounded_by_dropping_the_oldest() {
    let d = dir();
    let (mut s, _) = open(d.path(), 3);
    let now = Instant::now();
    for tag in ["A", "B", "C"] {
        let (_, dropped) = s.add(now, tag, b"x").unwrap();
        assert!(dropped.is_empty());
    }
    // A is being sent: the oldest waiting one, B, goes.
    assert_eq!(s.take_due(now).unwrap().tag, "A");
    let (_, dropped) = s.add(now, "D", b"x").unwrap();
    assert_eq!(dropped.len(), 1);
    assert_eq!(dropped[0].tag, "B");
    settled(&s);
    assert_eq!(names(d.path()).len(), 3);
    let tags: Vec<&str> = s.tickets().map(|t| t.tag.as_str()).collect();
    assert_eq!(tags, ["A", "C", "D"]);
    drop(s);
    // A smaller bound at the next start drops the oldest leftovers.
    let (s, opened) = open(d.path(), 2);
    let dropped: Vec<&str> = opened.dropped.iter().map(|t| t.tag.as_str()).collect();
    assert_eq!(dropped, ["A"]);
    assert_eq!(opened.leftovers, 2);
    assert_eq!(s.len(), 2);
    assert_eq!(names(d.path()).len(), 2);
}

#[test]
fn an_unfinished_temporary_file_is_removed_at_start_and_never_sent() {
    let d = dir();
    let temp = d.path().join(".failoverd-00000000000000000007.tmp");
    fs::write(&temp, "To: root\n\nhalf a mess").unwrap();
    let other = d.path().join(".heartbeatd-00000000000000000007.tmp");
    fs::write(&other, "x").unwrap();
    let (mut s, opened) = open(d.path(), 10);
    assert_eq!(opened.removed_temp, std::slice::from_ref(&temp));
    assert_eq!(opened.leftovers, 0);
    assert!(!temp.exists());
    assert!(other.exists(), "the other daemon's is its own business");
    assert_eq!(s.take_due(Instant::now()), None);
}

#[test]
fn links_and_foreign_directories_are_refused() {
    let d = dir();
    let real = d.path().join("real");
    fs::create_dir(&real).unwrap();
    fs::set_permissions(&real, fs::Permissions::from_mode(0o700)).unwrap();
    let link = d.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let e = Spool::open(
        &link,
        "failoverd",
        10,
        Backoff::default(),
        Instant::now(),
        disk().0,
    )
    .unwrap_err();
    assert!(e.to_string().contains("symbolic link"), "{e}");
    assert!(e.to_string().contains(&link.display().to_string()), "{e}");
    assert!(check(&link).unwrap().contains("symbolic link"));

    fs::set_permissions(&real, fs::Permissions::from_mode(0o777)).unwrap();
    let e = prepare(&real).unwrap_err();
    assert!(
        e.to_string().contains("writable by its group or by others"),
        "{e}"
    );
    assert!(check(&real).is_some());

    let file = d.path().join("file");
    fs::write(&file, "").unwrap();
    assert!(check(&file).unwrap().contains("is not a directory"));
    assert!(check(Path::new("relative/spool"))
        .unwrap()
        .contains("absolute"));
    assert_eq!(check(&d.path().join("to/be/made")), None);
    assert!(check(&file.join("below"))
        .unwrap()
        .contains("not a directory"));

    // A symbolic link planted where the next temporary file goes is not
    // followed: the write fails, nothing is written through it, and the
    // message is still sent, from memory.
    let (disk, capture) = disk();
    let ok = d.path().join("ok");
    let (mut s, _) = Spool::open(
        &ok,
        "failoverd",
        10,
        Backoff::default(),
        Instant::now(),
        disk,
    )
    .expect("open");
    let target = d.path().join("target");
    std::os::unix::fs::symlink(&target, ok.join(".failoverd-00000000000000000001.tmp")).unwrap();
    let (t, _) = s.add(Instant::now(), "TookOver", b"x").unwrap();
    settled(&s);
    assert!(capture.contains("cannot create"), "{}", capture.text());
    assert!(capture.contains("sent from memory"), "{}", capture.text());
    assert!(!target.exists());
    assert_eq!(s.read(&t).unwrap(), b"x");
}

#[test]
fn a_message_waiting_for_its_file_is_sent_from_memory_and_its_removal_cancels_the_write() {
    // The writer thread busy (a frozen filesystem, as far as the spool can
    // tell): adding and taking a message never waits for it.
    let d = dir();
    let (mut s, _) = open(d.path(), 10);
    let release = hold(&s);
    let (t, _) = s
        .add(Instant::now(), "TookOver", b"To: root\n\nhi\n")
        .unwrap();
    assert_eq!(s.take_due(Instant::now()), Some(t.clone()));
    assert_eq!(s.read(&t).unwrap(), b"To: root\n\nhi\n");
    assert!(!s.path(&t).exists(), "not written yet");
    // Sent before the filesystem thawed: the file is never written.
    s.remove(&t);
    drop(release);
    settled(&s);
    assert_eq!(names(d.path()), Vec::<String>::new());
    // One still waiting at the thaw is written then.
    let release = hold(&s);
    let (u, _) = s.add(Instant::now(), "PeerLost", b"u").unwrap();
    drop(release);
    settled(&s);
    assert_eq!(fs::read(s.path(&u)).unwrap(), b"u");
}

#[test]
fn back_off_doubles_up_to_its_cap() {
    let b = Backoff {
        first: Duration::from_secs(15),
        max: Duration::from_secs(900),
    };
    let delays: Vec<u64> = (1..=8).map(|n| b.delay(n).as_secs()).collect();
    assert_eq!(delays, [15, 30, 60, 120, 240, 480, 900, 900]);
    assert_eq!(b.delay(u32::MAX).as_secs(), 900);
}
