//! Delivery: the one place that routes a push to users. A user with local sockets gets it written
//! to each socket's outbox (never waits); everyone else, and any socket that cannot keep up, goes
//! to the offline queue, in one write per batch. Other nodes plug in here later.

use std::sync::Arc;

use crate::error::ActorsError;
use crate::registry::Registry;
use crate::wire::push::Push;

/// One user a push is for.
#[derive(Debug, Clone)]
pub struct Target {
    pub user_id: i64,
    /// Skip this session's sockets (the sender's own device).
    pub exclude_sid: Option<Arc<str>>,
    /// Queue offline when the user has no socket (recipients yes; sender's other devices no).
    pub queue_if_absent: bool,
}

impl Target {
    pub fn recipient(user_id: i64) -> Target {
        Target {
            user_id,
            exclude_sid: None,
            queue_if_absent: true,
        }
    }

    pub fn other_devices(user_id: i64, sid: Option<Arc<str>>) -> Target {
        Target {
            user_id,
            exclude_sid: sid,
            queue_if_absent: false,
        }
    }
}

/// Offline writes collected while routing a batch, flushed once.
#[derive(Default)]
pub struct OfflineBatch {
    items: Vec<(i64, Arc<str>)>,
}

impl OfflineBatch {
    /// Adds `other`'s entries after this batch's.
    pub fn append(&mut self, mut other: OfflineBatch) {
        self.items.append(&mut other.items);
    }
}

#[derive(Clone)]
pub struct Delivery {
    registry: Registry,
}

impl Delivery {
    pub fn new(registry: Registry) -> Delivery {
        Delivery { registry }
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Routes `out` to each target; offline entries are added to `batch`.
    pub fn route(&self, targets: &[Target], out: &Arc<Push>, batch: &mut OfflineBatch) {
        for t in targets {
            self.route_one(t, std::slice::from_ref(out), batch);
        }
    }

    /// Routes several messages (in order) to one target, as one push.
    pub fn route_one(&self, t: &Target, outs: &[Arc<Push>], batch: &mut OfflineBatch) {
        let spill = self
            .registry
            .with_online(t.user_id, |o| {
                o.push(outs, t.exclude_sid.as_deref(), t.queue_if_absent)
            })
            .unwrap_or(t.queue_if_absent);
        if spill {
            for out in outs.iter() {
                if let Some(p) = &out.payload {
                    batch.items.push((t.user_id, p.clone()));
                }
            }
        }
    }

    pub async fn flush(&self, batch: OfflineBatch) -> Result<(), ActorsError> {
        let now = self.registry.clock().now_ms();
        self.registry.offline().push(&batch.items, now).await
    }

    /// Routes one push and flushes its offline entries.
    pub async fn send(&self, targets: &[Target], out: Push) -> Result<(), ActorsError> {
        let mut batch = OfflineBatch::default();
        self.route(targets, &Arc::new(out), &mut batch);
        self.flush(batch).await
    }
}
