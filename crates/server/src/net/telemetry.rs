//! The metrics every protocol records (Prometheus names, DESIGN.md "Overload, faults and
//! isolation"): command latency, SMTP transaction duration, open connections and refusals by a
//! limit. The recorder is the binary's; without one these are no-ops.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// The slowest SMTP transaction so far, in µs (a histogram keeps no maximum).
static SLOWEST_US: AtomicU64 = AtomicU64::new(0);

/// Records one command's latency: `yubin_command_seconds{protocol}`.
pub fn command(protocol: &'static str, started: Instant) {
    metrics::histogram!("yubin_command_seconds", "protocol" => protocol)
        .record(started.elapsed().as_secs_f64());
}

/// Records one SMTP mail transaction, MAIL FROM to the final reply:
/// `yubin_smtp_transaction_seconds{protocol, outcome}` (outcome `accepted` or `refused`).
pub fn smtp_transaction(protocol: &'static str, started: Instant, accepted: bool) {
    let outcome = if accepted { "accepted" } else { "refused" };
    let took = started.elapsed();
    metrics::histogram!("yubin_smtp_transaction_seconds", "protocol" => protocol, "outcome" => outcome)
        .record(took.as_secs_f64());
    let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
    let slowest = SLOWEST_US.fetch_max(us, Ordering::Relaxed).max(us);
    metrics::gauge!("yubin_smtp_transaction_max_seconds").set(slowest as f64 / 1e6);
}

/// Counts a refusal by a limit: `yubin_rejected_total{protocol, reason}`.
pub fn rejected(protocol: &'static str, reason: &'static str) {
    metrics::counter!("yubin_rejected_total", "protocol" => protocol, "reason" => reason)
        .increment(1);
}

/// Counts a refusal by a tenant's or account's limit: `yubin_rejected_total{protocol, reason}`
/// and `yubin_tenant_rejected_total{protocol, reason, tenant}`.
pub fn rejected_tenant(protocol: &'static str, reason: &'static str, tenant: &str) {
    rejected(protocol, reason);
    metrics::counter!("yubin_tenant_rejected_total", "protocol" => protocol, "reason" => reason,
        "tenant" => tenant.to_string())
    .increment(1);
}

/// An open connection, counted in `yubin_connections{protocol}` while it lives.
pub struct Connection(&'static str);

impl Connection {
    /// Counts a connection of `protocol` until the value is dropped.
    pub fn open(protocol: &'static str) -> Self {
        metrics::gauge!("yubin_connections", "protocol" => protocol).increment(1.0);
        Self(protocol)
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        metrics::gauge!("yubin_connections", "protocol" => self.0).decrement(1.0);
    }
}
