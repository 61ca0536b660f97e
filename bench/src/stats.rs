//! What one receiving connection saw, and how a run's receivers add up: deliveries, latency
//! percentiles, lost, duplicated and reordered messages. Pure code, unit-tested; the load
//! generator feeds it from its socket tasks.

/// The payload a publisher sends: `lg:<seq>:<sent µs>:` padded with `x` to `size` bytes. Warm-up
/// messages use `wu:` and are not counted.
pub fn payload(seq: u32, sent_us: u64, size: usize) -> String {
    let mut s = format!("lg:{seq}:{sent_us}:");
    while s.len() < size {
        s.push('x');
    }
    s
}

pub fn warmup(k: u32) -> String {
    format!("wu:{k}:")
}

/// What a received frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    Message { seq: u32, sent_us: u64 },
    Warmup(u32),
    Other,
}

/// The decimal number at the start of `s` and what follows it.
fn number(s: &[u8]) -> Option<(u64, &[u8])> {
    let end = s.iter().position(|c| !c.is_ascii_digit())?;
    if end == 0 || end > 19 {
        return None;
    }
    let n = s[..end]
        .iter()
        .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
    Some((n, &s[end..]))
}

/// Finds the load generator's marker in a server frame without parsing the JSON: the content is
/// the only place `lg:` or `wu:` can appear (ids and timestamps are numbers), and this runs once
/// per delivery on the load generator's own core.
pub fn parse_frame(frame: &[u8]) -> Seen {
    if let Some(i) = memchr::memmem::find(frame, b"\"lg:") {
        if let Some((seq, rest)) = number(&frame[i + 4..]) {
            if let (Ok(seq), Some((sent_us, _))) =
                (u32::try_from(seq), rest.strip_prefix(b":").and_then(number))
            {
                return Seen::Message { seq, sent_us };
            }
        }
    } else if let Some(i) = memchr::memmem::find(frame, b"\"wu:") {
        if let Some((k, _)) = number(&frame[i + 4..]) {
            if let Ok(k) = u32::try_from(k) {
                return Seen::Warmup(k);
            }
        }
    }
    Seen::Other
}

/// One receiver's record of a run with `total` messages.
#[derive(Debug, Clone)]
pub struct Track {
    seen: Vec<u64>,
    max_seq: Option<u32>,
    pub delivered: u64,
    pub duplicates: u64,
    pub reordered: u64,
    /// Latency of each first delivery, µs.
    pub latencies_us: Vec<u32>,
}

impl Track {
    pub fn new(total: u32) -> Track {
        Track {
            seen: vec![0; (total as usize).div_ceil(64)],
            max_seq: None,
            delivered: 0,
            duplicates: 0,
            reordered: 0,
            latencies_us: Vec::new(),
        }
    }

    /// Records a delivery; `true` when it is the first of `seq` here (it counts towards the
    /// message being complete).
    pub fn record(&mut self, seq: u32, latency_us: u64) -> bool {
        let (word, bit) = ((seq / 64) as usize, 1u64 << (seq % 64));
        let Some(w) = self.seen.get_mut(word) else {
            return false;
        };
        if *w & bit != 0 {
            self.duplicates += 1;
            return false;
        }
        *w |= bit;
        self.delivered += 1;
        if self.max_seq.is_some_and(|m| seq < m) {
            self.reordered += 1;
        }
        self.max_seq = Some(self.max_seq.map_or(seq, |m| m.max(seq)));
        self.latencies_us
            .push(u32::try_from(latency_us).unwrap_or(u32::MAX));
        true
    }
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Latency {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

/// The nearest-rank percentile of sorted values (`p` in 0..=100).
pub fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    // The epsilon keeps 99.9% of 1000 at rank 999 despite floating-point error.
    let rank = ((p / 100.0) * sorted.len() as f64 - 1e-9).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The sum of all receivers' tracks.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Totals {
    pub expected: u64,
    pub delivered: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub reordered: u64,
    pub latency: Latency,
}

pub fn totals(tracks: Vec<Track>, messages: u32) -> Totals {
    let (mut t, latencies) = gather(tracks, messages);
    t.finish(latencies);
    t
}

/// The receivers' counts added up (nothing lost yet, no percentiles: [`Totals::finish`] makes
/// those), and every first delivery's latency.
pub fn gather(tracks: Vec<Track>, messages: u32) -> (Totals, Vec<u32>) {
    let mut t = Totals {
        expected: tracks.len() as u64 * u64::from(messages),
        ..Totals::default()
    };
    let mut all: Vec<u32> = Vec::new();
    for tr in tracks {
        t.delivered += tr.delivered;
        t.duplicated += tr.duplicates;
        t.reordered += tr.reordered;
        all.extend(tr.latencies_us);
    }
    (t, all)
}

impl Totals {
    /// Adds another process's counts (a slice of the same run's receivers).
    pub fn add(&mut self, other: &Totals) {
        self.expected += other.expected;
        self.delivered += other.delivered;
        self.duplicated += other.duplicated;
        self.reordered += other.reordered;
    }

    /// Sets what is lost and the latency percentiles from every first delivery's latency.
    pub fn finish(&mut self, mut latencies_us: Vec<u32>) {
        self.lost = self.expected.saturating_sub(self.delivered);
        latencies_us.sort_unstable();
        let ms = |us: u32| f64::from(us) / 1000.0;
        self.latency = Latency {
            p50_ms: ms(percentile(&latencies_us, 50.0)),
            p99_ms: ms(percentile(&latencies_us, 99.0)),
            p999_ms: ms(percentile(&latencies_us, 99.9)),
            max_ms: ms(latencies_us.last().copied().unwrap_or(0)),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_has_the_size_and_parses_back_from_both_frame_shapes() {
        let p = payload(42, 123_456, 100);
        assert_eq!(p.len(), 100);
        let chatd = format!(
            r#"{{"type":"multicast","senderId":"7","groupId":"3","content":"{p}","timestamp":1}}"#
        );
        let peer = format!(
            r#"{{"type":"multicast","senderId":"7","groupId":"3","content":"{p}","timestamp":1}}"#
        );
        for f in [chatd, peer] {
            assert_eq!(
                parse_frame(f.as_bytes()),
                Seen::Message {
                    seq: 42,
                    sent_us: 123_456
                }
            );
        }
        assert_eq!(
            parse_frame(format!(r#"{{"content":"{}"}}"#, warmup(3)).as_bytes()),
            Seen::Warmup(3)
        );
        assert_eq!(parse_frame(br#"{"type":"pong"}"#), Seen::Other);
        assert_eq!(parse_frame(br#"{"content":"lg:x"}"#), Seen::Other);
    }

    #[test]
    fn track_counts_duplicates_and_reordering() {
        let mut t = Track::new(100);
        assert!(t.record(0, 10));
        assert!(t.record(2, 10));
        assert!(t.record(1, 10)); // arrives after 2: reordered
        assert!(!t.record(2, 10)); // again: duplicate
        assert!(!t.record(500, 10)); // beyond the run: ignored
        assert_eq!((t.delivered, t.duplicates, t.reordered), (3, 1, 1));
        let sum = totals(vec![t, Track::new(100)], 3);
        assert_eq!(sum.expected, 6);
        assert_eq!(sum.lost, 3);
        assert_eq!(sum.duplicated, 1);
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let v: Vec<u32> = (1..=1000).collect();
        assert_eq!(percentile(&v, 50.0), 500);
        assert_eq!(percentile(&v, 99.0), 990);
        assert_eq!(percentile(&v, 99.9), 999);
        assert_eq!(percentile(&v, 100.0), 1000);
        assert_eq!(percentile(&[], 50.0), 0);
    }
}
