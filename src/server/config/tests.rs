//! The settings parsed as the binary parses them.

use super::*;
use clap::{CommandFactory, FromArgMatches, Parser};

#[derive(Parser)]
struct TestCli {
    #[command(flatten)]
    settings: Settings,
}

/// Parses `args` as the binary does, ignoring this process's environment
/// (the settings' variables are named only when an error is reported).
fn parse(args: &[&str]) -> Result<Config, SettingError> {
    let without_env = TestCli::command().mut_args(|arg| arg.env(None::<&str>));
    let argv = std::iter::once("portico").chain(args.iter().copied());
    let matches = without_env.try_get_matches_from(argv).map_err(|e| {
        SettingError::from_clap(&e, &TestCli::command()).expect("a setting's error")
    })?;
    TestCli::from_arg_matches(&matches)
        .unwrap()
        .settings
        .resolve()
}

#[test]
fn defaults_serve_sqlite_on_localhost() {
    let config = parse(&["--secret-file", "/tmp/x"]).unwrap();
    assert_eq!(config.database_url.kind, DatabaseKind::Sqlite);
    assert_eq!(config.public_url, "http://127.0.0.1:3000");
    assert!(!config.cookie_secure);
    assert_eq!(config.session_idle, Duration::from_secs(30 * 60));
    assert_eq!(config.session_lifetime, Duration::from_secs(12 * 3600));
}

#[test]
fn a_bad_setting_is_named_in_one_line() {
    let err = parse(&["--listen", "localhost"]).unwrap_err();
    let line = err.to_string();
    assert!(
        line.starts_with("invalid setting PORTICO_LISTEN (--listen)"),
        "{line}"
    );
    assert!(!line.contains('\n'));

    let err = parse(&["--database-url", "mysql://x"]).unwrap_err();
    assert_eq!(err.env, "DATABASE_URL");
    let err = parse(&["--cookie-secure", "maybe"]).unwrap_err();
    assert_eq!(err.env, "PORTICO_COOKIE_SECURE");
    let err = parse(&["--log-format", "xml"]).unwrap_err();
    assert_eq!(err.env, "PORTICO_LOG_FORMAT");
    assert_eq!(err.problem, "expected text or json");
    let err = parse(&["--session-idle-minutes", "0"]).unwrap_err();
    assert_eq!(err.env, "PORTICO_SESSION_IDLE_MINUTES");
    assert_eq!(err.problem, "expected a number from 1 to 1440");
    let err = parse(&["--public-url", "https://x.example/portal"]).unwrap_err();
    assert_eq!(err.env, "PORTICO_PUBLIC_URL");
    let err = parse(&[
        "--session-idle-minutes",
        "120",
        "--session-lifetime-hours",
        "1",
    ])
    .unwrap_err();
    assert_eq!(err.env, "PORTICO_SESSION_LIFETIME_HOURS");
    let err = parse(&[
        "--usage-retention-days",
        "90",
        "--rollup-retention-days",
        "60",
    ])
    .unwrap_err();
    assert_eq!(err.env, "PORTICO_ROLLUP_RETENTION_DAYS");
}

#[test]
fn empty_optional_settings_mean_unset() {
    let config = parse(&["--public-url", "", "--smtp-url", " ", "--scope-catalog", ""]).unwrap();
    assert_eq!(config.public_url, "http://127.0.0.1:3000");
    assert!(config.smtp.is_none());
    assert!(config.scope_catalog.is_none());
    let err = parse(&["--scope-catalog", "/no/such/catalog.toml"]).unwrap_err();
    assert_eq!(err.problem, "no such file");
}

#[test]
fn secure_cookies_need_an_https_public_url() {
    let err = parse(&[
        "--cookie-secure",
        "true",
        "--public-url",
        "http://x.example",
    ])
    .unwrap_err();
    assert!(err.problem.contains("https"));
    let ok = parse(&[
        "--cookie-secure",
        "true",
        "--public-url",
        "https://x.example/",
    ])
    .unwrap();
    assert_eq!(ok.public_url, "https://x.example");
}

#[test]
fn secrets_are_refused_without_echoing_them() {
    let err = parse(&["--secret", "c0ffee"]).unwrap_err();
    assert_eq!(err.env, "PORTICO_SECRET");
    assert!(!err.to_string().contains("c0ffee"));
    let err = parse(&["--smtp-url", "ftp://user:hunter2@mail.example"]).unwrap_err();
    assert_eq!(err.env, "PORTICO_SMTP_URL");
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[test]
fn a_redis_url_is_checked_at_start_up_without_echoing_its_password() {
    let ok = parse(&["--redis-url", "redis://:hunter2@10.0.0.5:6379/2"]).unwrap();
    assert_eq!(
        ok.redis_url.as_ref().map(|u| u.0.as_str()),
        Some("redis://:hunter2@10.0.0.5:6379/2")
    );
    assert!(!format!("{ok:?}").contains("hunter2"), "Debug hides it");
    assert!(parse(&["--redis-url", ""]).unwrap().redis_url.is_none());
    for bad in [
        "rediss://:hunter2@cache.example:6380",
        "http://:hunter2@cache.example",
        "redis://:hunter2@cache.example/-1",
        "redis://:hunter2@cache.example/abc",
        "unix:///run/redis.sock",
    ] {
        let err = parse(&["--redis-url", bad]).unwrap_err();
        assert_eq!(err.env, "PORTICO_REDIS_URL", "{bad}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}

/// `.env.example` names every setting, and each value it sets is the
/// setting's default, so that the two cannot drift apart.
#[test]
fn the_env_example_matches_the_settings() {
    let example = include_str!("../../../.env.example");
    // Each setting's value where a line sets it, `None` where it is only
    // mentioned in a comment.
    let mut given = std::collections::BTreeMap::new();
    for line in example.lines() {
        let commented = line.starts_with('#');
        let Some((name, value)) = line.trim_start_matches(['#', ' ']).split_once('=') else {
            continue;
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
            continue;
        }
        let value = (!commented).then(|| value.trim_matches('"').to_owned());
        let entry = given.entry(name.to_owned()).or_insert(None);
        if value.is_some() {
            *entry = value;
        }
    }
    let command = TestCli::command();
    let mut known = std::collections::BTreeSet::new();
    for arg in command.get_arguments() {
        let Some(env) = arg.get_env() else { continue };
        let env = env.to_string_lossy().into_owned();
        let value = given
            .get(&env)
            .unwrap_or_else(|| panic!(".env.example does not mention {env}"));
        let default = arg
            .get_default_values()
            .first()
            .map(|d| d.to_string_lossy().into_owned());
        if let Some(value) = value {
            assert_eq!(
                Some(value),
                default.as_ref(),
                "{env} in .env.example is not its default"
            );
        }
        known.insert(env);
    }
    for name in given.keys() {
        assert!(
            known.contains(name),
            ".env.example names {name}, which is no setting"
        );
    }
}

#[test]
fn forward_auth_settings_are_checked() {
    let config = parse(&[]).unwrap();
    assert!(config.gateway_addresses.is_empty());
    assert_eq!(config.forward_auth_key_header.as_str(), "x-api-key");

    let config = parse(&[
        "--gateway-addresses",
        "10.0.0.5, 192.0.2.0/24",
        "--forward-auth-key-header",
        "X-Partner-Key",
    ])
    .unwrap();
    assert!(config
        .gateway_addresses
        .allows("192.0.2.77".parse().unwrap()));
    assert!(!config.gateway_addresses.allows("10.0.0.6".parse().unwrap()));
    assert_eq!(config.forward_auth_key_header.as_str(), "x-partner-key");

    let err = parse(&["--gateway-addresses", "10.0.0.5/8"]).unwrap_err();
    assert_eq!(err.env, "PORTICO_GATEWAY_ADDRESSES");
    assert!(err.problem.contains("did you mean 10.0.0.0/8"), "{err}");
    for bad in [
        "X Key",
        "",
        "Authorization",
        "proxy-authorization",
        "Portico-Gateway-Token",
    ] {
        let err = parse(&["--forward-auth-key-header", bad]).unwrap_err();
        assert_eq!(err.env, "PORTICO_FORWARD_AUTH_KEY_HEADER", "{bad:?}");
    }
}

#[test]
fn the_sign_up_allowance_is_checked() {
    assert_eq!(parse(&[]).unwrap().sign_ups_per_address, 30);
    assert_eq!(
        parse(&["--sign-ups-per-address", "500"])
            .unwrap()
            .sign_ups_per_address,
        500
    );
    for bad in ["0", "lots", "100001"] {
        let err = parse(&["--sign-ups-per-address", bad]).unwrap_err();
        assert_eq!(err.env, "PORTICO_SIGN_UPS_PER_ADDRESS", "{bad}");
    }
}
