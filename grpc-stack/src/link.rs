//! A peer's gRPC channels: which channel a call goes out on (forward or compensation lane, which
//! replica, and on which thread's channels when the process serves per thread).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use checkout_core::ServiceName;
use checkout_core::admission::Lanes;
use checkout_core::node;

use tonic::transport::Channel;

use crate::client::channel;

/// One peer's clients: forward calls on one channel, compensations on another (their own HTTP/2
/// connection), each lane bounded on its own ([`Lanes`]). A peer with several replicas gets both
/// channels to each, and calls take the replicas in turn (client-side round robin: balancing per
/// request, where a balancer in front of one long-lived HTTP/2 connection could only balance per
/// connection).
///
/// When the process serves on a runtime per thread ([`crate::threads::Model::PerThread`]), every
/// calling thread gets channels of its own, [`CHANNELS_PER_THREAD`] per replica: a channel's
/// tasks run on the runtime that opened it, so a call through another thread's channel would
/// wake that thread and be woken back, and the peer, which pins each connection to one of its
/// threads, would see one connection per caller thread and could not spread one caller's calls.
#[derive(Clone)]
pub struct Link<C: Send> {
    channels: Opened<C>,
    pub(crate) lanes: Arc<Lanes>,
}

/// Where a link's channels are.
#[derive(Clone)]
enum Opened<C: Send> {
    /// One set for every thread of the process.
    Shared(Arc<Channels<C>>),
    /// A set per calling thread.
    PerThread(Arc<PerThread<C>>),
}

/// Channels opened on each calling thread, and how to open them.
struct PerThread<C: Send> {
    open: Box<dyn Fn() -> Channels<C> + Send + Sync>,
    local: thread_local::ThreadLocal<Channels<C>>,
}

/// Each replica's clients of the forward and the compensation channel, taken in turn by their
/// own counter (a thread's calls alternate over its own channels, whatever other threads do).
struct Channels<C> {
    chain: Box<[C]>,
    undo: Box<[C]>,
    next: AtomicUsize,
}

impl<C: Clone> Channels<C> {
    /// The next entry of `of` (one of this set's lists).
    fn pick(&self, of: &[C]) -> C {
        of[self.next.fetch_add(1, Ordering::Relaxed) % of.len()].clone()
    }
}

/// Channels a calling thread opens to each replica when the processes serve on a runtime per
/// thread: as many as a peer has serving threads by default, so one caller's calls spread over
/// them.
pub const CHANNELS_PER_THREAD: usize = 2;

impl<C: Clone + Send + 'static> Link<C> {
    /// Lazily connected channels to every replica of `service` in `peers`, wrapped by `client`.
    pub fn new(
        peers: &node::Peers,
        service: ServiceName,
        client: impl Fn(Channel) -> C + Send + Sync + 'static,
    ) -> Self {
        let replicas: Vec<SocketAddr> = peers.replicas(service).to_vec();
        let tls = peers.tls().cloned();
        let open = move |each: usize| {
            let tls = tls.as_deref();
            let set = || {
                replicas
                    .iter()
                    .flat_map(|&a| std::iter::repeat_n(a, each))
                    .map(|a| client(channel(a, tls)))
                    .collect()
            };
            Channels {
                chain: set(),
                undo: set(),
                next: AtomicUsize::new(0),
            }
        };
        let channels = match crate::threads::model() {
            crate::threads::Model::Shared => Opened::Shared(Arc::new(open(1))),
            crate::threads::Model::PerThread(_) => Opened::PerThread(Arc::new(PerThread {
                open: Box::new(move || open(CHANNELS_PER_THREAD)),
                local: thread_local::ThreadLocal::new(),
            })),
        };
        Self {
            channels,
            lanes: Arc::new(Lanes::new(service.as_str())),
        }
    }

    /// The calling thread's channels.
    fn channels(&self) -> &Channels<C> {
        match &self.channels {
            Opened::PerThread(p) => p.local.get_or(|| (p.open)()),
            Opened::Shared(c) => c,
        }
    }

    /// The forward channel's client of the next replica.
    pub(crate) fn chain(&self) -> C {
        let c = self.channels();
        c.pick(&c.chain)
    }

    /// The compensation channel's client of the next replica.
    pub(crate) fn undo(&self) -> C {
        let c = self.channels();
        c.pick(&c.undo)
    }

    /// The generated client of a forward channel, for a raw call outside the port.
    pub fn raw(&self) -> C {
        self.chain()
    }
}
