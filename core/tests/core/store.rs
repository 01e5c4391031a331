//! The store's group commit: a write on an idle database commits on the caller's thread; writes
//! that arrive together share one transaction; a failing write rolls back alone; the hand-off
//! path and `synchronous=FULL` go through the writer thread; closing commits what was queued; a
//! full queue refuses forward writes at once; under writes that never pause the WAL is rewound.

use std::sync::Arc;

use checkout_core::ServiceError;
use checkout_core::store::{Db, StoreConfig, SyncMode};

const SCHEMA: &str =
    "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL UNIQUE);";

fn open(dir: &tempfile::TempDir, config: StoreConfig) -> Db {
    Db::open(&dir.path().join("t.db"), SCHEMA, config).expect("open")
}

async fn insert(db: &Db, v: i64) -> Result<i64, ServiceError> {
    db.write(move |c| {
        c.prepare_cached("INSERT INTO t (v) VALUES (?1)")?
            .execute([v])?;
        Ok(c.last_insert_rowid())
    })
    .await
}

fn count(db: &Db) -> i64 {
    let c = rusqlite::Connection::open(db.path()).unwrap();
    c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap()
}

#[tokio::test]
async fn a_write_on_an_idle_database_commits_inline_and_is_visible_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir, StoreConfig::default());
    for v in 0..10 {
        insert(&db, v).await.unwrap();
    }
    assert_eq!(count(&db), 10);
    let m = db.meter();
    assert_eq!((m.writes, m.commits, m.inline_commits), (10, 10, 10));
    assert!(m.cpu_ns > 0);
}

#[tokio::test]
async fn a_failing_write_rolls_back_alone_and_leaves_the_database_writable() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir, StoreConfig::default());
    insert(&db, 1).await.unwrap();
    // Half-done work inside a failing write must not survive.
    let r = db
        .write(|c| {
            c.execute("INSERT INTO t (v) VALUES (2)", [])?;
            c.execute("INSERT INTO t (v) VALUES (1)", [])?; // unique violation
            Ok(())
        })
        .await;
    assert!(r.is_err());
    let r: Result<(), _> = db
        .write(|_| Err(ServiceError::invalid("v", "refused by the caller")))
        .await;
    assert!(matches!(r, Err(ServiceError::InvalidArgument { .. })));
    insert(&db, 3).await.unwrap();
    assert_eq!(count(&db), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_share_commits_and_one_failure_spoils_no_other() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(open(&dir, StoreConfig::default()));
    let tasks: Vec<_> = (0..400)
        .map(|i| {
            let db = db.clone();
            // Every tenth write collides with the one before it.
            let v = if i % 10 == 9 { i - 1 } else { i };
            tokio::spawn(async move { insert(&db, v).await.is_ok() })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        ok += i64::from(t.await.unwrap());
    }
    assert_eq!(ok, 360);
    assert_eq!(count(&db), 360);
    let m = db.meter();
    assert_eq!(m.writes, 400);
    assert!(m.commits <= m.writes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hand_off_path_and_full_sync_commit_on_the_writer_thread() {
    for config in [
        StoreConfig {
            inline_commit: false,
            ..StoreConfig::default()
        },
        StoreConfig {
            sync: SyncMode::Full,
            ..StoreConfig::default()
        },
    ] {
        let dir = tempfile::tempdir().unwrap();
        let db = open(&dir, config);
        for v in 0..20 {
            insert(&db, v).await.unwrap();
        }
        assert_eq!(count(&db), 20);
        let m = db.meter();
        assert_eq!((m.writes, m.inline_commits), (20, 0), "{config:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_commits_what_was_queued_and_refuses_what_comes_after() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(open(
        &dir,
        StoreConfig {
            inline_commit: false,
            ..StoreConfig::default()
        },
    ));
    let tasks: Vec<_> = (0..100)
        .map(|v| {
            let db = db.clone();
            tokio::spawn(async move { insert(&db, v).await.is_ok() })
        })
        .collect();
    tokio::task::yield_now().await;
    let closer = db.clone();
    tokio::task::spawn_blocking(move || closer.close())
        .await
        .unwrap();
    let mut ok = 0;
    for t in tasks {
        ok += i64::from(t.await.unwrap());
    }
    // Whatever was accepted before the close is committed; nothing is half there.
    assert_eq!(count(&db), ok);
    assert!(db.is_closed());
    assert!(insert(&db, 1000).await.is_err());
}

#[tokio::test]
async fn reads_inline_and_on_the_blocking_pool_see_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir, StoreConfig::default());
    insert(&db, 42).await.unwrap();
    let q = |c: &rusqlite::Connection| -> checkout_core::ServiceResult<i64> {
        Ok(c.query_row("SELECT v FROM t WHERE id = 1", [], |r| r.get(0))?)
    };
    assert_eq!(db.read(q).await.unwrap(), 42);
    assert_eq!(db.scan(q).await.unwrap(), 42);
    assert_eq!(db.meter().reads, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_writer_queue_refuses_forward_writes_at_once_but_takes_undo_writes() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(
        &dir,
        StoreConfig {
            inline_commit: false,
            max_queue: 2,
            ..StoreConfig::default()
        },
    );
    // Hold the writer thread in a slow write so the next ones queue behind it.
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let slow = {
        let db = db.clone();
        tokio::spawn(async move {
            db.write(move |c| {
                started_tx.send(()).unwrap();
                std::thread::sleep(std::time::Duration::from_millis(300));
                c.execute("INSERT INTO t (v) VALUES (-1)", [])?;
                Ok(())
            })
            .await
        })
    };
    tokio::task::spawn_blocking(move || started_rx.recv().unwrap())
        .await
        .unwrap();
    let queued: Vec<_> = (0..2)
        .map(|v| {
            let db = db.clone();
            tokio::spawn(async move { insert(&db, v).await })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let t = std::time::Instant::now();
    let refused = insert(&db, 10).await;
    assert!(
        matches!(refused, Err(ServiceError::Overloaded { .. })),
        "{refused:?}"
    );
    assert!(
        t.elapsed() < std::time::Duration::from_millis(100),
        "refused at once"
    );
    // A compensation is not refused by the bound.
    db.write_undo(|c| Ok(c.execute("INSERT INTO t (v) VALUES (11)", [])?))
        .await
        .unwrap();
    slow.await.unwrap().unwrap();
    for q in queued {
        q.await.unwrap().unwrap();
    }
    assert_eq!(
        count(&db),
        4,
        "the slow write, the two queued and the undo; not the refused one"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_unbroken_writes_the_wal_is_rewound_instead_of_growing() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir, StoreConfig::default());
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..4_i64 {
        let (db, stop) = (db.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut v = w;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                insert(&db, v).await.unwrap();
                v += 4;
            }
        }));
    }
    // Frames in the log, as a checkpoint from another connection reports them.
    let probe = rusqlite::Connection::open(db.path()).unwrap();
    let mut frames = Vec::new();
    for _ in 0..30 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let (busy, log): (i64, i64) = probe
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        if busy == 0 && log >= 0 {
            frames.push(log);
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    let rewound = frames.windows(2).filter(|p| p[1] < p[0]).count();
    assert!(
        rewound > 0,
        "the log never went back to its start while writes kept coming: {frames:?}"
    );
    assert!(count(&db) > 0);
}

#[test]
fn timestamps_are_written_as_the_seed_writes_them() {
    use chrono::TimeZone;
    for (secs, ms) in [
        (0_i64, 0_u32),
        (1_795_000_000, 7),
        (1_800_000_000, 999),
        (4_102_444_799, 120),
    ] {
        let t = chrono::Utc
            .timestamp_opt(secs, ms * 1_000_000 + 123)
            .unwrap();
        assert_eq!(
            checkout_core::store::time_text(t),
            t.format("%Y-%m-%dT%H:%M:%S%.3f").to_string()
        );
    }
}
