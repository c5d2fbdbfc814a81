//! The `portico` binary: parses the command line, then serves the portal or
//! runs an admin command.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    portico::server::cli::main().await
}
