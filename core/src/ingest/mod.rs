//! The ingestion sink (seeds 000 and 003): order events sent by remote simulators, one at a time,
//! streamed, in batches or in a stream of batches, and files of events imported in the
//! background. Every event carries an id: a repeat is counted and never stored twice, an invalid
//! event is counted with its position and reason and never stops the rest. The sink is a service
//! of its own (its own process and SQLite file, `eventos.db`), outside the checkout chain: it
//! shares no data and no call with the six checkout services.

pub mod csv;
pub mod events;
pub mod import;
mod progress;
mod stream;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::{ServiceError, ServiceResult};
use crate::store::{Db, StoreConfig};

pub use import::{Importer, Upload};
pub use progress::{Estado, Progresso};
pub use stream::{FileChunks, StreamIngest, follow_to_end, forward_progress, if_ready, stamped};

/// The sink's database file in a data directory.
pub const DB_FILE: &str = "eventos.db";

/// Port offset of the sink from a stack's base port (after the six checkout services).
pub const PORT_OFFSET: u16 = 6;

/// Most events the sink commits in one write: a larger batch is split, so what runs on one
/// thread at once stays bounded (about a millisecond of inserts).
pub const MAX_WRITE: usize = 256;

/// Most errors a receipt lists one by one (all are counted).
pub const MAX_LISTED_ERRORS: usize = 100;

/// One order event of seed 000's `PedidoMessage`, with the id that makes a repeat detectable.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Evento {
    /// Unique id of the event (1–64 characters); a second event with the same id is a repeat.
    pub id_evento: String,
    /// Customer's name.
    pub cliente: String,
    /// Product's name.
    pub produto: String,
    /// Units (1–1,000).
    pub quantidade: i64,
    /// Logistics centre that ships it (a city).
    pub centro_logistico: String,
    /// Sales channel (`site`, `app`, `marketplace`, `loja_fisica`, `televendas`).
    pub canal_venda: String,
    /// Total value in centavos (positive).
    pub valor_centavos: i64,
    /// When the simulator sent it, in microseconds since the Unix epoch; 0 asks the sending
    /// client to stamp it as it puts the event on the wire.
    #[serde(default)]
    pub emitido_em_us: i64,
}

/// The sales channels an event may name.
pub const CANAIS: [&str; 5] = ["site", "app", "marketplace", "loja_fisica", "televendas"];

impl Evento {
    /// Why this event cannot be stored (`field: reason`), or `None` when it can.
    pub fn invalid_reason(&self) -> Option<String> {
        let text = |field: &str, v: &str, max: usize| {
            if v.trim().is_empty() {
                Some(format!("{field}: vazio"))
            } else if v.chars().count() > max {
                Some(format!("{field}: mais de {max} caracteres"))
            } else if v.chars().any(char::is_control) {
                Some(format!("{field}: caractere de controle"))
            } else {
                None
            }
        };
        text("id_evento", &self.id_evento, 64)
            .or_else(|| text("cliente", &self.cliente, 120))
            .or_else(|| text("produto", &self.produto, 120))
            .or_else(|| text("centro_logistico", &self.centro_logistico, 80))
            .or_else(|| {
                (!(1..=1000).contains(&self.quantidade))
                    .then(|| format!("quantidade: {} fora de 1–1000", self.quantidade))
            })
            .or_else(|| {
                (!CANAIS.contains(&self.canal_venda.as_str()))
                    .then(|| format!("canal_venda: '{}' desconhecido", self.canal_venda))
            })
            .or_else(|| {
                (!(1..=10_000_000_000).contains(&self.valor_centavos))
                    .then(|| format!("valor: {} centavos fora do intervalo", self.valor_centavos))
            })
            .or_else(|| (self.emitido_em_us < 0).then(|| "emitido_em: negativo".to_owned()))
    }

    /// Stamps the emission time now, if the event asks for it (0).
    pub fn stamp(&mut self) {
        if self.emitido_em_us == 0 {
            self.emitido_em_us = now_us();
        }
    }

    /// A 64-bit digest of what the sink stores of this event (its emission time excluded):
    /// summed over a set of events (wrapping), it checks that the sink holds exactly that set.
    pub fn digest(&self) -> u64 {
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        let mut eat = |bytes: &[u8]| {
            for &b in bytes.iter().chain([0x1f].iter()) {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        };
        eat(self.id_evento.as_bytes());
        eat(self.cliente.as_bytes());
        eat(self.produto.as_bytes());
        eat(&self.quantidade.to_le_bytes());
        eat(self.centro_logistico.as_bytes());
        eat(self.canal_venda.as_bytes());
        eat(&self.valor_centavos.to_le_bytes());
        crate::sim::splitmix(h)
    }
}

/// Microseconds since the Unix epoch, now.
pub fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// One event the sink did not store for being invalid: where it was and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErroEvento {
    /// Position: 0-based in what one call sent (across a stream's messages), or the file's line
    /// number (1-based, the header being line 1) in an import.
    pub posicao: u64,
    /// Why (`field: reason`).
    pub motivo: String,
}

/// What the sink did with what one call sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Recibo {
    /// Stored now.
    pub inseridos: u64,
    /// Already stored (same id): not stored again.
    pub repetidos: u64,
    /// Refused as invalid.
    pub invalidos: u64,
    /// The first invalid ones, with position and reason (at most [`MAX_LISTED_ERRORS`]).
    pub erros: Vec<ErroEvento>,
}

impl Recibo {
    /// Events this receipt accounts for.
    pub fn total(&self) -> u64 {
        self.inseridos + self.repetidos + self.invalidos
    }

    /// Adds `other`'s counts and errors to this one.
    pub fn absorb(&mut self, other: Recibo) {
        self.inseridos += other.inseridos;
        self.repetidos += other.repetidos;
        self.invalidos += other.invalidos;
        let room = MAX_LISTED_ERRORS.saturating_sub(self.erros.len());
        self.erros.extend(other.erros.into_iter().take(room));
    }

    /// Counts one invalid event at `posicao`.
    pub fn invalid(&mut self, posicao: u64, motivo: String) {
        self.invalidos += 1;
        if self.erros.len() < MAX_LISTED_ERRORS {
            self.erros.push(ErroEvento { posicao, motivo });
        }
    }
}

/// The sink's API as a trait, whatever carries it: the seed's four patterns and the import.
#[async_trait]
pub trait IngestPort: Send + Sync {
    /// One event, one call (seed: `SimpleSendData`).
    async fn enviar(&self, evento: Evento) -> ServiceResult<Recibo>;
    /// A stream of events, one receipt at the end (seed: `StreamData`).
    async fn enviar_stream(&self, eventos: Vec<Evento>) -> ServiceResult<Recibo>;
    /// One batch, one call (seed: `EnviarPedidosEmLote`).
    async fn enviar_lote(&self, lote: Vec<Evento>) -> ServiceResult<Recibo>;
    /// A stream of batches, one receipt at the end (seed: `StreamPedidosEmLote`).
    async fn enviar_lotes_stream(&self, lotes: Vec<Vec<Evento>>) -> ServiceResult<Recibo>;
    /// Uploads a CSV file of events; answers with the import's id as soon as the file is
    /// stored, before any event is processed.
    async fn importar(&self, arquivo: &Path) -> ServiceResult<u64>;
    /// An import's progress now.
    async fn progresso(&self, id: u64) -> ServiceResult<Progresso>;
    /// Follows an import, calling `cada` on every update the server pushes, until it ends;
    /// returns the last.
    async fn acompanhar(
        &self,
        id: u64,
        cada: &mut (dyn FnMut(Progresso) + Send),
    ) -> ServiceResult<Progresso>;
}

/// The sink's schema: events by id, imports with their counts, and where each import's invalid
/// lines were (the first [`MAX_LISTED_ERRORS`] of each).
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS eventos (
    id_evento TEXT PRIMARY KEY,
    cliente TEXT NOT NULL,
    produto TEXT NOT NULL,
    quantidade INTEGER NOT NULL,
    centro_logistico TEXT NOT NULL,
    canal_venda TEXT NOT NULL,
    valor_centavos INTEGER NOT NULL,
    emitido_em_us INTEGER NOT NULL,
    gravado_em_us INTEGER NOT NULL,
    importacao INTEGER
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS importacoes (
    id INTEGER PRIMARY KEY,
    criada_em TEXT NOT NULL,
    estado TEXT NOT NULL,
    arquivo TEXT NOT NULL,
    bytes INTEGER NOT NULL DEFAULT 0,
    bytes_lidos INTEGER NOT NULL DEFAULT 0,
    linhas INTEGER NOT NULL DEFAULT 0,
    inseridos INTEGER NOT NULL DEFAULT 0,
    repetidos INTEGER NOT NULL DEFAULT 0,
    invalidos INTEGER NOT NULL DEFAULT 0,
    falha TEXT
);
CREATE TABLE IF NOT EXISTS importacao_erros (
    importacao INTEGER NOT NULL,
    linha INTEGER NOT NULL,
    motivo TEXT NOT NULL,
    PRIMARY KEY (importacao, linha)
);
";

const INSERT: &str = "INSERT OR IGNORE INTO eventos (id_evento, cliente, produto, quantidade,
    centro_logistico, canal_venda, valor_centavos, emitido_em_us, gravado_em_us, importacao)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";

/// Inserts `eventos` (each with its position) on `conn`, inside the caller's transaction:
/// invalid ones are counted with their position, repeats counted and skipped.
pub fn insert_events(
    conn: &rusqlite::Connection,
    eventos: &[(u64, Evento)],
    importacao: Option<u64>,
) -> ServiceResult<Recibo> {
    let mut recibo = Recibo::default();
    let mut stmt = conn.prepare_cached(INSERT)?;
    let gravado = now_us();
    for (posicao, e) in eventos {
        if let Some(motivo) = e.invalid_reason() {
            recibo.invalid(*posicao, motivo);
            continue;
        }
        let n = stmt.execute(rusqlite::params![
            e.id_evento,
            e.cliente,
            e.produto,
            e.quantidade,
            e.centro_logistico,
            e.canal_venda,
            e.valor_centavos,
            e.emitido_em_us,
            gravado,
            importacao.map(|i| i as i64),
        ])?;
        if n == 1 {
            recibo.inseridos += 1;
        } else {
            recibo.repetidos += 1;
        }
    }
    Ok(recibo)
}

/// The events the sink's database at `path` holds — those sent by calls only, or imported too —
/// and the wrapping sum of their digests ([`Evento::digest`]): what a sender checks the sink
/// against.
pub fn stored_digest(path: &Path, with_imports: bool) -> rusqlite::Result<(u64, u64)> {
    let conn = rusqlite::Connection::open(path)?;
    let mut stmt = conn.prepare(&format!(
        "SELECT id_evento, cliente, produto, quantidade, centro_logistico, canal_venda,
         valor_centavos FROM eventos{}",
        if with_imports {
            ""
        } else {
            " WHERE importacao IS NULL"
        }
    ))?;
    let rows = stmt.query_map([], |r| {
        Ok(Evento {
            id_evento: r.get(0)?,
            cliente: r.get(1)?,
            produto: r.get(2)?,
            quantidade: r.get(3)?,
            centro_logistico: r.get(4)?,
            canal_venda: r.get(5)?,
            valor_centavos: r.get(6)?,
            emitido_em_us: 0,
        })
    })?;
    let mut out = (0u64, 0u64);
    for e in rows {
        out = (out.0 + 1, out.1.wrapping_add(e?.digest()));
    }
    Ok(out)
}

/// The sink: its database and its imports.
#[derive(Clone)]
pub struct Sink {
    db: Db,
    importer: Arc<Importer>,
}

impl Sink {
    /// Opens (creating) `eventos.db` in `data_dir` and resumes any import a previous run left
    /// half done (from the last block it committed). Call it inside a tokio runtime: a resumed
    /// import's thread stores its blocks through it.
    pub fn open(data_dir: &Path, config: StoreConfig) -> ServiceResult<Self> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| ServiceError::Internal(format!("data dir: {e}")))?;
        // Not owned: the bench reads the stored events' times from its own process while the sink
        // runs.
        let config = StoreConfig {
            owned: false,
            ..config
        };
        let db = Db::open(&data_dir.join(DB_FILE), SCHEMA, config)?;
        let importer = Importer::open(db.clone(), data_dir)?;
        Ok(Self { db, importer })
    }

    /// The sink's database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The sink's imports.
    pub fn importer(&self) -> &Arc<Importer> {
        &self.importer
    }

    /// Stores `eventos`, numbered from `first`, committing at most [`MAX_WRITE`] per write.
    pub async fn ingest(&self, first: u64, eventos: Vec<Evento>) -> ServiceResult<Recibo> {
        let mut recibo = Recibo::default();
        let mut numbered: Vec<(u64, Evento)> = eventos
            .into_iter()
            .enumerate()
            .map(|(i, e)| (first + i as u64, e))
            .collect();
        while !numbered.is_empty() {
            let rest = numbered.split_off(numbered.len().min(MAX_WRITE));
            let part = std::mem::replace(&mut numbered, rest);
            let r = self
                .db
                .write(move |c| insert_events(c, &part, None))
                .await?;
            recibo.absorb(r);
        }
        Ok(recibo)
    }

    /// Lets running imports stop at their next block and closes the database.
    pub fn close(&self) {
        self.importer.close();
        self.db.close();
    }
}

/// The sink called in-process: no transport at all (the baseline of the ingest scenario).
#[async_trait]
impl IngestPort for Sink {
    async fn enviar(&self, evento: Evento) -> ServiceResult<Recibo> {
        self.ingest(0, stamped(vec![evento])).await
    }

    async fn enviar_stream(&self, eventos: Vec<Evento>) -> ServiceResult<Recibo> {
        let mut s = StreamIngest::new(self.clone());
        for mut e in eventos {
            e.stamp();
            s.push([e]).await?;
        }
        s.finish().await
    }

    async fn enviar_lote(&self, lote: Vec<Evento>) -> ServiceResult<Recibo> {
        self.ingest(0, stamped(lote)).await
    }

    async fn enviar_lotes_stream(&self, lotes: Vec<Vec<Evento>>) -> ServiceResult<Recibo> {
        let mut s = StreamIngest::new(self.clone());
        for lote in lotes {
            s.push(stamped(lote)).await?;
        }
        s.finish().await
    }

    async fn importar(&self, arquivo: &Path) -> ServiceResult<u64> {
        let chunks = FileChunks::open(arquivo, 256 << 10)?;
        let error = chunks.error.clone();
        let mut upload = self.importer.begin()?;
        for chunk in chunks {
            upload.write(&chunk)?;
        }
        FileChunks::check(&error)?;
        upload.finish().await
    }

    async fn progresso(&self, id: u64) -> ServiceResult<Progresso> {
        self.importer.status(id).await
    }

    async fn acompanhar(
        &self,
        id: u64,
        cada: &mut (dyn FnMut(Progresso) + Send),
    ) -> ServiceResult<Progresso> {
        Ok(follow_to_end(self.importer.follow(id).await?, cada).await)
    }
}
