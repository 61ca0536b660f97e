//! The embedded database's WAL checkpoints, off the write path. SQLite in WAL mode copies the
//! log back into the database file (a checkpoint) when a commit finds the log over 1,000 pages,
//! and that commit waits for the copy and its fsync: in S1 one store batch in 25 took 10–25 ms
//! instead of 1–2, and every message of that batch waited with it (the p99 of issue 23). So the
//! store's connection has automatic checkpoints off, and this thread, with a connection of its
//! own, runs a passive checkpoint every [`EVERY`]: it copies what it can without blocking the
//! writer, which goes on appending to the log meanwhile, and the next commit after a complete
//! checkpoint starts the log again from the top, so the log stays small.
//!
//! That start needs a moment with nothing written since the checkpoint, which a server under
//! steady writes never has: 20,000 REST sends back to back grew the log to 302 MB, and every read
//! got slower with it (SQLite looks a page up in each 4,096-frame segment of the log's index in
//! turn). So when a passive checkpoint leaves the log over [`RESTART_FRAMES`], the thread runs a
//! `RESTART` checkpoint: it copies the few frames the passive one left and waits for the readers
//! to leave the log, so the next commit starts it from the top. It runs holding the store's
//! writer (the same lock every write takes), so no write transaction is ever open beside it: a
//! `RESTART` holds SQLite's write lock, and a transaction that had read before asking for that
//! lock got "database is locked" at once (SQLite calls no busy handler for that upgrade), which
//! failed sends under load. Writes wait for the copy instead, once per [`RESTART_FRAMES`] of
//! writes, never on a quiet server (`chatd_sqlite_restart_seconds`, logged when over a second).
//! The writer's `journal_size_limit` ([`LOG_FILE_LIMIT`]) then gives the file back after a burst.
//!
//! The thread stops when the store is dropped (it holds the store only weakly).

use diesel::sql_types::Integer;
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
use std::sync::Weak;
use std::time::{Duration, Instant};

use crate::store::Db;

/// How often the log is copied back.
pub const EVERY: Duration = Duration::from_millis(500);

/// Past this many frames (pages of 4 KiB) left in the log after a passive checkpoint, the log is
/// restarted: one segment of SQLite's log index.
pub const RESTART_FRAMES: i32 = 4096;

/// What the log file is cut back to when the log starts again, bytes (`journal_size_limit`).
pub const LOG_FILE_LIMIT: i64 = 32 << 20;

/// What a checkpoint reports: frames in the log and frames copied back.
#[derive(Debug, QueryableByName)]
pub struct Checkpoint {
    #[diesel(sql_type = Integer)]
    pub busy: i32,
    #[diesel(sql_type = Integer)]
    pub log: i32,
    #[diesel(sql_type = Integer)]
    pub checkpointed: i32,
}

/// One passive checkpoint on `conn`.
pub fn checkpoint(conn: &mut SqliteConnection) -> diesel::QueryResult<Checkpoint> {
    diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)").get_result(conn)
}

/// One checkpoint that also has the next commit start the log from the top (it waits for the
/// writer and the readers, up to the connection's busy timeout).
pub fn restart(conn: &mut SqliteConnection) -> diesel::QueryResult<Checkpoint> {
    diesel::sql_query("PRAGMA wal_checkpoint(RESTART)").get_result(conn)
}

/// Starts the checkpointer for the database at `path`, for as long as `alive` can be upgraded.
pub(crate) fn spawn(path: String, alive: Weak<Db>) {
    let spawned = std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            let mut conn = match SqliteConnection::establish(&path) {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "the WAL checkpointer could not connect; SQLite checkpoints on commit instead");
                    return;
                }
            };
            let _ = diesel::sql_query("PRAGMA busy_timeout = 5000").execute(&mut conn);
            loop {
                std::thread::sleep(EVERY);
                if alive.upgrade().is_none() {
                    return;
                }
                match checkpoint(&mut conn) {
                    Ok(c) if c.log > RESTART_FRAMES => match restart_alone(&mut conn, &alive) {
                        // Busy: the writer or a reader held on past the busy timeout. Nothing
                        // is lost (the log is only copied); the next round tries again.
                        Ok(r) if r.busy != 0 => {
                            tracing::warn!(frames = r.log, "WAL restart found the log busy")
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, frames = c.log, "WAL restart failed"),
                    },
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "the WAL checkpointer could not start");
    }
}

/// [`restart`] while holding the store's writer, so that no write transaction is open beside it.
fn restart_alone(conn: &mut SqliteConnection, store: &Weak<Db>) -> diesel::QueryResult<Checkpoint> {
    let Some(db) = store.upgrade() else {
        return restart(conn);
    };
    let Db::Sqlite(writer, _) = &*db else {
        return restart(conn);
    };
    let _writer = writer.blocking_lock();
    let started = Instant::now();
    let done = restart(conn);
    let took = started.elapsed();
    metrics::histogram!("chatd_sqlite_restart_seconds").record(took.as_secs_f64());
    if took > Duration::from_secs(1) {
        tracing::warn!(
            ms = took.as_millis() as u64,
            "a WAL restart held the writer over a second"
        );
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::NewUser;
    use crate::store::Store;

    fn user(i: usize) -> NewUser {
        // Wide rows, so a round of writes is many log pages.
        NewUser {
            password: "x".repeat(200),
            nickname: "n".repeat(200),
            ..NewUser::plain(format!("u{i}"), format!("user{i}"), 0)
        }
    }

    /// Commits no longer checkpoint (the log would pass 1,000 pages and keep growing), the
    /// checkpointer copies the log back, and the next commits reuse the log from its start: the
    /// file stops growing.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_log_is_copied_back_beside_the_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db").to_string_lossy().into_owned();
        let store = Store::connect(&path).await.unwrap();
        let wal = std::path::PathBuf::from(format!("{path}-wal"));
        let mut sizes = Vec::new();
        for round in 0..6 {
            for i in 0..400 {
                store.create_user(&user(round * 1000 + i)).await.unwrap();
            }
            sizes.push(std::fs::metadata(&wal).unwrap().len());
            tokio::time::sleep(EVERY * 3).await;
        }
        // A checkpoint of our own sees what the store's thread left: nothing to copy.
        let mut conn = SqliteConnection::establish(&path).unwrap();
        let c = checkpoint(&mut conn).unwrap();
        assert_eq!(c.busy, 0);
        assert_eq!(c.log, c.checkpointed, "{c:?}");
        // Six rounds of writes: had the log not started again after each checkpoint, the file
        // would hold all six, six times the first round's size.
        let first = sizes[0];
        let peak = sizes.iter().copied().max().unwrap_or(0);
        assert!(first > 0);
        assert!(peak < first * 2, "the log grew: {sizes:?}");
    }

    /// Eight writers at once, so the store's one connection commits back to back and no passive
    /// checkpoint ever finds a moment with nothing written since: the log still starts again, so
    /// the file stays near [`RESTART_FRAMES`]. Without the restart it held every write (92,835
    /// frames when measured, over twenty times the limit). The bound is written out, not taken
    /// from the constant, so raising the constant out of reach fails the test.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_log_starts_again_under_writes_that_never_pause() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db").to_string_lossy().into_owned();
        let store = std::sync::Arc::new(Store::connect(&path).await.unwrap());
        let wal = std::path::PathBuf::from(format!("{path}-wal"));
        let writers: Vec<_> = (0..8)
            .map(|w| {
                let store = store.clone();
                tokio::spawn(async move {
                    for i in 0..1500 {
                        store.create_user(&user(w * 100_000 + i)).await.unwrap();
                    }
                })
            })
            .collect();
        let mut peak = 0u64;
        while writers.iter().any(|w| !w.is_finished()) {
            peak = peak.max(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for w in writers {
            w.await.unwrap();
        }
        // Four segments: the limit, what the writers add in one interval, and room to spare.
        let frame = 4096 + 24;
        assert!(
            peak < 4 * 4096 * frame,
            "the log file reached {} frames",
            peak / frame
        );
    }
}
