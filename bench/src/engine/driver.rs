//! The thread the bench's clients of networked targets run on: one current-thread tokio runtime
//! of its own, so a request's tasks (the caller, the client's connection tasks) meet on one
//! thread instead of waking each other across the main runtime's workers, a futex or eventfd
//! wake-up each way that would be charged to the transport under test. The in-process target
//! runs its services on the main runtime, as a service process runs them on its own.
//!
//! The thread asks for a higher scheduling priority than the services' ([`NICE`]): it shares the
//! cores with them, and an open-loop generator that waits behind their work begins requests
//! late — latency the harness made, not the stack (at twice the knee, measured on the 2-core VM:
//! the generator's lag p99 3.5–25 ms at the services' priority, 2.0–2.2 ms raised). It spends the
//! same CPU either way; it only gets it when it asks.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Builder, Handle};

/// The nice value the driver thread asks for (the services run at 0).
pub const NICE: i32 = -10;

struct Driver {
    handle: Handle,
    /// The nice value the thread runs at, or why it could not be raised.
    nice: Result<i32, String>,
}

static DRIVER: OnceLock<Driver> = OnceLock::new();

fn driver() -> &'static Driver {
    DRIVER.get_or_init(|| {
        let rt = Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("the driver runtime starts");
        let handle = rt.handle().clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("bench-driver".into())
            .spawn(move || {
                // On Linux a nice value belongs to a thread: 0 names the calling one.
                let nice = rustix::process::setpriority_process(None, NICE)
                    .map(|()| NICE)
                    .map_err(|e| e.to_string());
                let _ = tx.send(nice);
                rt.block_on(std::future::pending::<()>())
            })
            .expect("the driver thread starts");
        let nice = rx
            .recv()
            .unwrap_or_else(|_| Err("the driver thread did not start".into()));
        Driver { handle, nice }
    })
}

/// The driver runtime, started on first use; it lives as long as the process.
pub fn handle() -> &'static Handle {
    &driver().handle
}

/// The nice value the driver thread runs at ([`NICE`]), or why it could not be raised (without
/// `CAP_SYS_NICE` it runs at the services' priority).
pub fn nice() -> Result<i32, &'static str> {
    driver().nice.as_ref().copied().map_err(String::as_str)
}

/// Runs `f` on the driver runtime when `networked`, else here, and returns its output.
pub async fn run<F>(networked: bool, f: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    if networked {
        handle()
            .spawn(f)
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    } else {
        f.await
    }
}

#[cfg(test)]
mod tests {
    /// The nice value (field 19 of `stat`) of this process's thread named `name`.
    fn nice_of_thread(name: &str) -> Option<i32> {
        std::fs::read_dir("/proc/self/task").ok()?.find_map(|t| {
            let dir = t.ok()?.path();
            let comm = std::fs::read_to_string(dir.join("comm")).ok()?;
            (comm.trim() == name).then_some(())?;
            let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
            let after = &stat[stat.rfind(')')? + 1..];
            after.split_whitespace().nth(16)?.parse().ok()
        })
    }

    #[test]
    fn the_driver_thread_runs_at_the_priority_it_reports() {
        let reported = super::nice();
        let actual = nice_of_thread("bench-driver").expect("the driver thread is listed");
        match reported {
            Ok(n) => {
                assert_eq!(n, super::NICE);
                assert_eq!(actual, n);
            }
            Err(why) => {
                assert!(!why.is_empty());
                let here = rustix::process::getpriority_process(None).expect("own nice");
                assert_eq!(
                    actual, here,
                    "not raised, it runs at the priority it was started at"
                );
            }
        }
    }
}
