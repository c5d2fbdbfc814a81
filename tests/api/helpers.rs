//! Spawns a real Portico server on port 0 over a fresh database (a SQLite
//! file, or a Postgres database made for the test and dropped afterwards),
//! and talks to it over HTTP as a browser would.

use chrono::{DateTime, Utc};
use portico::{
    error::AppError,
    server::{build_state, clock::Clock, config::Config, serve, state::AppState},
};
use reqwest::{
    cookie::{CookieStore, Jar},
    header::HeaderMap,
    redirect::Policy,
    Client, StatusCode,
};
use serde::de::DeserializeOwned;
use sqlx::{Connection, Executor, PgConnection};
use std::{net::SocketAddr, path::PathBuf, sync::Arc};
use tokio::sync::oneshot;

/// A password the strength check accepts.
pub const GOOD_PASSWORD: &str = "paper lantern orbit velvet";

/// Which database a test runs on.
#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A running server and what the test needs to drive it.
pub struct TestApp {
    pub addr: SocketAddr,
    pub database_url: String,
    pub state: AppState,
    pub clock: Clock,
    shutdown: Option<oneshot::Sender<()>>,
    _cleanup: Option<Cleanup>,
}

/// Removes a test database when dropped.
pub enum Cleanup {
    File(PathBuf),
    PgDatabase { admin_url: String, name: String },
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        match self {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::PgDatabase { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Drop may run inside a test's runtime; use a thread with its own.
                std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    rt.block_on(async move {
                        if let Ok(mut admin) = PgConnection::connect(&admin_url).await {
                            let _ = admin
                                .execute(
                                    format!("drop database if exists {name} with (force)").as_str(),
                                )
                                .await;
                        }
                    });
                })
                .join()
                .ok();
            }
        }
    }
}

fn random_suffix() -> String {
    let bytes: [u8; 6] = portico::server::secrets::tokens::random_bytes();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The Postgres server tests use (`TEST_POSTGRES_URL`).
pub fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A fresh, empty database URL of the given backend.
pub async fn fresh_database(backend: Backend) -> (String, Cleanup) {
    match backend {
        Backend::Sqlite => {
            let path = std::env::temp_dir().join(format!("portico-test-{}.db", random_suffix()));
            (format!("sqlite://{}", path.display()), Cleanup::File(path))
        }
        Backend::Postgres => {
            let admin_url = postgres_admin_url();
            let name = format!("portico_test_{}", random_suffix());
            let mut admin = PgConnection::connect(&admin_url)
                .await
                .expect("Postgres is reachable at TEST_POSTGRES_URL");
            admin
                .execute(format!("create database {name}").as_str())
                .await
                .expect("can create a test database");
            let mut url = url::Url::parse(&admin_url).expect("TEST_POSTGRES_URL is a URL");
            url.set_path(&name);
            (url.to_string(), Cleanup::PgDatabase { admin_url, name })
        }
    }
}

/// A fixed starting time, so tests can move the clock.
pub fn start_time() -> DateTime<Utc> {
    Utc::now()
}

impl TestApp {
    /// Spawns a server with default settings.
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Spawns a server after `adjust` has changed its settings.
    pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Self {
        let (url, cleanup) = fresh_database(backend).await;
        Self::start(url, Some(cleanup), adjust).await
    }

    /// Another instance on the same database (for cross-instance tests).
    pub async fn second_instance(&self) -> Self {
        Self::start(self.database_url.clone(), None, |_| {}).await
    }

    /// An instance on an existing database (kept when the instance ends).
    pub async fn start_on(database_url: String) -> Self {
        Self::start(database_url, None, |_| {}).await
    }

    /// Another instance on the same database, after `adjust` has changed its
    /// settings.
    pub async fn instance_with(&self, adjust: impl FnOnce(&mut Config)) -> Self {
        Self::start(self.database_url.clone(), None, adjust).await
    }

    async fn start(
        url: String,
        cleanup: Option<Cleanup>,
        adjust: impl FnOnce(&mut Config),
    ) -> Self {
        let mut config = Config::for_database(&url);
        adjust(&mut config);
        let clock = Clock::manual(start_time());
        let state = build_state(config, clock.clone())
            .await
            .expect("state builds");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let server_state = state.clone();
        tokio::spawn(async move {
            serve(server_state, listener, async {
                let _ = rx.await;
            })
            .await
            .expect("server runs");
        });
        TestApp {
            addr,
            database_url: url,
            state,
            clock,
            shutdown: Some(tx),
            _cleanup: cleanup,
        }
    }

    /// The server's base URL.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A new browser-like client with its own cookie jar.
    pub fn client(&self) -> TestClient {
        let jar = Arc::new(Jar::default());
        TestClient {
            base: format!("http://{}", self.addr),
            http: Client::builder()
                .cookie_provider(jar.clone())
                .redirect(Policy::none())
                .build()
                .unwrap(),
            jar,
        }
    }

    /// Signs up a new account that creates `org`, confirms its address and
    /// signs it in, returning its client.
    pub async fn sign_up(&self, email: &str, org: &str) -> TestClient {
        let client = self.client();
        self.sign_up_with(
            &client,
            &[
                ("email", email),
                ("password", GOOD_PASSWORD),
                ("org_name", org),
            ],
        )
        .await
        .expect("sign-up succeeds");
        client
    }

    /// Sends the sign-up form as `client`; when it succeeds, confirms the
    /// address as its emailed link would (accepting an invitation bound to
    /// it) and signs `client` in.
    pub async fn sign_up_with(
        &self,
        client: &TestClient,
        form: &[(&str, &str)],
    ) -> Result<(), CallError> {
        client.call::<()>("sign_up", form).await?;
        let field = |name: &str| form.iter().find(|(k, _)| *k == name).unwrap().1;
        let email = field("email").trim().to_lowercase();
        self.confirm_email(&email).await;
        client
            .call::<()>(
                "sign_in",
                &[("email", &email), ("password", field("password"))],
            )
            .await
    }

    /// Confirms the address of the account `email` through the real
    /// confirmation path, as if its emailed link had been opened.
    pub async fn confirm_email(&self, email: &str) {
        confirm_email_of(&self.state, email).await;
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A client with a cookie jar, calling server functions the way the pages do.
pub struct TestClient {
    pub base: String,
    pub http: Client,
    pub jar: Arc<Jar>,
}

/// A server function's answer: the value, or the error and its status.
#[derive(Debug)]
pub struct CallError {
    pub status: StatusCode,
    pub error: AppError,
    pub headers: HeaderMap,
}

impl TestClient {
    /// Posts a form to `/api/{name}` and decodes the answer.
    pub async fn call<T: DeserializeOwned>(
        &self,
        name: &str,
        form: &[(&str, &str)],
    ) -> Result<T, CallError> {
        let res = self
            .http
            .post(format!("{}/api/{name}", self.base))
            .form(form)
            .send()
            .await
            .expect("request reaches the server");
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.text().await.unwrap();
        if status.is_success() || status.is_redirection() {
            let body = if body.is_empty() {
                "null"
            } else {
                body.as_str()
            };
            Ok(serde_json::from_str(body)
                .unwrap_or_else(|e| panic!("{name}: cannot decode {body:?}: {e}")))
        } else {
            let error = serde_json::from_str(&body).unwrap_or_else(|e| {
                panic!("{name}: status {status}, undecodable error {body:?}: {e}")
            });
            Err(CallError {
                status,
                error,
                headers,
            })
        }
    }

    /// Signs in (again) as `email`, e.g. after moving the clock past the
    /// session lifetime.
    pub async fn sign_in(&self, email: &str) {
        self.call::<()>("sign_in", &[("email", email), ("password", GOOD_PASSWORD)])
            .await
            .expect("sign-in succeeds");
    }

    /// Sets up an authenticator app for the signed-in account through the
    /// Account page's calls, returning the app (as the test holds it) and
    /// the recovery codes shown once. The clock then moves on a step, so
    /// that the next code is a fresh one.
    pub async fn enrol_totp(&self, app: &TestApp) -> (Authenticator, Vec<String>) {
        let enrolment: portico::model::account::TotpEnrolment = self
            .call("begin_totp", &[])
            .await
            .expect("enrolment starts");
        let authenticator = Authenticator::from_shown(&enrolment.secret);
        let code = authenticator.code_at(app.clock.now());
        let codes: portico::model::account::RecoveryCodes = self
            .call(
                "confirm_totp",
                &[("code", &code), ("password", GOOD_PASSWORD)],
            )
            .await
            .expect("the first code confirms the app");
        app.clock.advance(chrono::Duration::seconds(30));
        (authenticator, codes.codes)
    }

    /// Signs in with the password and then `code`.
    pub async fn sign_in_with_code(&self, email: &str, code: &str) -> Result<(), CallError> {
        self.call::<()>("sign_in", &[("email", email), ("password", GOOD_PASSWORD)])
            .await?;
        self.call::<()>("sign_in_code", &[("code", code)]).await
    }

    /// Who the server thinks this client is.
    pub async fn me(&self) -> Option<portico::api::account::Me> {
        self.call("current_user", &[])
            .await
            .expect("current_user answers")
    }

    /// A GET of a page, returning status, headers and body.
    pub async fn get(&self, path: &str) -> (StatusCode, HeaderMap, String) {
        let res = self
            .http
            .get(format!("{}{path}", self.base))
            .header("accept", "text/html,application/xhtml+xml")
            .send()
            .await
            .unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        (status, headers, res.text().await.unwrap())
    }

    /// The value of this client's session cookie, if it has one.
    pub fn session_cookie(&self) -> Option<String> {
        let url: reqwest::Url = self.base.parse().unwrap();
        let header = self.jar.cookies(&url)?;
        header
            .to_str()
            .unwrap()
            .split("; ")
            .find_map(|pair| pair.strip_prefix("portico_session="))
            .map(str::to_owned)
    }

    /// Plants a session cookie, as an attacker fixing a session id would.
    pub fn set_session_cookie(&self, value: &str) {
        let url: reqwest::Url = self.base.parse().unwrap();
        self.jar
            .add_cookie_str(&format!("portico_session={value}; Path=/"), &url);
    }
}

/// Runs each test body once on SQLite and once on Postgres.
#[macro_export]
macro_rules! on_both_databases {
    ($(
        $(#[$meta:meta])*
        async fn $name:ident($app:ident) $body:block
    )*) => {
        $(
            $(#[$meta])*
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                #[tokio::test]
                async fn sqlite() {
                    let $app = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite).await;
                    $body
                }

                #[tokio::test]
                async fn postgres() {
                    let $app = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Postgres).await;
                    $body
                }
            }
        )*
    };
}

/// Creates a key through the create form's server functions: a sandbox key
/// named "Billing sync" with `records:read`, unless `extra` says otherwise
/// (`scopes` as a space-separated list).
pub async fn create_key(
    client: &TestClient,
    org_id: &str,
    extra: &[(&str, &str)],
) -> Result<portico::api::keys::CreatedKey, CallError> {
    let form: portico::api::keys::KeyFormData = client
        .call("key_form", &[("org_id", org_id)])
        .await
        .unwrap();
    let mut fields: Vec<(String, String)> = vec![
        ("org_id".into(), org_id.into()),
        ("request_token".into(), form.request_token),
        ("name".into(), "Billing sync".into()),
        ("purpose".into(), "Nightly export of invoices".into()),
        ("environment".into(), "sandbox".into()),
    ];
    if !extra.iter().any(|(k, _)| *k == "scopes") {
        fields.push(("scopes[0]".into(), "records:read".into()));
    }
    for (k, v) in extra {
        if *k == "scopes" {
            for (i, s) in v.split_whitespace().enumerate() {
                fields.push((format!("scopes[{i}]"), s.into()));
            }
        } else {
            fields.retain(|(f, _)| f != k);
            fields.push(((*k).into(), (*v).into()));
        }
    }
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    client.call("create_key", &pairs).await
}

/// A real SMTP server on loopback (Python's aiosmtpd) writing what it
/// receives into a maildir; stopped when dropped.
pub struct SmtpSink {
    child: std::process::Child,
    pub port: u16,
    dir: std::path::PathBuf,
}

impl SmtpSink {
    pub fn start() -> Self {
        let python = std::env::var("PORTICO_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = std::env::temp_dir().join(format!("portico-mail-{port}"));
        let child = std::process::Command::new(&python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&dir)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start aiosmtpd with {python} ({e}); run `make integration`, which installs it"));
        // Dropping the sink kills and waits for the child.
        let sink = Self { child, port, dir };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return sink;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("aiosmtpd did not start on port {port} (is it installed for {python}?)");
    }

    /// The messages received so far.
    pub fn messages(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.dir.join("new")) else {
            return vec![];
        };
        entries
            .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
            // Undo quoted-printable soft line breaks, if any.
            .map(|m| {
                m.replace("=\r\n", "")
                    .replace("=\n", "")
                    .replace("=3D", "=")
            })
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl SmtpSink {
    /// Waits up to ten seconds for at least `n` messages, and returns them.
    pub async fn wait_for(&self, n: usize) -> Vec<String> {
        for _ in 0..100 {
            let messages = self.messages();
            if messages.len() >= n {
                return messages;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        self.messages()
    }

    /// The SMTP settings that send to this sink.
    pub fn config(&self) -> portico::server::config::SmtpConfig {
        portico::server::config::SmtpConfig {
            url: format!("smtp://127.0.0.1:{}", self.port),
            from: "Portico <portico@platform.example>".parse().unwrap(),
        }
    }
}

/// Confirms `email`'s address on `state` as its emailed link would: a link is
/// made for it (carrying the invitation it waits for, if any) and used.
pub async fn confirm_email_of(state: &portico::server::state::AppState, email: &str) {
    use portico::server::{
        db::{
            email_verifications::{self, OpenVerification},
            users,
        },
        email_verification,
        secrets::tokens::NewToken,
    };
    let mut conn = state.db.acquire().await.unwrap();
    let user = users::find_by_email(conn.conn(), email)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no account for {email}"));
    let invitation_id = email_verifications::pending_invitation(conn.conn(), user.id, email)
        .await
        .unwrap();
    let token = NewToken::generate();
    let now = state.clock.now();
    let open = OpenVerification {
        user_id: user.id,
        email: email.to_owned(),
        invitation_id,
    };
    email_verifications::insert(
        conn.conn(),
        token.hash(),
        &open,
        now,
        now + chrono::Duration::hours(1),
    )
    .await
    .unwrap();
    drop(conn);
    email_verification::confirm(state, token.reveal(), std::net::Ipv4Addr::LOCALHOST.into())
        .await
        .unwrap();
}

/// An authenticator app, as a test holds it: the secret the Account page
/// showed, and the RFC 6238 codes it makes (computed here with totp-rs from
/// the shown base-32 text, not from anything the server stored).
pub struct Authenticator {
    totp: totp_rs::TOTP,
}

impl Authenticator {
    /// From the secret as shown (base 32 in groups of four).
    pub fn from_shown(secret: &str) -> Self {
        let compact: String = secret.split_whitespace().collect();
        let bytes = totp_rs::Secret::Encoded(compact)
            .to_bytes()
            .expect("the shown secret is base 32");
        Self {
            totp: totp_rs::TOTP::new_unchecked(
                totp_rs::Algorithm::SHA1,
                6,
                1,
                30,
                bytes,
                None,
                String::new(),
            ),
        }
    }

    /// The code the app shows at `at`.
    pub fn code_at(&self, at: DateTime<Utc>) -> String {
        self.totp.generate(at.timestamp() as u64)
    }
}

/// A real Redis server of its own on a free loopback port (Debian's
/// `redis-server`, or `REDIS_SERVER`), keeping nothing on disk; stopped
/// when dropped. Tests that stop Redis stop their own, never the machine's.
pub struct RedisServer {
    child: Option<std::process::Child>,
    pub port: u16,
}

impl RedisServer {
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = Self { child: None, port };
        server.resume().await;
        server
    }

    /// The URL instances are given.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Stops the server (an outage).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Freezes the server (SIGSTOP): connections stay open, nothing answers.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Lets a frozen server go on (SIGCONT); what it was sent runs now.
    pub fn unpause(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        let status = std::process::Command::new("kill")
            .args([signal, &pid])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Starts it again on the same port, empty, and waits until it answers.
    pub async fn resume(&mut self) {
        let binary = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".to_owned());
        let child = std::process::Command::new(&binary)
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{binary} starts (apt-get install redis-server): {e}"));
        self.child = Some(child);
        for _ in 0..100 {
            if let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut answer = [0u8; 7];
                if stream.write_all(b"PING\r\n").await.is_ok()
                    && stream.read_exact(&mut answer).await.is_ok()
                    && &answer == b"+PONG\r\n"
                {
                    return;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("redis-server did not answer on port {}", self.port);
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
