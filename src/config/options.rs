//! The options as given: command line, environment and TOML file share one struct ([`Options`],
//! every field optional), merged by precedence before [`super::Config::resolve`] applies defaults
//! and checks.

use clap::{Args, Parser, Subcommand};
use serde::Deserialize;
use std::path::PathBuf;

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
    /// redis://… (rate-limit windows shared by nodes; offline backlogs and sessions are in the database) [default: none, embedded]
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
    /// Most messages one user's offline queue yields, the newest [default: 10000]
    #[arg(long, global = true, env = "CHAT_OFFLINE_CAP")]
    pub offline_cap: Option<i64>,
    /// Days a message stays in offline queues (history keeps it) [default: 30]
    #[arg(long, global = true, env = "CHAT_OFFLINE_MAX_AGE_DAYS")]
    pub offline_max_age_days: Option<i64>,
    /// Seconds of silence before a socket is closed [default: 90]
    #[arg(long, global = true, env = "CHAT_IDLE_TIMEOUT")]
    pub idle_timeout: Option<u64>,
    /// Seconds between server pings [default: 30]
    #[arg(long, global = true, env = "CHAT_PING_INTERVAL")]
    pub ping_interval: Option<u64>,
    /// Milliseconds after a user's last socket closes before friends are told they are offline;
    /// a return within it is no change [default: 10000]
    #[arg(long, global = true, env = "CHAT_PRESENCE_DEBOUNCE_MS")]
    pub presence_debounce_ms: Option<u64>,
    /// Seconds a graceful shutdown may take to close sockets and finish what was accepted
    /// [default: 10]
    #[arg(long, global = true, env = "CHAT_SHUTDOWN_GRACE")]
    pub shutdown_grace: Option<u64>,
    /// Seconds a socket being closed (too slow, logged out, shutdown) keeps its connection to
    /// write the rest of a partly written frame and the close frame, so a client that resumes
    /// reading sees the close code [default: 5]
    #[arg(long, global = true, env = "CHAT_CLOSE_GRACE")]
    pub close_grace: Option<u64>,
    /// Shortest time in milliseconds between two confirmation pings of one socket: a message
    /// counts as delivered once the client answered a ping sent after it [default: 3000]
    #[arg(long, global = true, env = "CHAT_CONFIRM_MS")]
    pub confirm_ms: Option<u64>,
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
    /// Bearer token `GET /metrics` requires; unset: /metrics is open (it shows counts only, no
    /// user data) [default: none]
    #[arg(
        long,
        global = true,
        env = "CHAT_METRICS_TOKEN",
        hide_env_values = true
    )]
    pub metrics_token: Option<String>,
    /// Log format: text or json [default: text]
    #[arg(long, global = true, env = "CHAT_LOG_FORMAT")]
    pub log_format: Option<String>,
}

impl Options {
    /// `self` where given, else `lower`.
    pub(super) fn over(self, lower: Options) -> Options {
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
            presence_debounce_ms,
            shutdown_grace,
            close_grace,
            confirm_ms,
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
            metrics_token,
            log_format
        )
    }
}
