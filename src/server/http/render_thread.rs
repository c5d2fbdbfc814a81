//! The portal (pages, server functions, exports) runs on a thread of its own.
//!
//! Leptos's reactive graph (`reactive_graph` 0.2) can deadlock when the
//! tasks of a server render run on two threads at once: an effect and an
//! async resource take each other's locks in opposite orders
//! (leptos-rs/leptos#4673). On a multi-threaded runtime that stops every
//! worker thread, and with them every request, verification included. So
//! the portal's requests are handled on one single-threaded runtime: its
//! tasks (and the tasks Leptos spawns from them, which `tokio::spawn` keeps
//! on the same runtime) never run in parallel, so the inversion cannot
//! happen; and a slow page never holds up `/v1/verify`, which keeps the
//! multi-threaded runtime to itself. Password hashing still runs on that
//! runtime's blocking pool, off the render thread.

use axum::{
    extract::Request,
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Response},
};
use std::sync::OnceLock;
use tokio::runtime::Handle;

/// The render runtime, started on first use and kept for the process's
/// life (one per process, however many routers are built).
fn render_runtime() -> &'static Handle {
    static HANDLE: OnceLock<Handle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("the portal's render runtime starts");
        let handle = runtime.handle().clone();
        std::thread::Builder::new()
            .name("portal-render".into())
            .spawn(move || runtime.block_on(std::future::pending::<()>()))
            .expect("the portal's render thread starts");
        handle
    })
}

/// Middleware: handles the request on the render thread and hands the
/// response back. A 500 if the render task was lost (it panicked).
pub async fn on_render_thread(req: Request, next: Next) -> Response {
    let (tx, rx) = tokio::sync::oneshot::channel();
    render_runtime().spawn(async move {
        let _ = tx.send(next.run(req).await);
    });
    rx.await.unwrap_or_else(|_| {
        tracing::error!("a page's render task ended without an answer");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "This page could not be shown. Try again in a moment.",
        )
            .into_response()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn portal_requests_run_on_one_thread_of_their_own() {
        let app = axum::Router::new()
            .route(
                "/",
                axum::routing::get(|| async {
                    // Work spawned from a page stays on the render thread.
                    let spawned = tokio::spawn(async { std::thread::current().id() })
                        .await
                        .unwrap();
                    let name = std::thread::current().name().map(str::to_owned);
                    assert_eq!(spawned, std::thread::current().id());
                    name.unwrap_or_default()
                }),
            )
            .layer(axum::middleware::from_fn(on_render_thread));
        let mut names = Vec::new();
        for _ in 0..8 {
            let res = tower::ServiceExt::oneshot(
                app.clone(),
                Request::builder()
                    .uri("/")
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
            let body = axum::body::to_bytes(res.into_body(), 1024).await.unwrap();
            names.push(String::from_utf8(body.to_vec()).unwrap());
        }
        assert!(names.iter().all(|n| n == "portal-render"), "{names:?}");
    }
}
