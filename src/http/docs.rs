//! `GET /api/openapi.json` (the document, `crate::openapi`) and `GET /api/docs` (Swagger UI,
//! vendored in the binary: the page and its assets come from this server, nothing from a CDN).

use std::sync::{Arc, OnceLock};
use utoipa_swagger_ui::Config;
use warp::http::{header, StatusCode};
use warp::reply::Response;
use warp::{Filter, Reply};

fn config() -> Arc<Config<'static>> {
    static CONFIG: OnceLock<Arc<Config<'static>>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            // No validator badge: it would fetch from swagger.io, and the page works offline.
            Arc::new(Config::new(["/api/openapi.json"]).validator_url("none"))
        })
        .clone()
}

fn not_found() -> Response {
    StatusCode::NOT_FOUND.into_response()
}

/// One file of the page; the page itself at `/api/docs/`.
fn asset(full: &str, tail: &str) -> Response {
    // Relative links in the page need the trailing slash.
    if full == "/api/docs" {
        return warp::http::Response::builder()
            .status(StatusCode::MOVED_PERMANENTLY)
            .header(header::LOCATION, "/api/docs/")
            .body(Default::default())
            .unwrap_or_else(|_| not_found());
    }
    match utoipa_swagger_ui::serve(tail, config()) {
        Ok(Some(file)) => warp::http::Response::builder()
            .header(header::CONTENT_TYPE, file.content_type)
            .header(header::CACHE_CONTROL, "public, max-age=3600")
            .body(file.bytes.into_owned().into())
            .unwrap_or_else(|_| not_found()),
        Ok(None) => not_found(),
        Err(e) => {
            tracing::error!(error = %e, "the documentation page cannot be served");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

pub fn routes() -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    let document = warp::path!("api" / "openapi.json")
        .and(warp::get())
        .map(|| {
            warp::reply::with_header(
                crate::openapi::json(),
                header::CONTENT_TYPE,
                "application/json",
            )
            .into_response()
        });
    let page = warp::path("api")
        .and(warp::path("docs"))
        .and(warp::get())
        .and(warp::path::full())
        .and(warp::path::tail())
        .map(|full: warp::path::FullPath, tail: warp::path::Tail| {
            asset(full.as_str(), tail.as_str())
        });
    document.or(page).unify().boxed()
}
