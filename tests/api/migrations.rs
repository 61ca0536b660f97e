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
