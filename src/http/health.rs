//! `GET /healthz` (the process is up) and `GET /readyz` (the database answers).

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
        .and(with_app(app))
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
                    json_response(
                        StatusCode::SERVICE_UNAVAILABLE,
                        &json!({"status": "unavailable"}),
                    )
                }
            }
        });
    healthz.or(readyz).unify().boxed()
}
