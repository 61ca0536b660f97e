//! `GET /app/`: the web client (`web/`: plain HTML, CSS and ES modules, no build step), built
//! into the binary. It talks to the public API only (REST and `/ws`, rich dialect).

use warp::http::{header, StatusCode};
use warp::reply::Response;
use warp::{Filter, Reply};

/// The client's files: name, content type, content.
const FILES: &[(&str, &str, &str)] = &[
    (
        "index.html",
        "text/html; charset=utf-8",
        include_str!("../../web/index.html"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/app.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../../web/style.css"),
    ),
];

fn file(full: &str, tail: &str) -> Response {
    // The page's relative links need the trailing slash.
    if full == "/app" {
        return warp::redirect::permanent(warp::http::Uri::from_static("/app/")).into_response();
    }
    let name = if tail.is_empty() { "index.html" } else { tail };
    match FILES.iter().find(|(n, _, _)| *n == name) {
        Some((_, kind, body)) => {
            warp::reply::with_header(*body, header::CONTENT_TYPE, *kind).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

pub fn routes() -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    warp::path("app")
        .and(warp::get())
        .and(warp::path::full())
        .and(warp::path::tail())
        .map(|full: warp::path::FullPath, tail: warp::path::Tail| {
            file(full.as_str(), tail.as_str())
        })
        .boxed()
}
