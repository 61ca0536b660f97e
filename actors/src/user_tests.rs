//! The user actor over real socket pairs, read by tungstenite as an independent client: it
//! publishes and unpublishes its sockets, answers frames in order, closes revoked sessions,
//! keeps positions below what a closed socket never wrote, retires itself after its last socket, and serializes
//! replays.

use super::*;
use crate::delivery::Target;
use crate::group::FanoutConfig;
use crate::outbox::Outbox;
use crate::socket::{now, Later};
use crate::wire::frames::{ClientFrame, Dialect};
use crate::wire::push::Push;
use crate::SendBudget;
use chatd_schema::UserId;
use futures_util::{SinkExt, StreamExt};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use tokio::net::UnixStream;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::WebSocketStream;

/// Answers every frame with "ok:<content>" (what the server's handler would decide).
struct Echo;

impl Inbound for Echo {
    fn handle<'a>(
        &'a self,
        _: &'a Conn,
        frame: ClientFrame,
    ) -> Pin<Box<dyn Future<Output = Later> + Send + 'a>> {
        let reply = match frame {
            ClientFrame::Unicast { content, .. } => format!("ok:{content}"),
            _ => "other".to_string(),
        };
        Box::pin(std::future::ready(now(Some(reply.into()))))
    }
}

struct World {
    core: crate::testing::Core,
    seed: Arc<UserSeed>,
}

async fn world() -> World {
    let core = crate::testing::local_core(FanoutConfig {
        backlog: 16,
        threads: 1,
        split_min: 2048,
    })
    .await;
    // The flag never flips: these sockets live through no shutdown.
    let (flag, shutdown) = watch::channel(false);
    std::mem::forget(flag);
    let seed = Arc::new(UserSeed {
        cfg: SocketConfig {
            ping_interval: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            queue: 64,
            queue_bytes: 1 << 20,
            close_grace: Duration::from_secs(5),
            confirm_every: Duration::from_millis(50),
            budget: Arc::new(SendBudget::new(1000)),
        },
        inbound: Arc::new(Echo),
        delivery: core.delivery.clone(),
        shutdown,
    });
    World { core, seed }
}

type Client = WebSocketStream<UnixStream>;

impl World {
    /// Connects a socket of `user` in session `sid` and waits until it is published.
    async fn connect(&self, user: UserId, sid: &str) -> Client {
        let (server, client) = UnixStream::pair().unwrap();
        let before = self
            .core
            .registry
            .with_online(user, |o| o.handles().len())
            .unwrap_or(0);
        let up = Upgraded {
            outbox: Arc::new(Outbox::new(server, 64)),
            read_ahead: Vec::new(),
            limits: crate::wire::reader::Limits {
                max_frame: 1 << 20,
                max_message: 1 << 20,
            },
            guard: Box::new(()),
        };
        let conn = Conn {
            user_id: user,
            sid: sid.into(),
            role: "user".into(),
            dialect: Dialect::Rich,
            presence: false,
            acks: false,
        };
        self.core
            .registry
            .connect(up, conn, self.seed.clone())
            .await;
        let published = self
            .core
            .registry
            .with_online(user, |o| o.handles().len())
            .unwrap_or(0);
        assert_eq!(
            published,
            before + 1,
            "connect returns once the socket is published"
        );
        WebSocketStream::from_raw_socket(client, Role::Client, None).await
    }

    fn push(&self, user: UserId, text: &str) -> Push {
        let m = serde_json::json!({"id": text, "from_id": 1, "to_id": user, "chatType": "single",
            "type": "text", "data": text, "create_time": 0});
        Push::message(&m, 0)
    }
}

async fn next_text(c: &mut Client) -> Option<String> {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), c.next())
            .await
            .ok()??
        {
            Ok(WsMessage::Text(t)) => return Some(t.to_string()),
            Ok(WsMessage::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

async fn close_code(c: &mut Client) -> Option<u16> {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), c.next())
            .await
            .ok()?
        {
            Some(Ok(WsMessage::Close(f))) => return f.map(|f| u16::from(f.code)),
            Some(Ok(_)) => continue,
            _ => return None,
        }
    }
}

async fn wait_until(mut f: impl FnMut() -> bool) {
    for _ in 0..500 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition never held");
}

/// Two devices: both get a delivery; each frame is answered in order on its own socket;
/// revoking one session closes that socket with 1008 and leaves the other; the last socket's
/// end unpublishes the user and retires the actor.
#[tokio::test]
async fn owns_its_sockets_from_first_to_last() {
    let w = world().await;
    let mut phone = w.connect(UserId(7), "phone").await;
    let mut tablet = w.connect(UserId(7), "tablet").await;
    let actor = w
        .core
        .registry
        .routes()
        .user_actor(UserId(7))
        .expect("one actor for the user");

    w.core
        .delivery
        .send(&[Target::recipient(UserId(7))], w.push(UserId(7), "hello"));
    for c in [&mut phone, &mut tablet] {
        let v: serde_json::Value = serde_json::from_str(&next_text(c).await.unwrap()).unwrap();
        assert_eq!(v["data"]["data"], "hello");
    }

    for i in 0..5 {
        let frame =
            serde_json::json!({"type": "unicast", "receiverId": 8, "content": format!("c{i}")});
        phone
            .send(WsMessage::text(frame.to_string()))
            .await
            .unwrap();
    }
    for i in 0..5 {
        assert_eq!(next_text(&mut phone).await.unwrap(), format!("ok:c{i}"));
    }

    w.core
        .registry
        .close_sessions(UserId(7), vec!["phone".to_string()])
        .await;
    assert_eq!(close_code(&mut phone).await, Some(1008));
    wait_until(|| {
        w.core
            .registry
            .with_online(UserId(7), |o| o.handles().len())
            == Some(1)
    })
    .await;

    tablet.close(None).await.unwrap();
    wait_until(|| !w.core.registry.is_online(UserId(7))).await;
    wait_until(|| !actor.is_alive()).await;
    assert!(w.core.registry.routes().user_actor(UserId(7)).is_none());

    // A new socket gets a new actor.
    let _again = w.connect(UserId(7), "phone2").await;
    let second = w.core.registry.routes().user_actor(UserId(7)).unwrap();
    assert_ne!(second.id(), actor.id());
}

/// Stores a message from user 1 to `to` and delivers it live; returns its seq.
async fn deliver(w: &World, to: UserId, text: &str) -> i64 {
    let stored = w
        .core
        .store
        .insert_messages(&[crate::testing::single(UserId(1), to, text)])
        .await
        .unwrap();
    let row = &stored[0].row;
    let out = Push::message(&crate::wire::message::message_json(row), 0)
        .at(Arc::from(row.conv_key.as_str()), row.seq);
    w.core.delivery.send(&[Target::recipient(to)], out);
    row.seq
}

/// Positions move only as far as the client confirmed (it answers the ping sent after the
/// messages); a socket that ends with messages its client never confirmed keeps its user's
/// delivered position below them: they are the user's offline backlog, in order. A client
/// that stops reading loses nothing, even what the kernel took.
#[tokio::test]
async fn a_closed_socket_keeps_the_position_below_what_its_client_never_confirmed() {
    let w = world().await;
    let mut client = w.connect(UserId(9), "s").await;
    let mut confirmed = 0;
    for i in 0..5 {
        confirmed = deliver(&w, UserId(9), &format!("read {i}")).await;
    }
    // The client reads them and the ping behind them; tungstenite answers it on the flush.
    let mut texts = 0;
    loop {
        match client.next().await.unwrap().unwrap() {
            WsMessage::Text(_) => texts += 1,
            WsMessage::Ping(_) if texts == 5 => break,
            _ => {}
        }
    }
    client.flush().await.unwrap();
    for _ in 0..500 {
        w.core.registry.flush_positions().await;
        if w.core.store.positions_of(UserId(9)).await.unwrap()
            == vec![("s:1:9".to_string(), confirmed)]
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        w.core.store.positions_of(UserId(9)).await.unwrap(),
        vec![("s:1:9".to_string(), confirmed)],
        "the pong moved the position"
    );
    // Now it reads nothing; big messages fill the kernel buffer, then the queue holds them.
    let mut last = confirmed;
    while w
        .core
        .registry
        .with_online(UserId(9), |o| o.handles()[0].outbox.is_full())
        == Some(false)
    {
        last = deliver(&w, UserId(9), &format!("{last}:{}", "x".repeat(32 * 1024))).await;
        assert!(last < 10_000);
    }
    w.core
        .registry
        .close_sessions(UserId(9), vec!["s".to_string()])
        .await;
    wait_until(|| !w.core.registry.is_online(UserId(9))).await;
    wait_until(|| w.core.registry.routes().user_actor(UserId(9)).is_none()).await;
    drop(client);
    let backlog = w.core.store.backlog(UserId(9), 0, 100_000).await.unwrap();
    // Everything after the confirmed ones, in order, ending with the last sent: what the kernel
    // took but the client never read is there too.
    let seqs: Vec<i64> = backlog.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, ((confirmed + 1)..=last).collect::<Vec<_>>());
    let positions = w.core.store.positions_of(UserId(9)).await.unwrap();
    assert_eq!(positions, vec![("s:1:9".to_string(), confirmed)]);
}

/// Replays of one user run one at a time: the second waits for the first's slot.
#[tokio::test]
async fn replays_of_one_user_take_turns() {
    let w = world().await;
    let _c = w.connect(UserId(11), "s").await;
    let first = w.core.registry.replay_slot(UserId(11)).await.unwrap();
    let second = w.core.registry.replay_slot(UserId(11)).await.unwrap();
    assert_eq!(first.sockets.len(), 1);
    let held = first.lock.lock().await;
    assert!(second.lock.try_lock().is_err());
    drop(held);
    assert!(second.lock.try_lock().is_ok());
    assert!(w.core.registry.replay_slot(UserId(12)).await.is_none());
}

/// A replay asked while the user's socket is opening (its 101 sent, not yet taken) waits for it
/// and gets it; the second socket of a user already connected is waited for too.
#[tokio::test]
async fn a_replay_waits_for_the_sockets_still_opening() {
    let w = world().await;
    for (user, already) in [(UserId(13), 0), (UserId(14), 1)] {
        let mut clients = Vec::new();
        for _ in 0..already {
            clients.push(w.connect(user, "s").await);
        }
        let opening = w.core.registry.opening(user, Duration::from_secs(5)).await;
        let registry = w.core.registry.clone();
        let replay = tokio::spawn(async move { registry.replay_slot(user).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !replay.is_finished(),
            "the replay waits for the opening socket"
        );
        clients.push(w.connect(user, "s").await);
        drop(opening);
        let slot = tokio::time::timeout(Duration::from_secs(5), replay)
            .await
            .unwrap()
            .unwrap()
            .expect("the new socket is found");
        assert_eq!(slot.sockets.len(), already + 1);
    }
    // A socket that never opens holds the replay up only until its guard goes.
    let failed = w
        .core
        .registry
        .opening(UserId(15), Duration::from_secs(5))
        .await;
    let registry = w.core.registry.clone();
    let replay = tokio::spawn(async move { registry.replay_slot(UserId(15)).await });
    drop(failed);
    let slot = tokio::time::timeout(Duration::from_secs(5), replay)
        .await
        .unwrap()
        .unwrap();
    assert!(slot.is_none());
}

/// Prints what one idle connected user's parts weigh (run with `--nocapture`); the heap parts
/// that are not `size_of` (the mailbox block, the actor task, the outbox) are in
/// BENCHMARKS.md's S3 table.
#[test]
fn sizes_of_a_connected_user() {
    use std::mem::size_of;
    println!("UserActor {}", size_of::<UserActor>());
    println!("Socket {}", size_of::<Socket>());
    println!("SocketHandle {}", size_of::<SocketHandle>());
    println!("Online {}", size_of::<Online>());
    println!("Signal<UserActor> {}", size_of::<Signal<UserActor>>());
    println!("ActorRef<UserActor> {}", size_of::<ActorRef<UserActor>>());
    println!("Outbox<UnixStream> {}", size_of::<Outbox<UnixStream>>());
    println!(
        "Outbox<TcpStream> {}",
        size_of::<Outbox<tokio::net::TcpStream>>()
    );
    assert!(size_of::<Socket>() < 2048);
}
