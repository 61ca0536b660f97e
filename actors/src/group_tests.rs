//! The group actor over real sockets: order, exactly-once, membership changes mid-stream.

use super::*;
use chatd_schema::{NewMember, UserId};

#[tokio::test(flavor = "current_thread")]
async fn messages_joining_a_pass_reach_every_member_once_in_order() {
    group_of_300_gets_40_messages(1).await;
}

/// The same with each pass split over three threads taking runs of 64 members.
#[tokio::test(flavor = "current_thread")]
async fn split_passes_reach_every_member_once_in_order() {
    group_of_300_gets_40_messages(3).await;
}

/// A group of 300 over real socket pairs, fed one message at a time while its fan-out runs
/// (so messages join passes part-way, or wait for the next split pass), with a removal in the
/// middle and a join later: every member gets every message once, in order; the sender gets
/// none; the removed member gets exactly those handed over before its removal, the new member
/// exactly those handed over after its join. Read back with tungstenite as an
/// independent client.
async fn group_of_300_gets_40_messages(threads: usize) {
    use crate::online::{SocketControl, SocketHandle};
    use crate::outbox::Outbox;
    use crate::wire::frames::Dialect;
    use crate::wire::push::Push;
    use futures_util::StreamExt;
    use tokio::net::UnixStream;
    use tokio_tungstenite::tungstenite::protocol::Role;

    // A limit of 4 messages also makes the feeder wait for the fan-out now and then; with
    // `threads` > 1, passes split into runs of at least 64 members.
    let core = crate::testing::local_core(FanoutConfig {
        backlog: 4,
        threads,
        split_min: 64,
    })
    .await;
    let (store, registry) = (&core.store, &core.registry);
    let members: Vec<UserId> = (1..=300).map(UserId).collect();
    let (sender, removed, joiner) = (UserId(1), UserId(300), UserId(301));
    let g = store
        .create_group("g", sender, "g", "", &members, 0)
        .await
        .unwrap();
    let mut peers = Vec::new();
    for uid in (1..=joiner.0).map(UserId) {
        let (a, b) = UnixStream::pair().unwrap();
        registry
            .attach_bare(
                uid,
                SocketHandle {
                    conn_id: crate::socket::next_conn_id(),
                    sid: format!("s{uid}").into(),
                    dialect: Dialect::Compact,
                    presence: false,
                    outbox: Arc::new(Outbox::new(a, 10_000)),
                    control: Arc::new(SocketControl::default()),
                },
            )
            .await;
        peers.push((uid, b));
    }
    let group = registry.group(g.id).await.unwrap();
    let total = 40;
    for i in 0..total {
        let m = serde_json::json!({"id": i, "from_id": sender, "to_id": g.id,
            "chatType": "group", "type": "text", "data": format!("m{i}"), "create_time": 0});
        let it = FanoutItem {
            out: Arc::new(Push::message(&m, 0)),
            sender,
            // Sent from the sender's only device: it gets none back.
            sender_sid: Some("s1".into()),
            exclude: Vec::new(),
            also: Vec::new(),
        };
        group.fan_out(vec![it]).await;
        // Queued behind the message before, not awaited: later messages queue behind them.
        if i == 19 {
            tokio::spawn(group.change(Membership::Remove(removed), 0));
        }
        if i == 29 {
            let m = NewMember {
                user_id: joiner,
                status: 1,
                invited_by: Some(sender),
                join_desc: None,
            };
            tokio::spawn(group.change(Membership::Upsert(m), 0));
        }
        // Lets the actor write a chunk or two before the next message.
        tokio::task::yield_now().await;
    }
    // Answered once everything handed over before is out; then end every stream.
    group.reload().await;
    for (uid, _) in &peers {
        registry.with_online(*uid, |o| {
            for h in o.handles() {
                h.outbox.socket().shutdown_write();
            }
        });
    }
    for (uid, peer) in peers {
        let mut ws =
            tokio_tungstenite::WebSocketStream::from_raw_socket(peer, Role::Client, None).await;
        let mut got = Vec::new();
        while let Some(Ok(m)) = ws.next().await {
            let v: serde_json::Value = serde_json::from_str(m.to_text().unwrap()).unwrap();
            got.push(v["content"].as_str().unwrap().to_string());
        }
        let want: Vec<String> = match uid.0 {
            1 => vec![],
            300 => (0..20).map(|i| format!("m{i}")).collect(),
            301 => (30..total).map(|i| format!("m{i}")).collect(),
            _ => (0..total).map(|i| format!("m{i}")).collect(),
        };
        assert_eq!(got, want, "member {uid}");
    }
}
