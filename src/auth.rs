//! Authentication: JWT (HS256) minting and checking, where a token may arrive from, and Argon2id
//! password hashing. A token is valid only while its session exists (see `sessions`).

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chatd_schema::UserId;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, OnceLock};
use tokio::sync::Semaphore;
use warp::http::HeaderMap;

use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Visitor,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Visitor => "visitor",
        }
    }

    pub fn parse(s: &str) -> Role {
        if s == "user" {
            Role::User
        } else {
            Role::Visitor
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: String,
    pub sid: String,
    pub iat: i64,
    pub exp: i64,
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: UserId,
    /// The token's role (a registered user logged in "in visitor mode" is a visitor here).
    pub role: Role,
    pub sid: Arc<str>,
}

impl Caller {
    /// Refuses visitors (403) on users-only endpoints.
    pub fn require_user(&self) -> Result<(), ApiError> {
        match self.role {
            Role::User => Ok(()),
            Role::Visitor => Err(ApiError::users_only()),
        }
    }
}

pub struct Tokens {
    enc: EncodingKey,
    dec: DecodingKey,
    validation: Validation,
    pub ttl_secs: i64,
}

impl Tokens {
    pub fn new(secret: &str, ttl_secs: i64) -> Tokens {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.leeway = 0;
        Tokens {
            enc: EncodingKey::from_secret(secret.as_bytes()),
            dec: DecodingKey::from_secret(secret.as_bytes()),
            validation,
            ttl_secs,
        }
    }

    pub fn mint(
        &self,
        user_id: UserId,
        role: Role,
        sid: &str,
        now_ms: i64,
    ) -> Result<String, ApiError> {
        let iat = now_ms / 1000;
        let claims = Claims {
            sub: user_id.to_string(),
            role: role.as_str().to_string(),
            sid: sid.to_string(),
            iat,
            exp: iat + self.ttl_secs,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.enc)
            .map_err(|e| ApiError::Internal(format!("jwt encode: {e}")))
    }

    /// Signature and expiry only; the caller checks the session.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        decode::<Claims>(token, &self.dec, &self.validation)
            .ok()
            .map(|d| d.claims)
    }
}

/// The token of a request: header `token`, `Authorization: Bearer`, or query `token` /
/// `access_token`, in that order.
pub fn token_from(headers: &HeaderMap, query: &[(String, String)]) -> Option<String> {
    if let Some(t) = headers.get("token").and_then(|v| v.to_str().ok()) {
        if !t.trim().is_empty() {
            return Some(t.trim().to_string());
        }
    }
    if let Some(a) = headers.get("authorization").and_then(|v| v.to_str().ok()) {
        let a = a.trim();
        if a.len() > 7 && a[..7].eq_ignore_ascii_case("bearer ") {
            return Some(a[7..].trim().to_string());
        }
    }
    query
        .iter()
        .find(|(k, v)| (k == "token" || k == "access_token") && !v.is_empty())
        .map(|(_, v)| v.clone())
}

/// At most this many hashes run at once. Each holds 19 MiB while it runs and keeps a core busy:
/// a burst of sign-ups or logins waits its turn instead of taking memory without bound (tokio's
/// blocking pool would run up to 512 at once, ~10 GiB) or starving the sockets.
fn hashing() -> &'static Semaphore {
    static PERMITS: OnceLock<Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| Semaphore::new(hash_permits()))
}

fn hash_permits() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores.clamp(1, 8)
}

/// Runs one password hash or check on the blocking pool, within [`hashing`]'s bound.
async fn with_hashing<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    let _permit = hashing()
        .acquire()
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// Argon2id with the OWASP parameters (19 MiB, 2 iterations, 1 lane): argon2's defaults.
pub async fn hash_password(password: &str) -> Result<String, ApiError> {
    let password = password.to_string();
    with_hashing(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ApiError::Internal(format!("argon2: {e}")))
    })
    .await?
}

/// Verifies in constant time (argon2's own comparison). A malformed hash never verifies.
pub async fn verify_password(password: &str, hash: &str) -> bool {
    let (password, hash) = (password.to_string(), hash.to_string());
    with_hashing(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_tampering() {
        let t = Tokens::new("k", 3600);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let tok = t
            .mint(UserId(7), Role::Visitor, "s1", now)
            .unwrap_or_default();
        let c = t.verify(&tok);
        assert_eq!(c.as_ref().map(|c| c.sub.as_str()), Some("7"));
        assert_eq!(c.as_ref().map(|c| c.role.as_str()), Some("visitor"));
        assert!(Tokens::new("other", 3600).verify(&tok).is_none());
        let expired = t
            .mint(UserId(7), Role::User, "s1", now - 7_200_000)
            .unwrap_or_default();
        assert!(t.verify(&expired).is_none());
    }

    #[test]
    fn token_sources_in_order() {
        let mut h = HeaderMap::new();
        let q = vec![("access_token".to_string(), "q".to_string())];
        assert_eq!(token_from(&h, &q).as_deref(), Some("q"));
        h.insert(
            "authorization",
            "Bearer b".parse().unwrap_or_else(|_| unreachable!()),
        );
        assert_eq!(token_from(&h, &q).as_deref(), Some("b"));
        h.insert("token", "t".parse().unwrap_or_else(|_| unreachable!()));
        assert_eq!(token_from(&h, &q).as_deref(), Some("t"));
    }

    #[tokio::test]
    async fn argon2id_hashes_verify() {
        let h = hash_password("secret1").await.unwrap_or_default();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("secret1", &h).await);
        assert!(!verify_password("secret2", &h).await);
        assert!(!verify_password("x", "not a hash").await);
    }

    #[tokio::test]
    async fn hashes_wait_while_every_permit_is_taken() {
        let all = u32::try_from(hash_permits()).unwrap_or(1);
        let held = hashing().acquire_many(all).await.unwrap();
        let task = tokio::spawn(async { hash_password("secret1").await });
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert!(!task.is_finished(), "a hash ran without a permit");
        drop(held);
        assert!(task.await.unwrap().unwrap().starts_with("$argon2id$"));
    }
}
