//! The embedded database's reader connections, for the short reads every request and every
//! connecting socket makes: the session check behind each token, and for a user whose first
//! socket connects the backlog check and who may see their presence. They run on the calling thread, on a connection of their own
//! beside the store's one writing connection: queueing behind the writer and hopping to a
//! blocking thread and back (two thread wake-ups per read) was most of a connect's cost in a
//! connect storm (BENCHMARKS.md, "connect storms"). In WAL mode readers and the writer do not
//! wait for each other, and a read sees every commit made before it began.
//!
//! Only indexed point reads belong here: the caller's thread (a runtime worker) is blocked
//! while one runs.

use diesel::connection::SimpleConnection;
use diesel::{Connection, QueryResult, SqliteConnection};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::store::StoreError;

/// How many reader connections: one per runtime worker is enough (a read never waits on
/// I/O beyond the page cache), and two more keep a worker from waiting on a busy one.
const READERS: usize = 4;

/// Each reader's page cache, KiB. The reads are point lookups over rows every connecting
/// user touches once, so a big cache only grows the process (SQLite's default, 2 MiB per
/// connection, filled in one connect storm); a miss costs a read from the OS's page cache.
const CACHE_KIB: usize = 256;

pub(crate) struct Readers {
    conns: Vec<Mutex<SqliteConnection>>,
    next: AtomicUsize,
}

impl Readers {
    /// Opens the readers of the database at `path` (already created and migrated).
    pub(crate) fn open(path: &str) -> Result<Readers, StoreError> {
        let mut conns = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let mut c = SqliteConnection::establish(path)
                .map_err(|e| StoreError::Connect(e.to_string()))?;
            // A reader never writes; it waits for a lock only while SQLite recovers the log
            // (after a crash), which is short.
            c.batch_execute(&format!(
                "PRAGMA query_only = ON; PRAGMA busy_timeout = 1000; PRAGMA cache_size = -{CACHE_KIB};"
            ))?;
            conns.push(Mutex::new(c));
        }
        Ok(Readers {
            conns,
            next: AtomicUsize::new(0),
        })
    }

    /// Runs `read` on a free reader (waiting for one only when all are busy).
    pub(crate) fn read<R>(
        &self,
        read: impl FnOnce(&mut SqliteConnection) -> QueryResult<R>,
    ) -> Result<R, StoreError> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let n = self.conns.len();
        let mut conn = (0..n)
            .find_map(|i| self.conns[(start + i) % n].try_lock().ok())
            .unwrap_or_else(|| self.wait(start % n));
        Ok(read(&mut conn)?)
    }

    fn wait(&self, i: usize) -> MutexGuard<'_, SqliteConnection> {
        // A panic inside a read leaves the connection as usable as any failed query does.
        self.conns[i].lock().unwrap_or_else(|p| p.into_inner())
    }
}
