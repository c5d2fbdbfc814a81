//! Settings, read once at start-up from flags and the environment.
//!
//! clap parses every setting straight into its type (each flag's
//! `value_parser` below is the one place that setting is checked, and its
//! `default_value` the one place it defaults); [`Settings::resolve`] only
//! checks the settings against each other. A bad value stops start-up with
//! one line naming the setting ([`SettingError::from_clap`]).

use crate::domain::{key_format::KeyPrefix, keys::IpAllowlist};
use crate::server::secrets::bearer_token::BearerToken;
pub use crate::server::secrets::ServerSecret;
use clap::{Args, ValueEnum};
use parse::*;
use std::{fmt, net::SocketAddr, path::PathBuf, time::Duration};

mod error;
mod parse;
#[cfg(test)]
mod tests;

pub use error::SettingError;

/// A setting whose empty value means "unset", like a missing one.
///
/// (An alias rather than `Option<T>` so that clap hands the empty string to
/// the setting's parser instead of demanding a value.)
pub type Unset<T> = Option<T>;

/// Settings as given on the command line or in the environment, each parsed
/// into its type.
#[derive(Args, Clone, Debug)]
pub struct Settings {
    /// Database: `sqlite://PATH` (created on first run) or `postgres://…`.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://data/portico.db",
          global = true, value_parser = database_url)]
    pub database_url: DatabaseUrl,

    /// Address and port the server listens on.
    #[arg(long, env = "PORTICO_LISTEN", default_value = "127.0.0.1:3000", global = true,
          value_parser = socket_addr)]
    pub listen: SocketAddr,

    /// The address people use to reach the portal (links in invitations and
    /// the setup URL). Defaults to http:// plus the listen address.
    #[arg(long = "public-url", env = "PORTICO_PUBLIC_URL", default_value = "", hide_default_value = true,
          global = true, value_parser = public_url)]
    pub given_public_url: Unset<String>,

    /// The audience (`aud`) of the access tokens minted at `/oauth/token`:
    /// the URL that names the platform's API, which checks them (RFC 9068
    /// §3). Defaults to the public URL.
    #[arg(long = "access-token-audience", env = "PORTICO_ACCESS_TOKEN_AUDIENCE", default_value = "",
          hide_default_value = true, global = true, value_parser = public_url)]
    pub given_access_token_audience: Unset<String>,

    /// Mark the session cookie `Secure` (and name it `__Host-…`); turn on behind HTTPS.
    #[arg(long, env = "PORTICO_COOKIE_SECURE", default_value = "false", global = true,
          action = clap::ArgAction::Set, value_parser = boolean)]
    pub cookie_secure: bool,

    /// Server secret for hashing API keys: 64 hex characters (32 bytes). When
    /// unset, it is read from the secret file, which is created on first run.
    #[arg(long, env = "PORTICO_SECRET", hide_env_values = true, default_value = "",
          hide_default_value = true, global = true, value_parser = server_secret)]
    pub secret: Unset<ServerSecret>,

    /// Where the generated server secret is kept when `PORTICO_SECRET` is unset.
    #[arg(long, env = "PORTICO_SECRET_FILE", default_value = "data/server.secret",
          global = true, value_parser = file_path)]
    pub secret_file: PathBuf,

    /// Log filter, e.g. `info` or `portico=debug,sqlx=warn`.
    #[arg(long, env = "PORTICO_LOG", default_value = "info", global = true,
          value_parser = log_filter)]
    pub log: String,

    /// Log format: `text` for people, `json` for log collectors.
    #[arg(
        long,
        env = "PORTICO_LOG_FORMAT",
        default_value = "text",
        global = true
    )]
    pub log_format: LogFormat,

    /// Minutes without a request after which a session ends (1 to 1,440).
    #[arg(long = "session-idle-minutes", env = "PORTICO_SESSION_IDLE_MINUTES",
          default_value = "30", global = true, value_parser = minutes(1..=24 * 60))]
    pub session_idle: Duration,

    /// Hours after sign-in after which a session ends however active it is (1 to 720).
    #[arg(long = "session-lifetime-hours", env = "PORTICO_SESSION_LIFETIME_HOURS",
          default_value = "12", global = true, value_parser = hours(1..=30 * 24))]
    pub session_lifetime: Duration,

    /// Take the client address from the last `X-Forwarded-For` entry (only
    /// behind a reverse proxy that sets it).
    #[arg(long, env = "PORTICO_TRUST_FORWARDED_FOR", default_value = "false", global = true,
          action = clap::ArgAction::Set, value_parser = boolean)]
    pub trust_forwarded_for: bool,

    /// Scope catalog (TOML). Unset: the sample catalog built into Portico.
    #[arg(long, env = "PORTICO_SCOPE_CATALOG", default_value = "", hide_default_value = true,
          global = true, value_parser = existing_file)]
    pub scope_catalog: Unset<PathBuf>,

    /// GitHub's secret-scanning public keys: the JSON that
    /// `https://api.github.com/meta/public_keys/secret_scanning` answers,
    /// saved to a file (no instance reaches GitHub to fetch it). Turns on
    /// `POST /v1/leaks/github`; unset, that endpoint answers 404.
    #[arg(long, env = "PORTICO_SECRET_SCANNING_KEYS", default_value = "", hide_default_value = true,
          global = true, value_parser = existing_file)]
    pub secret_scanning_keys: Unset<PathBuf>,

    /// The product prefix of API keys (`prt_live_…`): 2 to 16 lower-case
    /// letters or digits. Changing it makes existing keys unrecognisable.
    #[arg(long, env = "PORTICO_KEY_PREFIX", default_value = "prt", global = true,
          value_parser = |s: &str| KeyPrefix::parse(s.trim()))]
    pub key_prefix: KeyPrefix,

    /// Requests per minute a new key allows unless its creator picks another
    /// limit (1 to 1,000,000).
    #[arg(long, env = "PORTICO_DEFAULT_RATE_LIMIT", default_value = "600", global = true,
          value_parser = count::<u32>(1..=1_000_000))]
    pub default_rate_limit: u32,

    /// Days raw usage events are kept (per-request detail: endpoints,
    /// addresses), 1 to 3,650.
    #[arg(long, env = "PORTICO_USAGE_RETENTION_DAYS", default_value = "30", global = true,
          value_parser = count::<i64>(1..=3650))]
    pub usage_retention_days: i64,

    /// Days hourly usage counts are kept (1 to 36,500; at least the raw events' days).
    #[arg(long, env = "PORTICO_ROLLUP_RETENTION_DAYS", default_value = "400", global = true,
          value_parser = count::<i64>(1..=36500))]
    pub rollup_retention_days: i64,

    /// Usage events buffered in memory before new ones are dropped (and
    /// counted), 100 to 10,000,000.
    #[arg(long, env = "PORTICO_USAGE_BUFFER", default_value = "100000", global = true,
          value_parser = count::<usize>(100..=10_000_000))]
    pub usage_buffer: usize,

    /// SMTP server for email notifications: `smtp://HOST:PORT` (plain, for a
    /// relay on the same host), `smtp://USER:PASS@HOST:587?tls=required`
    /// (STARTTLS) or `smtps://USER:PASS@HOST:465` (TLS). Unset: notifications
    /// stay in the portal only.
    #[arg(long, env = "PORTICO_SMTP_URL", hide_env_values = true, default_value = "",
          hide_default_value = true, global = true, value_parser = smtp_url)]
    pub smtp_url: Unset<String>,

    /// Redis shared by every instance, for rate limits that hold across them:
    /// `redis://[USER:PASS@]HOST[:PORT][/DB]`. Unset: each instance limits
    /// alone. When Redis does not answer, instances limit alone until it does.
    #[arg(long, env = "PORTICO_REDIS_URL", hide_env_values = true, default_value = "",
          hide_default_value = true, global = true, value_parser = redis_url)]
    pub redis_url: Unset<RedisUrl>,

    /// Bearer token a Prometheus scraper presents to `GET /metrics` (32 or
    /// more characters, e.g. `openssl rand -hex 32`). Unset: no metrics
    /// endpoint.
    #[arg(long, env = "PORTICO_METRICS_TOKEN", hide_env_values = true, default_value = "",
          hide_default_value = true, global = true, value_parser = bearer_token)]
    pub metrics_token: Unset<BearerToken>,

    /// Sign-ups from one client address in 15 minutes before they slow down
    /// (1 to 100,000; twice as many lock the address out for the rest of
    /// the window). Raise it for an office behind one address.
    #[arg(long, env = "PORTICO_SIGN_UPS_PER_ADDRESS", default_value = "30", global = true,
          value_parser = count::<u32>(1..=100_000))]
    pub sign_ups_per_address: u32,

    /// Addresses or CIDR blocks of gateways that may call
    /// `/v1/forward-auth` without a gateway token (the TCP peer is compared,
    /// never a forwarded header). Unset: every gateway presents its token.
    #[arg(long, env = "PORTICO_GATEWAY_ADDRESSES", default_value = "", hide_default_value = true,
          global = true, value_parser = gateway_addresses)]
    pub gateway_addresses: IpAllowlist,

    /// The header `/v1/forward-auth` reads an API key from when the request
    /// has no `Authorization: Bearer …`.
    #[arg(long, env = "PORTICO_FORWARD_AUTH_KEY_HEADER", default_value = "X-API-Key",
          global = true, value_parser = key_header)]
    pub forward_auth_key_header: axum::http::HeaderName,

    /// The sender of notification emails.
    #[arg(long, env = "PORTICO_MAIL_FROM", default_value = "Portico <portico@localhost>",
          global = true, value_parser = mailbox)]
    pub mail_from: lettre::message::Mailbox,

    /// Folder holding the built stylesheet, WASM and static files.
    #[arg(
        long,
        env = "LEPTOS_SITE_ROOT",
        default_value = "target/site",
        global = true
    )]
    pub site_root: String,
}

/// A database URL and the kind of database it names.
#[derive(Clone, Debug)]
pub struct DatabaseUrl {
    /// The URL as given (may hold a password: logged by kind only).
    pub url: String,
    /// Which database the scheme names.
    pub kind: DatabaseKind,
}

/// Which database a URL points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatabaseKind {
    /// An embedded SQLite file (`sqlite:` URLs).
    Sqlite,
    /// A PostgreSQL server (`postgres://` or `postgresql://` URLs).
    Postgres,
}

/// Output format of the server log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// The settings checked against each other, as the server uses them: every
/// setting as given (read through `Deref`, e.g. `config.listen`), plus the
/// values that are derived from several settings.
#[derive(Clone, Debug)]
pub struct Config {
    settings: Settings,
    /// Where people reach the portal, without a trailing slash: the given
    /// public URL, else `http://` and the listen address.
    pub public_url: String,
    /// The `aud` of access tokens: the given audience, else the public URL.
    pub access_token_audience: String,
    /// Where notification emails go out (`PORTICO_SMTP_URL` with
    /// `PORTICO_MAIL_FROM`); `None`: the portal only.
    pub smtp: Option<SmtpConfig>,
}

impl std::ops::Deref for Config {
    type Target = Settings;

    fn deref(&self) -> &Settings {
        &self.settings
    }
}

impl std::ops::DerefMut for Config {
    fn deref_mut(&mut self) -> &mut Settings {
        &mut self.settings
    }
}

/// The Redis URL, which may hold a password: its `Debug` shows neither.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisUrl(pub String);

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RedisUrl(redacted)")
    }
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

impl Settings {
    /// Checks the settings against each other and returns the configuration
    /// the server uses, or the first setting that does not fit the others.
    pub fn resolve(&self) -> Result<Config, SettingError> {
        let public_url = match &self.given_public_url {
            Some(url) if self.cookie_secure && !url.starts_with("https://") => {
                return Err(SettingError::against(
                    "PORTICO_PUBLIC_URL",
                    "public-url",
                    url,
                    "PORTICO_COOKIE_SECURE=true needs an https:// public URL",
                ))
            }
            Some(url) => url.clone(),
            None => {
                let ip = self.listen.ip();
                let host = match ip {
                    _ if ip.is_unspecified() => "localhost".to_owned(),
                    std::net::IpAddr::V6(v6) => format!("[{v6}]"),
                    std::net::IpAddr::V4(v4) => v4.to_string(),
                };
                format!("http://{host}:{}", self.listen.port())
            }
        };
        if self.session_lifetime < self.session_idle {
            return Err(SettingError::against(
                "PORTICO_SESSION_LIFETIME_HOURS",
                "session-lifetime-hours",
                self.session_lifetime.as_secs() / 3600,
                "must be at least as long as PORTICO_SESSION_IDLE_MINUTES",
            ));
        }
        if self.rollup_retention_days < self.usage_retention_days {
            return Err(SettingError::against(
                "PORTICO_ROLLUP_RETENTION_DAYS",
                "rollup-retention-days",
                self.rollup_retention_days,
                "must be at least PORTICO_USAGE_RETENTION_DAYS",
            ));
        }
        Ok(Config {
            smtp: self.smtp_url.as_ref().map(|url| SmtpConfig {
                url: url.clone(),
                from: self.mail_from.clone(),
            }),
            access_token_audience: self
                .given_access_token_audience
                .clone()
                .unwrap_or_else(|| public_url.clone()),
            public_url,
            settings: self.clone(),
        })
    }
}

impl Config {
    /// A configuration for tests and tools: the given database, the defaults
    /// otherwise (not the environment's), a fixed secret and a quiet log.
    pub fn for_database(database_url: &str) -> Self {
        #[derive(clap::Parser)]
        struct Defaults {
            #[command(flatten)]
            settings: Settings,
        }
        let command =
            <Defaults as clap::CommandFactory>::command().mut_args(|arg| arg.env(None::<&str>));
        let secret = "ab".repeat(ServerSecret::LEN);
        let argv = [
            "portico",
            "--database-url",
            database_url,
            "--listen",
            "127.0.0.1:0",
            "--public-url",
            "http://127.0.0.1",
            "--secret",
            &secret,
            "--log",
            "warn",
        ];
        let matches = command
            .try_get_matches_from(argv)
            .expect("the test settings parse");
        let defaults = <Defaults as clap::FromArgMatches>::from_arg_matches(&matches)
            .expect("the test settings parse");
        defaults
            .settings
            .resolve()
            .expect("the built-in test settings are valid")
    }

    /// Loads the server secret, generating and storing it on first run.
    pub fn load_secret(&self) -> Result<ServerSecret, String> {
        match &self.secret {
            Some(secret) => Ok(secret.clone()),
            None => super::secrets::secret_file::load_or_create(&self.secret_file),
        }
    }
}
