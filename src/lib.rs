#![recursion_limit = "256"]
//! Portico, a self-serve API key portal.
//!
//! One crate, two builds: with `ssr` it is the server (and the `portico`
//! binary); with `hydrate` it is the WebAssembly that makes the pages
//! interactive in the browser.

pub mod api;
pub mod app;
pub mod domain;
pub mod error;
pub mod model;
pub mod ui;

#[cfg(feature = "ssr")]
pub mod server;

/// Entry point of the WebAssembly bundle: attaches to the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
