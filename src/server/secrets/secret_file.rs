//! The file that keeps the server secret when `PORTICO_SECRET` is unset:
//! created on first run, readable by its owner only, then reused.

use super::ServerSecret;
use std::path::Path;

/// Reads the server secret from `path`, or on first run generates one and
/// writes it there (mode 0600, parent folders created).
///
/// Errors are one line naming `PORTICO_SECRET_FILE`, without the secret.
pub fn load_or_create(path: &Path) -> Result<ServerSecret, String> {
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
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
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
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, format!("{contents}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_file_is_created_once_and_then_reused() {
        let dir = std::env::temp_dir().join(format!("portico-secret-{}", std::process::id()));
        let path = dir.join("nested/server.secret");
        let _ = std::fs::remove_dir_all(&dir);
        let first = load_or_create(&path).unwrap();
        let second = load_or_create(&path).unwrap();
        assert_eq!(first, second);
        assert_eq!(first.expose().len(), ServerSecret::LEN);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "secret file must be private");
        }
        std::fs::write(&path, "nonsense").unwrap();
        assert!(load_or_create(&path)
            .unwrap_err()
            .contains("PORTICO_SECRET_FILE"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
