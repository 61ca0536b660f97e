//! The realtime core's metrics (issue 18), through the `metrics` facade: whoever installs a
//! recorder (the server's `/metrics`) gets them; without one they cost a branch. Counted where a
//! unit of work ends — a pass, a batch, a socket — never per delivery: a pass tallies what it
//! wrote in its own [`crate::remote::Forwards`] and adds it once.

use crate::wire::frames::Dialect;

fn dialect(d: Dialect) -> &'static str {
    match d {
        Dialect::Rich => "rich",
        Dialect::Compact => "compact",
    }
}

/// A socket was opened (authenticated and upgraded).
pub fn socket_opened(d: Dialect) {
    metrics::counter!("chatd_sockets_opened_total", "dialect" => dialect(d)).increment(1);
    metrics::gauge!("chatd_connections_open", "dialect" => dialect(d)).increment(1.0);
}

/// A socket ended, with the close code the server sent (`none`: the client closed or vanished).
pub fn socket_closed(d: Dialect, code: Option<u16>) {
    let code = match code {
        Some(c) => close_label(c),
        None => "none",
    };
    metrics::counter!("chatd_sockets_closed_total", "code" => code).increment(1);
    metrics::gauge!("chatd_connections_open", "dialect" => dialect(d)).decrement(1.0);
}

/// A fixed label per close code the server sends, so labels stay bounded.
fn close_label(code: u16) -> &'static str {
    match code {
        1000 => "1000",
        1001 => "1001",
        1002 => "1002",
        1007 => "1007",
        1008 => "1008",
        1009 => "1009",
        1011 => "1011",
        1013 => "1013",
        4001 => "4001",
        _ => "other",
    }
}

/// A text frame came in from a client.
pub fn frame_in(d: Dialect) {
    metrics::counter!("chatd_frames_in_total", "dialect" => dialect(d)).increment(1);
}

/// One routing unit (a group pass, a single chat's targets) ended: `live` messages written to
/// sockets here, `remote` handed to other nodes, `offline` for recipients connected nowhere (they
/// stay in history, above the recipient's position: the offline backlog).
pub fn routed(live: u64, remote: u64, offline: u64) {
    if live > 0 {
        metrics::counter!("chatd_deliveries_total", "path" => "live").increment(live);
    }
    if remote > 0 {
        metrics::counter!("chatd_deliveries_total", "path" => "other_node").increment(remote);
    }
    if offline > 0 {
        metrics::counter!("chatd_deliveries_total", "path" => "offline").increment(offline);
    }
}

/// A group's fan-out pass took `secs` for `messages` messages.
pub fn fanout_pass(secs: f64) {
    metrics::histogram!("chatd_fanout_pass_seconds").record(secs);
}

/// The writer stored a batch of `size` messages in `secs`.
pub fn write_batch(size: usize, secs: f64) {
    metrics::histogram!("chatd_store_write_batch_size").record(size as f64);
    metrics::histogram!("chatd_store_write_batch_seconds").record(secs);
}

/// The flusher wrote `rows` delivered positions in `secs`.
pub fn positions_flush(rows: usize, secs: f64) {
    metrics::histogram!("chatd_positions_flush_rows").record(rows as f64);
    metrics::histogram!("chatd_positions_flush_seconds").record(secs);
}

/// An offline replay (or pull) sent `messages` messages.
pub fn replayed(messages: usize) {
    metrics::counter!("chatd_offline_replays_total").increment(1);
    metrics::counter!("chatd_offline_replayed_messages_total").increment(messages as u64);
}
