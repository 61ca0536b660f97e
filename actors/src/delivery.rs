//! Delivery: the one place that routes a push to users. A user with local sockets gets it written
//! to each socket's outbox (never waits); everyone else, and any socket that cannot keep up, is
//! handed to the [`Broker`] in one call per batch.
//!
//! The broker is the seam where other nodes plug in: "deliver to users who are not here". The one
//! implementation today, [`LocalBroker`], writes their offline queue; the cluster's will publish
//! to the node holding the user's socket, and queue for users with none anywhere.

use chatd_schema::UserId;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::clock::Clock;
use crate::error::ActorsError;
use crate::offline::OfflineQueue;
use crate::registry::Routes;
use crate::wire::push::Push;

/// Delivers messages to users who have no socket here (or whose socket here could not take
/// them). `items` are `(user id, rich message JSON)` in the order each user must get them; when
/// the returned future is `Ok` they are durable.
pub trait Broker: Send + Sync + 'static {
    fn deliver_absent(
        &self,
        items: Vec<(UserId, Arc<str>)>,
        now: i64,
    ) -> Pin<Box<dyn Future<Output = Result<(), ActorsError>> + Send + '_>>;
}

/// One node: whoever is not here is offline, so their messages go to the offline queue.
pub struct LocalBroker {
    offline: OfflineQueue,
}

impl LocalBroker {
    pub fn new(offline: OfflineQueue) -> LocalBroker {
        LocalBroker { offline }
    }
}

impl Broker for LocalBroker {
    fn deliver_absent(
        &self,
        items: Vec<(UserId, Arc<str>)>,
        now: i64,
    ) -> Pin<Box<dyn Future<Output = Result<(), ActorsError>> + Send + '_>> {
        Box::pin(async move { self.offline.push(&items, now).await })
    }
}

/// One user a push is for.
#[derive(Debug, Clone)]
pub struct Target {
    pub user_id: UserId,
    /// Skip this session's sockets (the sender's own device).
    pub exclude_sid: Option<Arc<str>>,
    /// Queue offline when the user has no socket (recipients yes; sender's other devices no).
    pub queue_if_absent: bool,
}

impl Target {
    pub fn recipient(user_id: UserId) -> Target {
        Target {
            user_id,
            exclude_sid: None,
            queue_if_absent: true,
        }
    }

    pub fn other_devices(user_id: UserId, sid: Option<Arc<str>>) -> Target {
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
    items: Vec<(UserId, Arc<str>)>,
}

impl OfflineBatch {
    /// Adds `other`'s entries after this batch's.
    pub fn append(&mut self, mut other: OfflineBatch) {
        self.items.append(&mut other.items);
    }
}

#[derive(Clone)]
pub struct Delivery {
    routes: Arc<Routes>,
    broker: Arc<dyn Broker>,
    clock: Clock,
}

impl Delivery {
    pub fn new(routes: Arc<Routes>, broker: Arc<dyn Broker>, clock: Clock) -> Delivery {
        Delivery {
            routes,
            broker,
            clock,
        }
    }

    pub fn routes(&self) -> &Routes {
        &self.routes
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
            .routes
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

    /// Hands the batch's entries to the broker.
    pub async fn flush(&self, batch: OfflineBatch) -> Result<(), ActorsError> {
        self.spill(batch.items).await
    }

    /// Hands messages a user's socket here could not take (or held when it closed) to the broker.
    pub async fn spill(&self, items: Vec<(UserId, Arc<str>)>) -> Result<(), ActorsError> {
        if items.is_empty() {
            return Ok(());
        }
        self.broker.deliver_absent(items, self.clock.now_ms()).await
    }

    /// Routes one push and flushes its offline entries.
    pub async fn send(&self, targets: &[Target], out: Push) -> Result<(), ActorsError> {
        let mut batch = OfflineBatch::default();
        self.route(targets, &Arc::new(out), &mut batch);
        self.flush(batch).await
    }
}
