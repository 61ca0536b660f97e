//! What the crate's tests share: one node's realtime core over a fresh embedded store.

use chatd_schema::Store;

use crate::clock::Clock;
use crate::delivery::Delivery;
use crate::group::FanoutConfig;
use crate::offline::{OfflineConfig, OfflineQueue};
use crate::registry::Registry;

pub(crate) struct Core {
    pub store: Store,
    pub offline: OfflineQueue,
    pub registry: Registry,
    pub delivery: Delivery,
    _dir: tempfile::TempDir,
}

/// A registry, delivery and offline queue (1,000 messages, a day) over a new SQLite file.
pub(crate) async fn local_core(fanout: FanoutConfig) -> Core {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&dir.path().join("core.db").to_string_lossy())
        .await
        .unwrap();
    let offline = OfflineQueue::Store {
        store: store.clone(),
        cfg: OfflineConfig {
            cap: 1000,
            max_age_ms: 86_400_000,
        },
    };
    let (registry, delivery) =
        Registry::start_local(store.clone(), offline.clone(), Clock::default(), fanout);
    Core {
        store,
        offline,
        registry,
        delivery,
        _dir: dir,
    }
}
