//! Progress while a run goes. On a terminal: a bar redrawn in place twice a second — steps done
//! of the total, elapsed time, an estimate of the time left, and the live rate of the step under
//! way (requests ended per second, counted by the collector). Plain lines otherwise (CI, a pipe).

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Requests ended (any outcome) since the process started: the live rate's source.
static ENDED: AtomicU64 = AtomicU64::new(0);

/// Counts one ended request (the collector calls it for every request it records).
pub fn count_ended() {
    ENDED.fetch_add(1, Ordering::Relaxed);
}

/// What the bar shows.
struct Bar {
    total: usize,
    done: usize,
    current: String,
    /// Requests ended per second over the last redraw interval.
    rate: f64,
}

/// Progress of a run.
pub struct Progress {
    tty: bool,
    started: Instant,
    bar: Arc<Mutex<Bar>>,
    stop: Arc<AtomicBool>,
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

/// `1m05s`, `42s`.
fn clock(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

impl Bar {
    /// The bar's one line, `elapsed` into the run.
    fn line(&self, elapsed: Duration) -> String {
        let width = 24;
        let finished = self.done.saturating_sub(1).min(self.total);
        let filled = (width * finished).checked_div(self.total).unwrap_or(0);
        // Steps differ in length; the average so far is the estimate.
        let left = (finished > 0)
            .then(|| elapsed.mul_f64((self.total - finished) as f64 / finished as f64));
        format!(
            "[{}{}] {}/{} · {} elapsed · {} left · {:.0} req/s · {}",
            "#".repeat(filled),
            ".".repeat(width - filled),
            self.done,
            self.total,
            clock(elapsed),
            left.map_or_else(|| "?".into(), clock),
            self.rate,
            self.current
        )
    }
}

impl Progress {
    /// Progress on stderr; a live bar only when stderr is a terminal.
    pub fn new() -> Self {
        let p = Self {
            tty: std::io::stderr().is_terminal(),
            started: Instant::now(),
            bar: Arc::new(Mutex::new(Bar {
                total: 0,
                done: 0,
                current: String::new(),
                rate: 0.0,
            })),
            stop: Arc::new(AtomicBool::new(false)),
        };
        if p.tty {
            let (bar, stop, started) = (p.bar.clone(), p.stop.clone(), p.started);
            std::thread::spawn(move || {
                let (mut seen, mut at) = (ENDED.load(Ordering::Relaxed), Instant::now());
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(500));
                    let (now, ended) = (Instant::now(), ENDED.load(Ordering::Relaxed));
                    let Ok(mut b) = bar.lock() else { return };
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    b.rate = (ended - seen) as f64 / (now - at).as_secs_f64();
                    (seen, at) = (ended, now);
                    if b.total == 0 {
                        continue; // not counted yet: nothing to show
                    }
                    let _ = write!(std::io::stderr(), "\r\x1b[2K{}", b.line(started.elapsed()));
                    let _ = std::io::stderr().flush();
                }
            });
        }
        p
    }

    fn with_bar<T>(&self, f: impl FnOnce(&mut Bar) -> T) -> T {
        let mut b = self.bar.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut b)
    }

    /// Number of steps the run will take.
    pub fn set_total(&mut self, total: usize) {
        self.with_bar(|b| b.total = total);
    }

    /// More steps than first counted (a search that goes on).
    pub fn grow(&mut self, more: usize) {
        self.with_bar(|b| b.total += more);
    }

    /// A message of its own line (above the bar, which is redrawn after it).
    pub fn line(&mut self, msg: &str) {
        let elapsed = self.started.elapsed();
        let tty = self.tty;
        self.with_bar(|b| {
            let mut e = std::io::stderr();
            if tty {
                let _ = write!(e, "\r\x1b[2K");
            }
            let _ = writeln!(e, "[{:>5.1}s] {msg}", elapsed.as_secs_f64());
            if tty && b.total > 0 {
                let _ = write!(e, "{}", b.line(elapsed));
                let _ = e.flush();
            }
        });
    }

    /// A new step begins.
    pub fn step(&mut self, what: &str) {
        let elapsed = self.started.elapsed();
        let tty = self.tty;
        self.with_bar(|b| {
            b.done += 1;
            b.current = what.to_owned();
            if tty {
                let _ = write!(std::io::stderr(), "\r\x1b[2K{}", b.line(elapsed));
                let _ = std::io::stderr().flush();
            }
        });
    }

    /// The result of the current step.
    pub fn detail(&mut self, result: &str) {
        let (done, total, what) = self.with_bar(|b| (b.done, b.total, b.current.clone()));
        self.line(&format!("{done}/{total} {what}: {result}"));
    }

    /// The run is over.
    pub fn finish(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if self.tty {
            self.with_bar(|_| {
                let _ = write!(std::io::stderr(), "\r\x1b[2K");
            });
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_shows_steps_elapsed_time_left_and_the_live_rate() {
        let b = Bar {
            total: 10,
            done: 3,
            current: "checkout-open grpc 400/s".into(),
            rate: 398.4,
        };
        // Two steps finished in 40 s: eight more at that pace.
        let line = b.line(Duration::from_secs(40));
        assert!(line.starts_with("[####"), "{line}");
        assert!(
            line.contains(
                " 3/10 · 40s elapsed · 2m40s left · 398 req/s · checkout-open grpc 400/s"
            ),
            "{line}"
        );
        let first = Bar { done: 1, ..b };
        assert!(first.line(Duration::from_secs(2)).contains("? left"));
    }
}
