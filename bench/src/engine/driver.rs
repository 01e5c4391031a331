//! The thread the bench's clients of networked targets run on: one current-thread tokio runtime
//! of its own, so a request's tasks (the caller, the client's connection tasks) meet on one
//! thread instead of waking each other across the main runtime's workers, a futex or eventfd
//! wake-up each way that would be charged to the transport under test. The in-process target
//! runs its services on the main runtime, as a service process runs them on its own.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Builder, Handle};

static DRIVER: OnceLock<Handle> = OnceLock::new();

/// The driver runtime, started on first use; it lives as long as the process.
pub fn handle() -> &'static Handle {
    DRIVER.get_or_init(|| {
        let rt = Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("the driver runtime starts");
        let handle = rt.handle().clone();
        std::thread::Builder::new()
            .name("bench-driver".into())
            .spawn(move || rt.block_on(std::future::pending::<()>()))
            .expect("the driver thread starts");
        handle
    })
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
