//! Per-controller and per-cache metrics. Labels are bounded: controller, result, error class,
//! kind; never object names.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReconcileLabels {
    pub controller: &'static str,
    /// `success` or `error`.
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    pub controller: &'static str,
    /// A class of error (`api`, `finalizer`, `serialization`), never its text.
    pub error: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ControllerLabels {
    pub controller: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: &'static str,
}

fn reconcile_histogram() -> Histogram {
    // 100 µs … ~3.3 s
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

/// The controllers' metrics; clones share the same series.
#[derive(Clone)]
pub struct ControllerMetrics {
    pub reconciles: Family<ReconcileLabels, Counter>,
    pub reconcile_errors: Family<ErrorLabels, Counter>,
    pub reconcile_duration: Family<ControllerLabels, Histogram>,
    /// Objects waiting for a reconcile (triggered and not yet started).
    pub queue_depth: Family<ControllerLabels, Gauge>,
    pub watch_errors: Family<KindLabels, Counter>,
    /// Objects held by each informer cache.
    pub cached_objects: Family<KindLabels, Gauge>,
}

impl Default for ControllerMetrics {
    /// Series that are not exported anywhere (tests, or before a registry exists).
    fn default() -> Self {
        ControllerMetrics::register(&mut Registry::default())
    }
}

impl ControllerMetrics {
    /// Creates the series and registers them in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = ControllerMetrics {
            reconciles: Family::default(),
            reconcile_errors: Family::default(),
            reconcile_duration: Family::new_with_constructor(reconcile_histogram as fn() -> Histogram),
            queue_depth: Family::default(),
            watch_errors: Family::default(),
            cached_objects: Family::default(),
        };
        registry.register("reconciles", "Reconciles run, by controller and result", metrics.reconciles.clone());
        registry.register(
            "reconcile_errors",
            "Failed reconciles, by controller and class of error",
            metrics.reconcile_errors.clone(),
        );
        registry.register("reconcile_duration_seconds", "Time one reconcile took", metrics.reconcile_duration.clone());
        registry.register("reconcile_queue_depth", "Objects waiting for a reconcile", metrics.queue_depth.clone());
        registry.register("watch_errors", "Errors of the informer watches, by kind", metrics.watch_errors.clone());
        registry.register(
            "cached_objects",
            "Objects held by the informer caches, by kind",
            metrics.cached_objects.clone(),
        );
        metrics
    }

    pub fn record(&self, controller: &'static str, seconds: f64, error: Option<&'static str>) {
        let result = if error.is_some() { "error" } else { "success" };
        self.reconciles.get_or_create(&ReconcileLabels { controller, result }).inc();
        self.reconcile_duration.get_or_create(&ControllerLabels { controller }).observe(seconds);
        if let Some(error) = error {
            self.reconcile_errors.get_or_create(&ErrorLabels { controller, error }).inc();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconciles_are_counted_by_controller_and_result() {
        let mut registry = Registry::with_prefix("mcp_operator");
        let metrics = ControllerMetrics::register(&mut registry);
        metrics.record("mcpgroup", 0.001, None);
        metrics.record("mcpgroup", 0.002, Some("api"));
        metrics.queue_depth.get_or_create(&ControllerLabels { controller: "mcpgroup" }).set(3);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(text.contains(r#"mcp_operator_reconciles_total{controller="mcpgroup",result="success"} 1"#), "{text}");
        assert!(text.contains(r#"mcp_operator_reconciles_total{controller="mcpgroup",result="error"} 1"#));
        assert!(text.contains(r#"mcp_operator_reconcile_errors_total{controller="mcpgroup",error="api"} 1"#));
        assert!(text.contains(r#"mcp_operator_reconcile_duration_seconds_count{controller="mcpgroup"} 2"#));
        assert!(text.contains(r#"mcp_operator_reconcile_queue_depth{controller="mcpgroup"} 3"#));
    }
}
