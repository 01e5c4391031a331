//! A link shaper: a small TCP proxy in front of a service that makes the loopback hop behave like
//! a network — one-way delay with jitter, a bandwidth cap, and stalls like a lost segment's
//! retransmission — in user space, as Toxiproxy does (this kernel has no `netem`). Each direction
//! of the link is one wire that all its connections share, as a real link's bandwidth is: a chunk
//! read at `t` is serialised once the wire is free (`max(t, wire free) + its size ÷ rate`), then
//! arrives `delay ± jitter` later, plus a retransmission timeout when it is "lost"; each
//! connection's bytes keep their order. Connections can be reset on demand.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// What a link does to the bytes that cross it.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkProfile {
    /// Its name (`lan`, `wan`, ..., or the custom spec as given).
    pub name: String,
    /// One-way delay.
    pub delay: Duration,
    /// Up to this much more or less delay, drawn per chunk (order is kept).
    pub jitter: Duration,
    /// Bandwidth cap per direction, bits per second (None: no cap).
    pub rate_bps: Option<u64>,
    /// Probability that a chunk is "lost" and leaves one retransmission timeout late.
    pub stall_rate: f64,
    /// That timeout (Linux's minimum RTO, 200 ms, unless given).
    pub stall: Duration,
}

/// The named profiles: `--link NAME`.
pub const PROFILES: [(&str, &str); 6] = [
    ("passthrough", "delay=0ms"),
    ("lan", "delay=0.25ms"),
    ("region", "delay=2ms,jitter=0.2ms"),
    ("wan", "delay=20ms,jitter=2ms,rate=50mbit"),
    ("lossy", "delay=2ms,jitter=0.2ms,stall=0.5%"),
    ("thin", "delay=2ms,jitter=0.2ms,rate=20mbit"),
];

fn duration(v: &str) -> Result<Duration, String> {
    let (num, unit) = v
        .find(|c: char| c.is_ascii_alphabetic())
        .map(|i| v.split_at(i))
        .ok_or_else(|| format!("{v:?}: a duration needs a unit (us, ms, s)"))?;
    let n: f64 = num.parse().map_err(|_| format!("{v:?}: not a number"))?;
    let secs = match unit {
        "us" | "µs" => n / 1e6,
        "ms" => n / 1e3,
        "s" => n,
        _ => return Err(format!("{v:?}: unit must be us, ms or s")),
    };
    (secs >= 0.0 && secs.is_finite())
        .then(|| Duration::from_secs_f64(secs))
        .ok_or_else(|| format!("{v:?}: must be zero or more"))
}

fn rate(v: &str) -> Result<u64, String> {
    let lower = v.to_ascii_lowercase();
    let (num, scale) = [("gbit", 1e9), ("mbit", 1e6), ("kbit", 1e3), ("bit", 1.0)]
        .into_iter()
        .find_map(|(u, s)| lower.strip_suffix(u).map(|n| (n.to_owned(), s)))
        .ok_or_else(|| format!("{v:?}: a rate needs a unit (kbit, mbit, gbit)"))?;
    let n: f64 = num.parse().map_err(|_| format!("{v:?}: not a number"))?;
    let bps = n * scale;
    (bps >= 1000.0 && bps.is_finite())
        .then_some(bps as u64)
        .ok_or_else(|| format!("{v:?}: at least 1kbit"))
}

impl LinkProfile {
    /// A named profile (see [`PROFILES`]) or a custom one:
    /// `delay=5ms,jitter=1ms,rate=100mbit,stall=0.5%,rto=200ms` (every key optional).
    pub fn parse(s: &str) -> Result<Self, String> {
        let spec = PROFILES
            .iter()
            .find(|(n, _)| *n == s)
            .map_or(s, |(_, spec)| *spec);
        let mut p = Self {
            name: s.to_owned(),
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            rate_bps: None,
            stall_rate: 0.0,
            stall: Duration::from_millis(200),
        };
        for part in spec.split(',').map(str::trim).filter(|x| !x.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("link {part:?}: expected key=value"))?;
            match key {
                "delay" => p.delay = duration(value)?,
                "jitter" => p.jitter = duration(value)?,
                "rate" => p.rate_bps = Some(rate(value)?),
                "rto" => p.stall = duration(value)?,
                "stall" | "loss" => {
                    let pct: f64 = value
                        .trim_end_matches('%')
                        .parse()
                        .map_err(|_| format!("link {part:?}: not a percentage"))?;
                    if !(0.0..=100.0).contains(&pct) {
                        return Err(format!("link {part:?}: between 0% and 100%"));
                    }
                    p.stall_rate = pct / 100.0;
                }
                _ => {
                    return Err(format!(
                        "link {part:?}: keys are delay, jitter, rate, stall, rto; or one of {}",
                        PROFILES.map(|(n, _)| n).join(", ")
                    ));
                }
            }
        }
        if p.jitter > p.delay {
            return Err(format!("link {s:?}: jitter larger than the delay"));
        }
        Ok(p)
    }
}

/// What crossed a link.
#[derive(Debug)]
struct Counters {
    connections: AtomicU64,
    bytes: AtomicU64,
    /// When each direction's wire is free again (towards the service, back from it): every
    /// connection through the link takes its turn on them.
    wires: [std::sync::Mutex<Instant>; 2],
}

impl Default for Counters {
    fn default() -> Self {
        Self {
            connections: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            wires: [
                std::sync::Mutex::new(Instant::now()),
                std::sync::Mutex::new(Instant::now()),
            ],
        }
    }
}

/// A running link in front of one address; it stops (and drops its connections) when dropped.
pub struct Link {
    addr: SocketAddr,
    counters: Arc<Counters>,
    reset: watch::Sender<u64>,
    task: JoinHandle<()>,
}

impl Link {
    /// A link on a free loopback port that forwards every connection to `target`, shaped by
    /// `profile`. Call from within the tokio runtime.
    pub fn start(profile: LinkProfile, target: SocketAddr) -> std::io::Result<Self> {
        let std = std::net::TcpListener::bind("127.0.0.1:0")?;
        std.set_nonblocking(true)?;
        let addr = std.local_addr()?;
        let listener = TcpListener::from_std(std)?;
        let counters = Arc::new(Counters::default());
        let (reset, resets) = watch::channel(0u64);
        let (c, profile) = (counters.clone(), Arc::new(profile));
        let task = tokio::spawn(async move {
            let mut seed = 0x9e37_79b9_7f4a_7c15u64 ^ u64::from(addr.port());
            loop {
                let client = match listener.accept().await {
                    Ok((client, _)) => client,
                    // Out of descriptors, or a connection reset before it was accepted: the
                    // listener itself is fine.
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                c.connections.fetch_add(1, Ordering::Relaxed);
                seed = seed.wrapping_add(0x632b_e59b_d9b9_b8b5);
                tokio::spawn(carry(
                    client,
                    target,
                    profile.clone(),
                    c.clone(),
                    resets.clone(),
                    seed,
                ));
            }
        });
        Ok(Self {
            addr,
            counters,
            reset,
            task,
        })
    }

    /// Where callers connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.counters.connections.load(Ordering::Relaxed)
    }

    /// Bytes carried so far, both directions.
    pub fn bytes(&self) -> u64 {
        self.counters.bytes.load(Ordering::Relaxed)
    }

    /// Resets every open connection (RST to both ends), as a middlebox or a flapping link would.
    pub fn reset_all(&self) {
        self.reset.send_modify(|n| *n += 1);
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.task.abort();
        self.reset_all();
    }
}

/// Carries one connection both ways until either end closes it or it is reset.
async fn carry(
    mut client: TcpStream,
    target: SocketAddr,
    profile: Arc<LinkProfile>,
    counters: Arc<Counters>,
    mut resets: watch::Receiver<u64>,
    seed: u64,
) {
    let Ok(mut server) = TcpStream::connect(target).await else {
        return;
    };
    let _ = (client.set_nodelay(true), server.set_nodelay(true));
    resets.mark_unchanged();
    let reset = {
        let (cr, cw) = client.split();
        let (sr, sw) = server.split();
        let both = async {
            tokio::join!(
                direction(cr, sw, &profile, &counters, 0, seed),
                direction(sr, cw, &profile, &counters, 1, seed ^ 0xff)
            )
        };
        tokio::select! {
            _ = both => false,
            _ = resets.changed() => true,
        }
    };
    if reset {
        // Closed with RST, not FIN: both ends see the connection reset.
        let _ = (client.set_zero_linger(), server.set_zero_linger());
    }
}

/// One direction (`wire` 0 towards the service, 1 back): a reader that stamps each chunk with its
/// arrival time, a writer that delivers it then. The queue between them is bounded, so a slow
/// link slows the sender.
async fn direction(
    mut from: ReadHalf<'_>,
    mut to: WriteHalf<'_>,
    profile: &LinkProfile,
    counters: &Counters,
    wire: usize,
    mut seed: u64,
) {
    let (tx, mut rx) = mpsc::channel::<(Instant, Vec<u8>)>(256);
    let writer = async move {
        while let Some((at, chunk)) = rx.recv().await {
            super::timer::sleep_until(at).await;
            if to.write_all(&chunk).await.is_err() {
                return;
            }
        }
        let _ = to.shutdown().await;
    };
    let reader = async move {
        let mut last = Instant::now();
        let mut buf = vec![0u8; 64 * 1024];
        let mut unit = move || {
            seed = checkout_core::sim::splitmix(seed);
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        loop {
            let n = match from.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            counters.bytes.fetch_add(n as u64, Ordering::Relaxed);
            let jitter = profile.jitter.as_secs_f64() * (2.0 * unit() - 1.0);
            let delay = (profile.delay.as_secs_f64() + jitter).max(0.0);
            let now = Instant::now();
            let sent = match profile.rate_bps {
                // Serialisation on the wire every connection of the link shares: after whatever
                // is already on it, for this chunk's own time.
                Some(bps) => {
                    let mut free = counters.wires[wire].lock().expect("wire poisoned");
                    *free = (*free).max(now) + Duration::from_secs_f64(n as f64 * 8.0 / bps as f64);
                    *free
                }
                None => now,
            };
            let mut at = sent + Duration::from_secs_f64(delay);
            if profile.stall_rate > 0.0 && unit() < profile.stall_rate {
                at += profile.stall;
            }
            at = at.max(last);
            last = at;
            if tx.send((at, buf[..n].to_vec())).await.is_err() {
                break;
            }
        }
    };
    tokio::join!(reader, writer);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An echo server: every byte comes straight back.
    async fn echo() -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = s.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        addr
    }

    #[test]
    fn profiles_read_by_name_or_as_a_spec_and_bad_specs_are_refused() {
        let wan = LinkProfile::parse("wan").unwrap();
        assert_eq!(wan.delay, Duration::from_millis(20));
        assert_eq!(wan.rate_bps, Some(50_000_000));
        let custom = LinkProfile::parse("delay=5ms,jitter=1ms,rate=100mbit,stall=0.5%").unwrap();
        assert_eq!(custom.jitter, Duration::from_millis(1));
        assert_eq!(custom.stall_rate, 0.005);
        assert_eq!(custom.stall, Duration::from_millis(200));
        assert_eq!(
            LinkProfile::parse("lan").unwrap().delay,
            Duration::from_micros(250)
        );
        for bad in [
            "delay=5",
            "delay=-1ms",
            "rate=10",
            "stall=150%",
            "speed=1ms",
            "delay=1ms,jitter=2ms",
        ] {
            assert!(LinkProfile::parse(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn a_delayed_link_adds_its_delay_each_way_and_carries_bytes_unchanged() {
        let link = Link::start(LinkProfile::parse("delay=5ms").unwrap(), echo().await).unwrap();
        let mut s = TcpStream::connect(link.addr()).await.unwrap();
        s.set_nodelay(true).unwrap();
        for round in 0..3u8 {
            let sent = Instant::now();
            s.write_all(&[round; 100]).await.unwrap();
            let mut back = [0u8; 100];
            s.read_exact(&mut back).await.unwrap();
            assert_eq!(back, [round; 100]);
            assert!(
                sent.elapsed() >= Duration::from_millis(10),
                "{:?}",
                sent.elapsed()
            );
        }
        // Sub-millisecond delays are kept to well under tokio's 1 ms timer resolution.
        let lan = Link::start(LinkProfile::parse("delay=250us").unwrap(), echo().await).unwrap();
        let mut s = TcpStream::connect(lan.addr()).await.unwrap();
        s.set_nodelay(true).unwrap();
        let mut rtts = Vec::new();
        for _ in 0..50 {
            let sent = Instant::now();
            s.write_all(b"p").await.unwrap();
            let mut b = [0u8; 1];
            s.read_exact(&mut b).await.unwrap();
            rtts.push(sent.elapsed());
        }
        rtts.sort();
        assert!(rtts[0] >= Duration::from_micros(500), "{:?}", rtts[0]);
        assert!(
            rtts[25] < Duration::from_micros(1900),
            "median {:?}",
            rtts[25]
        );
        assert_eq!((link.connections(), link.bytes()), (1, 600));
    }

    #[tokio::test]
    async fn a_capped_link_takes_the_time_its_rate_allows() {
        let link = Link::start(LinkProfile::parse("rate=10mbit").unwrap(), echo().await).unwrap();
        let s = TcpStream::connect(link.addr()).await.unwrap();
        let (mut r, mut w) = s.into_split();
        let sent = Instant::now();
        let megabyte = vec![7u8; 1 << 20];
        let writer = tokio::spawn(async move { w.write_all(&megabyte).await.unwrap() });
        let mut back = vec![0u8; 1 << 20];
        r.read_exact(&mut back).await.unwrap();
        writer.await.unwrap();
        // 8.4 Mbit at 10 Mbit/s, each way shaped on its own: at least 0.8 s.
        assert!(
            sent.elapsed() >= Duration::from_millis(800),
            "{:?}",
            sent.elapsed()
        );
        assert!(back.iter().all(|b| *b == 7));
    }

    #[tokio::test]
    async fn connections_through_a_capped_link_share_its_rate() {
        let link = Link::start(LinkProfile::parse("rate=20mbit").unwrap(), echo().await).unwrap();
        let sent = Instant::now();
        let mut each = Vec::new();
        for _ in 0..4 {
            let s = TcpStream::connect(link.addr()).await.unwrap();
            each.push(tokio::spawn(async move {
                let (mut r, mut w) = s.into_split();
                let data = vec![3u8; 256 << 10];
                let writer = tokio::spawn(async move { w.write_all(&data).await.unwrap() });
                let mut back = vec![0u8; 256 << 10];
                r.read_exact(&mut back).await.unwrap();
                writer.await.unwrap();
            }));
        }
        for t in each {
            t.await.unwrap();
        }
        // Four connections × 2.1 Mbit each way on one 20 Mbit/s wire a direction: 0.42 s at
        // least (each alone would take 0.1 s).
        assert!(
            sent.elapsed() >= Duration::from_millis(400),
            "{:?}",
            sent.elapsed()
        );
    }

    #[tokio::test]
    async fn a_reset_drops_every_open_connection_and_the_link_keeps_serving() {
        let link = Link::start(LinkProfile::parse("lan").unwrap(), echo().await).unwrap();
        let mut s = TcpStream::connect(link.addr()).await.unwrap();
        s.write_all(b"x").await.unwrap();
        let mut b = [0u8; 1];
        s.read_exact(&mut b).await.unwrap();
        link.reset_all();
        let gone = tokio::time::timeout(Duration::from_secs(5), s.read(&mut b))
            .await
            .unwrap();
        assert!(matches!(gone, Ok(0) | Err(_)), "{gone:?}");
        let mut again = TcpStream::connect(link.addr()).await.unwrap();
        again.write_all(b"y").await.unwrap();
        again.read_exact(&mut b).await.unwrap();
        assert_eq!(&b, b"y");
    }
}
