//! What every reconcile is handed: the client, the caches, the event recorder, the metrics, the
//! configuration, a clock and the per-object failure counts behind the retry backoff.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kube::Client;

use super::Config;
use super::cache::Caches;
use super::conditions::{Clock, SystemClock, format_time};
use super::events::Recorder;
use super::kinds::Controlled;
use super::metrics::ControllerMetrics;

/// First retry after a failed reconcile.
pub const BACKOFF_START: Duration = Duration::from_secs(1);
/// Longest wait between retries.
pub const BACKOFF_CAP: Duration = Duration::from_secs(300);

/// The wait before retrying an object that failed `failures` times in a row (1 s, 2 s, 4 s, … 5 min).
pub fn backoff(failures: u32) -> Duration {
    let exponent = failures.saturating_sub(1).min(16);
    BACKOFF_START.saturating_mul(1 << exponent).min(BACKOFF_CAP)
}

type FailureKey = (Controlled, String, String);

pub struct Context {
    pub client: Client,
    pub caches: Arc<Caches>,
    pub recorder: Recorder,
    pub metrics: ControllerMetrics,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    failures: Mutex<HashMap<FailureKey, u32>>,
}

impl Context {
    pub fn new(client: Client, caches: Arc<Caches>, config: Arc<Config>, metrics: ControllerMetrics) -> Self {
        Context::with_clock(client, caches, config, metrics, Arc::new(SystemClock))
    }

    pub fn with_clock(
        client: Client,
        caches: Arc<Caches>,
        config: Arc<Config>,
        metrics: ControllerMetrics,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Context {
            recorder: Recorder::new(client.clone(), config.reporter.clone(), config.instance.clone()),
            client,
            caches,
            metrics,
            config,
            clock,
            failures: Mutex::default(),
        }
    }

    /// Now, as a condition timestamp.
    pub fn now(&self) -> String {
        format_time(self.clock.now())
    }

    /// Counts one more failure of the object and returns how long to wait before retrying it.
    pub fn record_failure(&self, controller: Controlled, namespace: &str, name: &str) -> Duration {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let count = failures.entry((controller, namespace.to_string(), name.to_string())).or_default();
        *count = count.saturating_add(1);
        backoff(*count)
    }

    /// The object reconciled: its next failure starts the backoff from the beginning again.
    pub fn record_success(&self, controller: Controlled, namespace: &str, name: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if !failures.is_empty() {
            failures.remove(&(controller, namespace.to_string(), name.to_string()));
        }
    }

    pub fn failures(&self, controller: Controlled, namespace: &str, name: &str) -> u32 {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.get(&(controller, namespace.to_string(), name.to_string())).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_second_up_to_five_minutes() {
        let waits: Vec<u64> = (1..=12).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
        assert_eq!(backoff(u32::MAX), BACKOFF_CAP);
        assert_eq!(backoff(0), BACKOFF_START);
    }
}
