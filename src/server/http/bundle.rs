//! The bundle's file names. With cargo-leptos `hash-files` (Cargo.toml) each
//! file's name carries a hash of its content (`portico.HASH.css`), listed
//! in `hash.txt` beside the server binary: Leptos reads it to link a page's
//! script and stylesheet, and pages written by hand read it here.

use leptos::config::LeptosOptions;
use std::{collections::HashMap, path::PathBuf, sync::OnceLock};

fn hash_file() -> Option<PathBuf> {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("hash.txt")))
}

/// Whether the build hashed the bundle's names (a `hash.txt` beside the
/// server binary).
pub fn is_hashed() -> bool {
    hash_file().is_some_and(|file| file.is_file())
}

/// `hash.txt` read once: `js: HASH`, `wasm: HASH`, `css: HASH` lines.
fn hashes() -> &'static HashMap<String, String> {
    static HASHES: OnceLock<HashMap<String, String>> = OnceLock::new();
    HASHES.get_or_init(|| {
        hash_file()
            .and_then(|file| std::fs::read_to_string(file).ok())
            .map(|text| parse(&text))
            .unwrap_or_default()
    })
}

fn parse(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(file, hash)| (file.trim().to_owned(), hash.trim().to_owned()))
        .collect()
}

/// The address of the bundle's file of `kind` (`css`, `js` or `wasm`):
/// `/pkg/portico.HASH.css`, or `/pkg/portico.css` for an unhashed build.
fn href(options: &LeptosOptions, kind: &str) -> String {
    let hash = options
        .hash_files
        .then(|| hashes().get(kind))
        .flatten()
        .map(|h| format!(".{h}"))
        .unwrap_or_default();
    format!(
        "/{}/{}{hash}.{kind}",
        options.site_pkg_dir, options.output_name
    )
}

/// The stylesheet's address.
pub fn stylesheet_href(options: &LeptosOptions) -> String {
    href(options, "css")
}

/// The JavaScript glue's address (it loads the WebAssembly).
pub fn script_href(options: &LeptosOptions) -> String {
    href(options, "js")
}

/// The WebAssembly's address.
pub fn wasm_href(options: &LeptosOptions) -> String {
    href(options, "wasm")
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn the_hash_file_names_each_file_kind() {
        let hashes = parse("js: r7V7htCv\nwasm: BWBD2SEi\ncss: 5miw2sGi_Q\n\n");
        assert_eq!(hashes.get("css").map(String::as_str), Some("5miw2sGi_Q"));
        assert_eq!(hashes.len(), 3);
    }
}
