//! Creating the load generator's users and group through chatd's own REST API, as a client app
//! would: register, let the owner befriend everyone (members accept requests without
//! confirmation), then one `group/create` with all friendship rows. Registration costs an Argon2id
//! hash per user, so a state file can keep the accounts for the next run against the same server.

use anyhow::{anyhow, bail, Context, Result};
use futures_util::{stream, StreamExt, TryStreamExt};
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::Path;

const PASSWORD: &str = "loadgen-password-1";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Account {
    pub id: i64,
    pub token: String,
}

/// What a run needs from the server; kept in the state file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct World {
    pub base: String,
    pub users: Vec<Account>,
    /// The group of all `users` (the first is its owner), when one was made.
    pub group: Option<i64>,
    /// While a group bigger than one `group/create` is being filled: how many of `users` are in
    /// it so far (absent once all are, and in the files of earlier versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joined: Option<usize>,
}

/// The most friendship rows one `group/create` takes (the server's limit); the rest of a bigger
/// group is invited by its owner, one `groupInviteUser` each.
pub const CREATE_MEMBERS: usize = 10_000;

/// Registration and invitations are written to the state file every this many users, so an
/// interrupted set-up of 100,000 accounts (25 minutes of Argon2id here) goes on where it stopped.
const SAVE_EVERY: usize = 2_000;

pub struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    pub fn new(base: &str) -> Api {
        Api {
            http: reqwest::Client::new(),
            base: base.trim_end_matches('/').to_string(),
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        form: &[(&str, &str)],
    ) -> Result<Value> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .form(form);
        if let Some(t) = token {
            req = req.header("token", t);
        }
        let resp = req.send().await.with_context(|| path.to_string())?;
        let status = resp.status();
        let body: Value = serde_json::from_str(&resp.text().await?)
            .with_context(|| format!("{path}: answer is not JSON"))?;
        if !status.is_success() {
            bail!("{path}: {status} {body}");
        }
        Ok(body)
    }

    pub async fn register(&self, username: &str) -> Result<Account> {
        let body = self
            .call(
                reqwest::Method::POST,
                "/api/regChat",
                None,
                &[("username", username), ("password", PASSWORD)],
            )
            .await?;
        let d = &body["data"];
        Ok(Account {
            id: d["id"].as_i64().ok_or_else(|| anyhow!("no id in {body}"))?,
            token: d["token"]
                .as_str()
                .ok_or_else(|| anyhow!("no token in {body}"))?
                .to_string(),
        })
    }

    /// `owner` befriends `member` without a confirmation step.
    async fn befriend(&self, owner: &Account, member: &Account) -> Result<()> {
        self.call(
            reqwest::Method::POST,
            "/api/chat/updateUserinfo",
            Some(&member.token),
            &[("fieldname", "invite_confirm"), ("fieldValue", "0")],
        )
        .await?;
        self.call(
            reqwest::Method::POST,
            "/api/chat/applyfriend",
            Some(&owner.token),
            &[("friend_id", &member.id.to_string())],
        )
        .await?;
        Ok(())
    }

    /// The owner's friendship row ids (what `group/create` takes).
    async fn friendship_rows(&self, owner: &Account) -> Result<Vec<i64>> {
        let mut rows = Vec::new();
        for page in 1.. {
            let body = self
                .call(
                    reqwest::Method::GET,
                    &format!("/api/chat/goodfriendlist/{page}?limit=5000"),
                    Some(&owner.token),
                    &[],
                )
                .await?;
            let before = rows.len();
            for title in body["data"]["rows"]["newList"]
                .as_array()
                .into_iter()
                .flatten()
            {
                for item in title["list"].as_array().into_iter().flatten() {
                    rows.extend(item["id"].as_i64());
                }
            }
            if rows.len() == before {
                break;
            }
        }
        Ok(rows)
    }

    /// The owner adds `member` to group `g` (no approval: the owner invites). A member already in
    /// it (a set-up that was cut short and is going on) is no error.
    async fn invite(&self, owner: &Account, g: i64, member: &Account) -> Result<()> {
        let r = self
            .call(
                reqwest::Method::POST,
                "/api/chat/groupInviteUser",
                Some(&owner.token),
                &[
                    ("group_id", &g.to_string()),
                    ("user_id", &member.id.to_string()),
                ],
            )
            .await;
        match r {
            Err(e)
                if ["already in the group", "已经在群里了"]
                    .iter()
                    .any(|m| e.to_string().contains(m)) =>
            {
                Ok(())
            }
            r => r.map(|_| ()),
        }
    }

    async fn create_group(&self, owner: &Account, rows: &[i64]) -> Result<i64> {
        let ids: Vec<String> = rows.iter().map(|r| r.to_string()).collect();
        let body = self
            .call(
                reqwest::Method::POST,
                "/api/chat/group/create",
                Some(&owner.token),
                &[("userIds", &ids.join(","))],
            )
            .await?;
        body["data"]["id"]
            .as_i64()
            .ok_or_else(|| anyhow!("no group id in {body}"))
    }
}

/// Registers `n` users (and makes them one group when `group`: created with the first
/// `create_members` at most, the others invited), or reuses the state file's: a set-up that was
/// cut short goes on from what the file holds.
#[allow(clippy::too_many_arguments)]
pub async fn world(
    base: &str,
    n: usize,
    group: bool,
    create_members: usize,
    state: Option<&Path>,
    concurrency: usize,
    bar: &ProgressBar,
) -> Result<World> {
    let mut w = World {
        base: base.to_string(),
        users: Vec::new(),
        group: None,
        joined: None,
    };
    if let Some(path) = state.filter(|p| p.exists()) {
        let old: World = serde_json::from_slice(&std::fs::read(path)?)?;
        if old.base == base {
            w = old;
        }
    }
    if w.group.is_some() && w.users.len() != n && group {
        bail!("the state file's group has another size");
    }
    let save = |w: &World| -> Result<()> {
        if let Some(path) = state {
            std::fs::write(path, serde_json::to_vec(w)?)?;
        }
        Ok(())
    };
    let api = Api::new(base);
    if w.users.len() < n {
        if w.group.is_some() {
            bail!("the state file's group has another size");
        }
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        bar.set_length(n as u64);
        bar.set_position(w.users.len() as u64);
        bar.set_message("registering");
        while w.users.len() < n {
            let from = w.users.len();
            let to = n.min(from + SAVE_EVERY);
            let more: Vec<Account> = stream::iter(from..to)
                .map(|i| {
                    let api = &api;
                    async move {
                        let a = api.register(&username(stamp, i)).await;
                        bar.inc(1);
                        a
                    }
                })
                .buffered(concurrency.max(1))
                .try_collect()
                .await?;
            w.users.extend(more);
            save(&w)?;
        }
    }
    if !group {
        w.users.truncate(n);
        return Ok(w);
    }
    if w.group.is_none() && n > 1 {
        w.users.truncate(n);
        let owner = w.users[0].clone();
        let first = &w.users[1..n.min(create_members.clamp(1, CREATE_MEMBERS) + 1)];
        bar.set_position(0);
        bar.set_length(first.len() as u64);
        bar.set_message("befriending");
        stream::iter(first)
            .map(|m| {
                let api = &api;
                let owner = &owner;
                async move {
                    let r = api.befriend(owner, m).await;
                    bar.inc(1);
                    r
                }
            })
            .buffer_unordered(concurrency.max(1) * 4)
            .try_collect::<Vec<()>>()
            .await?;
        bar.set_message("creating the group");
        let mut rows = api.friendship_rows(&owner).await?;
        rows.truncate(first.len());
        w.group = Some(api.create_group(&owner, &rows).await?);
        w.joined = (n > first.len() + 1).then_some(first.len() + 1);
        save(&w)?;
    }
    if let (Some(g), Some(mut joined)) = (w.group, w.joined) {
        let owner = w.users[0].clone();
        bar.set_length(n as u64);
        bar.set_position(joined as u64);
        bar.set_message("inviting");
        while joined < n {
            let to = n.min(joined + SAVE_EVERY);
            stream::iter(&w.users[joined..to])
                .map(|m| {
                    let api = &api;
                    let owner = &owner;
                    async move {
                        let r = api.invite(owner, g, m).await;
                        bar.inc(1);
                        r
                    }
                })
                .buffer_unordered(concurrency.max(1))
                .try_collect::<Vec<()>>()
                .await?;
            joined = to;
            w.joined = (joined < n).then_some(joined);
            save(&w)?;
        }
    }
    Ok(w)
}

/// Drains every user's offline queue (`GET /api/message`, which drops what it returns), as a
/// client app does when it connects: their conversations are then caught up, so live delivery
/// moves their delivered positions and the server's flusher writes them, as it does for real
/// clients. Without it the load generator's users never fetch their backlog, and their
/// positions stand still.
pub async fn drain_backlogs(base: &str, users: &[Account], concurrency: usize) -> Result<()> {
    let api = Api::new(base);
    stream::iter(users)
        .map(|u| {
            let api = &api;
            async move {
                api.call(reqwest::Method::GET, "/api/message", Some(&u.token), &[])
                    .await
                    .map(|_| ())
            }
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

/// `lg<run stamp>_<i>`, both in base 36: at most 16 characters up to i = 1.6M (usernames are
/// limited to 20), unique per run.
fn username(stamp: u128, i: usize) -> String {
    format!("lg{}_{}", base36(stamp), base36(i as u128))
}

fn base36(mut n: u128) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_fit_the_limit_and_differ() {
        let stamp = 1_763_880_000_000u128;
        assert_eq!(base36(0), "0");
        assert_eq!(base36(35), "z");
        assert_eq!(base36(36), "10");
        let big = username(stamp, 1_000_000);
        assert!(big.len() <= 20, "{big}");
        assert_ne!(username(stamp, 1), username(stamp, 36));
    }
}
