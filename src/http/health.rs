//! `GET /healthz` (the process is up), `GET /readyz` (the database answers and can write) and `GET /metrics`
//! (Prometheus).

use serde_json::json;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Filter;

use crate::http::{json_response, with_app};
use crate::state::App;

pub fn routes(app: App) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    let healthz = warp::path!("healthz")
        .and(warp::get())
        .map(|| json_response(StatusCode::OK, &json!({"status": "ok"})));
    let readyz = warp::path!("readyz")
        .and(warp::get())
        .and(with_app(app.clone()))
        .then(|app: App| async move {
            match crate::ops::health::ready(&app).await {
                Ok(_) => {
                    let mut body = json!({"status": "ready"});
                    if let Some(state) = crate::ops::health::cluster_state(&app) {
                        body["cluster"] = json!(state);
                    }
                    json_response(StatusCode::OK, &body)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "readiness check failed");
                    let mut body = json!({"status": "unavailable"});
                    if matches!(e, crate::error::ApiError::StorageFull(_)) {
                        body["reason"] = json!("storage full");
                    }
                    json_response(StatusCode::SERVICE_UNAVAILABLE, &body)
                }
            }
        });
    let metrics = warp::path!("metrics")
        .and(warp::get())
        .and(warp::header::optional::<String>("authorization"))
        .and(with_app(app))
        .map(|auth: Option<String>, app: App| metrics(&app, auth.as_deref()));
    healthz.or(readyz).unify().or(metrics).unify().boxed()
}

/// `GET /metrics`: the Prometheus text format; with `CHAT_METRICS_TOKEN` set, only for
/// `Authorization: Bearer <token>` (compared in constant time).
fn metrics(app: &App, auth: Option<&str>) -> Response {
    if let Some(token) = &app.cfg.metrics_token {
        let given = auth.and_then(|a| a.strip_prefix("Bearer ")).unwrap_or("");
        let same: bool = subtle::ConstantTimeEq::ct_eq(given.as_bytes(), token.as_bytes()).into();
        if !same {
            return json_response(
                StatusCode::UNAUTHORIZED,
                &json!({"msg": "fail", "data": "metrics need the bearer token"}),
            );
        }
    }
    let body = app.metrics.as_ref().map(|h| h.render()).unwrap_or_default();
    let mut resp = Response::new(body.into());
    resp.headers_mut().insert(
        warp::http::header::CONTENT_TYPE,
        warp::http::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}
