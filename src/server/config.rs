//! Settings, read once at start-up from flags and the environment.
//!
//! `clap` reads every setting as text (so `--help` lists flags, variables and
//! defaults in one place); [`Settings::resolve`] then checks each one and turns
//! it into a typed [`Config`]. A bad value stops start-up with one line naming
//! the setting.

use crate::domain::key_format::KeyPrefix;
pub use crate::server::secrets::ServerSecret;
use clap::Args;
use std::{fmt, net::SocketAddr, path::PathBuf, time::Duration};
use url::Url;

/// Settings as given on the command line or in the environment.
#[derive(Args, Clone, Debug)]
pub struct Settings {
    /// Database: `sqlite://PATH` (created on first run) or `postgres://…`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://data/portico.db",
        global = true
    )]
    pub database_url: String,

    /// Address and port the server listens on.
    #[arg(
        long,
        env = "PORTICO_LISTEN",
        default_value = "127.0.0.1:3000",
        global = true
    )]
    pub listen: String,

    /// The address people use to reach the portal (links in invitations and
    /// the setup URL). Defaults to http:// plus the listen address.
    #[arg(long, env = "PORTICO_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,

    /// Mark the session cookie `Secure` (and name it `__Host-…`); turn on behind HTTPS.
    #[arg(
        long,
        env = "PORTICO_COOKIE_SECURE",
        default_value = "false",
        global = true
    )]
    pub cookie_secure: String,

    /// Server secret for hashing API keys: 64 hex characters (32 bytes). When
    /// unset, it is read from the secret file, which is created on first run.
    #[arg(long, env = "PORTICO_SECRET", hide_env_values = true, global = true)]
    pub secret: Option<String>,

    /// Where the generated server secret is kept when `PORTICO_SECRET` is unset.
    #[arg(
        long,
        env = "PORTICO_SECRET_FILE",
        default_value = "data/server.secret",
        global = true
    )]
    pub secret_file: String,

    /// Log filter, e.g. `info` or `portico=debug,sqlx=warn`.
    #[arg(long, env = "PORTICO_LOG", default_value = "info", global = true)]
    pub log: String,

    /// Log format: `text` for people, `json` for log collectors.
    #[arg(
        long,
        env = "PORTICO_LOG_FORMAT",
        default_value = "text",
        global = true
    )]
    pub log_format: String,

    /// Minutes of inactivity after which a session ends.
    #[arg(
        long,
        env = "PORTICO_SESSION_IDLE_MINUTES",
        default_value = "30",
        global = true
    )]
    pub session_idle_minutes: String,

    /// Hours after sign-in after which a session ends however active it is.
    #[arg(
        long,
        env = "PORTICO_SESSION_LIFETIME_HOURS",
        default_value = "12",
        global = true
    )]
    pub session_lifetime_hours: String,

    /// Take the client address from the last `X-Forwarded-For` entry (only
    /// behind a reverse proxy that sets it).
    #[arg(
        long,
        env = "PORTICO_TRUST_FORWARDED_FOR",
        default_value = "false",
        global = true
    )]
    pub trust_forwarded_for: String,

    /// Scope catalog (TOML). Unset: the sample catalog built into Portico.
    #[arg(long, env = "PORTICO_SCOPE_CATALOG", global = true)]
    pub scope_catalog: Option<String>,

    /// The product prefix of API keys (`prt_live_…`): 2 to 16 lower-case
    /// letters or digits. Changing it makes existing keys unrecognisable.
    #[arg(long, env = "PORTICO_KEY_PREFIX", default_value = "prt", global = true)]
    pub key_prefix: String,

    /// Requests per minute a new key allows unless its creator picks another limit.
    #[arg(
        long,
        env = "PORTICO_DEFAULT_RATE_LIMIT",
        default_value = "600",
        global = true
    )]
    pub default_rate_limit: String,

    /// Days raw usage events are kept (per-request detail: endpoints, addresses).
    #[arg(
        long,
        env = "PORTICO_USAGE_RETENTION_DAYS",
        default_value = "30",
        global = true
    )]
    pub usage_retention_days: String,

    /// Days hourly usage counts are kept.
    #[arg(
        long,
        env = "PORTICO_ROLLUP_RETENTION_DAYS",
        default_value = "400",
        global = true
    )]
    pub rollup_retention_days: String,

    /// Usage events buffered in memory before new ones are dropped (and counted).
    #[arg(
        long,
        env = "PORTICO_USAGE_BUFFER",
        default_value = "100000",
        global = true
    )]
    pub usage_buffer: String,

    /// SMTP server for email notifications: `smtp://HOST:PORT` (plain, for a
    /// relay on the same host), `smtp://USER:PASS@HOST:587?tls=required`
    /// (STARTTLS) or `smtps://USER:PASS@HOST:465` (TLS). Unset: notifications
    /// stay in the portal only.
    #[arg(long, env = "PORTICO_SMTP_URL", hide_env_values = true, global = true)]
    pub smtp_url: Option<String>,

    /// The sender of notification emails.
    #[arg(
        long,
        env = "PORTICO_MAIL_FROM",
        default_value = "Portico <portico@localhost>",
        global = true
    )]
    pub mail_from: String,

    /// Folder holding the built stylesheet, WASM and static files.
    #[arg(
        long,
        env = "LEPTOS_SITE_ROOT",
        default_value = "target/site",
        global = true
    )]
    pub site_root: String,
}

/// Which database a URL points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatabaseKind {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// Output format of the server log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Where the server secret comes from.
#[derive(Clone, Debug)]
pub enum SecretSource {
    /// Given directly in `PORTICO_SECRET`.
    Given(ServerSecret),
    /// Read from (or, on first run, written to) this file.
    File(PathBuf),
}

/// Checked settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// The database URL, as given.
    pub database_url: String,
    /// Which database it names.
    pub database_kind: DatabaseKind,
    /// Where to listen.
    pub listen: SocketAddr,
    /// Where people reach the portal, without a trailing slash.
    pub public_url: String,
    /// Whether cookies are `Secure` (and HSTS is sent).
    pub cookie_secure: bool,
    /// Where the server secret comes from.
    pub secret: SecretSource,
    /// Log filter directives.
    pub log: String,
    /// Log output format.
    pub log_format: LogFormat,
    /// Session idle timeout.
    pub session_idle: Duration,
    /// Session absolute lifetime.
    pub session_lifetime: Duration,
    /// Whether to trust `X-Forwarded-For`.
    pub trust_forwarded_for: bool,
    /// Folder holding the built site.
    pub site_root: String,
    /// The scope catalog file; `None` for the built-in sample.
    pub scope_catalog: Option<PathBuf>,
    /// The product prefix of API keys.
    pub key_prefix: KeyPrefix,
    /// Requests per minute for new keys by default.
    pub default_rate_limit: u32,
    /// Days raw usage events are kept.
    pub usage_retention_days: i64,
    /// Days hourly usage counts are kept.
    pub rollup_retention_days: i64,
    /// Usage events buffered in memory.
    pub usage_buffer: usize,
    /// Where notification emails go out; `None`: the portal only.
    pub smtp: Option<SmtpConfig>,
}

/// How notification emails are sent.
#[derive(Clone)]
pub struct SmtpConfig {
    /// The SMTP URL (may hold a password: never printed).
    pub url: String,
    /// The sender.
    pub from: lettre::message::Mailbox,
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

/// A setting that could not be used, named by its environment variable and flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingError {
    /// The environment variable.
    pub env: &'static str,
    /// The flag.
    pub flag: &'static str,
    /// The value given (omitted for secrets).
    pub value: Option<String>,
    /// What is wrong with it.
    pub problem: String,
}

impl fmt::Display for SettingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(value) => write!(
                f,
                "invalid setting {} (--{}) = {:?}: {}",
                self.env, self.flag, value, self.problem
            ),
            None => write!(
                f,
                "invalid setting {} (--{}): {}",
                self.env, self.flag, self.problem
            ),
        }
    }
}

impl std::error::Error for SettingError {}

fn bad(
    env: &'static str,
    flag: &'static str,
    value: &str,
    problem: impl Into<String>,
) -> SettingError {
    SettingError {
        env,
        flag,
        value: Some(value.to_owned()),
        problem: problem.into(),
    }
}

fn parse_bool(env: &'static str, flag: &'static str, value: &str) -> Result<bool, SettingError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" | "" => Ok(false),
        _ => Err(bad(env, flag, value, "expected true or false")),
    }
}

fn parse_count(
    env: &'static str,
    flag: &'static str,
    value: &str,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, SettingError> {
    let n: u64 = value
        .trim()
        .parse()
        .map_err(|_| bad(env, flag, value, "expected a whole number"))?;
    if !range.contains(&n) {
        return Err(bad(
            env,
            flag,
            value,
            format!(
                "expected a number from {} to {}",
                range.start(),
                range.end()
            ),
        ));
    }
    Ok(n)
}

impl Settings {
    /// Checks every setting and returns the typed configuration, or the first
    /// setting that is wrong.
    pub fn resolve(&self) -> Result<Config, SettingError> {
        let database_kind = if self.database_url.starts_with("sqlite:") {
            DatabaseKind::Sqlite
        } else if self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://")
        {
            DatabaseKind::Postgres
        } else {
            return Err(bad(
                "DATABASE_URL",
                "database-url",
                &self.database_url,
                "expected a sqlite://PATH or postgres://… URL",
            ));
        };

        let listen: SocketAddr = self.listen.trim().parse().map_err(|_| {
            bad(
                "PORTICO_LISTEN",
                "listen",
                &self.listen,
                "expected an address and port such as 127.0.0.1:3000",
            )
        })?;

        let cookie_secure = parse_bool(
            "PORTICO_COOKIE_SECURE",
            "cookie-secure",
            &self.cookie_secure,
        )?;

        let public_url = match &self.public_url {
            Some(given) => {
                let url = Url::parse(given.trim()).map_err(|e| {
                    bad(
                        "PORTICO_PUBLIC_URL",
                        "public-url",
                        given,
                        format!("not a URL ({e})"),
                    )
                })?;
                if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                    return Err(bad(
                        "PORTICO_PUBLIC_URL",
                        "public-url",
                        given,
                        "expected an http:// or https:// address such as https://keys.example.com",
                    ));
                }
                if url.query().is_some() || url.fragment().is_some() || url.path() != "/" {
                    return Err(bad(
                        "PORTICO_PUBLIC_URL",
                        "public-url",
                        given,
                        "expected just scheme, host and port, without a path or query",
                    ));
                }
                if cookie_secure && url.scheme() != "https" {
                    return Err(bad(
                        "PORTICO_PUBLIC_URL",
                        "public-url",
                        given,
                        "PORTICO_COOKIE_SECURE=true needs an https:// public URL",
                    ));
                }
                url.as_str().trim_end_matches('/').to_owned()
            }
            None => {
                let host = if listen.ip().is_unspecified() {
                    "localhost".to_owned()
                } else if listen.is_ipv6() {
                    format!("[{}]", listen.ip())
                } else {
                    listen.ip().to_string()
                };
                format!("http://{host}:{}", listen.port())
            }
        };

        let secret = match &self.secret {
            Some(text) => SecretSource::Given(ServerSecret::from_hex(text).map_err(|problem| {
                SettingError {
                    env: "PORTICO_SECRET",
                    flag: "secret",
                    value: None,
                    problem,
                }
            })?),
            None => {
                if self.secret_file.trim().is_empty() {
                    return Err(bad(
                        "PORTICO_SECRET_FILE",
                        "secret-file",
                        &self.secret_file,
                        "expected a file path",
                    ));
                }
                SecretSource::File(PathBuf::from(&self.secret_file))
            }
        };

        tracing_subscriber::EnvFilter::try_new(&self.log).map_err(|e| {
            bad(
                "PORTICO_LOG",
                "log",
                &self.log,
                format!("not a log filter ({e})"),
            )
        })?;

        let log_format = match self.log_format.trim() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            _ => {
                return Err(bad(
                    "PORTICO_LOG_FORMAT",
                    "log-format",
                    &self.log_format,
                    "expected text or json",
                ))
            }
        };

        let idle_minutes = parse_count(
            "PORTICO_SESSION_IDLE_MINUTES",
            "session-idle-minutes",
            &self.session_idle_minutes,
            1..=24 * 60,
        )?;
        let lifetime_hours = parse_count(
            "PORTICO_SESSION_LIFETIME_HOURS",
            "session-lifetime-hours",
            &self.session_lifetime_hours,
            1..=30 * 24,
        )?;
        if lifetime_hours * 60 < idle_minutes {
            return Err(bad(
                "PORTICO_SESSION_LIFETIME_HOURS",
                "session-lifetime-hours",
                &self.session_lifetime_hours,
                "must be at least as long as PORTICO_SESSION_IDLE_MINUTES",
            ));
        }

        let trust_forwarded_for = parse_bool(
            "PORTICO_TRUST_FORWARDED_FOR",
            "trust-forwarded-for",
            &self.trust_forwarded_for,
        )?;

        let scope_catalog = match self.scope_catalog.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(path) => {
                let path = PathBuf::from(path);
                if !path.is_file() {
                    return Err(bad(
                        "PORTICO_SCOPE_CATALOG",
                        "scope-catalog",
                        &path.display().to_string(),
                        "no such file",
                    ));
                }
                Some(path)
            }
        };
        let key_prefix = KeyPrefix::parse(self.key_prefix.trim())
            .map_err(|p| bad("PORTICO_KEY_PREFIX", "key-prefix", &self.key_prefix, p))?;

        let default_rate_limit = parse_count(
            "PORTICO_DEFAULT_RATE_LIMIT",
            "default-rate-limit",
            &self.default_rate_limit,
            1..=1_000_000,
        )? as u32;
        let usage_retention_days = parse_count(
            "PORTICO_USAGE_RETENTION_DAYS",
            "usage-retention-days",
            &self.usage_retention_days,
            1..=3650,
        )? as i64;
        let rollup_retention_days = parse_count(
            "PORTICO_ROLLUP_RETENTION_DAYS",
            "rollup-retention-days",
            &self.rollup_retention_days,
            1..=36500,
        )? as i64;
        if rollup_retention_days < usage_retention_days {
            return Err(bad(
                "PORTICO_ROLLUP_RETENTION_DAYS",
                "rollup-retention-days",
                &self.rollup_retention_days,
                "must be at least PORTICO_USAGE_RETENTION_DAYS",
            ));
        }
        let usage_buffer = parse_count(
            "PORTICO_USAGE_BUFFER",
            "usage-buffer",
            &self.usage_buffer,
            100..=10_000_000,
        )? as usize;

        let smtp = match self.smtp_url.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(url) => {
                let parsed = Url::parse(url).map_err(|e| SettingError {
                    env: "PORTICO_SMTP_URL",
                    flag: "smtp-url",
                    value: None,
                    problem: format!("not a URL ({e})"),
                })?;
                if !matches!(parsed.scheme(), "smtp" | "smtps") || parsed.host_str().is_none() {
                    return Err(SettingError {
                        env: "PORTICO_SMTP_URL",
                        flag: "smtp-url",
                        value: None,
                        problem: "expected smtp://HOST:PORT or smtps://HOST:PORT".to_owned(),
                    });
                }
                let from = self
                    .mail_from
                    .trim()
                    .parse::<lettre::message::Mailbox>()
                    .map_err(|e| {
                        bad(
                            "PORTICO_MAIL_FROM",
                            "mail-from",
                            &self.mail_from,
                            format!("not an email address ({e})"),
                        )
                    })?;
                Some(SmtpConfig {
                    url: url.to_owned(),
                    from,
                })
            }
        };

        Ok(Config {
            database_url: self.database_url.clone(),
            database_kind,
            listen,
            public_url,
            cookie_secure,
            secret,
            log: self.log.clone(),
            log_format,
            session_idle: Duration::from_secs(idle_minutes * 60),
            session_lifetime: Duration::from_secs(lifetime_hours * 3600),
            trust_forwarded_for,
            site_root: self.site_root.clone(),
            scope_catalog,
            key_prefix,
            default_rate_limit,
            usage_retention_days,
            rollup_retention_days,
            usage_buffer,
            smtp,
        })
    }
}

impl Config {
    /// A configuration for tests and tools: the given database, defaults
    /// otherwise, and a fixed secret.
    pub fn for_database(database_url: &str) -> Self {
        let settings = Settings {
            database_url: database_url.to_owned(),
            listen: "127.0.0.1:0".to_owned(),
            public_url: Some("http://127.0.0.1".to_owned()),
            cookie_secure: "false".to_owned(),
            secret: Some("ab".repeat(ServerSecret::LEN)),
            secret_file: String::new(),
            log: "warn".to_owned(),
            log_format: "text".to_owned(),
            session_idle_minutes: "30".to_owned(),
            session_lifetime_hours: "12".to_owned(),
            trust_forwarded_for: "false".to_owned(),
            site_root: "target/site".to_owned(),
            scope_catalog: None,
            key_prefix: "prt".to_owned(),
            default_rate_limit: "600".to_owned(),
            usage_retention_days: "30".to_owned(),
            rollup_retention_days: "400".to_owned(),
            usage_buffer: "100000".to_owned(),
            smtp_url: None,
            mail_from: "Portico <portico@localhost>".to_owned(),
        };
        settings
            .resolve()
            .expect("the built-in test settings are valid")
    }

    /// Loads the server secret, generating and storing it on first run.
    pub fn load_secret(&self) -> Result<ServerSecret, String> {
        match &self.secret {
            SecretSource::Given(secret) => Ok(secret.clone()),
            SecretSource::File(path) => load_or_create_secret(path),
        }
    }
}

fn load_or_create_secret(path: &std::path::Path) -> Result<ServerSecret, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => ServerSecret::from_hex(&text).map_err(|problem| {
            format!(
                "invalid setting PORTICO_SECRET_FILE (--secret-file): {} holds no usable secret: {problem}",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|e| {
                    format!("cannot create {} for the server secret: {e}", parent.display())
                })?;
            }
            let secret = ServerSecret::generate();
            write_private(path, &secret.to_hex()).map_err(|e| {
                format!("cannot write the server secret to {}: {e}", path.display())
            })?;
            tracing::info!(path = %path.display(), "generated a new server secret");
            Ok(secret)
        }
        Err(e) => Err(format!(
            "invalid setting PORTICO_SECRET_FILE (--secret-file): cannot read {}: {e}",
            path.display()
        )),
    }
}

#[cfg(unix)]
fn write_private(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())?;
    file.write_all(b"\n")
}

#[cfg(not(unix))]
fn write_private(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, format!("{contents}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct TestCli {
        #[command(flatten)]
        settings: Settings,
    }

    fn settings(args: &[&str]) -> Settings {
        let mut argv = vec!["portico"];
        argv.extend_from_slice(args);
        TestCli::try_parse_from(argv).unwrap().settings
    }

    #[test]
    fn defaults_serve_sqlite_on_localhost() {
        let config = settings(&["--secret-file", "/tmp/x"]).resolve().unwrap();
        assert_eq!(config.database_kind, DatabaseKind::Sqlite);
        assert_eq!(config.public_url, "http://127.0.0.1:3000");
        assert!(!config.cookie_secure);
        assert_eq!(config.session_idle, Duration::from_secs(30 * 60));
        assert_eq!(config.session_lifetime, Duration::from_secs(12 * 3600));
    }

    #[test]
    fn a_bad_setting_is_named_in_one_line() {
        let err = settings(&["--listen", "localhost"]).resolve().unwrap_err();
        let line = err.to_string();
        assert!(
            line.starts_with("invalid setting PORTICO_LISTEN (--listen)"),
            "{line}"
        );
        assert!(!line.contains('\n'));

        let err = settings(&["--database-url", "mysql://x"])
            .resolve()
            .unwrap_err();
        assert_eq!(err.env, "DATABASE_URL");
        let err = settings(&["--cookie-secure", "maybe"])
            .resolve()
            .unwrap_err();
        assert_eq!(err.env, "PORTICO_COOKIE_SECURE");
        let err = settings(&["--log-format", "xml"]).resolve().unwrap_err();
        assert_eq!(err.env, "PORTICO_LOG_FORMAT");
        let err = settings(&["--session-idle-minutes", "0"])
            .resolve()
            .unwrap_err();
        assert_eq!(err.env, "PORTICO_SESSION_IDLE_MINUTES");
        let err = settings(&["--public-url", "https://x.example/portal"])
            .resolve()
            .unwrap_err();
        assert_eq!(err.env, "PORTICO_PUBLIC_URL");
    }

    #[test]
    fn secure_cookies_need_an_https_public_url() {
        let err = settings(&[
            "--cookie-secure",
            "true",
            "--public-url",
            "http://x.example",
        ])
        .resolve()
        .unwrap_err();
        assert!(err.problem.contains("https"));
        let ok = settings(&[
            "--cookie-secure",
            "true",
            "--public-url",
            "https://x.example/",
        ])
        .resolve()
        .unwrap();
        assert_eq!(ok.public_url, "https://x.example");
    }

    #[test]
    fn a_bad_secret_is_refused_without_echoing_it() {
        let err = settings(&["--secret", "c0ffee"]).resolve().unwrap_err();
        assert_eq!(err.env, "PORTICO_SECRET");
        assert!(!err.to_string().contains("c0ffee"));
    }

    #[test]
    fn the_secret_file_is_created_once_and_then_reused() {
        let dir = std::env::temp_dir().join(format!("portico-secret-{}", std::process::id()));
        let path = dir.join("nested/server.secret");
        let _ = std::fs::remove_dir_all(&dir);
        let first = load_or_create_secret(&path).unwrap();
        let second = load_or_create_secret(&path).unwrap();
        assert_eq!(first, second);
        assert_eq!(first.expose().len(), ServerSecret::LEN);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "secret file must be private");
        }
        std::fs::write(&path, "nonsense").unwrap();
        assert!(load_or_create_secret(&path)
            .unwrap_err()
            .contains("PORTICO_SECRET_FILE"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let secret = ServerSecret::from_hex(&"ab".repeat(32)).unwrap();
        assert!(!format!("{secret:?}").contains("abab"));
    }
}
