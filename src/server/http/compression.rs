//! Compression (gzip or brotli, as the client accepts) of what is safe to
//! compress: static assets (the WebAssembly bundle, scripts, the stylesheet)
//! and the portal's pages.
//!
//! The bundle (`/pkg/…`) is compressed once, when it is built (`make
//! release` writes `.br` and `.gz` beside each file), and served as stored
//! to a client that accepts it; a bundle without them (a debug build) is
//! served as it is, never compressed on each request. Pages and the other
//! static files are compressed as they are sent.
//!
//! Never compressed, because compressing a response that holds a secret
//! next to text an attacker can influence lets the attacker read the secret
//! from its compressed length (BREACH): server functions (`/api/…`, whose
//! JSON carries shown-once secrets), exports, and the pages that carry a
//! token from their link or show a secret (`/setup`, `/reset`,
//! `/verify-email`, `/join`, `/signin/code`, `/account`). Verification and
//! the other machine endpoints are not compressed either: their answers are
//! small and their latency counts.

use axum::{extract::Request, middleware::Next, response::Response};
use tower_http::{
    compression::{
        predicate::{DefaultPredicate, Predicate},
        CompressionLayer, CompressionLevel,
    },
    services::ServeDir,
};

/// Marks a response that must go out as it is.
#[derive(Clone, Copy, Debug)]
struct Uncompressed;

/// Pages whose HTML carries a token from the link or a secret.
const SECRET_PAGES: [&str; 6] = [
    "/setup",
    "/reset",
    "/verify-email",
    "/join",
    "/signin/code",
    "/account",
];

/// The bundle under `site_root/pkg`, served from its precompressed copies
/// (`NAME.br`, `NAME.gz`) to a client that accepts them.
pub fn bundle(site_root: &str) -> ServeDir {
    ServeDir::new(std::path::Path::new(site_root).join("pkg"))
        .precompressed_br()
        .precompressed_gzip()
}

/// Whether the response to a request for `path` may be compressed as it is
/// sent (the bundle is compressed ahead, or not at all).
pub fn compressible(path: &str) -> bool {
    !(path.starts_with("/api/")
        || path.starts_with("/pkg/")
        || path.starts_with("/exports/")
        || SECRET_PAGES
            .iter()
            .any(|p| path == *p || path.starts_with(&format!("{p}/"))))
}

/// Middleware (inside [`layer`]): marks the responses [`compressible`] refuses.
pub async fn mark(req: Request, next: Next) -> Response {
    let allowed = compressible(req.uri().path());
    let mut res = next.run(req).await;
    if !allowed {
        res.extensions_mut().insert(Uncompressed);
    }
    res
}

/// gzip and brotli at a moderate level (4: most of the saving, a small
/// share of the best level's time), for responses of 32 bytes or more that
/// are not images and not marked by [`mark`].
pub fn layer() -> CompressionLayer<impl Predicate> {
    CompressionLayer::new()
        .no_deflate()
        .no_zstd()
        .quality(CompressionLevel::Precise(4))
        .compress_when(DefaultPredicate::new().and(
            |_: axum::http::StatusCode,
             _: axum::http::Version,
             _: &axum::http::HeaderMap,
             extensions: &axum::http::Extensions| {
                extensions.get::<Uncompressed>().is_none()
            },
        ))
}

#[cfg(test)]
mod tests {
    use super::compressible;

    #[test]
    fn secrets_tokens_and_the_prebuilt_bundle_are_never_compressed_on_the_fly() {
        for path in ["/", "/keys/AbC", "/docs", "/favicon.svg"] {
            assert!(compressible(path), "{path}");
        }
        for path in [
            "/pkg/portico.wasm",
            "/api/create_key",
            "/exports/keys.csv",
            "/setup",
            "/reset",
            "/verify-email",
            "/join",
            "/signin/code",
            "/account",
            "/account/",
        ] {
            assert!(!compressible(path), "{path}");
        }
        // Only those pages, not others that start the same way.
        assert!(compressible("/accounts-overview"));
    }
}
