//! Test harness: spawns the real server on port 0 for one backend and drives it as a client app
//! would (HTTP + real WebSockets). Every test gets fresh data: a new SQLite directory, or a new
//! PostgreSQL database and Redis key prefix.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use chatd::app::Application;
use chatd::config::{Config, Options};
use chatd::Clock;
pub use chatd_schema::UserId;
use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite file + embedded offline queues and sessions (the default configuration).
    Embedded,
    /// PostgreSQL + Redis.
    PgRedis,
}

/// Runs `$f(Backend)` as two tests, one per backend.
#[macro_export]
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn embedded() {
                super::$name($crate::helpers::Backend::Embedded).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres_redis() {
                super::$name($crate::helpers::Backend::PgRedis).await
            }
        }
    )*};
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

pub fn unique(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let r: u32 = rand::random::<u32>() % 100_000;
    format!("{prefix}{n}x{r}")
}

fn pg_admin_url() -> String {
    std::env::var("CHATD_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn redis_url() -> String {
    std::env::var("CHATD_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// Creates a fresh PostgreSQL database and returns its URL.
pub async fn fresh_pg_database() -> String {
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    let admin = pg_admin_url();
    let mut conn = AsyncPgConnection::establish(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {admin} is required for these tests: {e}"));
    let name = format!("chatd_t_{}_{}", std::process::id(), unique("db"));
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    format!("{base}/{name}")
}

pub struct TestApp {
    pub app: Option<Application>,
    /// The server as a child process (fault tests: SIGTERM, kill -9), instead of `app`.
    pub process: Option<tokio::process::Child>,
    pub base: String,
    pub ws_base: String,
    pub http: reqwest::Client,
    pub backend: Backend,
    pub options: Options,
    pub clock: Clock,
    _dir: tempfile::TempDir,
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub uuid: String,
    pub username: String,
    pub token: String,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Options)) -> TestApp {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut options = Options {
            listen: Some("127.0.0.1:0".into()),
            data_dir: Some(dir.path().to_path_buf()),
            default_lang: Some("en".into()),
            // Every test client is on 127.0.0.1: the per-address cap (256) would refuse the big
            // group tests' sockets. The cap's own test sets it low.
            max_conns_per_ip: Some(100_000),
            // Clients confirm what they read within a tenth of a second (the default, a second,
            // would make tests that wait for positions wait that long).
            confirm_ms: Some(100),
            ..Options::default()
        };
        if backend == Backend::PgRedis {
            options.database_url = Some(fresh_pg_database().await);
            options.redis_url = Some(redis_url());
            options.redis_prefix = Some(format!("{}:", unique("chatd_t")));
        }
        tweak(&mut options);
        let clock = Clock::default();
        let app = Application::start(
            Config::resolve(options.clone()).expect("config"),
            clock.clone(),
        )
        .await
        .expect("start");
        let port = app.port();
        TestApp {
            app: Some(app),
            process: None,
            base: format!("http://127.0.0.1:{port}"),
            ws_base: format!("ws://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
            backend,
            options,
            clock,
            _dir: dir,
        }
    }

    /// The real `chatd` binary as a child process on `backend`, with the limits lifted that the
    /// in-process server lifts (one client address, bursts).
    pub async fn spawn_process(backend: Backend) -> TestApp {
        Self::spawn_process_with(backend, |_| {}).await
    }

    /// [`Self::spawn_process`] with options changed by `tweak` (e.g. another Redis).
    pub async fn spawn_process_with(backend: Backend, tweak: impl FnOnce(&mut Options)) -> TestApp {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut options = Options {
            data_dir: Some(dir.path().to_path_buf()),
            ..Options::default()
        };
        if backend == Backend::PgRedis {
            options.database_url = Some(fresh_pg_database().await);
            options.redis_url = Some(redis_url());
            options.redis_prefix = Some(format!("{}:", unique("chatd_p")));
        }
        tweak(&mut options);
        let mut t = TestApp {
            app: None,
            process: None,
            base: String::new(),
            ws_base: String::new(),
            http: reqwest::Client::new(),
            backend,
            options,
            clock: Clock::default(),
            _dir: dir,
        };
        t.start_process().await;
        t
    }

    /// Another node of the same service (same database, Redis and prefix): a process of its
    /// own when this one is a process, else in this process.
    pub async fn spawn_node(&self) -> TestApp {
        let (db, redis, prefix) = (
            self.options.database_url.clone(),
            self.options.redis_url.clone(),
            self.options.redis_prefix.clone(),
        );
        let debounce = self.options.presence_debounce_ms;
        let same = move |o: &mut Options| {
            o.presence_debounce_ms = debounce;
            o.database_url = db;
            o.redis_url = redis;
            o.redis_prefix = prefix;
        };
        if self.process.is_some() {
            Self::spawn_process_with(self.backend, same).await
        } else {
            Self::spawn_with(self.backend, same).await
        }
    }

    /// Waits until this (in-process) node knows that `user` has a socket on another node.
    pub async fn wait_elsewhere(&self, user: &User) {
        let cluster = self.state().cluster.clone().expect("a cluster node");
        for _ in 0..300 {
            if !cluster.directory().nodes_of(UserId(user.id)).is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!(
            "node never learned that user {} is on another node",
            user.id
        );
    }

    /// (Re)starts the child process on the same data, on a free port; returns once it answers.
    pub async fn start_process(&mut self) {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_chatd"));
        cmd.env_clear()
            .env("CHAT_LISTEN", format!("127.0.0.1:{port}"))
            .env("CHAT_DEFAULT_LANG", "en")
            .env("CHAT_JWT_SECRET", "fault-test-jwt-secret-0123456789abcdef")
            .env("CHAT_MAX_CONNS_PER_IP", "100000")
            .env("CHAT_SIGNUP_IP_LIMIT", "1000000")
            .env("CHAT_WS_FRAMES_PER_SEC", "1000000")
            .env("CHAT_LOG", "warn")
            .kill_on_drop(true);
        if let Some(d) = &self.options.data_dir {
            cmd.env("CHAT_DATA_DIR", d);
        }
        if let Some(u) = &self.options.database_url {
            cmd.env("DATABASE_URL", u);
        }
        if let Some(u) = &self.options.redis_url {
            cmd.env("REDIS_URL", u);
        }
        if let Some(p) = &self.options.redis_prefix {
            cmd.env("CHAT_REDIS_PREFIX", p);
        }
        self.process = Some(cmd.spawn().expect("the chatd binary starts"));
        self.base = format!("http://127.0.0.1:{port}");
        self.ws_base = format!("ws://127.0.0.1:{port}");
        for _ in 0..300 {
            if let Ok(r) = self.http.get(self.url("/readyz")).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the chatd process never became ready");
    }

    /// Sends SIGTERM to the child process and waits for it to exit; returns whether it exited
    /// cleanly.
    pub async fn sigterm(&mut self) -> bool {
        let mut child = self.process.take().expect("a running process");
        if let Some(pid) = child.id() {
            let _ = tokio::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await;
        }
        tokio::time::timeout(Duration::from_secs(30), child.wait())
            .await
            .expect("the process exits after SIGTERM")
            .is_ok_and(|s| s.success())
    }

    /// Waits for a process killed from outside (kill -9) to be gone.
    pub async fn wait_killed(&mut self) {
        let mut child = self.process.take().expect("a running process");
        let _ = tokio::time::timeout(Duration::from_secs(30), child.wait())
            .await
            .expect("the killed process is gone");
    }

    pub fn state(&self) -> &chatd::state::App {
        self.app.as_ref().expect("running").state()
    }

    /// Stops the server gracefully and starts a new one on the same data (new port).
    pub async fn restart(&mut self) {
        if let Some(app) = self.app.take() {
            app.shutdown().await;
        }
        let app = Application::start(
            Config::resolve(self.options.clone()).expect("config"),
            self.clock.clone(),
        )
        .await
        .expect("restart");
        let port = app.port();
        self.base = format!("http://127.0.0.1:{port}");
        self.ws_base = format!("ws://127.0.0.1:{port}");
        self.app = Some(app);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    async fn finish(resp: reqwest::Response) -> (StatusCode, Value) {
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, v)
    }

    /// POST a form body with header `token`.
    pub async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        form: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut rb = self.http.post(self.url(path)).form(form);
        if let Some(t) = token {
            rb = rb.header("token", t);
        }
        Self::finish(rb.send().await.expect("http")).await
    }

    pub async fn post_json(
        &self,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> (StatusCode, Value) {
        let mut rb = self.http.post(self.url(path)).json(&body);
        if let Some(t) = token {
            rb = rb.header("token", t);
        }
        Self::finish(rb.send().await.expect("http")).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut rb = self.http.get(self.url(path));
        if let Some(t) = token {
            rb = rb.header("token", t);
        }
        Self::finish(rb.send().await.expect("http")).await
    }

    pub async fn register(&self, prefix: &str) -> User {
        let username = unique(prefix);
        let (status, body) = self
            .post(
                "/api/regChat",
                None,
                &[("username", &username), ("password", "secret123")],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        User {
            id: body["data"]["id"].as_i64().expect("id"),
            uuid: body["data"]["uuid"].as_str().expect("uuid").to_string(),
            username,
            token: body["data"]["token"].as_str().expect("token").to_string(),
        }
    }

    pub async fn login(&self, user: &User) -> String {
        let (status, body) = self
            .post(
                "/api/loginChat",
                None,
                &[("username", &user.username), ("password", "secret123")],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["data"]["token"].as_str().expect("token").to_string()
    }

    /// `user` blacklists `target` through the API (`setblackgoodfriend`).
    pub async fn blacklist(&self, user: &User, target: &User) {
        let (s, body) = self
            .post(
                &format!("/api/chat/setblackgoodfriend/{}", target.id),
                Some(&user.token),
                &[],
            )
            .await;
        ok_data(s, &body);
    }

    /// Makes `a` and `b` friends (both directions) through the Store.
    pub async fn befriend(&self, a: &User, b: &User) {
        let now = self.clock.now_ms();
        self.state()
            .store
            .befriend(UserId(a.id), "", UserId(b.id), "", now)
            .await
            .expect("befriend");
    }

    /// Makes `a` and `b` friends as a client app would, over the API only (for a server in
    /// another process): `b` accepts friends without confirmation, `a` applies. Returns `a`'s
    /// friendship row id (what `group/create` takes).
    pub async fn befriend_over_api(&self, a: &User, b: &User) -> i64 {
        let (s, body) = self
            .post(
                "/api/chat/updateUserinfo",
                Some(&b.token),
                &[("fieldname", "invite_confirm"), ("fieldValue", "0")],
            )
            .await;
        ok_data(s, &body);
        let (s, body) = self
            .post(
                "/api/chat/applyfriend",
                Some(&a.token),
                &[("friend_id", &b.id.to_string())],
            )
            .await;
        ok_data(s, &body);
        let (s, body) = self
            .post(
                &format!("/api/chat/ismygoodfriend/{}", b.id),
                Some(&a.token),
                &[],
            )
            .await;
        ok_data(s, &body)["id"]
            .as_i64()
            .expect("a friendship row id")
    }

    /// Sets `user`'s `userset` JSON text (e.g. their `chatset`).
    pub async fn set_userset(&self, user: &User, userset: &str) {
        let (status, body) = self
            .post(
                "/api/chat/userset",
                Some(&user.token),
                &[("userset", userset)],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    pub async fn send(&self, from: &User, to: &User, data: &str) -> (StatusCode, Value) {
        self.post(
            "/api/chat/socket/sendmessage",
            Some(&from.token),
            &[
                ("sendto_id", &to.id.to_string()),
                ("chatType", "single"),
                ("type", "text"),
                ("data", data),
            ],
        )
        .await
    }

    /// A rich socket (`?token=`).
    pub async fn ws(&self, token: &str) -> Ws {
        self.ws_url(&format!("/ws?token={token}")).await
    }

    /// A compact socket (`?access_token=`).
    pub async fn ws_compact(&self, token: &str) -> Ws {
        self.ws_url(&format!("/ws?access_token={token}")).await
    }

    pub async fn ws_url(&self, path: &str) -> Ws {
        let req = format!("{}{}", self.ws_base, path)
            .into_client_request()
            .expect("request");
        let (stream, _) = tokio_tungstenite::connect_async(req)
            .await
            .expect("ws connect");
        // The upgrade answers before the socket is registered (see `wait_online`).
        Ws {
            stream,
            skip_created: true,
        }
    }

    /// `user`'s offline queue as the compact pull answers it, nothing dropped: its frames.
    pub async fn queue_frames(&self, user: &User) -> Vec<Value> {
        let (s, body) = self
            .get(
                &format!("/api/message?access_token={}&drop=false", user.token),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        body.as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["messages"].as_array().cloned().unwrap_or_default())
            .collect()
    }

    /// Waits until `user` has a live socket registered (the upgrade answers first).
    pub async fn wait_online(&self, user: &User) {
        for _ in 0..200 {
            if self.state().registry.is_online(UserId(user.id)) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("user {} never came online", user.id);
    }

    pub async fn wait_offline(&self, user: &User) {
        for _ in 0..500 {
            if !self.state().registry.is_online(UserId(user.id)) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("user {} never went offline", user.id);
    }
}

pub struct Ws {
    pub stream: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    /// Skip a group's "created" notice. It is routed after `group/create` answers, so it may
    /// reach a socket that attached just after the group was made; only the test of the notice
    /// itself (its members online beforehand) turns this off.
    pub skip_created: bool,
}

impl Ws {
    pub async fn send_json(&mut self, v: Value) {
        self.stream
            .send(Message::Text(v.to_string().into()))
            .await
            .expect("ws send");
    }

    /// Sends a frame; an error when the socket is closed or closing.
    pub async fn try_send_json(&mut self, v: Value) -> Result<(), String> {
        self.stream
            .send(Message::Text(v.to_string().into()))
            .await
            .map_err(|e| e.to_string())
    }

    /// The next JSON text frame within 5 s (pings and pongs skipped); panics otherwise.
    pub async fn recv(&mut self) -> Value {
        self.try_recv(Duration::from_secs(5))
            .await
            .expect("expected a frame")
    }

    /// The next JSON text frame within `wait`, or None (timeout or close).
    pub async fn try_recv(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let next = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .ok()??;
            match next {
                Ok(Message::Text(t)) => {
                    let v: Value = serde_json::from_str(t.as_str()).ok()?;
                    if self.skip_created && v["data"]["actionType"] == "create" {
                        continue;
                    }
                    return Some(v);
                }
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
    }

    /// Closes the socket as a client app leaving would (a close frame, then the end).
    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }

    /// Reads on (tungstenite answers the server's confirmation pings as it reads) until `user`'s
    /// offline queue is empty: everything this socket was sent is confirmed. A message arriving
    /// meanwhile fails the test.
    pub async fn confirm_all(&mut self, app: &TestApp, user: &User) {
        for _ in 0..200 {
            if let Some(v) = self.try_recv(Duration::from_millis(50)).await {
                panic!("expected no frame while confirming, got {v}");
            }
            if app.queue_frames(user).await.is_empty() {
                return;
            }
        }
        panic!("the client's confirmations never emptied the queue");
    }

    /// Asserts no frame arrives within `ms`.
    pub async fn expect_silence(&mut self, ms: u64) {
        if let Some(v) = self.try_recv(Duration::from_millis(ms)).await {
            panic!("expected no frame, got {v}");
        }
    }
}

pub fn ok_data(status: StatusCode, body: &Value) -> Value {
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["msg"], "ok", "{body}");
    body["data"].clone()
}

pub fn fail(status: StatusCode, body: &Value, expected: StatusCode) -> String {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["msg"], "fail", "{body}");
    body["data"].as_str().unwrap_or_default().to_string()
}
