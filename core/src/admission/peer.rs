//! The caller's side of admission: what a client keeps in flight to one peer and how many more
//! may wait, and client-side adaptive throttling (the Google SRE book, "Handling Overload"). A
//! refusal by the peer still costs both ends a round trip — on a machine whose cores the caller
//! shares with the peer, as much CPU as a small request. So once the peer has been refusing, the
//! caller refuses part of its own requests locally, before sending anything, with probability
//! `max(0, (requests − K × accepts) / (requests + 1))` over the last half second or so: the
//! peer keeps hearing about K times what it accepts, and decides; the rest is refused where it
//! costs nothing. Only the peer's own refusals (`Overloaded`) count against it, so a peer that is
//! down or slow is not throttled, and the caller stops throttling once the peer has refused
//! nothing for 200 ms. A caller that wants to know whether a refusal was its own (nothing sent)
//! or the peer's runs the call in [`noting_local_refusals`].

use std::cell::Cell;
use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::error::{ServiceError, ServiceResult};
use crate::ports::CallCtx;

/// Requests sent per request the peer accepts before the caller starts refusing locally (the SRE
/// book's K: 2 leaves the peer refusing as much as it serves; closer to 1 refuses more locally).
pub const THROTTLE_K: f64 = 1.1;
/// How fast the throttle forgets: its counts decay with this time constant.
const THROTTLE_MEMORY: Duration = Duration::from_millis(500);
/// A peer that refused nothing for this long is not throttled, and the requests refused locally
/// are forgotten. Without it, recovery would be slow: with K near 1 the requests refused locally
/// keep the ratio up, and the probability falls by only (K − 1) of what is left per memory.
const THROTTLE_QUIET: Duration = Duration::from_millis(200);

/// Requests a client keeps in flight to one peer, and how many more may wait for a slot: the
/// bound on a connection pool (HTTP/1.1: one connection per request in flight) or on a channel's
/// streams. A request that finds the waiting room full, or whose deadline passes while it waits,
/// is refused with [`ServiceError::Overloaded`] — nothing was sent.
pub struct PeerLimit {
    peer: &'static str,
    slots: tokio::sync::Semaphore,
    waiting: AtomicUsize,
    max_waiting: usize,
    /// The adaptive throttle, on the forward lane only.
    throttle: Option<Mutex<Throttle>>,
}

impl PeerLimit {
    /// `in_flight` requests at once to `peer`, `max_waiting` more waiting.
    pub fn new(peer: &'static str, in_flight: usize, max_waiting: usize) -> Self {
        Self {
            peer,
            slots: tokio::sync::Semaphore::new(in_flight),
            waiting: AtomicUsize::new(0),
            max_waiting,
            throttle: None,
        }
    }

    /// The same bound, with client-side adaptive throttling.
    pub fn throttled(mut self) -> Self {
        self.throttle = Some(Mutex::new(Throttle::new(Instant::now())));
        self
    }

    /// Runs `call` to the peer once it may go: refused locally when the throttle says so, then
    /// once a slot is free (see [`Self::acquire`]); the peer's answer feeds the throttle.
    pub async fn run<T>(
        &self,
        ctx: CallCtx,
        call: impl Future<Output = ServiceResult<T>>,
    ) -> ServiceResult<T> {
        if let Some(t) = &self.throttle {
            let refuse = t
                .lock()
                .expect("throttle")
                .refuse(Instant::now(), rand::random());
            if refuse {
                note_local_refusal();
                return Err(ServiceError::Overloaded {
                    service: self.peer,
                    retry_after_ms: 1,
                });
            }
        }
        let slot = self.acquire(ctx).await?;
        let answer = call.await;
        drop(slot);
        if let Some(t) = &self.throttle {
            let refused = matches!(answer, Err(ServiceError::Overloaded { .. }));
            t.lock().expect("throttle").record(Instant::now(), !refused);
        }
        answer
    }

    /// Requests that may still start at once.
    #[cfg(test)]
    pub fn available(&self) -> usize {
        self.slots.available_permits()
    }

    /// Takes a slot, waiting at most until `ctx`'s deadline and only if the waiting room has space.
    pub async fn acquire(&self, ctx: CallCtx) -> ServiceResult<tokio::sync::SemaphorePermit<'_>> {
        if let Ok(p) = self.slots.try_acquire() {
            return Ok(p);
        }
        let refused = ServiceError::Overloaded {
            service: self.peer,
            retry_after_ms: 1,
        };
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            note_local_refusal();
            return Err(refused);
        }
        let wait = self.slots.acquire();
        let got = match ctx.deadline {
            Some(d) => tokio::time::timeout_at(d.into(), wait).await.ok(),
            None => Some(wait.await),
        };
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        match got {
            Some(Ok(p)) => Ok(p),
            _ => {
                note_local_refusal();
                Err(refused)
            }
        }
    }
}

/// Forward requests a client keeps in flight to one peer (HTTP/1.1: connections), well above
/// the peer's own admission limit, so the peer sheds first and says so.
pub const PEER_IN_FLIGHT: usize = 512;
/// Requests that may wait for one of those slots.
pub const PEER_WAITING: usize = 256;
/// Compensations a client keeps in flight to one peer, on their own connection.
pub const UNDO_IN_FLIGHT: usize = 16;

/// A client's two lanes to one peer, each bounded on its own: forward work (throttled when the
/// peer refuses), and compensations (void, release, cancel), which travel on their own
/// connection so that a peer shedding forward traffic still hears them at once.
pub struct Lanes {
    /// Checkouts, payments, listings: [`PEER_IN_FLIGHT`] at once, [`PEER_WAITING`] waiting.
    pub forward: PeerLimit,
    /// Compensations: [`UNDO_IN_FLIGHT`] at once, [`PEER_WAITING`] waiting.
    pub undo: PeerLimit,
}

impl Lanes {
    /// The default bounds for `peer`.
    pub fn new(peer: &'static str) -> Self {
        Self {
            forward: PeerLimit::new(peer, PEER_IN_FLIGHT, PEER_WAITING).throttled(),
            undo: PeerLimit::new(peer, UNDO_IN_FLIGHT, PEER_WAITING),
        }
    }
}

/// The SRE book's adaptive throttle: requests and accepts, each decaying with
/// [`THROTTLE_MEMORY`].
#[derive(Debug)]
struct Throttle {
    requests: f64,
    accepts: f64,
    at: Instant,
    /// When the peer last refused a request.
    refused_at: Option<Instant>,
}

impl Throttle {
    fn new(now: Instant) -> Self {
        Self {
            requests: 0.0,
            accepts: 0.0,
            at: now,
            refused_at: None,
        }
    }

    fn decay(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.at).as_secs_f64();
        let f = (-dt / THROTTLE_MEMORY.as_secs_f64()).exp();
        self.requests *= f;
        self.accepts *= f;
        self.at = now;
    }

    /// The probability of refusing the next request locally.
    fn probability(&self) -> f64 {
        ((self.requests - THROTTLE_K * self.accepts) / (self.requests + 1.0)).max(0.0)
    }

    /// Whether to refuse a request locally, given a uniform draw in [0, 1); a refused request
    /// counts as a request the peer did not accept.
    fn refuse(&mut self, now: Instant, draw: f64) -> bool {
        let quiet = self
            .refused_at
            .is_none_or(|t| now.saturating_duration_since(t) > THROTTLE_QUIET);
        if quiet {
            // What was refused locally is forgotten; what the peer accepted is kept, so one
            // refusal after a quiet spell weighs against that history, not against nothing.
            self.decay(now);
            self.requests = self.accepts;
            return false;
        }
        self.decay(now);
        let refuse = draw < self.probability();
        if refuse {
            self.requests += 1.0;
        }
        refuse
    }

    /// A request the peer answered: accepted, or refused as overloaded.
    fn record(&mut self, now: Instant, accepted: bool) {
        self.decay(now);
        self.requests += 1.0;
        if accepted {
            self.accepts += 1.0;
        } else {
            self.refused_at = Some(now);
        }
    }
}

tokio::task_local! {
    /// Set inside [`noting_local_refusals`] when a lane refused a request before sending it.
    static REFUSED_LOCALLY: Cell<bool>;
}

fn note_local_refusal() {
    let _ = REFUSED_LOCALLY.try_with(|c| c.set(true));
}

/// Runs `call` and says whether a lane refused one of its requests locally — throttled, its
/// waiting room full, or its deadline past while waiting for a slot: nothing was sent. A caller
/// that measures refusals (the bench) tells its own from the peer's this way.
pub async fn noting_local_refusals<T>(call: impl Future<Output = T>) -> (T, bool) {
    REFUSED_LOCALLY
        .scope(Cell::new(false), async {
            let out = call.await;
            (out, REFUSED_LOCALLY.with(Cell::get))
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_peer_limit_bounds_requests_in_flight_and_waiting() {
        let limit = PeerLimit::new("inventory", 2, 1);
        let ctx = CallCtx::with_timeout(Duration::from_secs(5));
        let a = limit.acquire(ctx).await.unwrap();
        let _b = limit.acquire(ctx).await.unwrap();
        assert_eq!(limit.available(), 0);
        // One may wait; it gets the slot `a` frees.
        let waiter = async { limit.acquire(ctx).await.map(|_| ()) };
        let refused = noting_local_refusals(async {
            tokio::task::yield_now().await;
            let r = limit.acquire(ctx).await.map(|_| ());
            drop(a);
            r
        });
        let (waited, refused) = tokio::join!(waiter, refused);
        assert!(waited.is_ok());
        assert!(refused.1, "a full waiting room is a local refusal");
        assert!(matches!(
            refused.0,
            Err(ServiceError::Overloaded {
                service: "inventory",
                ..
            })
        ));
        // A wait that outlives the deadline is refused, not left hanging.
        let short = CallCtx::with_timeout(Duration::from_millis(20));
        let _c = limit.acquire(ctx).await.unwrap();
        let (late, local) = noting_local_refusals(limit.acquire(short)).await;
        assert!(matches!(late, Err(ServiceError::Overloaded { .. })));
        assert!(local, "a wait past the deadline is a local refusal");
    }

    #[test]
    fn the_throttle_refuses_locally_what_the_peer_would_refuse_and_forgets_it() {
        let t0 = Instant::now();
        let mut t = Throttle::new(t0);
        // A peer accepting everything is never throttled.
        for _ in 0..1000 {
            t.record(t0, true);
        }
        assert_eq!(t.probability(), 0.0);
        assert!(!t.refuse(t0, 0.0));
        // A peer accepting one request in two: the caller refuses about 1 - K/2 of what it has
        // (sending K times what is accepted).
        let mut t = Throttle::new(t0);
        for i in 0..2000 {
            t.record(t0, i % 2 == 0);
        }
        let p = t.probability();
        assert!((p - (1.0 - THROTTLE_K / 2.0)).abs() < 0.01, "{p}");
        assert!(t.refuse(t0, p - 0.01) && !t.refuse(t0, p + 0.01));
        // Once the peer has refused nothing for a while, nothing is refused and the past is
        // forgotten, however much was refused locally meanwhile.
        let later = t0 + THROTTLE_QUIET + Duration::from_millis(1);
        assert!(!t.refuse(later, 0.0));
        assert_eq!(t.probability(), 0.0, "{t:?}");
        // A peer that refuses one request among many it accepts is not throttled: the refusal
        // weighs against what it accepted before, even after a quiet spell.
        let mut t = Throttle::new(t0);
        for _ in 0..1000 {
            t.record(t0, true);
        }
        let quiet = t0 + THROTTLE_QUIET * 2;
        assert!(!t.refuse(quiet, 0.0));
        t.record(quiet, false);
        assert_eq!(t.probability(), 0.0, "{t:?}");
        assert!(!t.refuse(quiet, 0.0));
    }

    #[tokio::test]
    async fn a_throttled_lane_counts_only_the_peers_refusals_and_says_which_were_its_own() {
        let lane = PeerLimit::new("throttle-test", 8, 8).throttled();
        let ctx = CallCtx::with_timeout(Duration::from_secs(5));
        let full = || async {
            Err::<(), _>(ServiceError::Overloaded {
                service: "throttle-test",
                retry_after_ms: 1,
            })
        };
        let down = || async {
            Err::<(), _>(ServiceError::Unavailable {
                service: "throttle-down",
                detail: "down".into(),
            })
        };
        // A peer that is down is not throttled: every call is sent.
        let to_down = PeerLimit::new("throttle-down", 8, 8).throttled();
        for _ in 0..200 {
            let (answer, local) = noting_local_refusals(to_down.run(ctx, down())).await;
            assert!(matches!(answer, Err(ServiceError::Unavailable { .. })) && !local);
        }
        // A peer refusing everything: most calls are soon refused locally, and each call says
        // whether it was.
        let (mut sent, mut local) = (0, 0);
        for _ in 0..1000 {
            let mut went = false;
            let (answer, here) = noting_local_refusals(lane.run(ctx, async {
                went = true;
                full().await
            }))
            .await;
            assert!(matches!(answer, Err(ServiceError::Overloaded { .. })));
            assert_eq!(here, !went, "local exactly when nothing was sent");
            sent += usize::from(went);
            local += usize::from(here);
        }
        assert_eq!(local + sent, 1000);
        assert!(local > 800, "refused locally: {local}");
        // The undo lane is never throttled.
        let undo = PeerLimit::new("throttle-undo", 8, 8);
        for _ in 0..100 {
            let (_, here) = noting_local_refusals(undo.run(ctx, full())).await;
            assert!(!here);
        }
    }
}
