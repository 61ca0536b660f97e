//! Both migration sets produce the same tables and columns (names and nullability).

use crate::helpers::fresh_pg_database;
use chatd_schema::Store;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_and_sqlite_schemas_match() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let sqlite = Store::connect(&format!("sqlite://{}", dir.path().join("m.db").display()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let pg = Store::connect(&fresh_pg_database().await)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let a = sqlite
        .describe_columns()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let b = pg
        .describe_columns()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(a.len() > 100, "the whole data model: {} columns", a.len());
    assert_eq!(a, b);
    // Running migrations again is a no-op.
    Store::connect(&format!("sqlite://{}", dir.path().join("m.db").display()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

/// Nodes started together on a fresh PostgreSQL database all come up: one runs the migrations
/// while the others wait for it, then find nothing pending.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_started_together_on_a_fresh_database_all_come_up() {
    let url = fresh_pg_database().await;
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { Store::connect(&url).await.map(|_| ()) })
        })
        .collect();
    for s in starts {
        let started = s.await.unwrap_or_else(|e| panic!("{e}"));
        assert!(started.is_ok(), "a node failed to start: {started:?}");
    }
    let store = Store::connect(&url).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(
        store
            .describe_columns()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .len()
            > 100
    );
}
