//! History and sync: what makes "nothing lost" checkable.

use crate::helpers::*;
use crate::on_both;
use reqwest::StatusCode;

on_both!(history_pages_by_seq, sync_catches_up_with_a_cursor);

async fn history_pages_by_seq(b: Backend) {
    let app = TestApp::spawn(b).await;
    let a = app.register("hsa").await;
    let z = app.register("hsz").await;
    app.befriend(&a, &z).await;
    for i in 0..5 {
        let (from, to) = if i % 2 == 0 { (&a, &z) } else { (&z, &a) };
        let (s, body) = app.send(from, to, &format!("h{i}")).await;
        ok_data(s, &body);
    }
    let (s, body) = app
        .get(
            &format!("/api/chat/history?chatType=single&id={}&limit=2", z.id),
            Some(&a.token),
        )
        .await;
    let page = ok_data(s, &body);
    let seqs: Vec<i64> = page["list"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["seq"].as_i64())
        .collect();
    assert_eq!(seqs, vec![5, 4]);
    assert_eq!(page["next_before_seq"], 4);
    let (s, body) = app
        .get(
            &format!(
                "/api/chat/history?chatType=single&id={}&limit=10&before_seq=4",
                a.id
            ),
            Some(&z.token),
        )
        .await;
    let page = ok_data(s, &body);
    let seqs: Vec<i64> = page["list"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["seq"].as_i64())
        .collect();
    assert_eq!(seqs, vec![3, 2, 1]);
    assert!(page["next_before_seq"].is_null());
    let (s, body) = app
        .get(
            &format!("/api/chat/history?chatType=single&id={}&limit=201", z.id),
            Some(&a.token),
        )
        .await;
    fail(s, &body, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, body) = app
        .get("/api/chat/history?chatType=group&id=1", Some(&a.token))
        .await;
    fail(s, &body, StatusCode::FORBIDDEN);
}

async fn sync_catches_up_with_a_cursor(b: Backend) {
    let app = TestApp::spawn(b).await;
    let a = app.register("sya").await;
    let z = app.register("syz").await;
    let other = app.register("syo").await;
    app.befriend(&a, &z).await;
    app.befriend(&a, &other).await;
    app.send(&a, &z, "s1").await;
    app.send(&z, &a, "s2").await;
    app.send(&a, &other, "not for z").await;
    let (s, body) = app.get("/api/chat/sync?limit=1", Some(&z.token)).await;
    let first = ok_data(s, &body);
    assert_eq!(first["list"][0]["data"], "s1");
    let cursor = first["cursor"].as_str().unwrap().to_string();
    let (s, body) = app
        .get(&format!("/api/chat/sync?since={cursor}"), Some(&z.token))
        .await;
    let rest = ok_data(s, &body);
    let datas: Vec<&str> = rest["list"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["data"].as_str())
        .collect();
    assert_eq!(datas, vec!["s2"]);
    let cursor2 = rest["cursor"].as_str().unwrap().to_string();
    let (s, body) = app
        .get(&format!("/api/chat/sync?since={cursor2}"), Some(&z.token))
        .await;
    let empty = ok_data(s, &body);
    assert_eq!(empty["list"].as_array().map(Vec::len), Some(0));
    assert_eq!(empty["cursor"], cursor2.as_str());
    // A time works as `since` too.
    let (s, body) = app.get("/api/chat/sync?since=0", Some(&z.token)).await;
    assert_eq!(ok_data(s, &body)["list"].as_array().map(Vec::len), Some(2));
    let (s, body) = app
        .get("/api/chat/sync?since=garbage", Some(&z.token))
        .await;
    fail(s, &body, StatusCode::UNPROCESSABLE_ENTITY);
}
