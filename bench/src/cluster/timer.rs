//! Wake-ups to within tens of microseconds, where tokio's timer rounds up to the next
//! millisecond: a link of 0.25 ms would otherwise delay each chunk by a whole millisecond.

use std::time::Duration;

use tokio::time::Instant;

/// A wake-up due at `at` (ordered soonest first in a max-heap).
struct Wake {
    at: std::time::Instant,
    seq: u64,
    tx: tokio::sync::oneshot::Sender<()>,
}

impl PartialEq for Wake {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Wake {}
impl PartialOrd for Wake {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Wake {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (o.at, o.seq).cmp(&(self.at, self.seq))
    }
}

type Wakes = (
    std::sync::Mutex<(std::collections::BinaryHeap<Wake>, u64)>,
    std::sync::Condvar,
);

/// The thread that fires wake-ups: it sleeps (timer slack 1 ns) until the soonest is due.
fn wakes() -> &'static Wakes {
    static WAKES: std::sync::OnceLock<&'static Wakes> = std::sync::OnceLock::new();
    WAKES.get_or_init(|| {
        let w: &'static Wakes = Box::leak(Box::default());
        std::thread::Builder::new()
            .name("link-timer".into())
            .spawn(move || {
                let _ = rustix::thread::set_current_timer_slack(std::num::NonZeroU64::new(1));
                let (lock, cv) = w;
                let mut g = lock.lock().unwrap_or_else(|e| e.into_inner());
                loop {
                    let now = std::time::Instant::now();
                    g = match g.0.peek().map(|w| w.at) {
                        None => cv.wait(g).unwrap_or_else(|e| e.into_inner()),
                        Some(at) if at <= now => {
                            if let Some(due) = g.0.pop() {
                                let _ = due.tx.send(());
                            }
                            g
                        }
                        Some(at) => cv
                            .wait_timeout(g, at - now)
                            .map_or_else(|e| e.into_inner().0, |r| r.0),
                    };
                }
            })
            .expect("starting the link timer thread");
        w
    })
}

/// Sleeps until `at` to within tens of microseconds, where tokio's timer rounds up to the next
/// millisecond (a 0.25 ms link would otherwise delay by 1 ms): tokio's timer for all but the last
/// 2 ms of a long wait, then the precise thread.
pub(crate) async fn sleep_until(at: Instant) {
    let now = Instant::now();
    if at <= now {
        return;
    }
    if at - now > Duration::from_millis(3) {
        tokio::time::sleep_until(at - Duration::from_millis(2)).await;
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    {
        let (lock, cv) = wakes();
        let mut g = lock.lock().unwrap_or_else(|e| e.into_inner());
        g.1 += 1;
        let seq = g.1;
        g.0.push(Wake {
            at: at.into_std(),
            seq,
            tx,
        });
        cv.notify_one();
    }
    let _ = rx.await;
}
