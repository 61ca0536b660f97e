//! Start-up and shutdown: binding the listener (port 0 for tests), serving until told to stop,
//! the housekeeping task, and the graceful shutdown on SIGTERM. The shared state lives in
//! [`crate::state`].

use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;
pub use crate::state::open_store;
use crate::state::{build_state, App};
use chatd_actors::Clock;

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
        let listener = TcpListener::bind(&cfg.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {} (CHAT_LISTEN): {e}", cfg.listen))?;
        let addr = listener.local_addr()?;
        let (stop, stop_rx) = watch::channel(false);
        let app = build_state(cfg, clock, stop_rx.clone()).await?;
        purge_sessions(&app).await;
        tokio::spawn(housekeeping(app.clone(), stop_rx.clone()));
        let task = tokio::spawn(crate::server::serve(listener, app.clone(), stop_rx));
        tracing::info!(%addr, backend = ?app.store.backend(),
            database = %crate::config::redact_url(&app.cfg.database_url),
            data_dir = %app.cfg.data_dir.display(), redis = app.cfg.redis_url.is_some(),
            node = app.cluster.as_ref().map(|c| c.node.to_string()), "chatd listening");
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

    /// Stops accepting, closes every socket with 1001, then lets the writer finish what it
    /// accepted and every group actor its passes, and writes every delivered position, all
    /// within `CHAT_SHUTDOWN_GRACE`, and returns.
    pub async fn shutdown(self) {
        let deadline =
            tokio::time::Instant::now() + Duration::from_secs(self.app.cfg.shutdown_grace_secs);
        let _ = self.stop.send(true);
        self.app.registry.shutdown().await;
        self.app.sockets.close();
        let _ = tokio::time::timeout_at(deadline, self.app.sockets.wait()).await;
        // What was accepted before the sockets closed is stored, so it is in every offline
        // backlog already; let it reach the sockets still open, and write positions, so that
        // few messages are sent twice after the restart.
        let settled = async {
            self.app.writer.settle().await;
            self.app.registry.settle_groups().await;
            self.app.registry.users_gone().await;
        };
        if tokio::time::timeout_at(deadline, settled).await.is_err() {
            tracing::warn!("shutdown grace ran out before every accepted message was routed");
        }
        if let Some(cluster) = &self.app.cluster {
            cluster.leave().await;
        }
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
