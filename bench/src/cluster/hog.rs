//! A busy machine: a separate process that keeps every core busy with arithmetic for a bounded
//! time, so a run can show how the stacks behave when they do not have the machine to
//! themselves. Started by the bench with `--busy`, stopped by its PID when the run ends (and it
//! exits by itself past its time limit, or when the bench dies).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The CPU hog beside a run; stopped when dropped.
pub struct Hog(Child);

impl Hog {
    /// Starts `bench hog` with one spinning thread per core, for at most `limit`.
    pub fn start(cores: usize, limit: Duration) -> anyhow::Result<Self> {
        let child = Command::new(std::env::current_exe()?)
            .args([
                "hog",
                "--threads",
                &cores.max(1).to_string(),
                "--seconds",
                &limit.as_secs().max(1).to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()?;
        Ok(Self(child))
    }
}

impl Drop for Hog {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The hog's body: `threads` threads spinning until `limit` has passed.
pub fn spin(threads: usize, limit: Duration) {
    let until = Instant::now() + limit;
    let workers: Vec<_> = (0..threads.max(1))
        .map(|k| {
            std::thread::spawn(move || {
                let mut x = k as u64 | 1;
                while Instant::now() < until {
                    for _ in 0..100_000 {
                        // xorshift: work the optimiser cannot drop.
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                    }
                    std::hint::black_box(x);
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
}
