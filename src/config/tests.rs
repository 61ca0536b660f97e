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
