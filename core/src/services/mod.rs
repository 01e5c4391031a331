//! The six services' rules, one module per service. Each service owns one database, implements
//! its own port trait, and holds its downstream peer as a port. Compensations (void, release,
//! cancel) are idempotent and leave a tombstone, so a forward call that arrives late is refused;
//! the compensation a service owes its next hop travels through its [`outbox`] until acknowledged.

pub mod catalog;
pub mod fiscal;
pub mod inventory;
pub mod lines;
pub mod logistics;
pub mod orders;
pub mod outbox;
pub mod payments;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{OptionalExtension, params};

use crate::admission::{Admission, Gate};
use crate::error::{ServiceError, ServiceResult};
use crate::sim::Simulation;
use crate::store::{Db, StoreConfig};
use crate::topology::ServiceName;

/// Deadline Orders gives the whole chain when the client gives none (or a longer one), unless
/// configured otherwise: the one default of the stacks' `--chain-timeout-ms` and of the bench.
pub const DEFAULT_CHAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// What every service needs to open: where its database lives, how it is stored, the knobs.
#[derive(Debug, Clone)]
pub struct ServiceEnv {
    /// Folder holding the six databases.
    pub data_dir: PathBuf,
    /// Storage settings, the same for all six.
    pub store: StoreConfig,
    /// Simulation knobs, the same for all six.
    pub sim: Arc<Simulation>,
    /// Deadline Orders gives the whole chain when the client gives none (or a longer one).
    pub chain_timeout: Duration,
    /// Deadline of a compensation call (void, release, cancel).
    pub compensation_timeout: Duration,
    /// What each service admits ([`crate::admission`]).
    pub admission: Admission,
}

impl ServiceEnv {
    /// Defaults: NORMAL sync, default knobs, 5 s chain deadline, 2 s compensation deadline, a
    /// static admission limit of [`crate::admission::DEFAULT_LIMIT`].
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            store: StoreConfig::default(),
            sim: Arc::new(Simulation::default()),
            chain_timeout: DEFAULT_CHAIN_TIMEOUT,
            compensation_timeout: Duration::from_secs(2),
            admission: Admission::default(),
        }
    }

    /// The admission gate of `service`.
    pub fn gate(&self, service: ServiceName) -> Gate {
        Gate::new(service.as_str(), self.admission)
    }

    /// Opens `service`'s database with its schema.
    pub fn open_db(&self, service: ServiceName, schema: &str) -> ServiceResult<Db> {
        std::fs::create_dir_all(&self.data_dir).map_err(|e| {
            ServiceError::Internal(format!("create {}: {e}", self.data_dir.display()))
        })?;
        Db::open(&self.data_dir.join(service.db_file()), schema, self.store)
            .map_err(ServiceError::from)
    }
}

/// What a compensation found in the local record before it acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prior {
    /// No record: a tombstone was written.
    Nothing,
    /// A live record, now undone: the compensation must cascade downstream.
    Live,
    /// Already undone or never live: nothing more to do.
    Settled,
}

/// Shared compensation step: turns the order's record in `table` from `live_status` into
/// `cancelled_status`, or writes a tombstone via `insert_tombstone` when there is none. Any other
/// status is left alone. Reports what it found.
pub(crate) fn cancel_record(
    conn: &rusqlite::Connection,
    table: &str,
    live_status: &str,
    cancelled_status: &str,
    order_id: i64,
    insert_tombstone: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<usize>,
) -> rusqlite::Result<Prior> {
    let status: Option<String> = conn
        .prepare_cached(&format!("SELECT status FROM {table} WHERE pedido_id = ?1"))?
        .query_row([order_id], |r| r.get(0))
        .optional()?;
    Ok(match status {
        None => {
            insert_tombstone(conn)?;
            Prior::Nothing
        }
        Some(s) if s == live_status => {
            conn.prepare_cached(&format!(
                "UPDATE {table} SET status = ?1 WHERE pedido_id = ?2"
            ))?
            .execute(params![cancelled_status, order_id])?;
            Prior::Live
        }
        Some(_) => Prior::Settled,
    })
}
