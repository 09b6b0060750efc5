//! The process's metrics recorder: Prometheus text format, no listener of its own.
//!
//! `yubin serve` installs it once at start; `yubin admin metrics` prints [`render`] over the
//! admin socket, and the HTTP /metrics endpoint will serve the same text.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use yubin_store::MailStore;

/// Bucket bounds (seconds) for latency histograms: 0.5 ms to 10 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Bucket bounds for SMTP transactions, with 7 s for the SLA's "share under 7 s".
const TRANSACTION_BUCKETS: &[f64] = &[
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 7.0, 10.0, 30.0, 60.0, 300.0,
];
/// How often histogram samples are folded into their buckets, so memory stays bounded between
/// scrapes.
const UPKEEP: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the Prometheus recorder for this process; call once, before opening the store, so
/// every metric recorded from then on is kept.
///
/// Errors: a recorder is already installed, or the upkeep thread cannot start.
pub fn install() -> Result<(), String> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("yubin_store_commit_seconds".into()),
            LATENCY_BUCKETS,
        )
        .and_then(|b| {
            b.set_buckets_for_metric(
                Matcher::Full("yubin_command_seconds".into()),
                LATENCY_BUCKETS,
            )
        })
        .and_then(|b| {
            b.set_buckets_for_metric(
                Matcher::Full("yubin_smtp_transaction_seconds".into()),
                TRANSACTION_BUCKETS,
            )
        })
        .and_then(PrometheusBuilder::install_recorder)
        .map_err(|e| format!("cannot install the metrics recorder: {e}"))?;
    let upkeep = handle.clone();
    std::thread::Builder::new()
        .name("yubin-metrics".into())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP);
                upkeep.run_upkeep();
            }
        })
        .map_err(|e| format!("cannot start the metrics upkeep thread: {e}"))?;
    HANDLE
        .set(handle)
        .map_err(|_| "the metrics recorder is already installed".to_string())
}

/// The Prometheus text of every metric, with the store's gauges refreshed first. `None` in a
/// process that did not install the recorder (an admin CLI without a server).
pub fn render(store: &MailStore) -> Option<String> {
    let handle = HANDLE.get()?;
    store.publish_purge_gauges();
    let pressure = store.pressure();
    metrics::gauge!("yubin_store_slow").set(if pressure.slow { 1.0 } else { 0.0 });
    metrics::gauge!("yubin_store_commit_running_seconds").set(pressure.commit.as_secs_f64());
    metrics::gauge!("yubin_store_write_queue").set(pressure.queued as f64);
    if let Ok(depth) = store.queue_depth() {
        metrics::gauge!("yubin_queue_messages").set(depth as f64);
    }
    Some(handle.render())
}
