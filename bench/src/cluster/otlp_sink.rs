//! A stand-in OpenTelemetry collector: accepts OTLP/HTTP exports (`POST /v1/traces`, protobuf)
//! on a loopback port and answers each with an empty `ExportTraceServiceResponse`, counting what
//! arrived (and keeping the bodies when asked, for tests). Enough to measure what exporting spans
//! costs the services, and to see the spans arrive, without running a real collector.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// What a sink received.
#[derive(Debug, Clone, Default)]
pub struct Received {
    /// Export requests answered.
    pub posts: usize,
    /// Their body bytes.
    pub bytes: usize,
    /// The bodies (kept only when the sink was started keeping them).
    pub bodies: Vec<Vec<u8>>,
}

/// A running sink; it stops when dropped.
pub struct OtlpSink {
    addr: SocketAddr,
    received: Arc<Mutex<Received>>,
    task: tokio::task::JoinHandle<()>,
}

impl OtlpSink {
    /// Listens on a free loopback port; `keep` keeps every body.
    pub async fn start(keep: bool) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let received = Arc::new(Mutex::new(Received::default()));
        let r = received.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, r.clone(), keep));
            }
        });
        Ok(Self {
            addr,
            received,
            task,
        })
    }

    /// The endpoint to give exporters (`OTEL_EXPORTER_OTLP_ENDPOINT`).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What arrived so far.
    pub fn received(&self) -> Received {
        self.received.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Drop for OtlpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Answers every request on one keep-alive connection until the client closes it.
async fn serve(stream: TcpStream, received: Arc<Mutex<Received>>, keep: bool) {
    let mut r = BufReader::new(stream);
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        // Request line and headers, up to the blank line.
        loop {
            line.clear();
            match r.read_line(&mut line).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((name, value)) = l.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length.min(64 << 20)];
        if r.read_exact(&mut body).await.is_err() {
            return;
        }
        if let Ok(mut got) = received.lock() {
            got.posts += 1;
            got.bytes += body.len();
            if keep {
                got.bodies.push(body);
            }
        }
        let answer =
            b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
        if r.get_mut().write_all(answer).await.is_err() {
            return;
        }
    }
}
