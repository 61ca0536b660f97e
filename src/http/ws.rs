//! `GET /ws`: authenticates before upgrading (401 otherwise), picks the dialect, and upgrades:
//! the raw TCP socket is taken back from hyper and handed to its user's actor, which reads it with
//! chatd's own frame reader (no buffer per idle socket: `chatd_actors::wire::reader`), and
//! deliveries write to it through its outbox. Frames clients send are handled by [`WsInbound`].

use bytes::Bytes;
use chatd_actors::outbox::Outbox;
use chatd_actors::socket::{now, Conn, Inbound, Later, Upgraded};
use chatd_actors::wire::frames::{ack, error, error_code};
use chatd_actors::wire::reader::Limits;
use chatd_actors::{ClientFrame, Dialect, UserSeed};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use crate::auth::{token_from, Caller, Role};
use crate::error::ApiError;
use crate::i18n::Lang;
use crate::net::ConnSlot;
use crate::ops::message::{ChatType, Peer};
use crate::ops::send::{accept, SendRequest};
use crate::state::App;

fn json(status: StatusCode, body: serde_json::Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

fn fail(lang: Lang, e: &ApiError) -> Response<Full<Bytes>> {
    json(
        e.status(),
        serde_json::json!({"msg": "fail", "data": e.reason(lang)}),
    )
}

/// Whether the client asked for presence frames: `presence=1` (or `true`) in the query.
pub fn wants_presence(query: &[(String, String)]) -> bool {
    query
        .iter()
        .any(|(k, v)| k == "presence" && (v == "1" || v == "true"))
}

/// Whether the client confirms what it processed with `ack` frames: `acks=1` (or `true`).
pub fn wants_acks(query: &[(String, String)]) -> bool {
    query
        .iter()
        .any(|(k, v)| k == "acks" && (v == "1" || v == "true"))
}

/// Which dialect a connection speaks (SPEC §5, §9.11): `dialect=` wins; otherwise a token from a
/// header means rich, `access_token` in the query compact, `token` in the query rich.
pub fn pick_dialect(header_token: bool, query: &[(String, String)]) -> Dialect {
    match query
        .iter()
        .find(|(k, _)| k == "dialect")
        .map(|(_, v)| v.as_str())
    {
        Some("rich") => return Dialect::Rich,
        Some("compact") => return Dialect::Compact,
        _ => {}
    }
    if header_token {
        return Dialect::Rich;
    }
    if query
        .iter()
        .any(|(k, v)| k == "access_token" && !v.is_empty())
    {
        Dialect::Compact
    } else {
        Dialect::Rich
    }
}

pub async fn upgrade(app: App, mut req: Request<Incoming>) -> Response<Full<Bytes>> {
    let headers = req.headers();
    let lang = Lang::pick(
        headers.get("accept-language").and_then(|v| v.to_str().ok()),
        app.cfg.default_lang,
    );
    let query: Vec<(String, String)> =
        serde_urlencoded::from_str(req.uri().query().unwrap_or("")).unwrap_or_default();
    let token = token_from(headers, &query);
    let caller = match app.authenticate(token.as_deref()).await {
        Ok(c) => c,
        Err(e) => return fail(lang, &e),
    };
    let header_token = headers.contains_key("token") || headers.contains_key("authorization");
    let is_upgrade = headers
        .get(hyper::header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let Some(key) = headers.get("sec-websocket-key").filter(|_| is_upgrade) else {
        return fail(
            lang,
            &ApiError::bad("expected a WebSocket upgrade", "需要 WebSocket 升级请求"),
        );
    };
    let accept = derive_accept_key(key.as_bytes());
    let conn = Conn {
        user_id: caller.user_id,
        sid: caller.sid.clone(),
        role: caller.role.as_str().into(),
        dialect: pick_dialect(header_token, &query),
        presence: wants_presence(&query),
        acks: wants_acks(&query),
    };
    // From the 101 on, the client may ask for its backlog: a replay waits until this socket is
    // taken by its user's actor (or failed to open), when the guard goes. In a connect storm
    // the answer waits for room (chatd_actors::opening).
    let Some(opening) = app
        .registry
        .opening(caller.user_id, std::time::Duration::from_secs(10))
        .await
    else {
        return fail(
            lang,
            &ApiError::Unavailable(crate::i18n::Msg::new(
                "too many connections opening at once: try again",
                "同时建立的连接过多，请稍后重试",
            )),
        );
    };
    let on_upgrade = hyper::upgrade::on(&mut req);
    // The connection's place under the per-address cap lives as long as the socket.
    let slot = req.extensions_mut().remove::<Arc<ConnSlot>>();
    let task_app = app.clone();
    app.sockets.spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(u) => u,
            Err(e) => {
                tracing::debug!(error = %e, "websocket upgrade failed");
                return;
            }
        };
        // Deliveries write to the TCP socket itself (see chatd_actors::outbox), so the raw stream
        // is taken back from hyper, with whatever the client sent after its handshake.
        let parts = match upgraded.downcast::<TokioIo<TcpStream>>() {
            Ok(p) => p,
            Err(_) => {
                tracing::error!("websocket upgrade: the connection is not a TCP stream");
                return;
            }
        };
        // Room for a message at the size limit, JSON-escaped, and its frame's other fields.
        let max = task_app.cfg.max_message_bytes * 2 + 16 * 1024;
        let limits = Limits {
            max_frame: max,
            max_message: max,
        };
        // hyper's read buffer is a view of the connection's whole buffer: copy what is left of
        // it (usually nothing) and let the buffer go, or every idle socket keeps it (~2.5 KiB).
        let read_buf = parts.read_buf;
        let read_ahead = read_buf.to_vec();
        drop(read_buf);
        let up = Upgraded {
            outbox: Arc::new(Outbox::with_limits(
                parts.io.into_inner(),
                task_app.socket_cfg.queue,
                task_app.socket_cfg.queue_bytes,
            )),
            read_ahead,
            limits,
            // The connection's place and the shutdown's wait last as long as the socket.
            guard: Box::new((slot, task_app.sockets.token())),
        };
        let seed = user_seed(&task_app);
        task_app.registry.connect(up, conn, seed).await;
        drop(opening);
    });
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = r.headers_mut();
    h.insert(
        hyper::header::UPGRADE,
        hyper::header::HeaderValue::from_static("websocket"),
    );
    h.insert(
        hyper::header::CONNECTION,
        hyper::header::HeaderValue::from_static("Upgrade"),
    );
    if let Ok(v) = hyper::header::HeaderValue::from_str(&accept) {
        h.insert("sec-websocket-accept", v);
    }
    r
}

/// The caller behind a socket.
fn caller_of(conn: &Conn) -> Caller {
    Caller {
        user_id: conn.user_id,
        role: Role::parse(&conn.role),
        sid: conn.sid.clone(),
    }
}

/// The caller and conversation of a read or typing frame: `Err(None)` from a compact client
/// (such frames are not theirs: ignored), `Err(Some(_))` from a visitor (users only, as the REST
/// endpoints: SPEC §9.16, deny by default).
fn rich_user_frame(conn: &Conn, group: bool, id: i64) -> Result<(Caller, Peer), Option<ApiError>> {
    if conn.dialect == Dialect::Compact {
        return Err(None);
    }
    let caller = caller_of(conn);
    caller.require_user().map_err(Some)?;
    let chat = if group {
        ChatType::Group
    } else {
        ChatType::Single
    };
    Ok((caller, Peer::new(chat, id)))
}

/// Sends what clients write over WebSocket, under the same rules as the REST endpoint. Rich
/// clients get an `ack` or an `error` frame; compact clients get nothing (seed 003: silent).
/// One per server, in the one [`UserSeed`] every user actor shares (`AppState::user_seed`); it
/// holds the server weakly, as the server holds it.
pub struct WsInbound {
    app: std::sync::Weak<crate::state::AppState>,
}

/// [`WsInbound`] for one frame, with the server in hand.
struct FrameHandler {
    app: App,
}

impl FrameHandler {
    /// A rich client's read position (compact clients have no such frame: ignored, silently).
    async fn on_read(
        &self,
        conn: &Conn,
        group: bool,
        id: i64,
        seq: i64,
        cid: Option<String>,
    ) -> Later {
        let lang = self.app.cfg.default_lang;
        let refused = |e: ApiError| now(Some(error(cid.as_deref(), &e.reason(lang))));
        let (caller, peer) = match rich_user_frame(conn, group, id) {
            Ok(v) => v,
            Err(None) => return now(None),
            Err(Some(e)) => return refused(e),
        };
        match crate::ops::reads::mark_read(&self.app, &caller, peer, seq).await {
            Ok(_) => now(None),
            Err(e) => refused(e),
        }
    }

    /// A rich client's typing: relayed, or dropped silently (rate limited, a visitor, compact).
    async fn on_typing(&self, conn: &Conn, group: bool, id: i64) -> Later {
        let Ok((caller, peer)) = rich_user_frame(conn, group, id) else {
            return now(None);
        };
        let lang = self.app.cfg.default_lang;
        match crate::ops::typing::typing(&self.app, &caller, peer).await {
            Ok(_) => now(None),
            // Not a member, no such group: said once, like any refused frame.
            Err(e) => now(Some(error(None, &e.reason(lang)))),
        }
    }

    async fn on_frame(&self, conn: &Conn, frame: ClientFrame) -> Later {
        let (chat_type, to, content, cid) = match frame {
            ClientFrame::Unicast {
                receiver_id,
                content,
                client_msg_id,
            } => (ChatType::Single, receiver_id, content, client_msg_id),
            ClientFrame::Multicast {
                group_id,
                content,
                client_msg_id,
            } => (ChatType::Group, group_id, content, client_msg_id),
            ClientFrame::Invalid {
                reason,
                client_msg_id,
            } => {
                return now(match conn.dialect {
                    Dialect::Rich => Some(error(client_msg_id.as_deref(), &reason)),
                    Dialect::Compact => None,
                });
            }
            ClientFrame::Ping => return now(Some(chatd_actors::wire::frames::pong())),
            ClientFrame::Read {
                group,
                id,
                seq,
                client_msg_id,
            } => return self.on_read(conn, group, id, seq, client_msg_id).await,
            ClientFrame::Typing { group, id } => return self.on_typing(conn, group, id).await,
            // The socket itself takes acks (chatd_actors::socket); none reaches here.
            ClientFrame::Ack { .. } => return now(None),
        };
        let caller = caller_of(conn);
        let to = Peer::new(chat_type, to);
        let group = matches!(to, Peer::Group(_));
        let out = SendRequest {
            to,
            msg_type: "text".into(),
            data: content,
            options: "{}".into(),
            client_msg_id: cid.clone(),
        };
        let dialect = conn.dialect;
        let lang = self.app.cfg.default_lang;
        let refused = move |e: ApiError| match (dialect, &e) {
            // Not stored: both dialects are told, with the status that says why (a compact
            // sender is otherwise refused silently, as seed 003 does).
            (_, ApiError::StorageFull(_)) => Some(error_code(
                cid.as_deref(),
                &e.reason(lang),
                e.status().as_u16(),
            )),
            (Dialect::Rich, _) => {
                if let ApiError::Internal(d) = &e {
                    tracing::error!(error = %d, "websocket send failed");
                }
                Some(error(cid.as_deref(), &e.reason(lang)))
            }
            (Dialect::Compact, _) => None,
        };
        let pending = match accept(&self.app, &caller, out).await {
            Ok(p) => p,
            Err(e) => return now(refused(e)),
        };
        Box::pin(async move {
            match pending.await_answer().await {
                Ok(accepted) => {
                    if accepted.fresh {
                        crate::metrics::message_accepted(group, "ws");
                    }
                    match dialect {
                        Dialect::Rich => Some(ack(
                            accepted.message["client_msg_id"].as_str(),
                            &accepted.message,
                        )),
                        Dialect::Compact => None,
                    }
                }
                Err(e) => refused(e.into()),
            }
        })
    }
}

impl Inbound for WsInbound {
    // The future accepts the frame; what it yields is the answer to await later (`Later`).
    #[allow(clippy::async_yields_async)]
    fn handle<'a>(
        &'a self,
        conn: &'a Conn,
        frame: ClientFrame,
    ) -> Pin<Box<dyn Future<Output = Later> + Send + 'a>> {
        let app = self.app.upgrade();
        Box::pin(async move {
            match app {
                Some(app) => FrameHandler { app }.on_frame(conn, frame).await,
                // The server is gone: nothing more is accepted.
                None => now(None),
            }
        })
    }
}

/// The seed every user actor of this server starts from, made on the first socket.
fn user_seed(app: &App) -> Arc<UserSeed> {
    app.user_seed
        .get_or_init(|| {
            Arc::new(UserSeed {
                cfg: app.socket_cfg.clone(),
                inbound: Arc::new(WsInbound {
                    app: Arc::downgrade(app),
                }),
                delivery: app.delivery.clone(),
                shutdown: app.shutdown.clone(),
            })
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn dialect_rules() {
        assert_eq!(
            pick_dialect(false, &q(&[("access_token", "t")])),
            Dialect::Compact
        );
        assert_eq!(pick_dialect(false, &q(&[("token", "t")])), Dialect::Rich);
        assert_eq!(pick_dialect(true, &q(&[])), Dialect::Rich);
        assert_eq!(
            pick_dialect(false, &q(&[("access_token", "t"), ("dialect", "rich")])),
            Dialect::Rich
        );
        assert_eq!(
            pick_dialect(true, &q(&[("dialect", "compact")])),
            Dialect::Compact
        );
    }
}
