//! The message writer's store call: one transaction per batch (each message gets its
//! conversation's next seq). Embedded SQLite in a temporary directory, WAL, as `cargo run` uses.

mod support;

use chatd_schema::models::NewMessage;
use chatd_schema::Store;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn message(i: usize) -> NewMessage {
    NewMessage {
        uuid: format!("bench-{i}-{}", uuid_like(i)),
        conv_key: "g:1".into(),
        chat_type: "group".into(),
        msg_type: "text".into(),
        from_id: chatd_schema::UserId(7),
        to_id: 1,
        from_name: "Boss".into(),
        from_avatar: "/a.png".into(),
        to_name: "Team".into(),
        to_avatar: "/g.png".into(),
        data: "x".repeat(100),
        options: "{}".into(),
        extra: Some(r#"{"group":{"id":1,"name":"Team","avatar":"/g.png"}}"#.into()),
        client_msg_id: None,
        create_time: 1_763_880_000_000,
        audience: Vec::new(),
        private: false,
    }
}

fn uuid_like(i: usize) -> u128 {
    (i as u128).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835)
}

fn store(c: &mut Criterion) {
    let rt = support::runtime();
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("tempdir: {e}"),
    };
    let path = dir.path().join("bench.db");
    let store = match rt.block_on(Store::connect(&path.to_string_lossy())) {
        Ok(s) => s,
        Err(e) => panic!("store: {e}"),
    };
    let mut next = 0usize;
    let mut g = c.benchmark_group("store_insert_messages");
    for batch in [1usize, 16, 64, 256] {
        g.throughput(Throughput::Elements(batch as u64));
        g.bench_function(BenchmarkId::from_parameter(batch), |b| {
            b.iter_custom(|iters| {
                let msgs: Vec<Vec<NewMessage>> = (0..iters)
                    .map(|_| {
                        (0..batch)
                            .map(|_| {
                                next += 1;
                                message(next)
                            })
                            .collect()
                    })
                    .collect();
                rt.block_on(async {
                    let start = std::time::Instant::now();
                    for m in &msgs {
                        if let Err(e) = store.insert_messages(m).await {
                            panic!("insert: {e}");
                        }
                    }
                    start.elapsed()
                })
            })
        });
    }
    g.finish();
}

criterion_group!(benches, store);
criterion_main!(benches);
