//! Rendering a pushed message once per dialect (rich `singleChat`, compact `multicast`). Fan-out
//! shares these bytes, so this is paid once per message, not per recipient (offline replay pays
//! it once per replayed message).

mod support;

use chatd_actors::wire::push::{compact_frame, rich_frame, Push};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;

fn frames(c: &mut Criterion) {
    let mut g = c.benchmark_group("frames");
    for size in [100usize, 4096] {
        let m = support::group_message(size);
        let payload = m.to_string();
        g.throughput(Throughput::Bytes(payload.len() as u64));
        g.bench_with_input(BenchmarkId::new("rich", size), &payload, |b, p| {
            b.iter(|| rich_frame(black_box(p), 1_763_880_000_001))
        });
        g.bench_with_input(BenchmarkId::new("compact", size), &m, |b, m| {
            b.iter(|| compact_frame(black_box(m)).to_string())
        });
        g.bench_with_input(BenchmarkId::new("both_dialects", size), &m, |b, m| {
            b.iter(|| Push::message(black_box(m), 1_763_880_000_001))
        });
    }
    g.finish();
}

criterion_group!(benches, frames);
criterion_main!(benches);
