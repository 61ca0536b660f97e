//! Resolving options: precedence, defaults, production checks.

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
                jwt_secret: Some("short".into()),
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

#[test]
fn database_urls_with_another_scheme_are_refused() {
    let with = |url: &str| {
        Config::resolve(Options {
            database_url: Some(url.into()),
            ..Options::default()
        })
    };
    let err = with("mysql://root:hunter2@db/chat")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("DATABASE_URL") && err.contains("mysql://"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "the password is not shown: {err}");
    for ok in [
        "postgres://u@h/db",
        "postgresql://u@h/db",
        "sqlite:///tmp/x.db",
        "data/x.db",
    ] {
        assert!(with(ok).is_ok(), "{ok}");
    }
    // Empty is unset: the embedded default.
    let c = with("").unwrap_or_else(|e| panic!("{e}"));
    assert!(c.database_url.starts_with("sqlite://"));
}

#[test]
fn passwords_in_urls_are_redacted() {
    assert_eq!(
        redact_url("redis://:secret@r:6379/0"),
        "redis://:***@r:6379/0"
    );
    assert_eq!(
        redact_url("postgres://chatd:pw@db:5432/chatd"),
        "postgres://chatd:***@db:5432/chatd"
    );
    assert_eq!(redact_url("postgres://chatd@db/x"), "postgres://chatd@db/x");
    assert_eq!(
        redact_url("redis://127.0.0.1:6379"),
        "redis://127.0.0.1:6379"
    );
    assert_eq!(redact_url("data/chatd.db"), "data/chatd.db");
}

#[test]
fn empty_secrets_are_unset() {
    let c = Config::resolve(Options {
        jwt_secret: Some(String::new()),
        visitor_salt: Some(String::new()),
        visitor_app_secret: Some(String::new()),
        ..Options::default()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.jwt_secret, DEV_JWT_SECRET);
    assert_eq!(c.visitor_salt, DEV_VISITOR_SALT);
    assert_eq!(c.visitor_app_secret, DEV_VISITOR_APP_SECRET);
    // ...so production refuses them as it refuses the development values.
    assert!(Config::resolve(Options {
        env: Some("production".into()),
        jwt_secret: Some(String::new()),
        ..Options::default()
    })
    .is_err());
}

/// `chatd.example.toml` names every option (as a commented `key = value` line) and, with those
/// lines uncommented, is a valid configuration file.
#[test]
fn the_example_file_names_every_option_and_parses() {
    use clap::CommandFactory;
    let text = include_str!("../../chatd.example.toml");
    let settings: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# "))
        .filter(|l| {
            l.split_once(" = ").is_some_and(|(k, _)| {
                !k.is_empty()
                    && k.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            })
        })
        .collect();
    let keys: std::collections::HashSet<&str> = settings
        .iter()
        .filter_map(|l| l.split_once(" = ").map(|(k, _)| k))
        .collect();
    let parsed: Result<Options, _> = toml::from_str(&settings.join("\n"));
    assert!(parsed.is_ok(), "the example does not parse: {parsed:?}");
    let cmd = Cli::command();
    let missing: Vec<&str> = cmd
        .get_arguments()
        .map(|a| a.get_id().as_str())
        .filter(|id| !["config", "help", "version"].contains(id) && !keys.contains(id))
        .collect();
    assert!(missing.is_empty(), "chatd.example.toml lacks {missing:?}");
}
