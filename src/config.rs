//! Configuration: a TOML file (`--config`), then environment variables, then flags, in that order
//! of precedence from lowest. `chatd --help` lists every option with its variable.

use clap::{Args, Parser, Subcommand};
use serde::Deserialize;
use std::path::PathBuf;

pub const DEV_JWT_SECRET: &str = "chatd-development-jwt-secret-do-not-use-in-production";
pub const DEV_VISITOR_SALT: &str = "chatd-dev-salt";
pub const DEV_VISITOR_APP_SECRET: &str = "chatd-dev-app-secret";
/// Shortest secret production mode accepts (SPEC §9.23): 256 bits of HS256 key.
pub const MIN_SECRET_BYTES: usize = 32;

#[derive(Debug, Parser)]
#[command(
    name = "chatd",
    version,
    about = "A real-time instant-messaging server (WebSocket + REST)"
)]
pub struct Cli {
    /// TOML configuration file (keys are the long option names with `_`, e.g. `listen = "…"`).
    #[arg(long, global = true, env = "CHAT_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub options: Options,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Copy, Subcommand)]
pub enum Command {
    /// Serve HTTP and WebSocket (the default).
    Serve,
    /// Run database migrations and exit.
    Migrate,
}

/// Every option; `None` means "not given at this level".
#[derive(Debug, Default, Clone, Args, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Options {
    /// Address:port to serve [default: 127.0.0.1:7001]
    #[arg(long, global = true, env = "CHAT_LISTEN")]
    pub listen: Option<String>,
    /// Directory of the embedded database and uploads [default: ./data]
    #[arg(long, global = true, env = "CHAT_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// postgres://… or sqlite://path [default: SQLite file in the data dir]
    #[arg(long, global = true, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// redis://… (offline queues, sessions, rate limits, presence) [default: none, embedded]
    #[arg(long, global = true, env = "REDIS_URL")]
    pub redis_url: Option<String>,
    /// Prefix of every Redis key [default: chatd:]
    #[arg(long, global = true, env = "CHAT_REDIS_PREFIX")]
    pub redis_prefix: Option<String>,
    /// development or production [default: development]
    #[arg(long, global = true, env = "CHAT_ENV")]
    pub env: Option<String>,
    /// HS256 key for tokens [default: a development key, refused in production]
    #[arg(long, global = true, env = "CHAT_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Token lifetime in seconds [default: 2592000 (30 days)]
    #[arg(long, global = true, env = "CHAT_TOKEN_TTL")]
    pub token_ttl: Option<i64>,
    /// Salt of the visitor signature [default: development value, refused in production]
    #[arg(long, global = true, env = "CHAT_VISITOR_SALT", hide_env_values = true)]
    pub visitor_salt: Option<String>,
    /// App secret of the visitor signature [default: development value, refused in production]
    #[arg(
        long,
        global = true,
        env = "CHAT_VISITOR_APP_SECRET",
        hide_env_values = true
    )]
    pub visitor_app_secret: Option<String>,
    /// Key for POST /notification [default: none, endpoint disabled]
    #[arg(
        long,
        global = true,
        env = "CHAT_NOTIFICATION_KEY",
        hide_env_values = true
    )]
    pub notification_key: Option<String>,
    /// Origin used in upload URLs and QR codes [default: derived from the request]
    #[arg(long, global = true, env = "CHAT_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Language of reasons when Accept-Language names none we have: zh or en [default: zh]
    #[arg(long, global = true, env = "CHAT_DEFAULT_LANG")]
    pub default_lang: Option<String>,
    /// UTC offset of the server's time zone for create_time strings, e.g. +08:00 [default: +08:00]
    #[arg(long, global = true, env = "CHAT_TIMEZONE")]
    pub timezone: Option<String>,
    /// Largest message `data` in bytes [default: 65536]
    #[arg(long, global = true, env = "CHAT_MAX_MESSAGE_BYTES")]
    pub max_message_bytes: Option<usize>,
    /// Most messages kept in one user's offline queue [default: 10000]
    #[arg(long, global = true, env = "CHAT_OFFLINE_CAP")]
    pub offline_cap: Option<i64>,
    /// Days an offline message is kept [default: 30]
    #[arg(long, global = true, env = "CHAT_OFFLINE_MAX_AGE_DAYS")]
    pub offline_max_age_days: Option<i64>,
    /// Seconds of silence before a socket is closed [default: 90]
    #[arg(long, global = true, env = "CHAT_IDLE_TIMEOUT")]
    pub idle_timeout: Option<u64>,
    /// Seconds between server pings [default: 30]
    #[arg(long, global = true, env = "CHAT_PING_INTERVAL")]
    pub ping_interval: Option<u64>,
    /// Seconds a graceful shutdown may take to close sockets and finish what was accepted
    /// [default: 10]
    #[arg(long, global = true, env = "CHAT_SHUTDOWN_GRACE")]
    pub shutdown_grace: Option<u64>,
    /// Messages a socket may have waiting while its client does not read, before it is closed as
    /// too slow (1013) [default: 1024]
    #[arg(long, global = true, env = "CHAT_SOCKET_QUEUE")]
    pub socket_queue: Option<usize>,
    /// Threads running connections and fan-out [default: CPU cores - 1, at least 1]
    #[arg(long, global = true, env = "CHAT_WORKERS")]
    pub workers: Option<usize>,
    /// Most threads writing messages to very large groups at the same time, all groups together;
    /// one message's fan-out is split over them [default: CPU cores]
    #[arg(long, global = true, env = "CHAT_FANOUT_THREADS")]
    pub fanout_threads: Option<usize>,
    /// Fewest members each thread of such a split fan-out writes to [default: 2048]
    #[arg(long, global = true, env = "CHAT_FANOUT_SPLIT_MIN")]
    pub fanout_split_min: Option<usize>,
    /// Frames a WebSocket client may send per second (bursts of twice that) [default: 50]
    #[arg(long, global = true, env = "CHAT_WS_FRAMES_PER_SEC")]
    pub ws_frames_per_sec: Option<u32>,
    /// Failed logins per username per window before 429 [default: 10]
    #[arg(long, global = true, env = "CHAT_LOGIN_USER_LIMIT")]
    pub login_user_limit: Option<i64>,
    /// Failed logins per IP per window before 429 [default: 100]
    #[arg(long, global = true, env = "CHAT_LOGIN_IP_LIMIT")]
    pub login_ip_limit: Option<i64>,
    /// Login-failure window in seconds [default: 900]
    #[arg(long, global = true, env = "CHAT_LOGIN_WINDOW")]
    pub login_window: Option<i64>,
    /// Largest request body of the JSON/form API in bytes [default: 262144]
    #[arg(long, global = true, env = "CHAT_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Largest upload in bytes (413 past it) [default: 20971520]
    #[arg(long, global = true, env = "CHAT_UPLOAD_MAX_BYTES")]
    pub upload_max_bytes: Option<usize>,
    /// ffmpeg binary for video screenshots [default: ffmpeg]
    #[arg(long, global = true, env = "CHAT_FFMPEG")]
    pub ffmpeg: Option<String>,
    /// Hosts (comma-separated) besides our own uploads that getVideoScreenshot may read [default: none]
    #[arg(long, global = true, env = "CHAT_VIDEO_HOSTS")]
    pub video_hosts: Option<String>,
    /// S3-compatible object store endpoint for uploadAliyun, e.g. https://oss-cn-hangzhou.aliyuncs.com [default: none, local storage]
    #[arg(long, global = true, env = "CHAT_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// Object store bucket
    #[arg(long, global = true, env = "CHAT_S3_BUCKET")]
    pub s3_bucket: Option<String>,
    /// Object store region (Aliyun: e.g. oss-cn-hangzhou) [default: us-east-1]
    #[arg(long, global = true, env = "CHAT_S3_REGION")]
    pub s3_region: Option<String>,
    /// Object store access key id
    #[arg(
        long,
        global = true,
        env = "CHAT_S3_ACCESS_KEY",
        hide_env_values = true
    )]
    pub s3_access_key: Option<String>,
    /// Object store secret key
    #[arg(
        long,
        global = true,
        env = "CHAT_S3_SECRET_KEY",
        hide_env_values = true
    )]
    pub s3_secret_key: Option<String>,
    /// Path-style bucket URLs (MinIO, moto) instead of virtual-host style (Aliyun OSS, AWS) [default: false]
    #[arg(long, global = true, env = "CHAT_S3_PATH_STYLE")]
    pub s3_path_style: Option<bool>,
    /// Account-creating sign-ups (regChat, visitorregChat, new visitors) per client address per
    /// hour before 429 [default: 20]
    #[arg(long, global = true, env = "CHAT_SIGNUP_IP_LIMIT")]
    pub signup_ip_limit: Option<i64>,
    /// Seconds a request body may take to arrive after its headers before 408 [default: 30]
    #[arg(long, global = true, env = "CHAT_BODY_TIMEOUT")]
    pub body_timeout: Option<u64>,
    /// Open connections per client address; past it new ones are closed at once [default: 256]
    #[arg(long, global = true, env = "CHAT_MAX_CONNS_PER_IP")]
    pub max_conns_per_ip: Option<usize>,
    /// ffmpeg processes running at once for video screenshots [default: CPU cores]
    #[arg(long, global = true, env = "CHAT_FFMPEG_CONCURRENCY")]
    pub ffmpeg_concurrency: Option<usize>,
    /// Reverse proxies (comma-separated CIDRs) whose X-Forwarded-For names the client [default: none]
    #[arg(long, global = true, env = "CHAT_TRUSTED_PROXIES")]
    pub trusted_proxies: Option<String>,
    /// Bytes a socket may have waiting while its client does not read, before it is closed as
    /// too slow (1013) [default: 4194304]
    #[arg(long, global = true, env = "CHAT_SOCKET_QUEUE_BYTES")]
    pub socket_queue_bytes: Option<usize>,
    /// Log format: text or json [default: text]
    #[arg(long, global = true, env = "CHAT_LOG_FORMAT")]
    pub log_format: Option<String>,
}

impl Options {
    /// `self` where given, else `lower`.
    fn over(self, lower: Options) -> Options {
        macro_rules! pick {
            ($($f:ident),*) => { Options { $($f: self.$f.or(lower.$f)),* } };
        }
        pick!(
            listen,
            data_dir,
            database_url,
            redis_url,
            redis_prefix,
            env,
            jwt_secret,
            token_ttl,
            visitor_salt,
            visitor_app_secret,
            notification_key,
            public_url,
            default_lang,
            timezone,
            max_message_bytes,
            offline_cap,
            offline_max_age_days,
            idle_timeout,
            ping_interval,
            shutdown_grace,
            socket_queue,
            workers,
            fanout_threads,
            fanout_split_min,
            ws_frames_per_sec,
            login_user_limit,
            login_ip_limit,
            login_window,
            max_body_bytes,
            upload_max_bytes,
            ffmpeg,
            video_hosts,
            s3_endpoint,
            s3_bucket,
            s3_region,
            s3_access_key,
            s3_secret_key,
            s3_path_style,
            signup_ip_limit,
            body_timeout,
            max_conns_per_ip,
            ffmpeg_concurrency,
            trusted_proxies,
            socket_queue_bytes,
            log_format
        )
    }
}

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
    pub shutdown_grace_secs: u64,
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
        let database_url = o
            .database_url
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("chatd.db").display()));
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
            jwt_secret: o.jwt_secret.unwrap_or_else(|| DEV_JWT_SECRET.into()),
            token_ttl_secs: o.token_ttl.unwrap_or(30 * 24 * 3600).max(60),
            visitor_salt: o.visitor_salt.unwrap_or_else(|| DEV_VISITOR_SALT.into()),
            visitor_app_secret: o
                .visitor_app_secret
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
            shutdown_grace_secs: o.shutdown_grace.unwrap_or(10).max(1),
            socket_queue: o.socket_queue.unwrap_or(1024).max(1),
            workers: o.workers.unwrap_or_else(default_workers).max(1),
            fanout_threads: o.fanout_threads.unwrap_or_else(cores).max(1),
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
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_seeds() {
        let c = Config::resolve(Options::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.listen, "127.0.0.1:7001");
        assert!(c.database_url.starts_with("sqlite://"));
        assert_eq!(c.offline_cap, 10_000);
        assert_eq!(c.max_message_bytes, 65_536);
    }

    #[test]
    fn production_refuses_development_secrets() {
        let o = Options {
            env: Some("production".into()),
            ..Options::default()
        };
        assert!(matches!(Config::resolve(o), Err(ConfigError::DevSecret(_))));
        let long = |c: char| Some(c.to_string().repeat(MIN_SECRET_BYTES));
        let o = Options {
            env: Some("production".into()),
            jwt_secret: long('j'),
            visitor_salt: long('s'),
            visitor_app_secret: long('a'),
            ..Options::default()
        };
        assert!(Config::resolve(o.clone()).is_ok());
        for (short, name) in [
            (
                Options {
                    jwt_secret: Some(String::new()),
                    ..o.clone()
                },
                "CHAT_JWT_SECRET",
            ),
            (
                Options {
                    visitor_salt: Some("short".into()),
                    ..o.clone()
                },
                "CHAT_VISITOR_SALT",
            ),
            (
                Options {
                    notification_key: Some("k".repeat(31)),
                    ..o.clone()
                },
                "CHAT_NOTIFICATION_KEY",
            ),
        ] {
            match Config::resolve(short) {
                Err(ConfigError::ShortSecret(n)) => assert_eq!(n, name),
                other => panic!("{name}: expected a refusal, got {other:?}"),
            }
        }
        let with_key = Options {
            notification_key: long('n'),
            ..o
        };
        assert!(Config::resolve(with_key).is_ok());
    }

    #[test]
    fn trusted_proxies_are_cidrs() {
        let nets = parse_cidrs("10.0.0.0/8, 192.168.1.7 ,::1").unwrap_or_default();
        assert_eq!(nets.len(), 3);
        assert!(nets[0].contains(
            &"10.2.3.4"
                .parse::<std::net::IpAddr>()
                .unwrap_or_else(|_| unreachable!())
        ));
        assert!(parse_cidrs("10.0.0.0/33").is_err());
        assert!(parse_cidrs("").is_ok_and(|v| v.is_empty()));
    }

    #[test]
    fn flags_and_env_override_the_file() {
        let file = Options {
            listen: Some("0.0.0.0:1".into()),
            offline_cap: Some(5),
            ..Options::default()
        };
        let cli = Options {
            listen: Some("127.0.0.1:2".into()),
            ..Options::default()
        };
        let c = Config::resolve(cli.over(file)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.listen, "127.0.0.1:2");
        assert_eq!(c.offline_cap, 5);
    }

    #[test]
    fn parses_offsets() {
        assert_eq!(
            parse_offset("+08:00").map(|o| o.local_minus_utc()),
            Some(8 * 3600)
        );
        assert_eq!(
            parse_offset("-05:30").map(|o| o.local_minus_utc()),
            Some(-(5 * 3600 + 1800))
        );
        assert_eq!(parse_offset("UTC").map(|o| o.local_minus_utc()), Some(0));
        assert!(parse_offset("8").is_none());
    }
}
