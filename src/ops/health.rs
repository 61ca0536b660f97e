//! Readiness (`GET /readyz`): whether the store answers, and with Redis whether this node is
//! part of the cluster now or degraded (Redis away: delivery between nodes paused, caches not
//! trusted, limits counted per node). A degraded node still serves: it is ready.

use crate::error::ApiError;
use crate::state::AppState;
use chatd_schema::UserId;

/// The cluster's state as `/readyz` reports it: none without Redis.
pub fn cluster_state(app: &AppState) -> Option<&'static str> {
    app.cluster.as_ref().map(|c| {
        if c.redis_up() && c.coherent() {
            "ok"
        } else {
            "degraded"
        }
    })
}

/// Ok when the store answers a query and can write (a full volume makes the node unready
/// until space returns, SPEC §9.27).
pub async fn ready(app: &AppState) -> Result<(), ApiError> {
    app.store.user_by_id(UserId::SYSTEM).await?;
    app.store.probe_write().await?;
    Ok(())
}
