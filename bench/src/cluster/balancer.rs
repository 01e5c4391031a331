//! A layer-4 balancer in front of a service's replicas: it accepts TCP connections and hands
//! each one, whole, to the next replica in turn — what a TCP load balancer (or a Kubernetes
//! Service without a mesh) does. It balances connections, not requests: a client that sends
//! everything over one long-lived connection (gRPC, REST over HTTP/2) lands on one replica.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A running balancer; stops when dropped.
pub struct Balancer {
    /// Connections handed to each replica so far.
    connections: Arc<Vec<AtomicU64>>,
    task: JoinHandle<()>,
}

impl Balancer {
    /// Forwards every connection accepted on `listener` to the next of `upstreams` in turn.
    pub fn start(listener: TcpListener, upstreams: Vec<SocketAddr>) -> Self {
        let connections: Arc<Vec<AtomicU64>> =
            Arc::new(upstreams.iter().map(|_| AtomicU64::new(0)).collect());
        let counts = connections.clone();
        let next = AtomicUsize::new(0);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let i = next.fetch_add(1, Ordering::Relaxed) % upstreams.len();
                counts[i].fetch_add(1, Ordering::Relaxed);
                let upstream = upstreams[i];
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let _ = (client.set_nodelay(true), server.set_nodelay(true));
                    let (mut client, mut server) = (client, server);
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                });
            }
        });
        Self { connections, task }
    }

    /// Connections handed to each replica so far, in the order of the upstreams.
    pub fn connections(&self) -> Vec<u64> {
        self.connections
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect()
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// An upstream that answers every connection with its own name.
    async fn named(name: u8) -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                let mut b = [0u8; 1];
                if s.read_exact(&mut b).await.is_ok() {
                    let _ = s.write_all(&[name, b[0]]).await;
                }
            }
        });
        addr
    }

    #[tokio::test]
    async fn each_connection_goes_whole_to_the_next_replica() {
        let upstreams = vec![named(b'a').await, named(b'b').await];
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let front = l.local_addr().unwrap();
        let balancer = Balancer::start(l, upstreams);
        let mut seen = Vec::new();
        for k in 0..4u8 {
            let mut s = TcpStream::connect(front).await.unwrap();
            s.write_all(&[k]).await.unwrap();
            let mut reply = [0u8; 2];
            s.read_exact(&mut reply).await.unwrap();
            assert_eq!(reply[1], k, "bytes pass through unchanged");
            seen.push(reply[0]);
        }
        assert_eq!(seen, b"abab");
        assert_eq!(balancer.connections(), vec![2, 2]);
    }
}
