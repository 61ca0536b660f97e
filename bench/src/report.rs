//! A run's result: one JSON line (for scripts and BENCHMARKS.md) and a table for people.

use serde::Serialize;

use crate::stats::Totals;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub server: String,
    pub mode: String,
    /// Group members (fanout) or connections (idle).
    pub members: usize,
    pub messages: u32,
    pub window: Option<u64>,
    pub rate: Option<f64>,
    pub payload: usize,
    pub deliveries_per_sec: f64,
    #[serde(flatten)]
    pub totals: Totals,
    pub publish_s: f64,
    pub connect_s: f64,
    pub connect_p50_ms: f64,
    pub connect_p99_ms: f64,
    pub rss_kib: Option<u64>,
    pub rss_per_conn_kib: Option<f64>,
    /// CPU seconds the server (`--pid`) used from the first published message to the last
    /// delivery: the fan-out's cost alone, connecting and set-up left out.
    pub publish_server_cpu_s: Option<f64>,
    /// The same for the load generator itself, so a reader sees whether the client was the limit.
    pub publish_loadgen_cpu_s: Option<f64>,
}

/// User + system CPU seconds a process has used so far (Linux `/proc`; `self` for this one).
pub fn cpu_s(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_cpu(&stat)
}

/// Fields 14 and 15 (utime, stime) of a `/proc/PID/stat` line, in clock ticks of `USER_HZ`,
/// which Linux fixes at 100 for every user-space interface on every architecture it runs on.
fn parse_cpu(stat: &str) -> Option<f64> {
    // The command name (field 2) may hold spaces; the fields after it follow its last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}

/// Resident memory of a process, KiB (Linux `/proc`).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_rss(&status)
}

fn parse_rss(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

pub fn print_table(r: &Report) {
    let opt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.2}"));
    let rows: Vec<(&str, String)> = vec![
        ("server", r.server.clone()),
        ("mode", r.mode.clone()),
        ("members / connections", r.members.to_string()),
        ("messages", r.messages.to_string()),
        (
            "window / rate",
            match (r.window, r.rate) {
                (Some(w), _) => format!("window {w}"),
                (_, Some(rate)) => format!("{rate} msg/s"),
                _ => "-".into(),
            },
        ),
        ("deliveries/s", format!("{:.0}", r.deliveries_per_sec)),
        (
            "delivered / expected",
            format!("{} / {}", r.totals.delivered, r.totals.expected),
        ),
        (
            "lost / dup / reordered",
            format!(
                "{} / {} / {}",
                r.totals.lost, r.totals.duplicated, r.totals.reordered
            ),
        ),
        (
            "latency p50/p99/p999/max ms",
            format!(
                "{:.2} / {:.2} / {:.2} / {:.2}",
                r.totals.latency.p50_ms,
                r.totals.latency.p99_ms,
                r.totals.latency.p999_ms,
                r.totals.latency.max_ms
            ),
        ),
        (
            "connect total s / p50 / p99 ms",
            format!(
                "{:.2} / {:.2} / {:.2}",
                r.connect_s, r.connect_p50_ms, r.connect_p99_ms
            ),
        ),
        (
            "server RSS KiB",
            r.rss_kib.map_or("-".into(), |v| v.to_string()),
        ),
        ("RSS per connection KiB", opt(r.rss_per_conn_kib)),
        (
            "publishing CPU s server / loadgen",
            format!(
                "{} / {}",
                opt(r.publish_server_cpu_s),
                opt(r.publish_loadgen_cpu_s)
            ),
        ),
    ];
    for (k, v) in rows {
        eprintln!("{k:>32}  {v}");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_vmrss() {
        let s = "Name:\tchatd\nVmPeak:\t 100 kB\nVmRSS:\t   12345 kB\nThreads: 3\n";
        assert_eq!(super::parse_rss(s), Some(12345));
        assert_eq!(super::parse_rss("Name: x\n"), None);
    }

    #[test]
    fn reads_cpu_ticks_after_a_name_with_spaces() {
        let s = "42 (tokio rt) S 1 42 42 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 3 0";
        assert_eq!(super::parse_cpu(s), Some(3.25));
        assert_eq!(super::parse_cpu("42 (x) S 1"), None);
    }
}
