//! The signals operators run on, in the Prometheus text format
//! (`GET /metrics`, behind `PORTICO_METRICS_TOKEN`).
//!
//! Each instance has its own registry (no process-wide state), so that
//! several instances in one process (the tests) keep their counts apart.
//! Series (all prefixed `portico_`):
//!
//! - `verify_duration_seconds{code}`: histogram of verification time, by
//!   answer (`ok`, `revoked`, …).
//! - `verify_cache_lookups_total{result}`: key cache `hit` or `miss`.
//! - `usage_buffer_depth`, `usage_buffer_capacity`: events waiting to be
//!   written, and room for them.
//! - `usage_events_written_total`, `usage_events_dropped_total`.
//! - `invalidation_listener_up` (1 or 0) and
//!   `invalidation_listener_reconnects_total`: the Postgres `LISTEN` that
//!   carries key changes between instances (always up on SQLite, which
//!   polls its change log).
//! - `rate_limit_backend{backend}`: 1 for the backend in use (`redis`:
//!   limits hold across instances; `local`: each instance counts alone, by
//!   configuration or because Redis does not answer), and
//!   `rate_limit_fallbacks_total`: decisions made alone because Redis did
//!   not answer.
//! - `sign_in_failures_total`: wrong passwords and wrong second-factor codes.
//! - `http_requests_total{route,status}`: by route group (`/v1/verify`,
//!   `/api`, `/exports`, `page`, …) and status code.

use crate::domain::verify::VerifyCode;
use prometheus::{
    Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Verification time buckets, in seconds: 50 µs to 1 s.
const VERIFY_BUCKETS: [f64; 12] = [
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.25, 1.0,
];

/// An instance's metrics.
pub struct Metrics {
    registry: Registry,
    /// One histogram per verification code, indexed like `VerifyCode::ALL`
    /// (no label lookup on the hot path).
    verify: Vec<Histogram>,
    cache_hit: IntCounter,
    cache_miss: IntCounter,
    usage_depth: IntGauge,
    usage_capacity: IntGauge,
    usage_written: IntCounter,
    usage_dropped: IntCounter,
    listener_up: IntGauge,
    listener_connected: AtomicBool,
    listener_ever_connected: AtomicBool,
    listener_reconnects: IntCounter,
    sign_in_failures: IntCounter,
    http_requests: IntCounterVec,
    rate_limit_backend: IntGaugeVec,
    rate_limit_fallbacks: IntCounter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

fn counter(registry: &Registry, name: &str, help: &str) -> IntCounter {
    let c = IntCounter::new(name, help).expect("a valid counter");
    registry
        .register(Box::new(c.clone()))
        .expect("registered once");
    c
}

fn gauge(registry: &Registry, name: &str, help: &str) -> IntGauge {
    let g = IntGauge::new(name, help).expect("a valid gauge");
    registry
        .register(Box::new(g.clone()))
        .expect("registered once");
    g
}

impl Metrics {
    /// A fresh registry with every series at zero. `listener_up` starts
    /// true on SQLite (which polls instead of listening).
    pub fn new(listens: bool) -> Self {
        let registry =
            Registry::new_custom(Some("portico".to_owned()), None).expect("a valid prefix");
        let verify = VerifyCode::ALL
            .iter()
            .map(|code| {
                let h = Histogram::with_opts(
                    HistogramOpts::new(
                        "verify_duration_seconds",
                        "Time to verify a key, by answer.",
                    )
                    .const_label("code", code.as_str())
                    .buckets(VERIFY_BUCKETS.to_vec()),
                )
                .expect("a valid histogram");
                registry
                    .register(Box::new(h.clone()))
                    .expect("registered once");
                h
            })
            .collect();
        let lookups = IntCounterVec::new(
            Opts::new(
                "verify_cache_lookups_total",
                "Key cache lookups, by result.",
            ),
            &["result"],
        )
        .expect("a valid counter");
        registry
            .register(Box::new(lookups.clone()))
            .expect("registered once");
        let rate_limit_backend = IntGaugeVec::new(
            Opts::new("rate_limit_backend", "1 for the rate-limit backend in use."),
            &["backend"],
        )
        .expect("a valid gauge");
        registry
            .register(Box::new(rate_limit_backend.clone()))
            .expect("registered once");
        rate_limit_backend.with_label_values(&["local"]).set(1);
        let http_requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests, by route group and status.",
            ),
            &["route", "status"],
        )
        .expect("a valid counter");
        registry
            .register(Box::new(http_requests.clone()))
            .expect("registered once");
        let metrics = Self {
            verify,
            cache_hit: lookups.with_label_values(&["hit"]),
            cache_miss: lookups.with_label_values(&["miss"]),
            usage_depth: gauge(
                &registry,
                "usage_buffer_depth",
                "Usage events waiting to be written.",
            ),
            usage_capacity: gauge(
                &registry,
                "usage_buffer_capacity",
                "Usage events the buffer holds at most.",
            ),
            usage_written: counter(
                &registry,
                "usage_events_written_total",
                "Usage events written to the database.",
            ),
            usage_dropped: counter(
                &registry,
                "usage_events_dropped_total",
                "Usage events dropped (buffer full or the database refused them).",
            ),
            listener_up: gauge(
                &registry,
                "invalidation_listener_up",
                "1 while key changes from other instances are being received.",
            ),
            listener_connected: AtomicBool::new(!listens),
            listener_ever_connected: AtomicBool::new(false),
            listener_reconnects: counter(
                &registry,
                "invalidation_listener_reconnects_total",
                "Times the key-change listener reconnected.",
            ),
            sign_in_failures: counter(
                &registry,
                "sign_in_failures_total",
                "Failed sign-in steps: wrong passwords and wrong second-factor codes.",
            ),
            http_requests,
            rate_limit_fallbacks: counter(
                &registry,
                "rate_limit_fallbacks_total",
                "Rate-limit decisions an instance made alone because Redis did not answer.",
            ),
            rate_limit_backend,
            registry,
        };
        metrics.listener_up.set(i64::from(!listens));
        metrics
    }

    /// Records one verification: its answer and how long it took.
    pub fn verified(&self, code: VerifyCode, took: Duration) {
        if let Some(i) = VerifyCode::ALL.iter().position(|c| *c == code) {
            self.verify[i].observe(took.as_secs_f64());
        }
    }

    /// Records a key cache lookup.
    pub fn cache_lookup(&self, hit: bool) {
        if hit {
            self.cache_hit.inc();
        } else {
            self.cache_miss.inc();
        }
    }

    /// The key-change listener connected (`true`) or lost its connection;
    /// each connection after the first counts as a reconnect.
    pub fn listener(&self, connected: bool) {
        let was = self.listener_connected.swap(connected, Ordering::Relaxed);
        if connected && !was && self.listener_ever_connected.swap(true, Ordering::Relaxed) {
            self.listener_reconnects.inc();
        }
        self.listener_up.set(i64::from(connected));
    }

    /// Whether the key-change listener is connected (always on SQLite).
    pub fn listener_connected(&self) -> bool {
        self.listener_connected.load(Ordering::Relaxed)
    }

    /// Counts a failed sign-in step.
    pub fn sign_in_failed(&self) {
        self.sign_in_failures.inc();
    }

    /// Counts an HTTP response.
    pub fn http_response(&self, route: &'static str, status: axum::http::StatusCode) {
        self.http_requests
            .with_label_values(&[route, status.as_str()])
            .inc();
    }

    /// The text exposition (Prometheus text format 0.0.4), with the usage
    /// pipeline's counters and the shared limit's health (`None`: no Redis
    /// configured) read at this moment.
    pub fn render(
        &self,
        usage: &crate::model::staff::UsageStats,
        limits: Option<&crate::server::verify::global_limit::SharedLimitHealth>,
    ) -> String {
        let shared = limits.is_some_and(|h| h.up);
        self.rate_limit_backend
            .with_label_values(&["local"])
            .set(i64::from(!shared));
        if let Some(health) = limits {
            self.rate_limit_backend
                .with_label_values(&["redis"])
                .set(i64::from(shared));
            catch_up(&self.rate_limit_fallbacks, health.fallbacks);
        }
        self.usage_depth.set(usage.queued as i64);
        self.usage_capacity.set(usage.capacity as i64);
        catch_up(&self.usage_written, usage.written);
        catch_up(&self.usage_dropped, usage.dropped);
        TextEncoder::new()
            .encode_to_string(&self.registry.gather())
            .unwrap_or_default()
    }
}

/// Moves a counter up to `total` (the pipeline keeps its own atomics).
fn catch_up(counter: &IntCounter, total: u64) {
    let now = counter.get();
    if total > now {
        counter.inc_by(total - now);
    }
}

/// The route group a path is counted under: a fixed set, so that no path a
/// client makes up adds a series.
pub fn route_of(path: &str) -> &'static str {
    match path {
        "/v1/verify" => "/v1/verify",
        "/healthz" => "/healthz",
        "/readyz" => "/readyz",
        "/metrics" => "/metrics",
        p if p.starts_with("/v1/") => "/v1",
        p if p.starts_with("/api/") => "/api",
        p if p.starts_with("/exports/") => "/exports",
        p if p.starts_with("/sample/") => "/sample",
        p if p.starts_with("/pkg/") => "/pkg",
        _ => "page",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_names_every_series() {
        let m = Metrics::new(true);
        m.verified(VerifyCode::Ok, Duration::from_micros(120));
        m.verified(VerifyCode::Revoked, Duration::from_micros(80));
        m.cache_lookup(true);
        m.cache_lookup(false);
        m.listener(true);
        m.listener(false);
        m.listener(true);
        m.sign_in_failed();
        m.http_response(
            route_of("/api/sign_in"),
            axum::http::StatusCode::UNAUTHORIZED,
        );
        let usage = crate::model::staff::UsageStats {
            accepted: 12,
            written: 7,
            dropped: 2,
            failed_batches: 0,
            queued: 3,
            capacity: 100,
            unidentified_dropped: 0,
            unidentified_budget: 10,
        };
        let text = m.render(&usage, None);
        for line in [
            "portico_verify_duration_seconds_count{code=\"ok\"} 1",
            "portico_verify_duration_seconds_count{code=\"revoked\"} 1",
            "portico_verify_cache_lookups_total{result=\"hit\"} 1",
            "portico_usage_buffer_depth 3",
            "portico_usage_events_written_total 7",
            "portico_usage_events_dropped_total 2",
            "portico_invalidation_listener_up 1",
            "portico_invalidation_listener_reconnects_total 1",
            "portico_rate_limit_backend{backend=\"local\"} 1",
            "portico_sign_in_failures_total 1",
            "portico_http_requests_total{route=\"/api\",status=\"401\"} 1",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
        assert!(!text.contains("backend=\"redis\""), "no Redis configured");

        // With Redis: the backend in use, and the decisions made alone.
        let mut health = crate::server::verify::global_limit::SharedLimitHealth {
            up: true,
            fallbacks: 0,
            outages: 0,
            last_error: None,
        };
        let text = m.render(&usage, Some(&health));
        assert!(
            text.contains("portico_rate_limit_backend{backend=\"redis\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("portico_rate_limit_backend{backend=\"local\"} 0"),
            "{text}"
        );
        health.up = false;
        health.fallbacks = 5;
        let text = m.render(&usage, Some(&health));
        assert!(
            text.contains("portico_rate_limit_backend{backend=\"redis\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("portico_rate_limit_backend{backend=\"local\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("portico_rate_limit_fallbacks_total 5"),
            "{text}"
        );
    }

    #[test]
    fn made_up_paths_share_one_series() {
        assert_eq!(route_of("/anything/at/all"), "page");
        assert_eq!(route_of("/v1/verify"), "/v1/verify");
        assert_eq!(route_of("/api/whatever"), "/api");
    }
}
