//! Background imports (seed 003): the uploaded file goes to disk as it arrives, the caller is
//! answered with the import's id at once, and a thread of the import's own reads the file back in
//! blocks of lines — never the whole file in memory — validating and storing each block in one
//! write that also records the import's counts and where it got to. Progress is pushed to every
//! follower on each block. An import a stopped sink left half done resumes from its last
//! committed block when the sink opens again; its file is removed once it is done.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::{OptionalExtension, params};
use tokio::sync::watch;

use super::progress::{Estado, Progresso};
use super::{ErroEvento, MAX_LISTED_ERRORS, Recibo, csv, insert_events};
use crate::error::{ServiceError, ServiceResult};
use crate::store::{Db, now_text};

/// Lines validated and stored per block (one write).
pub const BLOCK_LINES: usize = 2_000;
/// Imports processed at once; one more is refused (`Overloaded`) until one ends.
pub const MAX_RUNNING: usize = 4;
/// Largest file an import accepts.
pub const MAX_FILE_BYTES: u64 = 4 << 30;
/// Errors a progress update lists (the first ones; all are counted).
const PROGRESS_ERRORS: usize = 20;

/// The sink's imports.
pub struct Importer {
    db: Db,
    dir: PathBuf,
    next_id: AtomicU64,
    running: AtomicUsize,
    closed: AtomicBool,
    jobs: Mutex<HashMap<u64, watch::Sender<Progresso>>>,
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

impl Importer {
    /// The imports of the sink whose database is `db`, files kept in `data_dir/importacoes`;
    /// resumes those left half done.
    pub(super) fn open(db: Db, data_dir: &Path) -> ServiceResult<Arc<Self>> {
        let dir = data_dir.join("importacoes");
        std::fs::create_dir_all(&dir)
            .map_err(|e| ServiceError::Internal(format!("imports dir: {e}")))?;
        let (max_id, unfinished) = read_sync(&db, |c| {
            let max: i64 =
                c.query_row("SELECT COALESCE(MAX(id), 0) FROM importacoes", [], |r| {
                    r.get(0)
                })?;
            let mut stmt = c.prepare(&format!(
                "{SELECT_PROGRESS} WHERE estado = 'processando' ORDER BY id"
            ))?;
            let rows = stmt
                .query_map([], progress_row)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok((max as u64, rows))
        })?;
        let importer = Arc::new(Self {
            db,
            dir,
            next_id: AtomicU64::new(max_id + 1),
            running: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            jobs: Mutex::new(HashMap::new()),
            threads: Mutex::new(Vec::new()),
        });
        // Files of uploads that never finished are left over from a stopped sink.
        if let Ok(entries) = std::fs::read_dir(&importer.dir) {
            for e in entries.flatten() {
                if e.path().extension().is_some_and(|x| x == "parcial") {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        for p in unfinished {
            importer.running.fetch_add(1, Ordering::SeqCst);
            importer.spawn(p);
        }
        Ok(importer)
    }

    fn file(&self, id: u64) -> PathBuf {
        self.dir.join(format!("{id}.csv"))
    }

    /// Starts receiving a file; refused with `Overloaded` while [`MAX_RUNNING`] imports run.
    pub fn begin(self: &Arc<Self>) -> ServiceResult<Upload> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(ServiceError::Overloaded {
                service: "ingestao",
                retry_after_ms: 1_000,
            });
        }
        if self.running.fetch_add(1, Ordering::SeqCst) >= MAX_RUNNING {
            self.running.fetch_sub(1, Ordering::SeqCst);
            return Err(ServiceError::Overloaded {
                service: "ingestao",
                retry_after_ms: 1_000,
            });
        }
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let partial = self.dir.join(format!("{id}.parcial"));
        let file = std::fs::File::create(&partial).map_err(|e| {
            self.running.fetch_sub(1, Ordering::SeqCst);
            ServiceError::Internal(format!("import file: {e}"))
        })?;
        Ok(Upload {
            importer: self.clone(),
            id,
            partial,
            out: Some(std::io::BufWriter::with_capacity(256 << 10, file)),
            bytes: 0,
        })
    }

    /// An import's progress now.
    pub async fn status(&self, id: u64) -> ServiceResult<Progresso> {
        if let Some(tx) = self.jobs.lock().expect("jobs poisoned").get(&id) {
            return Ok(tx.borrow().clone());
        }
        self.stored(id).await
    }

    async fn stored(&self, id: u64) -> ServiceResult<Progresso> {
        self.db
            .read(move |c| {
                let p = c
                    .query_row(
                        &format!("{SELECT_PROGRESS} WHERE id = ?1"),
                        [id as i64],
                        progress_row,
                    )
                    .optional()?;
                let Some(mut p) = p else {
                    return Err(ServiceError::NotFound {
                        entity: "importacao",
                        id: id as i64,
                    });
                };
                let mut stmt = c.prepare_cached(
                    "SELECT linha, motivo FROM importacao_erros WHERE importacao = ?1
                     ORDER BY linha LIMIT ?2",
                )?;
                p.erros = stmt
                    .query_map(params![id as i64, PROGRESS_ERRORS as i64], |r| {
                        Ok(ErroEvento {
                            posicao: r.get::<_, i64>(0)? as u64,
                            motivo: r.get(1)?,
                        })
                    })?
                    .collect::<Result<_, _>>()?;
                Ok(p)
            })
            .await
    }

    /// Every update of an import from now on, starting with its progress now; the channel
    /// closes once the import has ended (its last value then final).
    pub async fn follow(&self, id: u64) -> ServiceResult<watch::Receiver<Progresso>> {
        if let Some(tx) = self.jobs.lock().expect("jobs poisoned").get(&id) {
            return Ok(tx.subscribe());
        }
        let (_, rx) = watch::channel(self.stored(id).await?);
        Ok(rx)
    }

    /// Asks running imports to stop after their current block and waits for them (they resume
    /// when the sink opens again).
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let threads = std::mem::take(&mut *self.threads.lock().expect("threads poisoned"));
        for t in threads {
            let _ = t.join();
        }
    }

    fn spawn(self: &Arc<Self>, p: Progresso) {
        let (tx, _) = watch::channel(p.clone());
        self.jobs.lock().expect("jobs poisoned").insert(p.id, tx);
        let me = self.clone();
        let handle = tokio::runtime::Handle::current();
        let t = std::thread::Builder::new()
            .name(format!("importacao-{}", p.id))
            .spawn(move || {
                let id = p.id;
                if let Err(e) = me.process(&handle, p) {
                    me.fail(&handle, id, e);
                }
                me.jobs.lock().expect("jobs poisoned").remove(&id);
                me.running.fetch_sub(1, Ordering::SeqCst);
            })
            .expect("spawn an import thread");
        let mut threads = self.threads.lock().expect("threads poisoned");
        threads.retain(|t| !t.is_finished());
        threads.push(t);
    }

    fn publish(&self, p: &Progresso) {
        if let Some(tx) = self.jobs.lock().expect("jobs poisoned").get(&p.id) {
            tx.send_replace(p.clone());
        }
    }

    fn fail(&self, handle: &tokio::runtime::Handle, id: u64, why: String) {
        tracing::warn!(import = id, error = %why, "import failed");
        let w = why.clone();
        let _ = handle.block_on(self.db.write_undo(move |c| {
            c.execute(
                "UPDATE importacoes SET estado = 'falhou', falha = ?2 WHERE id = ?1",
                params![id as i64, w],
            )?;
            Ok(())
        }));
        if let Some(tx) = self.jobs.lock().expect("jobs poisoned").get(&id) {
            tx.send_modify(|p| {
                p.estado = Estado::Falhou;
                p.falha = Some(why);
            });
        }
        let _ = std::fs::remove_file(self.file(id));
    }

    /// Reads the file from where the import got to, a block at a time, until its end or until
    /// the sink closes.
    fn process(&self, handle: &tokio::runtime::Handle, mut p: Progresso) -> Result<(), String> {
        let path = self.file(p.id);
        let mut file = std::fs::File::open(&path).map_err(|e| format!("file: {e}"))?;
        file.seek(SeekFrom::Start(p.bytes_lidos))
            .map_err(|e| format!("file: {e}"))?;
        let mut reader = BufReader::with_capacity(64 << 10, file);
        let mut line = String::new();
        if p.linhas == 0 {
            let n = reader
                .read_line(&mut line)
                .map_err(|e| format!("file: {e}"))?;
            if line
                .trim_end_matches(['\r', '\n'])
                .trim_start_matches('\u{feff}')
                != csv::HEADER
            {
                return Err(format!(
                    "the first line is not the header '{}'",
                    csv::HEADER
                ));
            }
            p.linhas = 1;
            p.bytes_lidos = n as u64;
        }
        loop {
            if self.closed.load(Ordering::SeqCst) {
                return Ok(());
            }
            let mut block = Vec::with_capacity(BLOCK_LINES);
            let mut bad = Recibo::default();
            let mut read = 0u64;
            let mut lines = 0u64;
            while block.len() + (bad.invalidos as usize) < BLOCK_LINES {
                line.clear();
                let n = reader
                    .read_line(&mut line)
                    .map_err(|e| format!("file: {e}"))?;
                if n == 0 {
                    break;
                }
                read += n as u64;
                lines += 1;
                let number = p.linhas + lines;
                if line.trim().is_empty() {
                    continue;
                }
                match csv::parse_line(&line) {
                    Ok(e) => block.push((number, e)),
                    Err(why) => bad.invalid(number, why),
                }
            }
            let done = read == 0 || p.bytes_lidos + read >= p.bytes;
            let (id, bytes_lidos, linhas) = (p.id, p.bytes_lidos + read, p.linhas + lines);
            let listed = p.invalidos;
            let r = handle
                .block_on(self.db.write(move |c| {
                    let mut r = insert_events(c, &block, Some(id))?;
                    r.absorb(bad);
                    r.erros.sort_by_key(|e| e.posicao);
                    let mut stmt = c.prepare_cached(
                        "INSERT OR IGNORE INTO importacao_erros (importacao, linha, motivo)
                         VALUES (?1, ?2, ?3)",
                    )?;
                    let room = (MAX_LISTED_ERRORS as u64).saturating_sub(listed) as usize;
                    for e in r.erros.iter().take(room) {
                        stmt.execute(params![id as i64, e.posicao as i64, e.motivo])?;
                    }
                    c.execute(
                        "UPDATE importacoes SET bytes_lidos = ?2, linhas = ?3,
                           inseridos = inseridos + ?4, repetidos = repetidos + ?5,
                           invalidos = invalidos + ?6, estado = ?7 WHERE id = ?1",
                        params![
                            id as i64,
                            bytes_lidos as i64,
                            linhas as i64,
                            r.inseridos as i64,
                            r.repetidos as i64,
                            r.invalidos as i64,
                            if done { "concluida" } else { "processando" },
                        ],
                    )?;
                    Ok(r)
                }))
                .map_err(|e| format!("store: {e}"))?;
            p.bytes_lidos = bytes_lidos;
            p.linhas = linhas;
            p.inseridos += r.inseridos;
            p.repetidos += r.repetidos;
            p.invalidos += r.invalidos;
            let room = PROGRESS_ERRORS.saturating_sub(p.erros.len());
            p.erros.extend(r.erros.into_iter().take(room));
            if done {
                p.estado = Estado::Concluida;
                let _ = std::fs::remove_file(&path);
            }
            self.publish(&p);
            if done {
                return Ok(());
            }
        }
    }
}

/// A file being received. Dropped before [`Upload::finish`] (the connection broke), its file is
/// removed and nothing is imported.
pub struct Upload {
    importer: Arc<Importer>,
    id: u64,
    partial: PathBuf,
    out: Option<std::io::BufWriter<std::fs::File>>,
    bytes: u64,
}

impl Upload {
    /// Appends a piece of the file (to disk, not memory).
    pub fn write(&mut self, chunk: &[u8]) -> ServiceResult<()> {
        self.bytes += chunk.len() as u64;
        if self.bytes > MAX_FILE_BYTES {
            return Err(ServiceError::invalid(
                "arquivo",
                format!("larger than {MAX_FILE_BYTES} bytes"),
            ));
        }
        let out = self
            .out
            .as_mut()
            .expect("an upload is written until finished");
        out.write_all(chunk)
            .map_err(|e| ServiceError::Internal(format!("import file: {e}")))
    }

    /// The whole file is here: records the import and starts processing it in the background;
    /// returns its id at once.
    pub async fn finish(mut self) -> ServiceResult<u64> {
        let out = self.out.take().expect("finished once");
        out.into_inner()
            .map_err(|e| ServiceError::Internal(format!("import file: {e}")))?;
        if self.bytes == 0 {
            return Err(ServiceError::invalid("arquivo", "empty"));
        }
        let importer = self.importer.clone();
        let (id, bytes) = (self.id, self.bytes);
        std::fs::rename(&self.partial, importer.file(id))
            .map_err(|e| ServiceError::Internal(format!("import file: {e}")))?;
        let name = format!("{id}.csv");
        importer
            .db
            .write(move |c| {
                c.execute(
                    "INSERT INTO importacoes (id, criada_em, estado, arquivo, bytes)
                     VALUES (?1, ?2, 'processando', ?3, ?4)",
                    params![id as i64, now_text(), name, bytes as i64],
                )?;
                Ok(())
            })
            .await?;
        self.out = None;
        self.bytes = u64::MAX; // handed over: Drop leaves the file and the count alone
        importer.spawn(Progresso {
            id,
            estado: Estado::Processando,
            bytes,
            bytes_lidos: 0,
            linhas: 0,
            inseridos: 0,
            repetidos: 0,
            invalidos: 0,
            erros: Vec::new(),
            falha: None,
        });
        Ok(id)
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if self.bytes != u64::MAX {
            drop(self.out.take());
            let _ = std::fs::remove_file(&self.partial);
            let _ = std::fs::remove_file(self.importer.file(self.id));
            self.importer.running.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

const SELECT_PROGRESS: &str = "SELECT id, estado, bytes, bytes_lidos, linhas, inseridos, repetidos,
    invalidos, falha FROM importacoes";

fn progress_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Progresso> {
    let n = |i: usize| r.get::<_, i64>(i).map(|v| v as u64);
    Ok(Progresso {
        id: n(0)?,
        estado: Estado::parse(&r.get::<_, String>(1)?),
        bytes: n(2)?,
        bytes_lidos: n(3)?,
        linhas: n(4)?,
        inseridos: n(5)?,
        repetidos: n(6)?,
        invalidos: n(7)?,
        erros: Vec::new(),
        falha: r.get(8)?,
    })
}

/// Runs a read on a connection of its own, from synchronous code (the sink's opening).
fn read_sync<T>(
    db: &Db,
    f: impl FnOnce(&rusqlite::Connection) -> ServiceResult<T>,
) -> ServiceResult<T> {
    let conn = rusqlite::Connection::open(db.path())?;
    f(&conn)
}
