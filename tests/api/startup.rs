//! Issue 18, part 4: the real binary started with a bad setting exits non-zero and names what
//! failed and the option that sets it (passwords never shown); a good start names the data
//! directory and the database, without colour codes when the output is not a terminal; sockets
//! opening and closing are logged at debug with the user, the dialect and the close code.

use crate::helpers::unique;
use std::process::Output;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

/// `chatd` with only `vars` set (and a fresh data directory unless given), run to its exit.
async fn run_bad(vars: &[(&str, String)], cwd: &std::path::Path) -> Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_chatd"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .current_dir(cwd)
        .kill_on_drop(true);
    if !vars.iter().any(|(k, _)| *k == "CHAT_DATA_DIR") {
        cmd.env("CHAT_DATA_DIR", cwd.join("data"));
    }
    if !vars.iter().any(|(k, _)| *k == "CHAT_LISTEN") {
        cmd.env("CHAT_LISTEN", "127.0.0.1:0");
    }
    for (k, v) in vars {
        cmd.env(k, v);
    }
    tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("the server gives up instead of serving")
        .expect("the binary runs")
}

fn said(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_in_use_is_named() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let addr = taken.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let out = run_bad(&[("CHAT_LISTEN", addr.to_string())], dir.path()).await;
    let text = said(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains(&format!("cannot listen on {addr}")) && text.contains("CHAT_LISTEN"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_that_refuses_is_named_without_its_password() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let url = format!("redis://:hunter2secret@127.0.0.1:{}", free_port());
    let out = run_bad(&[("REDIS_URL", url)], dir.path()).await;
    let text = said(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("cannot connect to Redis") && text.contains("REDIS_URL"),
        "{text}"
    );
    assert!(
        !text.contains("hunter2secret"),
        "the password shown: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_directory_that_cannot_be_made_is_named() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = run_bad(&[("CHAT_DATA_DIR", "/proc/chatd-nope".into())], dir.path()).await;
    let text = said(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("/proc/chatd-nope") && text.contains("CHAT_DATA_DIR"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_url_of_another_scheme_is_refused_and_makes_no_folder() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = run_bad(
        &[("DATABASE_URL", "mysql://root:hunter2secret@db/chat".into())],
        dir.path(),
    )
    .await;
    let text = said(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("DATABASE_URL") && text.contains("mysql"),
        "{text}"
    );
    assert!(
        !text.contains("hunter2secret"),
        "the password shown: {text}"
    );
    let made: Vec<String> = std::fs::read_dir(dir.path())
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        made.iter().all(|n| !n.contains("mysql")),
        "folders named after the URL: {made:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_good_start_names_its_data_and_sockets_are_logged_at_debug() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let port = free_port();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_chatd"))
        .env_clear()
        .env("CHAT_LISTEN", format!("127.0.0.1:{port}"))
        .env("CHAT_DATA_DIR", dir.path())
        .env("CHAT_LOG", "info,chatd_actors=debug")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut lines = BufReader::new(stdout).lines();
    let mut log = String::new();
    let listening = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(line)) = lines.next_line().await {
            log.push_str(&line);
            log.push('\n');
            if line.contains("chatd listening") {
                return line;
            }
        }
        String::new()
    })
    .await
    .unwrap_or_default();
    assert!(
        listening.contains(&dir.path().display().to_string()) && listening.contains(".db"),
        "the start names the data directory and the SQLite file: {log}"
    );
    assert!(!log.contains('\u{1b}'), "colour codes in a pipe: {log:?}");

    // A socket of a user registered there opens and closes: both logged at debug.
    let http = reqwest::Client::new();
    let name = unique("slg");
    let reg: serde_json::Value = http
        .post(format!("http://127.0.0.1:{port}/api/regChat"))
        .json(&serde_json::json!({"username": name, "password": "secret-pass"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let token = reg["data"]["token"].as_str().unwrap_or("").to_string();
    let id = reg["data"]["id"].as_i64().unwrap_or(0);
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/ws?token={token}"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    let _ = ws.close(None).await;
    let mut seen = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(Some(line)) = lines.next_line().await {
            seen.push_str(&line);
            seen.push('\n');
            if line.contains("socket closed") {
                break;
            }
        }
    })
    .await;
    let opened = seen
        .lines()
        .find(|l| l.contains("socket opened"))
        .unwrap_or("");
    let closed = seen
        .lines()
        .find(|l| l.contains("socket closed"))
        .unwrap_or("");
    for line in [opened, closed] {
        assert!(
            line.contains(&format!("user={id}")) && line.contains("dialect=Rich"),
            "{seen}"
        );
    }
    assert!(closed.contains("code="), "{seen}");
}
