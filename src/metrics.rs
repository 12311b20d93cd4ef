//! Prometheus metrics of the whole process, served as text on the admin port.
//! Labels are bounded: endpoint, kind, rule id, outcome, code — never object names.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::controllers::metrics::ControllerMetrics;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AdmissionLabels {
    /// `validate` or `mutate`.
    pub endpoint: &'static str,
    pub kind: &'static str,
    /// `allowed`, `denied`, `patched` or `bad_request`.
    pub outcome: &'static str,
    pub code: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FindingLabels {
    pub rule: &'static str,
    /// `denied` or `warned`.
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndpointLabels {
    pub endpoint: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConversionLabels {
    pub kind: &'static str,
    /// `v1alpha1->v1beta1`, `v1beta1->v1alpha1` or `unchanged`.
    pub direction: &'static str,
    /// `success` or `failure`.
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BuildLabels {
    pub version: &'static str,
}

fn latency_histogram() -> Histogram {
    // 50 µs … ~1.6 s
    Histogram::new(exponential_buckets(0.00005, 2.0, 16))
}

/// Every metric the process exports.
pub struct Metrics {
    registry: Registry,
    pub admission_requests: Family<AdmissionLabels, Counter>,
    pub admission_findings: Family<FindingLabels, Counter>,
    pub admission_duration: Family<EndpointLabels, Histogram>,
    pub conversion_objects: Family<ConversionLabels, Counter>,
    pub conversion_duration: Histogram,
    /// Unix time at which the serving certificate expires.
    pub certificate_not_after: Gauge,
    /// 1 while this replica holds the leader lease.
    pub leader: Gauge,
    /// Reconcile counts, durations, errors, queue depth and cache sizes.
    pub controllers: ControllerMetrics,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("mcp_operator");
        let admission_requests = Family::<AdmissionLabels, Counter>::default();
        registry.register("admission_requests", "Admission reviews answered", admission_requests.clone());
        let admission_findings = Family::<FindingLabels, Counter>::default();
        registry.register("admission_findings", "Rule findings reported by admission", admission_findings.clone());
        let admission_duration =
            Family::<EndpointLabels, Histogram>::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register(
            "admission_duration_seconds",
            "Time to answer an admission review",
            admission_duration.clone(),
        );
        let conversion_objects = Family::<ConversionLabels, Counter>::default();
        registry.register(
            "conversion_objects",
            "Objects converted by the conversion webhook",
            conversion_objects.clone(),
        );
        let conversion_duration = latency_histogram();
        registry.register(
            "conversion_duration_seconds",
            "Time to answer a conversion review",
            conversion_duration.clone(),
        );
        let certificate_not_after = Gauge::default();
        registry.register(
            "certificate_not_after_seconds",
            "Unix time at which the serving certificate expires",
            certificate_not_after.clone(),
        );
        let leader = Gauge::default();
        registry.register("leader", "Whether this replica holds the leader lease", leader.clone());
        let build = Family::<BuildLabels, Gauge>::default();
        build.get_or_create(&BuildLabels { version: env!("CARGO_PKG_VERSION") }).set(1);
        registry.register("build_info", "Build information", build);
        let controllers = ControllerMetrics::register(&mut registry);
        Metrics {
            registry,
            admission_requests,
            admission_findings,
            admission_duration,
            conversion_objects,
            conversion_duration,
            certificate_not_after,
            leader,
            controllers,
        }
    }

    /// The registry, for components that register metrics of their own (the controllers).
    pub fn registry_mut(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
