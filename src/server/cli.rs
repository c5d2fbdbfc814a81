//! The `portico` command: serve the portal, or run an admin command.

use super::{
    build_state,
    clock::Clock,
    config::{SettingError, Settings},
    serve, setup, shutdown_signal, spawn_housekeeping, staff, telemetry,
    verify::gateway,
};
use crate::domain::StaffRole;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::process::ExitCode;

/// Portico, a self-serve API key portal.
#[derive(Parser, Debug)]
#[command(name = "portico", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    settings: Settings,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the portal (the default when no command is given).
    Serve,
    /// Apply database migrations, then exit.
    Migrate,
    /// Manage the platform's staff.
    #[command(subcommand)]
    Staff(StaffCommand),
    /// Help someone who lost their second factor back in.
    #[command(subcommand, name = "second-factor")]
    SecondFactor(SecondFactorCommand),
    /// Manage the tokens the platform's gateway presents to /v1/verify.
    #[command(subcommand, name = "gateway-token")]
    GatewayToken(GatewayTokenCommand),
    /// The keys access tokens are signed with (published at
    /// /.well-known/jwks.json).
    #[command(subcommand, name = "signing-key")]
    SigningKey(SigningKeyCommand),
    /// Database tools.
    #[command(subcommand)]
    Db(DbCommand),
    /// The key hygiene review of an organisation: keys with no owner, not
    /// rotated, unused, expiring, risky, over-scoped, or retired but in use.
    Review {
        /// The organisation's slug (as in its URL).
        #[arg(long)]
        org: String,
        /// `table` for people, `json` for scripts.
        #[arg(long, default_value = "table", value_parser = ["table", "json"])]
        format: String,
    },
}

#[derive(Subcommand, Debug)]
enum DbCommand {
    /// Copy a SQLite installation into an empty Postgres database (migrated
    /// first), in one transaction; prints each table's row counts and
    /// checksums. Stop the servers on the source first, and start the new
    /// installation with the same server secret.
    Copy {
        /// The source, e.g. `sqlite://data/portico.db`.
        #[arg(long)]
        from: String,
        /// The target, e.g. `postgres://portico@db.internal/portico`.
        #[arg(long)]
        to: String,
    },
}

#[derive(Subcommand, Debug)]
enum SecondFactorCommand {
    /// Remove an account's authenticator app and recovery codes and sign it
    /// out everywhere, after checking who is asking; the account is emailed.
    Reset {
        /// The account's email.
        email: String,
    },
}

#[derive(Subcommand, Debug)]
enum GatewayTokenCommand {
    /// Make a token and print it, once.
    Create {
        /// A name that says where the token is used, e.g. edge-gateway-eu.
        name: String,
    },
    /// Revoke a token: verification refuses it at once.
    Revoke {
        /// The token's name.
        name: String,
    },
    /// List the tokens (never the tokens themselves).
    List,
}

#[derive(Subcommand, Debug)]
enum SigningKeyCommand {
    /// Make a new signing key that signs at once (the schedule rotates keys
    /// every 30 days by itself; this is for an emergency).
    Rotate {
        /// Also take every other key out of the JWKS: tokens they signed
        /// stop verifying at once (for a key that may have leaked).
        #[arg(long)]
        withdraw_previous: bool,
    },
    /// List the signing keys, newest first (never their private halves).
    List,
}

#[derive(Subcommand, Debug)]
enum StaffCommand {
    /// Give an existing account a staff role (or change it).
    Grant {
        /// The account's email.
        email: String,
        /// `support` finds and suspends keys; `owner` also manages staff.
        #[arg(long, value_parser = ["support", "owner"])]
        role: String,
    },
    /// Take an account's staff role away.
    Revoke {
        /// The account's email.
        email: String,
    },
    /// List the staff.
    List,
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("portico: {message}");
    ExitCode::from(2)
}

/// `portico db copy`: copies, with a progress line per table, then prints
/// each table's counts and checksums.
async fn copy_database(from: &str, to: &str) -> ExitCode {
    use std::io::Write;
    let started = std::time::Instant::now();
    let mut last_table = String::new();
    let result = super::db::copy::copy(from, to, |table, done, total| {
        let mut err = std::io::stderr();
        if table != last_table && !last_table.is_empty() {
            let _ = writeln!(err);
        }
        last_table = table.to_owned();
        let _ = write!(err, "\rcopying {table}: {done} of {total} rows");
        let _ = err.flush();
    })
    .await;
    eprintln!();
    match result {
        Ok(report) => {
            println!(
                "{:<22} {:>10} {:>10}  {:<32}  BOTH SIDES",
                "TABLE", "SOURCE", "TARGET", "CHECKSUM"
            );
            for t in &report.tables {
                println!(
                    "{:<22} {:>10} {:>10}  {:<32}  {}",
                    t.table,
                    t.source_rows,
                    t.target_rows,
                    t.target_checksum,
                    if t.matches() { "equal" } else { "DIFFERENT" }
                );
            }
            for t in &report.skipped {
                println!("{t:<22} not copied: the target has no such table (SQLite's own)");
            }
            println!(
                "copied {} tables in {:.1} s; the audit trail is {} on the target",
                report.tables.len(),
                started.elapsed().as_secs_f64(),
                if report.audit_append_only {
                    "append-only"
                } else {
                    "NOT append-only"
                }
            );
            println!("start the new installation with DATABASE_URL set to the target and the same server secret");
            ExitCode::SUCCESS
        }
        Err(e) => fail(format!("db copy: {e}")),
    }
}

/// Parses the command line and runs it.
pub async fn main() -> ExitCode {
    let command = Cli::command();
    let cli = match command
        .clone()
        .try_get_matches_from(std::env::args_os())
        .and_then(|matches| Cli::from_arg_matches(&matches))
    {
        Ok(cli) => cli,
        Err(e) => match SettingError::from_clap(&e, &command) {
            Some(setting) => return fail(setting),
            None => e.exit(),
        },
    };
    if let Some(Command::Db(DbCommand::Copy { from, to })) = &cli.command {
        return copy_database(from, to).await;
    }
    let config = match cli.settings.resolve() {
        Ok(config) => config,
        Err(e) => return fail(e),
    };
    telemetry::init(&config.log, config.log_format);
    let state = match build_state(config, Clock::system()).await {
        Ok(state) => state,
        Err(e) => return fail(e),
    };

    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let listener = match tokio::net::TcpListener::bind(state.config.listen).await {
                Ok(l) => l,
                Err(e) => {
                    return fail(format!(
                        "cannot listen on PORTICO_LISTEN={}: {e}",
                        state.config.listen
                    ))
                }
            };
            match setup::ensure_setup_link(&state).await {
                Ok(Some(link)) => println!(
                    "\nPortico has no accounts yet. Open this one-time link to create the platform owner:\n\n    {link}\n"
                ),
                Ok(None) => {}
                Err(e) => return fail(format!("cannot prepare the setup link: {e}")),
            }
            tracing::info!(
                address = %state.config.listen,
                public_url = %state.config.public_url,
                database = ?state.config.database_url.kind,
                "Portico is serving"
            );
            println!("Portico is serving at {}", state.config.public_url);
            let housekeeping = spawn_housekeeping(&state);
            let db = state.db.clone();
            let result = serve(state, listener, shutdown_signal()).await;
            housekeeping.abort();
            db.close().await;
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(format!("server error: {e}")),
            }
        }
        Command::Db(DbCommand::Copy { .. }) => unreachable!("run before the state is built"),
        Command::Migrate => {
            println!("migrations applied");
            ExitCode::SUCCESS
        }
        Command::Staff(StaffCommand::Grant { email, role }) => {
            let role = StaffRole::parse(&role).expect("clap checked the role");
            match staff::grant(&state.db, &state.clock, &email, role).await {
                Ok(()) => {
                    println!("{} is now platform {}", email.trim(), role.as_str());
                    println!(
                        "the staff pages open once the account has two-factor authentication (Account page)"
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
        Command::Staff(StaffCommand::Revoke { email }) => {
            match staff::revoke(&state.db, &email).await {
                Ok(()) => {
                    println!("{} is no longer staff", email.trim());
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
        Command::SecondFactor(SecondFactorCommand::Reset { email }) => {
            match crate::server::second_factor::reset(&state, &email).await {
                Ok(ended) => {
                    println!(
                        "the second factor of {} was reset; {} signed out, and the account was emailed",
                        email.trim(),
                        crate::domain::format::count(ended as usize, "session was", "sessions were")
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
        Command::GatewayToken(GatewayTokenCommand::Create { name }) => {
            match gateway::create(&state, &name, None).await {
                Ok(token) => {
                    eprintln!("Gateway token {} created. It is shown once; store it in the gateway's secret store:", token.name);
                    println!("{}", token.token);
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
        Command::GatewayToken(GatewayTokenCommand::Revoke { name }) => {
            match gateway::revoke(&state, &name).await {
                Ok(()) => {
                    println!("gateway token {} revoked", name.trim());
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
        Command::GatewayToken(GatewayTokenCommand::List) => match gateway::list(&state.db).await {
            Ok(tokens) if tokens.is_empty() => {
                println!("no gateway tokens yet");
                ExitCode::SUCCESS
            }
            Ok(tokens) => {
                for t in tokens {
                    let state = if t.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "live"
                    };
                    println!("{state:8} {:20} {}", t.display_id, t.name);
                }
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
        Command::SigningKey(SigningKeyCommand::Rotate { withdraw_previous }) => {
            match crate::server::oauth::signing_keys::rotate(&state, withdraw_previous).await {
                Ok(rotated) => {
                    println!("signing key {} signs from now", rotated.kid);
                    if withdraw_previous {
                        println!(
                            "{} withdrawn: the tokens they signed no longer verify",
                            crate::domain::format::count(
                                rotated.withdrawn as usize,
                                "other key",
                                "other keys"
                            )
                        );
                    } else {
                        println!(
                            "the previous keys stay published until the tokens they signed expire"
                        );
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
        Command::SigningKey(SigningKeyCommand::List) => {
            let rows = async {
                let mut conn = state.db.acquire().await?;
                Ok::<_, crate::error::AppError>(
                    crate::server::db::signing_keys::all(conn.conn()).await?,
                )
            }
            .await;
            match rows {
                Ok(rows) if rows.is_empty() => {
                    println!(
                        "no signing keys yet: the first is made when a token is first asked for"
                    );
                    ExitCode::SUCCESS
                }
                Ok(rows) => {
                    let now = state.clock.now();
                    let mut signer_seen = false;
                    for k in rows {
                        let status = if k.withdrawn_at.is_some() {
                            "withdrawn"
                        } else if k.signs_from > now {
                            "scheduled"
                        } else if !signer_seen {
                            signer_seen = true;
                            "signing"
                        } else {
                            "retired"
                        };
                        println!(
                            "{status:9} {:24} {} signs from {}",
                            k.kid,
                            k.algorithm,
                            k.signs_from
                                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                        );
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
        Command::Review { org, format } => {
            match crate::server::review::for_slug(&state, &org).await {
                Ok(review) => {
                    if format == "json" {
                        println!(
                            "{}",
                            serde_json::to_string_pretty(&review).unwrap_or_default()
                        );
                    } else {
                        print!("{}", crate::server::review::table(&review));
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
        Command::Staff(StaffCommand::List) => match staff::list(&state.db).await {
            Ok(rows) if rows.is_empty() => {
                println!("no staff yet");
                ExitCode::SUCCESS
            }
            Ok(rows) => {
                for (email, role) in rows {
                    println!("{:8} {email}", role.as_str());
                }
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
    }
}
