//! Delivery: the one place that routes a push to users' sockets here. A user with sockets here
//! gets it written to each socket's outbox (never waits). A user with none needs nothing: the
//! message is in history, above their delivered position, so it is in their offline backlog
//! already (see [`crate::positions`]). A socket that cannot keep up is closed with 1013; what it
//! never wrote stays above its user's position too.
//!
//! Other nodes plug in here (issue 20): a user with no socket here may have one on another node.

use chatd_schema::{Store, UserId};
use std::sync::Arc;

use crate::clock::Clock;
use crate::positions::OfflineConfig;
use crate::registry::Routes;
use crate::wire::push::Push;

/// One user a push is for.
#[derive(Debug, Clone)]
pub struct Target {
    pub user_id: UserId,
    /// Skip this session's sockets (the sender's own device).
    pub exclude_sid: Option<Arc<str>>,
}

impl Target {
    pub fn recipient(user_id: UserId) -> Target {
        Target {
            user_id,
            exclude_sid: None,
        }
    }

    pub fn other_devices(user_id: UserId, sid: Option<Arc<str>>) -> Target {
        Target {
            user_id,
            exclude_sid: sid,
        }
    }
}

#[derive(Clone)]
pub struct Delivery {
    routes: Arc<Routes>,
    store: Store,
    clock: Clock,
    offline: OfflineConfig,
}

impl Delivery {
    pub fn new(
        routes: Arc<Routes>,
        store: Store,
        clock: Clock,
        offline: OfflineConfig,
    ) -> Delivery {
        Delivery {
            routes,
            store,
            clock,
            offline,
        }
    }

    pub fn routes(&self) -> &Routes {
        &self.routes
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    pub fn offline(&self) -> OfflineConfig {
        self.offline
    }

    /// Routes `out` to each target.
    pub fn route(&self, targets: &[Target], out: &Arc<Push>) {
        for t in targets {
            self.route_one(t, std::slice::from_ref(out));
        }
    }

    /// Routes several messages (in order) to one target, as one push.
    pub fn route_one(&self, t: &Target, outs: &[Arc<Push>]) {
        self.routes
            .with_online(t.user_id, |o| o.push(outs, t.exclude_sid.as_deref()));
    }

    /// Routes one push.
    pub fn send(&self, targets: &[Target], out: Push) {
        self.route(targets, &Arc::new(out));
    }
}
