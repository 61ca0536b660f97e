//! The embedded database's WAL checkpoints, off the write path. SQLite in WAL mode copies the
//! log back into the database file (a checkpoint) when a commit finds the log over 1,000 pages,
//! and that commit waits for the copy and its fsync: in S1 one store batch in 25 took 10–25 ms
//! instead of 1–2, and every message of that batch waited with it (the p99 of issue 23). So the
//! store's connection has automatic checkpoints off, and this thread, with a connection of its
//! own, runs a passive checkpoint every [`EVERY`]: it copies what it can without blocking the
//! writer, which goes on appending to the log meanwhile, and the next commit after a complete
//! checkpoint starts the log again from the top, so the log stays small.
//!
//! The thread stops when the store is dropped (it holds the store only weakly).

use diesel::sql_types::Integer;
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
use std::sync::Weak;
use std::time::Duration;

/// How often the log is copied back.
pub const EVERY: Duration = Duration::from_millis(500);

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

/// Starts the checkpointer for the database at `path`, for as long as `alive` can be upgraded.
pub fn spawn<T: Send + Sync + 'static>(path: String, alive: Weak<T>) {
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
                if let Err(e) = checkpoint(&mut conn) {
                    tracing::warn!(error = %e, "WAL checkpoint failed");
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "the WAL checkpointer could not start");
    }
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
}
