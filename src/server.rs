//! The front service: hyper serves each connection; `/ws` is upgraded here (the raw socket goes to
//! its user actor, which reads it with chatd's own frame reader), every other request goes to warp.

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_service::Service;
use warp::Filter;

use crate::http::ClientAddr;
use crate::net::{client_ip, ConnLimit, ConnSlot};
use crate::state::App;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Body = UnsyncBoxBody<Bytes, BoxError>;

async fn front<S>(
    app: App,
    mut routes: S,
    peer: SocketAddr,
    slot: Option<Arc<ConnSlot>>,
    mut req: Request<Incoming>,
) -> Result<Response<Body>, Infallible>
where
    S: Service<Request<Incoming>, Response = warp::reply::Response, Error = Infallible>,
{
    if req.uri().path() == "/ws" && req.method() != hyper::Method::GET {
        let lang = crate::i18n::Lang::pick(
            req.headers()
                .get("accept-language")
                .and_then(|v| v.to_str().ok()),
            app.cfg.default_lang,
        );
        let reason = match lang {
            crate::i18n::Lang::En => "method not allowed",
            crate::i18n::Lang::Zh => "请求方法不允许",
        };
        let mut r = crate::http::json_response(
            warp::http::StatusCode::METHOD_NOT_ALLOWED,
            &serde_json::json!({"msg": "fail", "data": reason}),
        );
        r.headers_mut().insert(
            hyper::header::ALLOW,
            hyper::header::HeaderValue::from_static("GET"),
        );
        return Ok(r.map(|b| b.map_err(|e| -> BoxError { Box::new(e) }).boxed_unsync()));
    }
    if req.uri().path() == "/ws" {
        // An upgraded socket outlives hyper's connection task: it keeps the place itself.
        if let Some(slot) = slot {
            req.extensions_mut().insert(slot);
        }
        let r = crate::http::ws::upgrade(app, req).await;
        return Ok(r.map(|b| b.map_err(|never| match never {}).boxed_unsync()));
    }
    let client = client_ip(
        peer.ip(),
        req.headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok()),
        &app.cfg.trusted_proxies,
    );
    req.extensions_mut().insert(ClientAddr(client));
    let (method, path, started) = (
        req.method().clone(),
        req.uri().path().to_string(),
        std::time::Instant::now(),
    );
    let writes = app.store.local_writes();
    let mut resp = routes.call(req).await?;
    if app.store.local_writes() != writes {
        // This request (or one beside it) changed rows other nodes may cache: they forget them
        // before the answer leaves.
        app.invalidate(crate::cluster::Scope::Facts).await;
    }
    if resp.status() == hyper::StatusCode::REQUEST_TIMEOUT {
        // The rest of a late body is never read: the connection cannot carry another request.
        resp.headers_mut().insert(
            hyper::header::CONNECTION,
            hyper::header::HeaderValue::from_static("close"),
        );
    }
    crate::metrics::http_request(
        &method,
        &path,
        resp.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    tracing::info!(
        target: "chatd::http",
        %method,
        path,
        status = resp.status().as_u16(),
        micros = started.elapsed().as_micros() as u64,
        %peer,
        %client,
        "request"
    );
    Ok(resp.map(|b| b.map_err(|e| -> BoxError { Box::new(e) }).boxed_unsync()))
}

/// Accepts connections until `stop` flips.
pub async fn serve(listener: TcpListener, app: App, mut stop: watch::Receiver<bool>) {
    // H5 builds of the client apps run in browsers on other origins; tokens travel in headers (no
    // cookies), so any origin may call the API.
    let cors = warp::cors()
        .allow_any_origin()
        .allow_methods(["GET", "POST", "PUT", "DELETE", "OPTIONS"])
        .allow_headers([
            "token",
            "authorization",
            "content-type",
            "accept-language",
            "x-security-sign",
            "x-api-key",
        ])
        .max_age(86_400);
    let routes = warp::service(crate::http::routes(app.clone()).with(cors));
    let per_ip = ConnLimit::new(app.cfg.max_conns_per_ip);
    loop {
        let (stream, peer) = tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // Past its cap an address's new connection is closed at once, before hyper sees it.
        // Proxies we trust carry many clients and are not counted.
        let slot = if app
            .cfg
            .trusted_proxies
            .iter()
            .any(|n| n.contains(&peer.ip()))
        {
            None
        } else {
            match per_ip.open(peer.ip()) {
                Some(slot) => Some(Arc::new(slot)),
                None => {
                    tracing::debug!(%peer, "too many connections from this address");
                    continue;
                }
            }
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let routes = routes.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                front(app.clone(), routes.clone(), peer, slot.clone(), req)
            });
            // A client gets 30 s to send its headers (slow-loris protection); hyper starts the same
            // clock when a kept-alive connection goes idle, so an idle connection lasts 30 s.
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(30))
                .serve_connection(TokioIo::new(stream), svc)
                .with_upgrades();
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
}
