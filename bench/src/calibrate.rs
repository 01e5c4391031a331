//! The physical floor of a checkout on this machine, measured at the start of every run: the
//! loopback TCP round trip and the cost of one SQLite commit with the run's settings. A checkout
//! needs at least 5 of each (client → Orders → Payments → Inventory → Fiscal → Logistics).

use std::time::Instant;

use checkout_core::store::SyncMode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::results::Calibration;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median 1-byte ping-pong over a loopback TCP connection, µs.
pub async fn loopback_rtt_us(rounds: usize) -> std::io::Result<f64> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let echo = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await?;
        s.set_nodelay(true)?;
        let mut b = [0u8; 1];
        while s.read_exact(&mut b).await.is_ok() {
            s.write_all(&b).await?;
        }
        Ok::<_, std::io::Error>(())
    });
    let mut c = tokio::net::TcpStream::connect(addr).await?;
    c.set_nodelay(true)?;
    let mut b = [7u8; 1];
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        c.write_all(&b).await?;
        c.read_exact(&mut b).await?;
        samples.push(t.elapsed().as_secs_f64() * 1e6);
    }
    drop(c);
    let _ = echo.await;
    Ok(median(samples))
}

/// Median cost of committing one small insert in a WAL database with `sync`, µs.
pub fn sqlite_commit_us(
    dir: &std::path::Path,
    sync: SyncMode,
    rounds: usize,
) -> rusqlite::Result<f64> {
    let path = dir.join("calibration.db");
    let conn = rusqlite::Connection::open(&path)?;
    conn.execute_batch(&format!(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous={}; CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);",
        sync.as_str()
    ))?;
    let mut samples = Vec::with_capacity(rounds);
    for i in 0..rounds {
        let t = Instant::now();
        conn.execute("INSERT INTO t (v) VALUES (?1)", [format!("row {i}")])?;
        samples.push(t.elapsed().as_secs_f64() * 1e6);
    }
    drop(conn);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    Ok(median(samples))
}

/// Measures the floor.
pub async fn calibrate(
    dir: &std::path::Path,
    sync: SyncMode,
    cores: usize,
) -> anyhow::Result<Calibration> {
    let rtt = loopback_rtt_us(3000).await?;
    let commit = sqlite_commit_us(dir, sync, 1000)?;
    let floor = 5.0 * rtt + 5.0 * commit;
    Ok(Calibration {
        loopback_rtt_us: rtt,
        sqlite_commit_us: commit,
        floor_latency_us: floor,
        floor_rps: cores as f64 * 1e6 / floor,
    })
}
