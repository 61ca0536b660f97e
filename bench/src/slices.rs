//! One group's receivers spread over several load-generator processes. A process may hold at most
//! 20,000 open files on the machines here, so a 100,000-member group needs six or more of them:
//! `--slices S` runs S receiving processes (`--slice 1..=S`) and one publisher (`--slice 0`).
//!
//! They meet in a directory (`--sync`, a fresh one per run) through files, each written whole
//! under a temporary name and renamed into place, so a reader never sees half of one:
//! - `connected.K`: slice K has opened its sockets (the publisher starts its warm-ups then);
//! - `ready.K`: a warm-up reached every socket of slice K, so the server routes to all of them;
//! - `published`: the publisher's first send time; the run's messages are on their way;
//! - `result.K` (JSON) and `result.K.lat`: what slice K counted, and the latency of every first
//!   delivery (little-endian `u32` µs), merged by the publisher into one report.
//!
//! Send times are read on the wall clock ([`crate::conn::now_us`]), the one clock every process
//! on the machine shares.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::stats::Totals;

/// Which process holds member `i` of a group (the first member publishes, from slice 0): the
/// others go round the receiving slices, so each holds every S-th member.
pub fn slice_of(i: usize, slices: usize) -> usize {
    match i {
        0 => 0,
        i => 1 + (i - 1) % slices.max(1),
    }
}

/// What one receiving slice counted.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SliceResult {
    pub slice: usize,
    pub receivers: u32,
    pub totals: Totals,
    /// Wall-clock µs of the slice's last first delivery.
    pub last_delivery_us: u64,
    /// The slice's own CPU seconds from the publisher's first send to its last delivery.
    pub cpu_s: Option<f64>,
    /// How long each of its connections took to open, µs.
    pub connect_us: Vec<u32>,
}

/// All slices' results together.
#[derive(Debug, Clone)]
pub struct Merged {
    pub totals: Totals,
    pub receivers: u32,
    pub last_delivery_us: u64,
    pub cpu_s: f64,
    /// Every slice's connect times, sorted.
    pub connect_us: Vec<u32>,
}

pub struct SyncDir(PathBuf);

impl SyncDir {
    /// The run's directory; made when absent. One a run has published in is refused: its files
    /// would be taken for this run's.
    pub fn open(dir: &Path) -> Result<SyncDir> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let d = SyncDir(dir.to_path_buf());
        if d.has("published") {
            bail!(
                "{} holds an earlier run's files: use a fresh directory",
                dir.display()
            );
        }
        Ok(d)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    pub fn has(&self, name: &str) -> bool {
        self.path(name).exists()
    }

    /// Writes `name` whole: under a temporary name first, then renamed into place.
    pub fn put(&self, name: &str, body: &[u8]) -> Result<()> {
        let tmp = self.path(&format!(".{name}.tmp"));
        std::fs::write(&tmp, body).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, self.path(name))?;
        Ok(())
    }

    pub fn get(&self, name: &str) -> Result<Vec<u8>> {
        let p = self.path(name);
        std::fs::read(&p).with_context(|| format!("reading {}", p.display()))
    }

    /// Whether `<what>.1` … `<what>.S` are all there.
    pub fn all(&self, what: &str, slices: usize) -> bool {
        (1..=slices).all(|k| self.has(&format!("{what}.{k}")))
    }

    /// Waits until `name` is there, at most `timeout`.
    pub async fn wait_for(&self, name: &str, timeout: Duration) -> Result<()> {
        let until = Instant::now() + timeout;
        while !self.has(name) {
            if Instant::now() > until {
                bail!("{name} did not appear within {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// Waits until every slice has written `<what>.K`, at most `timeout`.
    pub async fn wait_all(&self, what: &str, slices: usize, timeout: Duration) -> Result<()> {
        let until = Instant::now() + timeout;
        while !self.all(what, slices) {
            if Instant::now() > until {
                let missing: Vec<usize> = (1..=slices)
                    .filter(|k| !self.has(&format!("{what}.{k}")))
                    .collect();
                bail!("{what}: slices {missing:?} did not report within {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// Slice `r.slice`'s result and its latencies (the latencies first: the JSON's arrival says
    /// both are there).
    pub fn put_result(&self, r: &SliceResult, latencies_us: &[u32]) -> Result<()> {
        let lat: Vec<u8> = latencies_us.iter().flat_map(|l| l.to_le_bytes()).collect();
        self.put(&format!("result.{}.lat", r.slice), &lat)?;
        self.put(&format!("result.{}", r.slice), &serde_json::to_vec(r)?)
    }

    /// Every slice's result, added up; the percentiles over all slices' latencies.
    pub fn merge(&self, slices: usize) -> Result<Merged> {
        let mut totals = Totals::default();
        let mut all = Vec::new();
        let mut m = Merged {
            totals: Totals::default(),
            receivers: 0,
            last_delivery_us: 0,
            cpu_s: 0.0,
            connect_us: Vec::new(),
        };
        for k in 1..=slices {
            let r: SliceResult = serde_json::from_slice(&self.get(&format!("result.{k}"))?)?;
            totals.add(&r.totals);
            m.receivers += r.receivers;
            m.last_delivery_us = m.last_delivery_us.max(r.last_delivery_us);
            m.cpu_s += r.cpu_s.unwrap_or(0.0);
            m.connect_us.extend(r.connect_us);
            let lat = self.get(&format!("result.{k}.lat"))?;
            if lat.len() % 4 != 0 {
                bail!("result.{k}.lat is cut short");
            }
            all.extend(
                lat.chunks_exact(4)
                    .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            );
        }
        totals.finish(all);
        m.totals = totals;
        m.connect_us.sort_unstable();
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_publisher_is_alone_and_the_members_go_round_the_slices() {
        assert_eq!(slice_of(0, 6), 0);
        let counts = (1..100_000).fold([0usize; 7], |mut c, i| {
            c[slice_of(i, 6)] += 1;
            c
        });
        assert_eq!(counts[0], 0);
        // 99,999 receivers over six slices: 16,667 or 16,666 each.
        assert!(counts[1..].iter().all(|&n| n == 16_666 || n == 16_667));
        assert_eq!(counts.iter().sum::<usize>(), 99_999);
    }

    #[test]
    fn results_merge_into_one_run() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let d = SyncDir::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let part = |slice, delivered, lat: Vec<u32>, last| {
            let r = SliceResult {
                slice,
                receivers: 2,
                totals: Totals {
                    expected: 20,
                    delivered,
                    duplicated: 1,
                    ..Totals::default()
                },
                last_delivery_us: last,
                cpu_s: Some(0.5),
                connect_us: vec![slice as u32],
            };
            d.put_result(&r, &lat).unwrap_or_else(|e| panic!("{e}"));
        };
        part(1, 20, (1..=20).map(|l| l * 1000).collect(), 7);
        assert!(!d.all("result", 2));
        part(2, 19, (21..=39).map(|l| l * 1000).collect(), 9);
        assert!(d.all("result", 2));
        let m = d.merge(2).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.receivers, 4);
        assert_eq!(m.last_delivery_us, 9);
        assert_eq!(m.cpu_s, 1.0);
        assert_eq!(m.connect_us, vec![1, 2]);
        assert_eq!(m.totals.expected, 40);
        assert_eq!(m.totals.delivered, 39);
        assert_eq!(m.totals.lost, 1);
        assert_eq!(m.totals.duplicated, 2);
        assert_eq!(m.totals.latency.p50_ms, 20.0);
        assert_eq!(m.totals.latency.max_ms, 39.0);
    }

    #[test]
    fn a_directory_an_earlier_run_published_in_is_refused() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let d = SyncDir::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        d.put("published", b"{}").unwrap_or_else(|e| panic!("{e}"));
        assert!(SyncDir::open(dir.path()).is_err());
    }
}
