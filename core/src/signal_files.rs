//! What a service process tells another process when asked: on SIGUSR1 its storage meter
//! ([`crate::store::meter`]), on SIGUSR2 the work its services still owe ([`crate::audit::Owed`];
//! what is asked, [`Ask`], read from a file the asker wrote first), each answer written to a file
//! in its data directory named after its PID — to a temporary file and renamed, so a reader
//! never sees half of one. A service process owns its databases
//! while it runs (see [`crate::store`]): another process learns what they hold this way. Nothing
//! runs on a request path.

use std::path::{Path, PathBuf};

pub use crate::audit::Ask;
use crate::audit::{Owed, owed_in};
use crate::store::meter::MeterReading;
use crate::topology::ServiceName;

/// Where a service process writes its storage meter when it receives SIGUSR1.
pub fn meter_file(data_dir: &Path, pid: u32) -> PathBuf {
    data_dir.join(format!("meter-{pid}.txt"))
}

/// Where a service process writes what its services owe when it receives SIGUSR2.
pub fn owed_file(data_dir: &Path, pid: u32) -> PathBuf {
    data_dir.join(format!("owed-{pid}.txt"))
}

/// Where the asker says what it asks before sending SIGUSR2 (`backlog` or `all`; no file: all).
pub fn ask_file(data_dir: &Path, pid: u32) -> PathBuf {
    data_dir.join(format!("owed-{pid}.ask"))
}

/// Writes the question [`ask_file`] holds.
pub fn write_ask(data_dir: &Path, pid: u32, ask: Ask) -> std::io::Result<()> {
    let text = match ask {
        Ask::Backlog => "backlog",
        Ask::All => "all",
    };
    std::fs::write(ask_file(data_dir, pid), text)
}

fn read_ask(data_dir: &Path, pid: u32) -> Ask {
    match std::fs::read_to_string(ask_file(data_dir, pid)) {
        Ok(t) if t.trim() == "backlog" => Ask::Backlog,
        _ => Ask::All,
    }
}

/// Answers SIGUSR1 with the meter (one database a line: `file cpu_ns writes commits
/// inline_commits reads`) and SIGUSR2 with what each of `services` owes (one a line:
/// `service backlog pending`).
pub struct OnSignal {
    data_dir: PathBuf,
    services: Vec<ServiceName>,
    #[cfg(unix)]
    usr1: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    usr2: Option<tokio::signal::unix::Signal>,
}

impl OnSignal {
    /// Installs the handlers now (inside a runtime), before any service says it listens: a
    /// signal that came first would otherwise end the process (its default action);
    /// [`OnSignal::serve`] answers them.
    pub fn install(data_dir: &Path, services: &[ServiceName]) -> Self {
        #[cfg(unix)]
        use tokio::signal::unix::{SignalKind, signal};
        Self {
            data_dir: data_dir.to_owned(),
            services: services.to_vec(),
            #[cfg(unix)]
            usr1: signal(SignalKind::user_defined1()).ok(),
            #[cfg(unix)]
            usr2: signal(SignalKind::user_defined2()).ok(),
        }
    }

    /// Answers every signal, until the process ends.
    pub async fn serve(self) {
        #[cfg(unix)]
        if let (Some(mut usr1), Some(mut usr2)) = (self.usr1, self.usr2) {
            let pid = std::process::id();
            loop {
                tokio::select! {
                    Some(()) = usr1.recv() => write_meter(&meter_file(&self.data_dir, pid)),
                    Some(()) = usr2.recv() => {
                        let (dir, services) = (self.data_dir.clone(), self.services.clone());
                        // The count of pending orders scans a table: off the async workers.
                        let _ = tokio::task::spawn_blocking(move || {
                            let ask = read_ask(&dir, pid);
                            write_owed(&owed_file(&dir, pid), &dir, &services, ask)
                        })
                        .await;
                    }
                    else => break,
                }
            }
        }
        std::future::pending::<()>().await
    }
}

fn write_atomically(path: &Path, text: &str, what: &str) {
    let tmp = path.with_extension("tmp");
    if std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .is_err()
    {
        tracing::warn!(path = %path.display(), "cannot write the {what}");
    }
}

fn write_meter(path: &Path) {
    let text: String = crate::store::meter::snapshot()
        .into_iter()
        .map(|(name, r)| {
            format!(
                "{name} {} {} {} {} {}\n",
                r.cpu_ns, r.writes, r.commits, r.inline_commits, r.reads
            )
        })
        .collect();
    write_atomically(path, &text, "storage meter");
}

/// Writes what each of `services` owes in `data_dir`, as `ask` asks; a service whose database
/// cannot be read is left out (the reader then counts it as unknown).
fn write_owed(path: &Path, data_dir: &Path, services: &[ServiceName], ask: Ask) {
    let text: String = services
        .iter()
        .filter_map(|&s| match owed_in(data_dir, s, ask) {
            Ok(o) => Some(format!("{s} {} {}\n", o.backlog, o.pending)),
            Err(e) => {
                tracing::warn!(service = %s, error = %e, "cannot count the work owed");
                None
            }
        })
        .collect();
    write_atomically(path, &text, "work owed");
}

/// Parses what [`OnSignal`] wrote on SIGUSR1.
pub fn parse_meter(text: &str) -> Vec<(String, MeterReading)> {
    text.lines()
        .filter_map(|line| {
            let mut it = line.split_whitespace();
            let name = it.next()?.to_owned();
            let mut n = || it.next()?.parse::<u64>().ok();
            Some((
                name,
                MeterReading {
                    cpu_ns: n()?,
                    writes: n()?,
                    commits: n()?,
                    inline_commits: n()?,
                    reads: n()?,
                },
            ))
        })
        .collect()
}

/// Parses what [`OnSignal`] wrote on SIGUSR2.
pub fn parse_owed(text: &str) -> Vec<(ServiceName, Owed)> {
    text.lines()
        .filter_map(|line| {
            let mut it = line.split_whitespace();
            let service = ServiceName::parse(it.next()?)?;
            let mut n = || it.next()?.parse::<i64>().ok();
            Some((
                service,
                Owed {
                    backlog: n()?,
                    pending: n()?,
                },
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[tokio::test]
    async fn the_meter_file_reads_back_what_the_store_counted() {
        let dir = temp_dir("meter-test");
        let db = crate::store::Db::open(
            &dir.join("medido.db"),
            "CREATE TABLE IF NOT EXISTS t (v INTEGER);",
            crate::store::StoreConfig::default(),
        )
        .unwrap();
        db.write(|c| Ok(c.execute("INSERT INTO t (v) VALUES (1)", [])?))
            .await
            .unwrap();
        let path = meter_file(&dir, 1);
        write_meter(&path);
        let lines = parse_meter(&std::fs::read_to_string(&path).unwrap());
        let (_, r) = lines
            .iter()
            .find(|(name, _)| name == "medido.db")
            .expect("the open database is listed");
        assert!(r.writes >= 1 && r.commits >= 1 && r.cpu_ns > 0, "{r:?}");
        db.close();
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn the_owed_file_reads_back_what_a_service_owes_from_the_database_its_process_owns() {
        let dir = temp_dir("owed-test");
        let orders = crate::store::Db::open(
            &dir.join(ServiceName::Orders.db_file()),
            &format!(
                "CREATE TABLE IF NOT EXISTS pedidos (id INTEGER PRIMARY KEY, status TEXT);{}",
                crate::services::outbox::OUTBOX_TABLE
            ),
            crate::store::StoreConfig::default(),
        )
        .unwrap();
        assert!(
            orders.config().owned,
            "a service owns its database by default"
        );
        orders
            .write(|c| {
                c.execute_batch(
                    "INSERT INTO pedidos (status) VALUES ('pendente'), ('pendente'), ('enviado');",
                )?;
                Ok(())
            })
            .await
            .unwrap();
        let path = owed_file(&dir, 1);
        let services = [
            ServiceName::Orders,
            ServiceName::Payments,
            ServiceName::Catalog,
        ];
        write_ask(&dir, 1, Ask::Backlog).unwrap();
        assert_eq!(read_ask(&dir, 1), Ask::Backlog);
        write_owed(&path, &dir, &services, read_ask(&dir, 1));
        assert_eq!(
            parse_owed(&std::fs::read_to_string(&path).unwrap())[0],
            (ServiceName::Orders, Owed::default()),
            "asked for the backlog only, Orders does not scan its orders"
        );
        write_ask(&dir, 1, Ask::All).unwrap();
        write_owed(&path, &dir, &services, read_ask(&dir, 1));
        let owed = parse_owed(&std::fs::read_to_string(&path).unwrap());
        assert_eq!(
            owed,
            vec![
                (
                    ServiceName::Orders,
                    Owed {
                        backlog: 0,
                        pending: 2
                    }
                ),
                (ServiceName::Catalog, Owed::default()),
            ],
            "Orders owes its two pending orders, Catalog nothing; Payments, whose database \
             cannot be opened, is left out"
        );
        orders.close();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
