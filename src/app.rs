//! The application: shared state (`AppState`), building it from a `Config`, and the listener that
//! serves until told to stop (tests bind port 0 and read `port()`).

use chatd_actors::socket::SocketConfig;
use chatd_actors::{
    Clock, Delivery, FanoutConfig, Groups, OfflineConfig, OfflineQueue, Registry, SendBudget,
    Writer,
};
use chatd_schema::Store;
use redis::aio::ConnectionManager;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::task::TaskTracker;

use crate::auth::{Caller, Role, Tokens};
use crate::config::Config;
use crate::error::ApiError;
use crate::limits::Limiter;
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
    pub writer: Writer,
    pub groups: Groups,
    /// Group-send checks, cached per (group, sender).
    pub send_facts: crate::chat::facts::FactsCache,
    /// The object store of `uploadAliyun`, when configured.
    pub objects: Option<std::sync::Arc<crate::objects::ObjectStore>>,
    pub socket_cfg: SocketConfig,
    /// ffmpeg runs at once are bounded by this (`CHAT_FFMPEG_CONCURRENCY`, §9.22).
    pub ffmpeg_slots: tokio::sync::Semaphore,
    /// Flips to true on shutdown; every socket task watches it.
    pub shutdown: watch::Receiver<bool>,
    /// Live socket tasks, so shutdown can wait until every queue is spilled.
    pub sockets: TaskTracker,
}

pub type App = Arc<AppState>;

impl AppState {
    /// The caller of a request: a valid token whose session still exists.
    pub async fn authenticate(&self, token: Option<&str>) -> Result<Caller, ApiError> {
        let claims = token
            .and_then(|t| self.tokens.verify(t))
            .ok_or_else(ApiError::unauthorized)?;
        let user_id: i64 = claims.sub.parse().map_err(|_| ApiError::unauthorized())?;
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

async fn connect_redis(url: &str) -> anyhow::Result<ConnectionManager> {
    let client = redis::Client::open(url)?;
    let conn = tokio::time::timeout(Duration::from_secs(10), ConnectionManager::new(client))
        .await
        .map_err(|_| anyhow::anyhow!("timed out connecting to Redis at {url}"))??;
    Ok(conn)
}

/// Connects the store (running migrations) and returns it.
pub async fn open_store(cfg: &Config) -> anyhow::Result<Store> {
    Ok(Store::connect(&cfg.database_url).await?)
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
    let offline_cfg = OfflineConfig {
        cap: cfg.offline_cap,
        max_age_ms: cfg.offline_max_age_ms,
    };
    let (offline, sessions, limiter) = match &redis {
        Some(conn) => (
            OfflineQueue::Redis {
                conn: conn.clone(),
                prefix: cfg.redis_prefix.clone().into(),
                cfg: offline_cfg,
            },
            Sessions::Redis {
                conn: conn.clone(),
                prefix: cfg.redis_prefix.clone(),
            },
            Limiter::Redis {
                conn: conn.clone(),
                prefix: cfg.redis_prefix.clone(),
            },
        ),
        None => (
            OfflineQueue::Store {
                store: store.clone(),
                cfg: offline_cfg,
            },
            Sessions::Store(store.clone()),
            Limiter::Store(store.clone()),
        ),
    };
    let registry = Registry::new(offline, clock.clone());
    let delivery = Delivery::new(registry.clone());
    let writer = Writer::spawn(store.clone(), delivery.clone(), clock.clone());
    let groups = Groups::new(
        store.clone(),
        delivery.clone(),
        FanoutConfig {
            backlog: 4096,
            threads: cfg.fanout_threads,
            split_min: cfg.fanout_split_min,
        },
    );
    let socket_cfg = SocketConfig {
        ping_interval: Duration::from_secs(cfg.ping_interval_secs),
        idle_timeout: Duration::from_secs(cfg.idle_timeout_secs),
        queue: cfg.socket_queue,
        queue_bytes: cfg.socket_queue_bytes,
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
        writer,
        groups,
        send_facts: Default::default(),
        socket_cfg,
        ffmpeg_slots: tokio::sync::Semaphore::new(cfg_ffmpeg_slots),
        shutdown,
        sockets: TaskTracker::new(),
    }))
}

/// A running server.
pub struct Application {
    addr: SocketAddr,
    app: App,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Application {
    /// Binds `cfg.listen` (port 0 allowed) and starts serving.
    pub async fn start(cfg: Config, clock: Clock) -> anyhow::Result<Application> {
        let listener = TcpListener::bind(&cfg.listen).await?;
        let addr = listener.local_addr()?;
        let (stop, stop_rx) = watch::channel(false);
        let app = build_state(cfg, clock, stop_rx.clone()).await?;
        purge_sessions(&app).await;
        tokio::spawn(housekeeping(app.clone(), stop_rx.clone()));
        let task = tokio::spawn(crate::server::serve(listener, app.clone(), stop_rx));
        tracing::info!(%addr, backend = ?app.store.backend(), redis = app.cfg.redis_url.is_some(), "chatd listening");
        Ok(Application {
            addr,
            app,
            stop,
            task,
        })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn state(&self) -> &App {
        &self.app
    }

    /// Stops accepting, closes every socket with 1001 after spilling its queue, waits for that
    /// (at most 10 s), and returns.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        self.app.registry.shutdown();
        self.app.sockets.close();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.app.sockets.wait()).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
    }

    /// Serves until SIGTERM or Ctrl-C, then shuts down gracefully.
    pub async fn run_until_signal(self) {
        shutdown_signal().await;
        tracing::info!("shutting down");
        self.shutdown().await;
    }
}

/// Deletes expired sessions (SPEC §9.20): at start, before serving, and hourly.
async fn purge_sessions(app: &App) {
    match app.sessions.purge_expired(app.clock.now_ms()).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(sessions = n, "expired sessions deleted"),
        Err(e) => tracing::warn!(error = %e, "deleting expired sessions failed"),
    }
}

/// Until shutdown: every minute forgets the send budgets of users quiet long enough to have a
/// full bucket again, and every hour deletes expired sessions.
async fn housekeeping(app: App, mut stop: watch::Receiver<bool>) {
    let minute = Duration::from_secs(60);
    let mut every = tokio::time::interval_at(tokio::time::Instant::now() + minute, minute);
    let mut ticks: u64 = 0;
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = every.tick() => {}
        }
        ticks += 1;
        app.socket_cfg.budget.forget_idle();
        if ticks.is_multiple_of(60) {
            purge_sessions(&app).await;
        }
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
