//! The state every handler and operation shares (`AppState`), and building it from a `Config`.
//! Start-up and shutdown (the listener, signals, housekeeping) are `app`'s; this module imports
//! no handler and no server code, so everything can depend on it without a loop.

use chatd_actors::socket::SocketConfig;
use chatd_actors::{
    Clock, Delivery, FanoutConfig, OfflineConfig, PresenceConfig, Registry, SendBudget, Writer,
};
use chatd_schema::{Store, UserId};
use redis::aio::ConnectionManager;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::task::TaskTracker;

use crate::auth::{Caller, Role, Tokens};
use crate::cluster::{Cluster, Scope};
use crate::config::Config;
use crate::error::ApiError;
use crate::limits::Limiter;
use crate::ops::facts::FactsCache;
use crate::sessions::Sessions;

pub struct AppState {
    pub cfg: Config,
    pub store: Store,
    pub clock: Clock,
    pub tokens: Tokens,
    pub sessions: Sessions,
    pub limiter: Limiter,
    pub registry: Registry,
    pub delivery: Delivery,
    /// The offline backlog's limits (cap, age).
    pub offline: OfflineConfig,
    /// The other nodes, when Redis is configured.
    pub cluster: Option<Arc<Cluster>>,
    pub writer: Writer,
    /// Group-send checks, cached per (group, sender).
    pub send_facts: FactsCache,
    /// The object store of `uploadAliyun`, when configured.
    pub objects: Option<std::sync::Arc<crate::objects::ObjectStore>>,
    pub socket_cfg: SocketConfig,
    /// ffmpeg runs at once are bounded by this (`CHAT_FFMPEG_CONCURRENCY`, §9.22).
    pub ffmpeg_slots: tokio::sync::Semaphore,
    /// Flips to true on shutdown; every socket task watches it.
    pub shutdown: watch::Receiver<bool>,
    /// Live sockets (until their close frame is written), so shutdown can wait for them.
    pub sockets: TaskTracker,
    /// Typing relays per sender and conversation (issue 19).
    pub typing: crate::ops::typing::TypingLimiter,
    /// Renders `/metrics` (the process's recorder; `None` if another was installed first).
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// What every user actor starts from (`http::ws`), one for the server rather than one per
    /// socket.
    pub user_seed: std::sync::OnceLock<Arc<chatd_actors::UserSeed>>,
}

pub type App = Arc<AppState>;

impl AppState {
    /// The caller of a request: a valid token whose session still exists.
    pub async fn authenticate(&self, token: Option<&str>) -> Result<Caller, ApiError> {
        let claims = token
            .and_then(|t| self.tokens.verify(t))
            .ok_or_else(ApiError::unauthorized)?;
        let user_id = UserId(claims.sub.parse().map_err(|_| ApiError::unauthorized())?);
        if !self
            .sessions
            .is_valid(&claims.sid, user_id, self.clock.now_ms())
            .await?
        {
            return Err(ApiError::unauthorized());
        }
        Ok(Caller {
            user_id,
            role: Role::parse(&claims.role),
            sid: claims.sid.into(),
        })
    }
}

impl AppState {
    /// Whether cached send checks may be used: always on one node; with several, only while
    /// this node hears the others' changes.
    pub fn caches_trusted(&self) -> bool {
        self.cluster.as_ref().is_none_or(|c| c.coherent())
    }

    /// Tells the other nodes (if any) to forget `scope`, and waits until they have.
    pub async fn invalidate(&self, scope: Scope) {
        if let Some(c) = &self.cluster {
            c.invalidate(scope).await;
        }
    }
}

/// Connects to Redis with short timeouts: nothing may wait long on Redis (issue 21, D3). When
/// Redis goes away the manager reconnects in the background; calls made meanwhile fail fast.
async fn connect_redis(url: &str) -> anyhow::Result<ConnectionManager> {
    let shown = crate::config::redact_url(url);
    let client =
        redis::Client::open(url).map_err(|e| anyhow::anyhow!("invalid REDIS_URL {shown}: {e}"))?;
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_response_timeout(Some(Duration::from_millis(500)))
        .set_connection_timeout(Some(Duration::from_millis(500)))
        .set_number_of_retries(2)
        .set_max_delay(Duration::from_millis(500));
    let conn = tokio::time::timeout(
        Duration::from_secs(10),
        ConnectionManager::new_with_config(client, config),
    )
    .await
    .map_err(|_| anyhow::anyhow!("timed out connecting to Redis at {shown} (REDIS_URL)"))?
    .map_err(|e| anyhow::anyhow!("cannot connect to Redis at {shown} (REDIS_URL): {e}"))?;
    Ok(conn)
}

/// Makes sure the data directory exists and can be written (uploads and the embedded database
/// live there), so a wrong one fails at start with its name rather than at the first upload.
fn check_data_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    let fail = |what: &str, e: std::io::Error| {
        anyhow::anyhow!(
            "the data directory {} {what}: {e} (CHAT_DATA_DIR)",
            dir.display()
        )
    };
    std::fs::create_dir_all(dir).map_err(|e| fail("cannot be created", e))?;
    let probe = dir.join(format!(".chatd-write-check-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| fail("cannot be written", e))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Connects the store (running migrations) and returns it.
pub async fn open_store(cfg: &Config) -> anyhow::Result<Store> {
    check_data_dir(&cfg.data_dir)?;
    Store::connect(&cfg.database_url).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot open the database {} (DATABASE_URL): {e}",
            crate::config::redact_url(&cfg.database_url)
        )
    })
}

/// Builds the shared state with the given clock (tests pass one they can move).
pub async fn build_state(
    cfg: Config,
    clock: Clock,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<App> {
    let store = open_store(&cfg).await?;
    let redis = match &cfg.redis_url {
        Some(url) => Some(connect_redis(url).await?),
        None => None,
    };
    let offline = OfflineConfig {
        cap: cfg.offline_cap,
        max_age_ms: cfg.offline_max_age_ms,
    };
    // Sessions and offline backlogs are records (a Redis restart must log nobody out and lose
    // no message): always in the store. Redis holds only what may be lost: rate-limit windows.
    let sessions = Sessions(store.clone());
    let limiter = match &redis {
        Some(conn) => Limiter::Redis {
            conn: conn.clone(),
            prefix: cfg.redis_prefix.clone(),
            store: store.clone(),
            paused_until: Default::default(),
        },
        None => Limiter::Store(store.clone()),
    };
    let (remote, queues) = match &redis {
        Some(_) => {
            let (remote, queues) = Cluster::remote();
            (Some(remote), Some(queues))
        }
        None => (None, None),
    };
    let (registry, delivery) = Registry::start(
        store.clone(),
        offline,
        clock.clone(),
        FanoutConfig {
            backlog: 4096,
            threads: cfg.fanout_threads,
            split_min: cfg.fanout_split_min,
        },
        remote.clone(),
        PresenceConfig {
            debounce: Duration::from_millis(cfg.presence_debounce_ms),
        },
    );
    let cluster = match (&cfg.redis_url, &redis, remote, queues) {
        (Some(url), Some(conn), Some(remote), Some(queues)) => {
            let (clock, max_age) = (clock.clone(), offline.max_age_ms);
            let since = Box::new(move || clock.now_ms() - max_age);
            let cluster = Cluster::new(url, &cfg.redis_prefix, conn.clone(), remote, since)?;
            cluster
                .start(queues, registry.clone(), store.clone(), delivery.clone())
                .await;
            Some(cluster)
        }
        _ => None,
    };
    let writer = Writer::spawn(store.clone(), delivery.clone(), clock.clone());
    let socket_cfg = SocketConfig {
        ping_interval: Duration::from_secs(cfg.ping_interval_secs),
        idle_timeout: Duration::from_secs(cfg.idle_timeout_secs),
        queue: cfg.socket_queue,
        queue_bytes: cfg.socket_queue_bytes,
        close_grace: Duration::from_secs(cfg.close_grace_secs),
        confirm_every: Duration::from_millis(cfg.confirm_ms),
        budget: Arc::new(SendBudget::new(cfg.ws_frames_per_sec)),
    };
    let objects = match &cfg.s3 {
        Some(s3) => Some(Arc::new(crate::objects::ObjectStore::new(s3)?)),
        None => None,
    };
    let cfg_ffmpeg_slots = cfg.ffmpeg_concurrency;
    Ok(Arc::new(AppState {
        objects,
        tokens: Tokens::new(&cfg.jwt_secret, cfg.token_ttl_secs),
        cfg,
        store,
        clock,
        sessions,
        limiter,
        registry,
        delivery,
        offline,
        cluster,
        writer,
        send_facts: Default::default(),
        socket_cfg,
        ffmpeg_slots: tokio::sync::Semaphore::new(cfg_ffmpeg_slots),
        shutdown,
        sockets: TaskTracker::new(),
        typing: Default::default(),
        metrics: crate::metrics::install(),
        user_seed: std::sync::OnceLock::new(),
    }))
}
