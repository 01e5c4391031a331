//! How a gRPC service process runs its calls: on one tokio runtime shared by all its connections
//! ([`Model::Shared`], tonic's usual way), or on threads of its own, each a current-thread runtime
//! serving the connections dealt to it ([`Model::PerThread`], actix's way: a call runs on the
//! thread its connection is read on, and the next hop's channels are that thread's own).
//!
//! Measured on the 2-core VM (README, "Runtime sizing"): with a runtime per thread a checkout at
//! light load costs the gRPC services less CPU and finishes sooner (a shared multi-thread
//! runtime switches threads more per call and moves a call's tasks between its workers), at the
//! price of a connection's calls staying on its thread when that thread is the busier one.

use std::io;
use std::sync::OnceLock;

use tokio::net::{TcpListener, TcpStream};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::UnboundedReceiverStream;
use tonic::service::Routes;
use tonic::transport::Server;

use crate::conn::Conn;

/// How a process serves its calls and opens its channels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    /// One runtime (the process's) serves every connection; the process's channels are shared by
    /// all its threads.
    Shared,
    /// This many threads, each a current-thread runtime serving the connections dealt to it in
    /// turn; every calling thread opens channels of its own
    /// ([`crate::client::CHANNELS_PER_THREAD`] per replica).
    PerThread(usize),
}

static MODEL: OnceLock<Model> = OnceLock::new();

/// Sets the process's model, before any server or client is made; a second call changes nothing.
pub fn set_model(m: Model) {
    let _ = MODEL.set(m);
}

/// The process's model: what [`set_model`] set, else [`Model::Shared`].
pub fn model() -> Model {
    *MODEL.get_or_init(|| Model::Shared)
}

/// Serves `routes` with `server` on `threads` threads, each a current-thread runtime of its own
/// serving the connections handed to it: `listener`'s, accepted here and dealt out in turn, as
/// actix deals its workers theirs (at least one thread). A call then runs where its connection
/// is read, and its next hop's channels are that thread's own ([`crate::client::Link`]): a
/// call's tasks stay on one thread. Returns once `shutdown` has resolved and every thread has
/// drained its calls (or, when one thread's server stops by itself, once the others have, with
/// its error).
pub async fn serve(
    threads: usize,
    server: Server,
    routes: Routes,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let threads = threads.max(1);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut hand = Vec::with_capacity(threads);
    let mut done = Vec::with_capacity(threads);
    for i in 0..threads {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<std::net::TcpStream>();
        let (finished, finish) = tokio::sync::oneshot::channel();
        let (mut server, routes, mut stopped) = (server.clone(), routes.clone(), stopped.clone());
        let serve = move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a serving thread's runtime starts");
            let r = rt.block_on(async move {
                let incoming = UnboundedReceiverStream::new(rx).map(|s| {
                    let s = TcpStream::from_std(s)?;
                    s.set_nodelay(true)?;
                    Ok::<_, io::Error>(Conn::new(s))
                });
                server
                    .add_routes(routes)
                    .serve_with_incoming_shutdown(incoming, async move {
                        let _ = stopped.wait_for(|s| *s).await;
                    })
                    .await
            });
            let _ = finished.send(r);
        };
        std::thread::Builder::new()
            .name(format!("grpc-serve-{i}"))
            .spawn(serve)
            .expect("a serving thread starts");
        hand.push(tx);
        done.push(finish);
    }
    tokio::pin!(shutdown);
    let mut next = 0usize;
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => {
                // A failed accept (the peer gone before it was taken, descriptors exhausted) loses
                // that connection only; the pause keeps a persistent failure from spinning.
                let s = match accepted {
                    Ok((s, _)) => s,
                    Err(_) => {
                        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                        continue;
                    }
                };
                let Ok(s) = s.into_std() else { continue };
                // A thread that no longer takes connections has stopped serving: stop the rest.
                if hand[next % threads].send(s).is_err() {
                    break;
                }
                next = next.wrapping_add(1);
            }
        }
    }
    drop(hand);
    let _ = stop.send(true);
    let mut out = Ok(());
    for d in done {
        if let Ok(Err(e)) = d.await {
            out = Err(e);
        }
    }
    out
}
