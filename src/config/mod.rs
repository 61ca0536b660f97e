//! Configuration: a TOML file (`--config`), then environment variables, then flags, in that order
//! of precedence from lowest. `chatd --help` lists every option with its variable.

use std::path::PathBuf;

mod options;
pub use options::{Cli, Command, Options};

pub const DEV_JWT_SECRET: &str = "chatd-development-jwt-secret-do-not-use-in-production";
pub const DEV_VISITOR_SALT: &str = "chatd-dev-salt";
pub const DEV_VISITOR_APP_SECRET: &str = "chatd-dev-app-secret";
/// Shortest secret production mode accepts (SPEC §9.23): 256 bits of HS256 key.
pub const MIN_SECRET_BYTES: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Env {
    Development,
    Production,
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: String,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub redis_url: Option<String>,
    pub redis_prefix: String,
    pub env: Env,
    pub jwt_secret: String,
    pub token_ttl_secs: i64,
    pub visitor_salt: String,
    pub visitor_app_secret: String,
    pub notification_key: Option<String>,
    pub public_url: Option<String>,
    pub default_lang: crate::i18n::Lang,
    pub timezone: chrono::FixedOffset,
    pub max_message_bytes: usize,
    pub offline_cap: i64,
    pub offline_max_age_ms: i64,
    pub idle_timeout_secs: u64,
    pub ping_interval_secs: u64,
    pub presence_debounce_ms: u64,
    pub shutdown_grace_secs: u64,
    pub close_grace_secs: u64,
    pub confirm_ms: u64,
    pub socket_queue: usize,
    pub workers: usize,
    pub fanout_threads: usize,
    pub fanout_split_min: usize,
    pub ws_frames_per_sec: u32,
    pub login_user_limit: i64,
    pub login_ip_limit: i64,
    pub login_window_ms: i64,
    pub max_body_bytes: usize,
    pub upload_max_bytes: usize,
    pub ffmpeg: String,
    pub video_hosts: Vec<String>,
    pub s3: Option<S3Config>,
    pub signup_ip_limit: i64,
    pub body_timeout_secs: u64,
    pub max_conns_per_ip: usize,
    pub ffmpeg_concurrency: usize,
    /// Peers whose `X-Forwarded-For` is believed (SPEC §9.21, SECURITY.md).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub socket_queue_bytes: usize,
    /// Bearer token `/metrics` requires, when set.
    pub metrics_token: Option<String>,
    pub log_json: bool,
}

/// An S3-compatible object store (Aliyun OSS speaks it).
#[derive(Debug, Clone)]
pub struct S3Config {
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    pub access_key: String,
    pub secret_key: String,
    pub path_style: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("invalid configuration file {0}: {1}")]
    Parse(PathBuf, toml::de::Error),
    #[error("invalid value for {0}: {1}")]
    Invalid(&'static str, String),
    #[error("production mode refuses the development value of {0}; set it")]
    DevSecret(&'static str),
    #[error("production mode needs {0} of at least {MIN_SECRET_BYTES} bytes")]
    ShortSecret(&'static str),
}

/// Accepts `postgres://`, `postgresql://`, `sqlite://` and a bare file path (no scheme); any
/// other scheme (`mysql://`, a typo) is refused rather than taken as a file name.
fn check_database_url(url: String) -> Result<String, ConfigError> {
    match url.split_once("://") {
        Some(("postgres" | "postgresql" | "sqlite", _)) | None => Ok(url),
        Some((scheme, _)) => Err(ConfigError::Invalid(
            "DATABASE_URL",
            format!(
                "{}: unsupported scheme {scheme}:// (use postgres://… or sqlite://path)",
                redact_url(&url)
            ),
        )),
    }
}

/// `url` with any password replaced by `***`, for messages and logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            if userinfo.contains(':') {
                format!("{scheme}://{user}:***@{host}{path}")
            } else {
                format!("{scheme}://{user}@{host}{path}")
            }
        }
        None => url.to_string(),
    }
}

fn parse_offset(s: &str) -> Option<chrono::FixedOffset> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("utc") || s == "Z" {
        return chrono::FixedOffset::east_opt(0);
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
    let secs = h.parse::<i32>().ok()? * 3600 + m.parse::<i32>().ok()? * 60;
    chrono::FixedOffset::east_opt(sign * secs)
}

/// A production secret must not be the development value and must be long enough to resist
/// guessing (SPEC §9.23); an empty one is refused like any short one.
fn check_secret(name: &'static str, value: &str, dev: &str) -> Result<(), ConfigError> {
    if value == dev {
        return Err(ConfigError::DevSecret(name));
    }
    if value.len() < MIN_SECRET_BYTES {
        return Err(ConfigError::ShortSecret(name));
    }
    Ok(())
}

/// A comma-separated list of CIDRs (a bare address is a /32 or /128).
fn parse_cidrs(text: &str) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| ConfigError::Invalid("CHAT_TRUSTED_PROXIES", s.to_string()))
        })
        .collect()
}

/// One worker thread per core but one. The store's writes (SQLite on the embedded backend),
/// password hashing and file work run on tokio's blocking threads; a core left for them (and for
/// the kernel's network work) keeps them from preempting the workers mid fan-out. Measured on
/// 2 cores (BENCHMARKS.md): 1 worker delivers ~20% more in S1 than 2.
fn default_workers() -> usize {
    cores().saturating_sub(1)
}

/// Threads that write one very large group's pass at once: all cores but one, so a split pass
/// leaves a core to the workers that read sockets and run the writer. On 2 cores that is no
/// split at all: measured in session 15 (BENCHMARKS.md "Issue 23"), splitting a 10,000-member
/// pass over both cores, beside the workers and the clients, made S2's p99 78 ms instead of 60–64
/// and S1 at 10,000 members 2.1–2.3 M deliveries/s instead of 2.7–2.8 M.
fn default_fanout_threads() -> usize {
    cores().saturating_sub(1)
}

fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

impl Config {
    /// Resolves file < environment/flags (clap already merged those two) < defaults filled last.
    pub fn load(cli_options: Options, file: Option<&PathBuf>) -> Result<Config, ConfigError> {
        let from_file = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| ConfigError::Read(path.clone(), e))?;
                toml::from_str::<Options>(&text).map_err(|e| ConfigError::Parse(path.clone(), e))?
            }
            None => Options::default(),
        };
        Config::resolve(cli_options.over(from_file))
    }

    /// Fills defaults and validates.
    pub fn resolve(o: Options) -> Result<Config, ConfigError> {
        let data_dir = o.data_dir.unwrap_or_else(|| PathBuf::from("./data"));
        let env = match o.env.as_deref().unwrap_or("development") {
            "development" | "dev" => Env::Development,
            "production" | "prod" => Env::Production,
            other => return Err(ConfigError::Invalid("CHAT_ENV", other.to_string())),
        };
        let default_lang = match o.default_lang.as_deref().unwrap_or("zh") {
            "zh" | "zh-CN" | "zh-Hans" => crate::i18n::Lang::Zh,
            "en" => crate::i18n::Lang::En,
            other => return Err(ConfigError::Invalid("CHAT_DEFAULT_LANG", other.to_string())),
        };
        let tz_text = o.timezone.unwrap_or_else(|| "+08:00".into());
        let timezone =
            parse_offset(&tz_text).ok_or(ConfigError::Invalid("CHAT_TIMEZONE", tz_text))?;
        let database_url = match o.database_url.filter(|s| !s.is_empty()) {
            Some(url) => check_database_url(url)?,
            None => format!("sqlite://{}", data_dir.join("chatd.db").display()),
        };
        let log_json = match o.log_format.as_deref().unwrap_or("text") {
            "text" => false,
            "json" => true,
            other => return Err(ConfigError::Invalid("CHAT_LOG_FORMAT", other.to_string())),
        };
        let cfg = Config {
            listen: o.listen.unwrap_or_else(|| "127.0.0.1:7001".into()),
            data_dir,
            database_url,
            redis_url: o.redis_url.filter(|s| !s.is_empty()),
            redis_prefix: o.redis_prefix.unwrap_or_else(|| "chatd:".into()),
            env,
            // An empty value (an unset variable in a compose file) means "not given".
            jwt_secret: o
                .jwt_secret
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| DEV_JWT_SECRET.into()),
            token_ttl_secs: o.token_ttl.unwrap_or(30 * 24 * 3600).max(60),
            visitor_salt: o
                .visitor_salt
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| DEV_VISITOR_SALT.into()),
            visitor_app_secret: o
                .visitor_app_secret
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| DEV_VISITOR_APP_SECRET.into()),
            notification_key: o.notification_key.filter(|s| !s.is_empty()),
            public_url: o.public_url.filter(|s| !s.is_empty()),
            default_lang,
            timezone,
            max_message_bytes: o.max_message_bytes.unwrap_or(65_536).max(1),
            offline_cap: o.offline_cap.unwrap_or(10_000).max(1),
            offline_max_age_ms: o.offline_max_age_days.unwrap_or(30).max(1) * 86_400_000,
            idle_timeout_secs: o.idle_timeout.unwrap_or(90).max(1),
            ping_interval_secs: o.ping_interval.unwrap_or(30).max(1),
            presence_debounce_ms: o.presence_debounce_ms.unwrap_or(10_000),
            shutdown_grace_secs: o.shutdown_grace.unwrap_or(10).max(1),
            close_grace_secs: o.close_grace.unwrap_or(5).max(1),
            confirm_ms: o.confirm_ms.unwrap_or(3000).clamp(10, 60_000),
            socket_queue: o.socket_queue.unwrap_or(1024).max(1),
            workers: o.workers.unwrap_or_else(default_workers).max(1),
            fanout_threads: o
                .fanout_threads
                .unwrap_or_else(default_fanout_threads)
                .max(1),
            fanout_split_min: o.fanout_split_min.unwrap_or(2048).max(1),
            ws_frames_per_sec: o.ws_frames_per_sec.unwrap_or(50).max(1),
            login_user_limit: o.login_user_limit.unwrap_or(10).max(1),
            login_ip_limit: o.login_ip_limit.unwrap_or(100).max(1),
            login_window_ms: o.login_window.unwrap_or(900).max(1) * 1000,
            max_body_bytes: o.max_body_bytes.unwrap_or(262_144).max(1024),
            upload_max_bytes: o.upload_max_bytes.unwrap_or(20 * 1024 * 1024).max(1024),
            ffmpeg: o.ffmpeg.unwrap_or_else(|| "ffmpeg".into()),
            video_hosts: o
                .video_hosts
                .unwrap_or_default()
                .split(',')
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
            s3: match (o.s3_endpoint.filter(|s| !s.is_empty()), o.s3_bucket) {
                (Some(endpoint), Some(bucket)) => Some(S3Config {
                    endpoint,
                    bucket,
                    region: o.s3_region.unwrap_or_else(|| "us-east-1".into()),
                    access_key: o.s3_access_key.unwrap_or_default(),
                    secret_key: o.s3_secret_key.unwrap_or_default(),
                    path_style: o.s3_path_style.unwrap_or(false),
                }),
                (Some(_), None) => {
                    return Err(ConfigError::Invalid(
                        "CHAT_S3_BUCKET",
                        "required with CHAT_S3_ENDPOINT".into(),
                    ))
                }
                _ => None,
            },
            signup_ip_limit: o.signup_ip_limit.unwrap_or(20).max(1),
            body_timeout_secs: o.body_timeout.unwrap_or(30).max(1),
            max_conns_per_ip: o.max_conns_per_ip.unwrap_or(256).max(1),
            ffmpeg_concurrency: o.ffmpeg_concurrency.unwrap_or_else(cores).max(1),
            trusted_proxies: parse_cidrs(o.trusted_proxies.as_deref().unwrap_or(""))?,
            socket_queue_bytes: o.socket_queue_bytes.unwrap_or(4 << 20).max(64 * 1024),
            metrics_token: o.metrics_token.filter(|s| !s.is_empty()),
            log_json,
        };
        if cfg.env == Env::Production {
            check_secret("CHAT_JWT_SECRET", &cfg.jwt_secret, DEV_JWT_SECRET)?;
            check_secret("CHAT_VISITOR_SALT", &cfg.visitor_salt, DEV_VISITOR_SALT)?;
            check_secret(
                "CHAT_VISITOR_APP_SECRET",
                &cfg.visitor_app_secret,
                DEV_VISITOR_APP_SECRET,
            )?;
            if let Some(key) = &cfg.notification_key {
                check_secret("CHAT_NOTIFICATION_KEY", key, "")?;
            }
        }
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests;
