//! `metav1.Condition` semantics as pure functions: `lastTransitionTime` moves only when `status`
//! flips, and every condition carries the generation it was computed from.

use compact_str::CompactString;
use k8s_openapi::jiff::Timestamp;

use crate::api::v1beta1::Condition;

/// Where "now" comes from, so that tests can fix it.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that always says the same time.
#[derive(Clone, Copy, Debug)]
pub struct FixedClock(pub Timestamp);

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0
    }
}

/// RFC 3339 with second precision, as `metav1.Time` is serialised.
pub fn format_time(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A condition as a controller computes it, before times and generations are filled in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Desired {
    pub type_: &'static str,
    pub status: bool,
    pub reason: &'static str,
    pub message: String,
}

impl Desired {
    pub fn truth(type_: &'static str, reason: &'static str, message: impl Into<String>) -> Self {
        Desired { type_, status: true, reason, message: message.into() }
    }

    pub fn falsity(type_: &'static str, reason: &'static str, message: impl Into<String>) -> Self {
        Desired { type_, status: false, reason, message: message.into() }
    }

    fn status_text(&self) -> &'static str {
        if self.status { "True" } else { "False" }
    }
}

/// Sets `desired` in `conditions` like `meta.SetStatusCondition`: an existing condition of the
/// type keeps its `lastTransitionTime` unless its status changes. Returns whether anything changed.
pub fn set_condition(conditions: &mut Vec<Condition>, desired: &Desired, generation: Option<i64>, now: &str) -> bool {
    let status = desired.status_text();
    match conditions.iter_mut().find(|c| c.type_ == desired.type_) {
        Some(existing) => {
            let before = existing.clone();
            if existing.status != status {
                existing.status = CompactString::const_new(status);
                existing.last_transition_time = now.into();
            }
            existing.reason = CompactString::const_new(desired.reason);
            existing.message = desired.message.clone();
            existing.observed_generation = generation;
            *existing != before
        }
        None => {
            conditions.push(Condition {
                last_transition_time: now.into(),
                message: desired.message.clone(),
                observed_generation: generation,
                reason: CompactString::const_new(desired.reason),
                status: CompactString::const_new(status),
                type_: CompactString::const_new(desired.type_),
            });
            true
        }
    }
}

/// The full condition list of a status this controller owns: exactly `desired`, in that order,
/// with transition times carried over from `previous` where the status did not flip.
pub fn merge_conditions(
    previous: &[Condition],
    desired: &[Desired],
    generation: Option<i64>,
    now: &str,
) -> Vec<Condition> {
    desired
        .iter()
        .map(|d| {
            let mut one: Vec<Condition> = previous.iter().filter(|c| c.type_ == d.type_).take(1).cloned().collect();
            set_condition(&mut one, d, generation, now);
            one.remove(0)
        })
        .collect()
}

/// The condition of `type_`, if present.
pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: &str = "2025-01-01T00:00:00Z";
    const T1: &str = "2025-01-01T00:05:00Z";

    fn ready(status: bool, reason: &'static str) -> Desired {
        Desired { type_: "Ready", status, reason, message: format!("{reason} message") }
    }

    #[test]
    fn a_new_condition_starts_its_transition_now() {
        let mut conditions = Vec::new();
        assert!(set_condition(&mut conditions, &ready(true, "Fine"), Some(3), T0));
        assert_eq!(conditions.len(), 1);
        let c = &conditions[0];
        assert_eq!((c.type_.as_str(), c.status.as_str(), c.reason.as_str()), ("Ready", "True", "Fine"));
        assert_eq!((c.last_transition_time.as_str(), c.observed_generation), (T0, Some(3)));
    }

    #[test]
    fn the_transition_time_stays_while_the_status_stays() {
        let mut conditions = Vec::new();
        set_condition(&mut conditions, &ready(false, "Waiting"), Some(1), T0);
        assert!(set_condition(&mut conditions, &ready(false, "StillWaiting"), Some(2), T1));
        let c = &conditions[0];
        assert_eq!(c.last_transition_time, T0, "reason and generation changed, status did not");
        assert_eq!((c.reason.as_str(), c.observed_generation), ("StillWaiting", Some(2)));
    }

    #[test]
    fn the_transition_time_moves_when_the_status_flips() {
        let mut conditions = Vec::new();
        set_condition(&mut conditions, &ready(false, "Waiting"), Some(1), T0);
        assert!(set_condition(&mut conditions, &ready(true, "Fine"), Some(1), T1));
        assert_eq!(conditions[0].last_transition_time, T1);
        assert_eq!(conditions[0].status, "True");
    }

    #[test]
    fn setting_the_same_condition_again_changes_nothing() {
        let mut conditions = Vec::new();
        set_condition(&mut conditions, &ready(true, "Fine"), Some(1), T0);
        let before = conditions.clone();
        assert!(!set_condition(&mut conditions, &ready(true, "Fine"), Some(1), T1));
        assert_eq!(conditions, before);
    }

    #[test]
    fn merging_keeps_times_drops_stale_types_and_follows_the_desired_order() {
        let mut previous = Vec::new();
        set_condition(&mut previous, &Desired::truth("B", "Ok", ""), Some(1), T0);
        set_condition(&mut previous, &Desired::truth("Stale", "Old", ""), Some(1), T0);
        set_condition(&mut previous, &Desired::truth("A", "Ok", ""), Some(1), T0);
        let merged = merge_conditions(
            &previous,
            &[Desired::truth("A", "Ok", ""), Desired::falsity("B", "Broken", "why"), Desired::truth("C", "New", "")],
            Some(2),
            T1,
        );
        let summary: Vec<_> =
            merged.iter().map(|c| (c.type_.as_str(), c.status.as_str(), c.last_transition_time.as_str())).collect();
        assert_eq!(summary, vec![("A", "True", T0), ("B", "False", T1), ("C", "True", T1)]);
        assert!(merged.iter().all(|c| c.observed_generation == Some(2)));
    }

    #[test]
    fn times_are_rfc3339_seconds() {
        let at: Timestamp = "2025-03-04T05:06:07.891Z".parse().unwrap();
        assert_eq!(format_time(at), "2025-03-04T05:06:07Z");
        assert_eq!(format_time(FixedClock(at).now()), "2025-03-04T05:06:07Z");
    }
}
