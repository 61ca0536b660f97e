//! The Store: a PostgreSQL pool or the embedded SQLite connection behind one API.

use diesel::connection::SimpleConnection;
use diesel::{Connection, SqliteConnection};
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{AsyncMigrationHarness, AsyncPgConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::readers::Readers;

pub const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");

/// The PostgreSQL advisory lock nodes take to run the migrations one at a time (any fixed number
/// no other program on the database uses: "chatd" in ASCII).
const MIGRATION_LOCK: i64 = 0x0063_6861_7464;

/// Everything the store can fail with. Callers map it to a generic 500; the detail is logged.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("database pool: {0}")]
    Pool(String),
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    #[error("migrations failed: {0}")]
    Migration(String),
}

impl StoreError {
    /// True when the database could not write for lack of space: SQLite's `SQLITE_FULL`
    /// ("database or disk is full"), PostgreSQL's `disk_full` (53100, "No space left on
    /// device"). diesel reports both as an unknown database error, so the text decides.
    pub fn is_storage_full(&self) -> bool {
        let message = match self {
            StoreError::Query(diesel::result::Error::DatabaseError(_, info)) => info.message(),
            StoreError::Pool(m) | StoreError::Connect(m) => m.as_str(),
            _ => return false,
        };
        let m = message.to_ascii_lowercase();
        [
            "disk is full",
            "no space left",
            "disk full",
            "could not extend file",
        ]
        .iter()
        .any(|s| m.contains(s))
    }

    /// True when a UNIQUE constraint refused the write (a concurrent duplicate).
    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            StoreError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    }
}

pub(crate) type SqliteConn = SyncConnectionWrapper<SqliteConnection>;

pub(crate) enum Db {
    Pg(Pool<AsyncPgConnection>),
    /// One connection for everything but the hot point reads: SQLite serializes writers
    /// anyway, and a single connection can never hit SQLITE_BUSY on a read-to-write upgrade.
    /// Batching (the message writer) keeps it fast. The readers serve the session and backlog
    /// checks ([`Readers`]).
    Sqlite(tokio::sync::Mutex<SqliteConn>, Readers),
}

/// Which backend a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// The store handle; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pub(crate) db: Arc<Db>,
    /// Bumped after every write to a row the send path caches (a user's status, names or avatar;
    /// groups, members, friendships): its cache is valid while the generation it was read at is
    /// current. Logins, passwords, settings and device fields do not bump it.
    generation: Arc<AtomicU64>,
    /// Counts this process's cache-affecting writes only (not [`Store::invalidate`]): what other
    /// nodes must hear of (see the server's `cluster` module).
    local_writes: Arc<AtomicU64>,
}

/// Runs the same diesel code against whichever backend the store holds. `$conn` is bound to a
/// `&mut` connection of the arm's concrete type.
macro_rules! run {
    ($store:expr, |$conn:ident| $body:expr) => {
        match &*$store.db {
            $crate::store::Db::Pg(pool) => {
                let mut guard = pool
                    .get()
                    .await
                    .map_err(|e| $crate::store::StoreError::Pool(e.to_string()))?;
                let $conn: &mut diesel_async::AsyncPgConnection = &mut guard;
                $body
            }
            $crate::store::Db::Sqlite(mutex, _) => {
                let mut guard = mutex.lock().await;
                let $conn: &mut $crate::store::SqliteConn = &mut guard;
                $body
            }
        }
    };
}
pub(crate) use run;

/// [`run!`] for a write to a row the send path caches (a user's status, names or avatar; groups,
/// members, friendships): once it has run, the store's generation moves on, so those caches
/// refresh. Other user writes (logins, passwords, settings, device fields) use `run!`: bumping
/// on every login would empty the cache all day on a busy server.
macro_rules! run_write {
    ($store:expr, |$conn:ident| $body:expr) => {{
        let out = $crate::store::run!($store, |$conn| $body);
        $store.changed();
        out
    }};
}
pub(crate) use run_write;

impl Store {
    /// Connects to `url` (`postgres://…`, `postgresql://…`, `sqlite://path` or a bare file path)
    /// and runs pending migrations.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::connect_pg(url).await
        } else {
            let path = url.strip_prefix("sqlite://").unwrap_or(url).to_string();
            Self::connect_sqlite(path).await
        }
    }

    async fn connect_pg(url: &str) -> Result<Store, StoreError> {
        let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(url);
        let pool = Pool::builder(manager)
            .max_size(16)
            .build()
            .map_err(|e| StoreError::Connect(e.to_string()))?;
        let mut conn = pool
            .get()
            .await
            .map_err(|e| StoreError::Connect(e.to_string()))?;
        // Nodes started together on a fresh database would each create the same tables, and all
        // but one would fail: the first to take this lock runs the migrations, the others then
        // find none pending. A session lock, so a node that dies holding it lets go with its
        // connection.
        let lock = diesel::sql_query("SELECT pg_advisory_lock($1)")
            .bind::<diesel::sql_types::BigInt, _>(MIGRATION_LOCK);
        diesel_async::RunQueryDsl::execute(lock, &mut conn).await?;
        // The harness drives the async connection from a blocking context.
        let (mut conn, migrated) = tokio::task::spawn_blocking(move || {
            let mut harness = AsyncMigrationHarness::new(conn);
            let migrated = harness
                .run_pending_migrations(PG_MIGRATIONS)
                .map(|_| ())
                .map_err(|e| StoreError::Migration(e.to_string()));
            (harness.into_inner(), migrated)
        })
        .await
        .map_err(|e| StoreError::Migration(e.to_string()))?;
        let unlock = diesel::sql_query("SELECT pg_advisory_unlock($1)")
            .bind::<diesel::sql_types::BigInt, _>(MIGRATION_LOCK);
        diesel_async::RunQueryDsl::execute(unlock, &mut conn).await?;
        migrated?;
        Ok(Store::new(Db::Pg(pool)))
    }

    async fn connect_sqlite(path: String) -> Result<Store, StoreError> {
        let db_path = path.clone();
        let (conn, readers) = tokio::task::spawn_blocking(move || {
            if let Some(parent) = std::path::Path::new(&path).parent() {
                if !parent.as_os_str().is_empty() {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| StoreError::Connect(format!("{}: {e}", parent.display())))?;
                }
            }
            let mut conn = SqliteConnection::establish(&path)
                .map_err(|e| StoreError::Connect(e.to_string()))?;
            conn.batch_execute(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
            )?;
            conn.run_pending_migrations(SQLITE_MIGRATIONS)
                .map_err(|e| StoreError::Migration(e.to_string()))?;
            // Checkpoints run beside the store, not inside its commits (crate::checkpoint).
            conn.batch_execute(&format!(
                "PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = {};",
                crate::checkpoint::LOG_FILE_LIMIT
            ))?;
            Ok::<_, StoreError>((conn, Readers::open(&path)?))
        })
        .await
        .map_err(|e| StoreError::Connect(e.to_string()))??;
        let store = Store::new(Db::Sqlite(
            tokio::sync::Mutex::new(SyncConnectionWrapper::new(conn)),
            readers,
        ));
        crate::checkpoint::spawn(db_path, Arc::downgrade(&store.db));
        Ok(store)
    }

    fn new(db: Db) -> Store {
        Store {
            db: Arc::new(db),
            generation: Arc::new(AtomicU64::new(0)),
            local_writes: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The current generation of user, group, member and friendship rows. Read it before
    /// reading rows to cache: if it is unchanged later, no write has touched them since. (Writes
    /// made by other nodes arrive through [`Store::invalidate`].)
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub(crate) fn changed(&self) {
        self.local_writes.fetch_add(1, Ordering::AcqRel);
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// How many cache-affecting writes this process has made.
    pub fn local_writes(&self) -> u64 {
        self.local_writes.load(Ordering::Acquire)
    }

    /// Moves the generation on without a write here: another node changed rows this process
    /// may have cached.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Whether the store can write now (readiness, SPEC §9.27). On SQLite a one-page write
    /// (the header's `user_version`, which nothing else uses) through the writer: it fails when
    /// the volume is full and the log has no room left. On PostgreSQL a server that cannot
    /// write fails its own queries, so a read answers for it.
    pub async fn probe_write(&self) -> Result<(), StoreError> {
        use diesel_async::RunQueryDsl;
        static PROBES: AtomicU64 = AtomicU64::new(1);
        match &*self.db {
            Db::Pg(_) => run!(self, |conn| {
                diesel::sql_query("SELECT 1").execute(conn).await?;
            }),
            Db::Sqlite(..) => {
                // A changed value, so the page is really written.
                let n = PROBES.fetch_add(1, Ordering::Relaxed) % 1_000_000 + 1;
                run!(self, |conn| {
                    diesel::sql_query(format!("PRAGMA user_version = {n}"))
                        .execute(conn)
                        .await?;
                })
            }
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        match &*self.db {
            Db::Pg(_) => Backend::Postgres,
            Db::Sqlite(..) => Backend::Sqlite,
        }
    }

    /// Names and nullability of every column of every table, sorted: what the migration
    /// parity test compares across backends.
    pub async fn describe_columns(&self) -> Result<Vec<(String, String, bool)>, StoreError> {
        use diesel::sql_types::{Bool, Text};
        use diesel_async::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Col {
            #[diesel(sql_type = Text)]
            t: String,
            #[diesel(sql_type = Text)]
            c: String,
            #[diesel(sql_type = Bool)]
            nullable: bool,
        }
        let mut cols: Vec<Col> = match &*self.db {
            Db::Pg(_) => run!(self, |conn| {
                diesel::sql_query(
                    "SELECT table_name::text AS t, column_name::text AS c, \
                     (is_nullable = 'YES') AS nullable FROM information_schema.columns \
                     WHERE table_schema = current_schema() \
                     AND table_name <> '__diesel_schema_migrations'",
                )
                .load(conn)
                .await?
            }),
            Db::Sqlite(..) => run!(self, |conn| {
                diesel::sql_query(
                    "SELECT m.name AS t, p.name AS c, \
                     (p.\"notnull\" = 0 AND p.pk = 0) AS nullable \
                     FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
                     AND m.name <> '__diesel_schema_migrations'",
                )
                .load(conn)
                .await?
            }),
        };
        cols.sort_by(|a, b| (&a.t, &a.c).cmp(&(&b.t, &b.c)));
        Ok(cols.into_iter().map(|c| (c.t, c.c, c.nullable)).collect())
    }
}
