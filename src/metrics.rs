//! Prometheus metrics (issue 18, SPEC §8): one recorder per process (the `metrics` facade and
//! `metrics-exporter-prometheus`), rendered by `GET /metrics`. The realtime core counts its own
//! (`chatd_actors::metrics`: sockets, frames, deliveries, passes, write batches, replays); this
//! module adds what the server sees: HTTP requests by route *template* (never a raw path: a
//! client could otherwise mint unbounded label values), messages accepted, Redis errors, ffmpeg.

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process's recorder once (every application in a test process shares it) and
/// returns its handle; `None` when another recorder was installed first.
pub fn install() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.000_1, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                    1.0, 2.5, 5.0, 10.0,
                ])
                .ok()?
                .set_buckets_for_metric(
                    metrics_exporter_prometheus::Matcher::Full(
                        "chatd_store_write_batch_size".into(),
                    ),
                    &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0],
                )
                .ok()?
                .set_buckets_for_metric(
                    metrics_exporter_prometheus::Matcher::Full("chatd_positions_flush_rows".into()),
                    &[10.0, 100.0, 1_000.0, 10_000.0, 100_000.0],
                )
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            describe();
            // Histogram samples wait in buckets until drained; without a scrape they would grow
            // for ever, so drain them every few seconds whoever scrapes.
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || loop {
                    std::thread::sleep(std::time::Duration::from_secs(5));
                    upkeep.run_upkeep();
                })
                .ok()?;
            Some(handle)
        })
        .clone()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_gauge!(
        "chatd_connections_open",
        "WebSocket connections open, by dialect"
    );
    describe_counter!("chatd_sockets_opened_total", "WebSocket connections opened");
    describe_counter!(
        "chatd_sockets_closed_total",
        "WebSocket connections ended, by the close code the server sent (none: the client's)"
    );
    describe_counter!("chatd_frames_in_total", "Text frames received from clients");
    describe_counter!(
        "chatd_messages_accepted_total",
        "Messages stored, by chat type and transport"
    );
    describe_counter!(
        "chatd_deliveries_total",
        "Message deliveries: live (written to a socket here), other_node (handed to the node \
         holding the recipient), offline (recipient connected nowhere: left for the backlog)"
    );
    describe_histogram!(
        "chatd_fanout_pass_seconds",
        Unit::Seconds,
        "One group fan-out pass"
    );
    describe_histogram!(
        "chatd_store_write_batch_size",
        Unit::Count,
        "Messages per store write batch"
    );
    describe_histogram!(
        "chatd_store_write_batch_seconds",
        Unit::Seconds,
        "One store write batch"
    );
    describe_histogram!(
        "chatd_positions_flush_rows",
        Unit::Count,
        "Delivered positions written by one periodic flush"
    );
    describe_histogram!(
        "chatd_positions_flush_seconds",
        Unit::Seconds,
        "One periodic flush of delivered positions (SQLite: in short transactions, between \
         message batches)"
    );
    describe_counter!("chatd_offline_replays_total", "Offline replays and pulls");
    describe_counter!(
        "chatd_offline_replayed_messages_total",
        "Messages sent by offline replays and pulls"
    );
    describe_counter!(
        "chatd_http_requests_total",
        "HTTP requests, by route template, method and status"
    );
    describe_histogram!(
        "chatd_http_request_seconds",
        Unit::Seconds,
        "HTTP request latency, by route template"
    );
    describe_counter!(
        "chatd_redis_errors_total",
        "Failed Redis calls, by component"
    );
    describe_counter!("chatd_ffmpeg_runs_total", "ffmpeg runs, by outcome");
}

/// One HTTP request answered.
pub fn http_request(method: &hyper::Method, path: &str, status: u16, secs: f64) {
    let route = route_template(path);
    let method = match *method {
        hyper::Method::GET => "GET",
        hyper::Method::POST => "POST",
        hyper::Method::PUT => "PUT",
        hyper::Method::DELETE => "DELETE",
        hyper::Method::HEAD => "HEAD",
        _ => "other",
    };
    metrics::counter!("chatd_http_requests_total", "route" => route, "method" => method,
        "status" => status_label(status))
    .increment(1);
    metrics::histogram!("chatd_http_request_seconds", "route" => route).record(secs);
}

/// A message was stored (not a repeat of an earlier `client_msg_id`).
pub fn message_accepted(group: bool, transport: &'static str) {
    let chat_type = if group { "group" } else { "single" };
    metrics::counter!("chatd_messages_accepted_total", "chat_type" => chat_type,
        "transport" => transport)
    .increment(1);
}

/// A Redis call failed (`component`: cluster, limits).
pub fn redis_error(component: &'static str) {
    metrics::counter!("chatd_redis_errors_total", "component" => component).increment(1);
}

/// ffmpeg ran for a screenshot (`outcome`: ok, failed, timeout).
pub fn ffmpeg_run(outcome: &'static str) {
    metrics::counter!("chatd_ffmpeg_runs_total", "outcome" => outcome).increment(1);
}

fn status_label(status: u16) -> &'static str {
    match status {
        200 => "200",
        204 => "204",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        405 => "405",
        408 => "408",
        409 => "409",
        413 => "413",
        415 => "415",
        422 => "422",
        429 => "429",
        500 => "500",
        503 => "503",
        s if s < 300 => "2xx",
        s if s < 400 => "3xx",
        s if s < 500 => "4xx",
        _ => "5xx",
    }
}

/// Every route the router serves, `{}` standing for one path segment (an id, a page, a name):
/// the paths of the API's operation list (`openapi::endpoints::OPS`, which the tests hold to the
/// router). A path matching none is `unmatched`.
pub fn routes() -> &'static [String] {
    static ROUTES: OnceLock<Vec<String>> = OnceLock::new();
    ROUTES.get_or_init(crate::openapi::endpoints::templates)
}

/// The template of `path` among [`routes`] (uploads served under `/public/uploads/` are one
/// route), or `unmatched`.
pub fn route_template(path: &str) -> &'static str {
    if path.starts_with("/public/uploads/") {
        return "/public/uploads/{}";
    }
    let path = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    routes()
        .iter()
        .find(|t| {
            let mut want = t.split('/');
            let mut got = path.split('/');
            loop {
                match (want.next(), got.next()) {
                    (None, None) => return true,
                    (Some("{}"), Some(g)) if !g.is_empty() => {}
                    (Some(w), Some(g)) if w == g => {}
                    _ => return false,
                }
            }
        })
        .map(String::as_str)
        .unwrap_or("unmatched")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_their_templates() {
        assert_eq!(
            route_template("/api/chat/groupinfo/42"),
            "/api/chat/groupinfo/{}"
        );
        assert_eq!(route_template("/api/loginChat"), "/api/loginChat");
        assert_eq!(route_template("/api/chat/groupinfo/"), "unmatched");
        assert_eq!(route_template("/api/chat/groupinfo/1/2"), "unmatched");
        assert_eq!(route_template("/wp-admin/x.php"), "unmatched");
        assert_eq!(
            route_template("/public/uploads/a/b.png"),
            "/public/uploads/{}"
        );
        assert_eq!(route_template("/healthz/"), "/healthz");
    }
}
