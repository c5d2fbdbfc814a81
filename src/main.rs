//! The `portico` binary: parses the command line, then serves the portal or
//! runs an admin command.

/// mimalloc instead of the system allocator: requests allocate and free
/// small objects on every core, and usage events are freed on the writer's
/// thread; `make bench` measures the difference.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    portico::server::cli::main().await
}
