//! Progress while a run goes: a bar redrawn in place on a terminal, plain lines otherwise.

use std::io::{IsTerminal, Write};
use std::time::Instant;

/// Progress of a run.
pub struct Progress {
    tty: bool,
    total: usize,
    done: usize,
    started: Instant,
    current: String,
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress {
    /// Progress on stderr; a bar only when stderr is a terminal.
    pub fn new() -> Self {
        Self {
            tty: std::io::stderr().is_terminal(),
            total: 0,
            done: 0,
            started: Instant::now(),
            current: String::new(),
        }
    }

    /// Number of steps the run will take.
    pub fn set_total(&mut self, total: usize) {
        self.total = total;
    }

    /// More steps than first counted (a search that goes on).
    pub fn grow(&mut self, more: usize) {
        self.total += more;
    }

    /// A message of its own line.
    pub fn line(&mut self, msg: &str) {
        let mut e = std::io::stderr();
        if self.tty {
            let _ = write!(e, "\r\x1b[2K");
        }
        let _ = writeln!(e, "[{:>5.1}s] {msg}", self.started.elapsed().as_secs_f64());
    }

    /// A new step begins.
    pub fn step(&mut self, what: &str) {
        self.done += 1;
        self.current = what.to_owned();
        if self.tty {
            let width = 30;
            let filled = (width * self.done.min(self.total))
                .checked_div(self.total)
                .unwrap_or(0);
            let _ = write!(
                std::io::stderr(),
                "\r\x1b[2K[{}{}] {}/{} {what}",
                "#".repeat(filled),
                ".".repeat(width - filled),
                self.done,
                self.total
            );
            let _ = std::io::stderr().flush();
        }
    }

    /// The result of the current step.
    pub fn detail(&mut self, result: &str) {
        let what = self.current.clone();
        self.line(&format!("{}/{} {what}: {result}", self.done, self.total));
    }

    /// The run is over.
    pub fn finish(&mut self) {
        if self.tty {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
    }
}
