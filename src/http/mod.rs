//! HTTP routes, one module per area. Every handler is a few lines: take the already-parsed
//! request ([`Req`]), authenticate when the route needs it, call one operation, render the
//! envelope. `/ws` is taken before warp by the front service (see `server`).

pub mod accounts;
pub mod compact;
pub mod docs;
pub mod files;
pub mod friends;
pub mod groups;
pub mod health;
pub mod messages;
pub mod notification;
pub mod visitors;
pub mod web;
pub mod ws;

use bytes::{Buf, BufMut, Bytes};
use futures_util::{Stream, StreamExt};
use serde_json::{json, Value};
use std::convert::Infallible;
use std::net::IpAddr;
use std::time::Duration;
use warp::http::{HeaderMap, StatusCode};
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::auth::{token_from, Caller};
use crate::error::ApiError;
use crate::i18n::{Lang, Msg};
use crate::params::Params;
use crate::state::App;

/// The client's address, put into each request by the front service: the TCP peer, or what a
/// trusted proxy says it is (see [`crate::net::client_ip`]); never a header from anyone else.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

/// The client address of a request, when the front service put one in.
pub fn client_addr() -> impl Filter<Extract = (Option<IpAddr>,), Error = Infallible> + Clone {
    warp::ext::get::<ClientAddr>()
        .map(|c: ClientAddr| Some(c.0))
        .or(warp::any().map(|| None))
        .unify()
}

/// Everything a handler needs from the request, extracted without failing: a bad body is kept as
/// an error so it is rendered in the caller's language like any other.
pub struct Req {
    pub lang: Lang,
    pub headers: HeaderMap,
    pub query: Vec<(String, String)>,
    params: Result<Params, ApiError>,
    pub ip: Option<IpAddr>,
}

impl Req {
    /// A request whose body is read by its handler (uploads).
    pub fn without_body(
        lang: Lang,
        headers: HeaderMap,
        query: Vec<(String, String)>,
        ip: Option<IpAddr>,
    ) -> Req {
        Req {
            lang,
            headers,
            query,
            params: Ok(Params::default()),
            ip,
        }
    }

    pub fn params(&self) -> Result<&Params, ApiError> {
        self.params.as_ref().map_err(|e| match e {
            ApiError::TooLarge(m) => ApiError::TooLarge(m.clone()),
            ApiError::Timeout(m) => ApiError::Timeout(m.clone()),
            ApiError::Invalid(m) => ApiError::Invalid(m.clone()),
            other => ApiError::Internal(other.to_string()),
        })
    }

    pub fn token(&self) -> Option<String> {
        token_from(&self.headers, &self.query)
    }

    /// The caller, who must be a registered user: visitor tokens are refused (403) unless the
    /// endpoint asks for [`Req::user_or_visitor`] instead (deny by default, SPEC §9.16).
    pub async fn user(&self, app: &App) -> Result<Caller, ApiError> {
        let caller = self.user_or_visitor(app).await?;
        caller.require_user()?;
        Ok(caller)
    }

    /// The caller, a user or a visitor: only for the endpoints SPEC §9.16 opens to visitors.
    pub async fn user_or_visitor(&self, app: &App) -> Result<Caller, ApiError> {
        app.authenticate(self.token().as_deref()).await
    }

    /// A body that did not arrive in time decides the answer, whatever the handler found first
    /// (a missing token, say): 408, and the front service closes the connection (§9.21).
    fn late_body(&self) -> Option<ApiError> {
        match &self.params {
            Err(ApiError::Timeout(_)) => Some(body_timeout()),
            _ => None,
        }
    }

    /// The rich envelope: `{"msg":"ok","data":…}` or `{"msg":"fail","data":reason}`.
    pub fn reply(&self, result: Result<Value, ApiError>) -> Response {
        let result = match self.late_body() {
            Some(e) => Err(e),
            None => result,
        };
        match result {
            Ok(data) => json_response(StatusCode::OK, &json!({"msg": "ok", "data": data})),
            Err(e) => error_response(self.lang, &e),
        }
    }

    /// The compact API: bare JSON values; errors as a bare reason string.
    pub fn bare(&self, result: Result<Value, ApiError>) -> Response {
        let result = match self.late_body() {
            Some(e) => Err(e),
            None => result,
        };
        match result {
            Ok(v) => json_response(StatusCode::OK, &v),
            Err(e) => {
                log_internal(&e);
                json_response(e.status(), &Value::String(e.reason(self.lang)))
            }
        }
    }
}

fn log_internal(e: &ApiError) {
    if let ApiError::Internal(detail) = e {
        tracing::error!(error = %detail, "request failed");
    }
}

pub fn json_response(status: StatusCode, v: &Value) -> Response {
    warp::reply::with_status(warp::reply::json(v), status).into_response()
}

pub fn error_response(lang: Lang, e: &ApiError) -> Response {
    log_internal(e);
    json_response(e.status(), &json!({"msg": "fail", "data": e.reason(lang)}))
}

/// The answer to a body that did not arrive within `CHAT_BODY_TIMEOUT` of its headers (§9.21).
pub fn body_timeout() -> ApiError {
    ApiError::Timeout(Msg::new(
        "the request body did not arrive in time",
        "请求体接收超时",
    ))
}

/// Reads the whole body, at most `limit` bytes, within `wait`.
async fn collect_limited<S, B>(body: S, limit: usize, wait: Duration) -> Result<Bytes, ApiError>
where
    S: Stream<Item = Result<B, warp::Error>> + Unpin,
    B: Buf,
{
    tokio::time::timeout(wait, collect(body, limit))
        .await
        .map_err(|_| body_timeout())?
}

async fn collect<S, B>(mut body: S, limit: usize) -> Result<Bytes, ApiError>
where
    S: Stream<Item = Result<B, warp::Error>> + Unpin,
    B: Buf,
{
    let mut out = bytes::BytesMut::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::Invalid(Msg::owned(
                format!("cannot read the request body: {e}"),
                format!("无法读取请求体：{e}"),
            ))
        })?;
        if out.len() + chunk.remaining() > limit {
            return Err(ApiError::TooLarge(Msg::owned(
                format!("request body exceeds {limit} bytes"),
                format!("请求体超过 {limit} 字节"),
            )));
        }
        out.put(chunk);
    }
    Ok(out.freeze())
}

/// Extracts a [`Req`]; the body is read with the configured size limit.
pub fn req(app: App) -> impl Filter<Extract = (Req,), Error = Rejection> + Clone {
    let query = warp::query::raw().or(warp::any().map(String::new)).unify();
    warp::header::headers_cloned()
        .and(query)
        .and(client_addr())
        .and(warp::body::stream())
        .then(move |headers: HeaderMap, raw_query: String, ip, body| {
            let app = app.clone();
            async move {
                let lang = Lang::pick(
                    headers.get("accept-language").and_then(|v| v.to_str().ok()),
                    app.cfg.default_lang,
                );
                let query: Vec<(String, String)> =
                    serde_urlencoded::from_str(&raw_query).unwrap_or_default();
                let wait = Duration::from_secs(app.cfg.body_timeout_secs);
                let body = collect_limited(Box::pin(body), app.cfg.max_body_bytes, wait).await;
                let ct = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let params = body.and_then(|b| Params::parse(&raw_query, ct.as_deref(), &b));
                Req {
                    lang,
                    headers,
                    query,
                    params,
                    ip,
                }
            }
        })
}

pub fn with_app(app: App) -> impl Filter<Extract = (App,), Error = Infallible> + Clone {
    warp::any().map(move || app.clone())
}

/// Every route, with one `recover` rendering unmatched requests in the envelope.
pub fn routes(app: App) -> impl Filter<Extract = (Response,), Error = Infallible> + Clone {
    accounts::routes(app.clone())
        .or(messages::routes(app.clone()))
        .unify()
        .or(friends::routes(app.clone()))
        .unify()
        .or(groups::routes(app.clone()))
        .unify()
        .or(compact::routes(app.clone()))
        .unify()
        .or(notification::routes(app.clone()))
        .unify()
        .or(files::routes(app.clone()))
        .unify()
        .or(visitors::routes(app.clone()))
        .unify()
        .or(health::routes(app.clone()))
        .unify()
        .or(docs::routes())
        .unify()
        .or(web::routes())
        .unify()
        .recover(move |r: Rejection| {
            let lang = app.cfg.default_lang;
            async move { Ok::<Response, Infallible>(rejection(lang, r)) }
        })
        .unify()
}

fn rejection(lang: Lang, r: Rejection) -> Response {
    let e = if r.is_not_found() {
        ApiError::not_found("no such endpoint", "接口不存在")
    } else if r.find::<warp::reject::MethodNotAllowed>().is_some() {
        return json_response(
            StatusCode::METHOD_NOT_ALLOWED,
            &json!({"msg": "fail", "data": match lang { Lang::En => "method not allowed", Lang::Zh => "请求方法不允许" }}),
        );
    } else if r.find::<warp::reject::PayloadTooLarge>().is_some() {
        ApiError::TooLarge(Msg::new("request body too large", "请求体过大"))
    } else {
        ApiError::not_found("no such endpoint", "接口不存在")
    };
    error_response(lang, &e)
}
