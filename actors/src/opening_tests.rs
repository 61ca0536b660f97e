//! The opening table: the replay's wait for a user's opening sockets, and the cap on how many
//! open at once.

use super::*;

async fn start(t: &Arc<Opening>, user: UserId) -> OpeningGuard {
    t.start(user, Duration::from_secs(5)).await.unwrap()
}

#[tokio::test]
async fn waits_for_every_opening_socket_of_the_user_and_no_longer() {
    let t = Arc::new(Opening::default());
    let (a, b) = (UserId(1), UserId(2));
    // Nothing opening: no wait at all.
    tokio::time::timeout(
        Duration::from_millis(50),
        t.settled(a, Duration::from_secs(60)),
    )
    .await
    .unwrap();
    let g1 = start(&t, a).await;
    let g2 = start(&t, a).await;
    let other = start(&t, b).await;
    let waiter = tokio::spawn({
        let t = t.clone();
        async move { t.settled(a, Duration::from_secs(60)).await }
    });
    drop(g1);
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(
        !waiter.is_finished(),
        "one of the two sockets is still opening"
    );
    drop(g2);
    tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .unwrap()
        .unwrap();
    // Another user's opening socket holds nobody else up, and is still counted.
    assert!(t.lock().contains_key(&b));
    drop(other);
    assert!(t.lock().is_empty());
}

#[tokio::test]
async fn no_more_than_the_cap_open_at_once() {
    let t = Arc::new(Opening::default());
    let mut held = Vec::new();
    for i in 0..MAX_OPENING {
        held.push(start(&t, UserId(i as i64)).await);
    }
    assert!(t
        .start(UserId(-1), Duration::from_millis(50))
        .await
        .is_none());
    held.pop();
    assert!(t
        .start(UserId(-1), Duration::from_millis(50))
        .await
        .is_some());
}

#[tokio::test]
async fn the_wait_is_bounded() {
    let t = Arc::new(Opening::default());
    let _stuck = start(&t, UserId(7)).await;
    let started = tokio::time::Instant::now();
    tokio::time::timeout(
        Duration::from_secs(10),
        t.settled(UserId(7), Duration::from_millis(100)),
    )
    .await
    .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(100));
}
