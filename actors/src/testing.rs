//! What the crate's tests share: one node's realtime core over a fresh embedded store.

use chatd_schema::models::NewMessage;
use chatd_schema::{conv, Store, UserId};

use crate::clock::Clock;
use crate::delivery::Delivery;
use crate::group::FanoutConfig;
use crate::positions::OfflineConfig;
use crate::registry::Registry;

pub(crate) struct Core {
    pub store: Store,
    pub registry: Registry,
    pub delivery: Delivery,
    _dir: tempfile::TempDir,
}

/// A registry and delivery (offline backlog: 1,000 messages, a day) over a new SQLite file.
pub(crate) async fn local_core(fanout: FanoutConfig) -> Core {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&dir.path().join("core.db").to_string_lossy())
        .await
        .unwrap();
    let offline = OfflineConfig {
        cap: 1000,
        max_age_ms: 86_400_000,
    };
    let (registry, delivery) =
        Registry::start_local(store.clone(), offline, Clock::default(), fanout);
    Core {
        store,
        registry,
        delivery,
        _dir: dir,
    }
}

/// A single-chat text message from `from` to `to`, ready to store.
pub(crate) fn single(from: UserId, to: UserId, data: &str) -> NewMessage {
    NewMessage {
        uuid: format!("test-{}", crate::socket::next_conn_id()),
        conv_key: conv::single(from, to),
        chat_type: "single".into(),
        msg_type: "text".into(),
        from_id: from,
        to_id: to.0,
        data: data.into(),
        options: "{}".into(),
        create_time: 0,
        ..NewMessage::default()
    }
}
