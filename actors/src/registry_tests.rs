//! The registry actor: one group actor per group, only the current user actor publishes.

use super::*;

async fn registry() -> (Registry, crate::testing::Core) {
    let core = crate::testing::local_core(FanoutConfig {
        backlog: 4,
        threads: 1,
        split_min: 64,
    })
    .await;
    (core.registry.clone(), core)
}

/// One actor per group, however many ask at once; a retired group gets a new one.
#[tokio::test]
async fn one_group_actor_per_group() {
    let (registry, _dir) = registry().await;
    let (a, b) = tokio::join!(registry.group(GroupId(5)), registry.group(GroupId(5)));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a.same(&b));
    assert!(!a.same(&registry.group(GroupId(6)).await.unwrap()));
    registry.retire_group(GroupId(5)).await;
    assert!(!a.is_alive());
    assert!(!a.same(&registry.group(GroupId(5)).await.unwrap()));
}

/// Only the user's current actor speaks for the user: a publish or a retirement from any
/// other changes nothing.
#[tokio::test]
async fn only_the_current_user_actor_publishes() {
    let (registry, _dir) = registry().await;
    let (a, _) = tokio::net::UnixStream::pair().unwrap();
    let handle = SocketHandle {
        conn_id: 1,
        sid: "s".into(),
        dialect: crate::wire::frames::Dialect::Rich,
        presence: false,
        outbox: Arc::new(crate::outbox::Outbox::new(a, 4)),
        control: Arc::default(),
    };
    registry.attach_bare(UserId(3), handle.clone()).await;
    assert!(registry.is_online(UserId(3)));
    // No actor is registered for user 3: nobody may unpublish or retire it.
    let stranger = ActorId::new(999_999);
    registry
        .publish(UserId(3), stranger, Online::default())
        .await;
    registry.retire_user(UserId(3), stranger).await;
    assert!(registry.is_online(UserId(3)));
}
