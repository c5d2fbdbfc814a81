//! The portal (pages, server functions, exports) runs on render threads of
//! its own, each request on one of them.
//!
//! Leptos's reactive graph (`reactive_graph` 0.2) can deadlock when the
//! tasks of one server render run on two threads at once: an effect and an
//! async resource take each other's locks in opposite orders
//! (leptos-rs/leptos#4673). On a multi-threaded runtime that stops every
//! worker thread, and with them every request, verification included. So
//! each portal request is handled on one single-threaded runtime, picked
//! from a small pool: its tasks (and the tasks Leptos spawns from them,
//! which `tokio::spawn` keeps on the same runtime) never run in parallel,
//! so the inversion cannot happen, while different requests still render
//! in parallel. A request goes to the thread with the fewest requests in
//! flight, so a thread that is stuck or slow is passed over, and a slow
//! page never holds up `/v1/verify`, which keeps the multi-threaded runtime
//! to itself. Password hashing runs on each runtime's blocking pool, off
//! the render threads.

use axum::{
    body::{Body, Bytes},
    extract::Request,
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Response},
};
use futures_util::StreamExt;
use std::sync::{
    atomic::{AtomicUsize, Ordering},
    OnceLock,
};
use tokio::runtime::Handle;

/// One render thread: its runtime and how many requests it is handling.
struct RenderThread {
    handle: Handle,
    in_flight: AtomicUsize,
}

/// The render threads, started on first use and kept for the process's
/// life (one pool per process, however many routers are built): one per
/// core, at least two.
fn render_threads() -> &'static [RenderThread] {
    static THREADS: OnceLock<Vec<RenderThread>> = OnceLock::new();
    THREADS.get_or_init(|| {
        let count = std::thread::available_parallelism().map_or(2, |n| n.get().max(2));
        (0..count)
            .map(|i| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a portal render runtime starts");
                let handle = runtime.handle().clone();
                std::thread::Builder::new()
                    .name(format!("portal-render-{i}"))
                    .spawn(move || runtime.block_on(std::future::pending::<()>()))
                    .expect("a portal render thread starts");
                RenderThread {
                    handle,
                    in_flight: AtomicUsize::new(0),
                }
            })
            .collect()
    })
}

/// Counts a request in flight on a thread until its render task has sent
/// the last of the body (or the client went away), so that a stuck thread
/// keeps its count and is passed over.
struct InFlight(&'static RenderThread);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Middleware: handles the request on the render thread with the fewest
/// requests in flight, and hands the response back. A 500 if the render
/// task was lost (it panicked).
pub async fn on_render_thread(req: Request, next: Next) -> Response {
    let thread = render_threads()
        .iter()
        .min_by_key(|t| t.in_flight.load(Ordering::Relaxed))
        .expect("at least one render thread");
    thread.in_flight.fetch_add(1, Ordering::Relaxed);
    let in_flight = InFlight(thread);
    let (tx, rx) = tokio::sync::oneshot::channel();
    thread.handle.spawn(async move {
        let response = next.run(req).await;
        // A page streams: its body is polled here too, on this thread,
        // and the chunks are handed over as they come (at most a few
        // waiting), so that none of the render's work runs elsewhere.
        let (parts, body) = response.into_parts();
        let (chunk_tx, chunk_rx) = tokio::sync::mpsc::channel::<Result<Bytes, axum::Error>>(4);
        let handed_over = Body::from_stream(
            futures_util::stream::unfold(chunk_rx, |mut rx| async move {
                rx.recv().await.map(|chunk| (chunk, rx))
            })
            // Read again after its end (a compression layer does): still ended.
            .fuse(),
        );
        if tx.send(Response::from_parts(parts, handed_over)).is_err() {
            return;
        }
        let mut chunks = body.into_data_stream();
        while let Some(chunk) = chunks.next().await {
            if chunk_tx.send(chunk).await.is_err() {
                // The client went away.
                break;
            }
        }
        // Done here after the last chunk, so that the client's next request
        // already sees this thread free.
        drop(in_flight);
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
    async fn each_request_runs_on_one_render_thread_and_a_busy_one_is_passed_over() {
        let app = axum::Router::new()
            .route(
                "/",
                axum::routing::get(|| async {
                    // Work spawned from a page stays on its render thread.
                    let spawned = tokio::spawn(async { std::thread::current().id() })
                        .await
                        .unwrap();
                    assert_eq!(spawned, std::thread::current().id());
                    std::thread::current()
                        .name()
                        .map(str::to_owned)
                        .unwrap_or_default()
                }),
            )
            .route(
                "/stuck",
                axum::routing::get(|| async {
                    // A page that never finishes holds its thread's count up.
                    std::future::pending::<()>().await;
                    ""
                }),
            )
            .layer(axum::middleware::from_fn(on_render_thread));
        let get = |uri: &'static str| {
            tower::ServiceExt::oneshot(
                app.clone(),
                Request::builder()
                    .uri(uri)
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
        };
        let stuck = tokio::spawn(get("/stuck"));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let busy: Vec<usize> = render_threads()
            .iter()
            .map(|t| t.in_flight.load(Ordering::Relaxed))
            .collect();
        assert_eq!(busy.iter().sum::<usize>(), 1, "{busy:?}");
        let stuck_thread = format!(
            "portal-render-{}",
            busy.iter().position(|&n| n == 1).unwrap()
        );
        for _ in 0..8 {
            let res = get("/").await.unwrap();
            let body = axum::body::to_bytes(res.into_body(), 1024).await.unwrap();
            let name = String::from_utf8(body.to_vec()).unwrap();
            assert!(name.starts_with("portal-render-"), "{name}");
            assert_ne!(name, stuck_thread, "the busy thread is passed over");
        }
        // A streamed body is produced on the render thread too, chunk by
        // chunk, not by whoever reads it.
        let streaming = axum::Router::new()
            .route(
                "/stream",
                axum::routing::get(|| async {
                    let polls = futures_util::stream::poll_fn(|_| {
                        let name = std::thread::current().name().unwrap_or("").to_owned();
                        std::task::Poll::Ready(Some(Ok::<_, std::io::Error>(Bytes::from(format!(
                            "{name}\n"
                        )))))
                    });
                    Body::from_stream(polls.take(3))
                }),
            )
            .layer(axum::middleware::from_fn(on_render_thread));
        let res = tower::ServiceExt::oneshot(
            streaming,
            Request::builder()
                .uri("/stream")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
        let body = axum::body::to_bytes(res.into_body(), 1024).await.unwrap();
        let names: Vec<&str> = std::str::from_utf8(&body).unwrap().lines().collect();
        assert_eq!(names.len(), 3);
        assert!(
            names.iter().all(|n| n.starts_with("portal-render-")),
            "{names:?}"
        );

        // The client gives up; the thread is still stuck, and still counted.
        stuck.abort();
        let _ = stuck.await;
        let still: usize = render_threads()
            .iter()
            .map(|t| t.in_flight.load(Ordering::Relaxed))
            .sum();
        assert_eq!(still, 1);
    }
}
