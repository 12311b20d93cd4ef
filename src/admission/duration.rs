//! Go durations as the CRD schemas write them (`30s`, `1m30s`, `1.5h`): the schema's pattern
//! decides what is valid, and the value is needed for bounds such as "at least 1s".

use std::sync::LazyLock;

use regex::Regex;

use crate::api::v1beta1::virtualmcpserver::DURATION_PATTERN;

static DURATION: LazyLock<Regex> = LazyLock::new(|| Regex::new(DURATION_PATTERN).expect("DURATION_PATTERN compiles"));

/// One second in nanoseconds.
pub const SECOND: f64 = 1e9;

/// Units of the pattern with their length in nanoseconds (exact in `f64`), longest spelling
/// first so `ms` is not read as `m` followed by a stray `s`.
const UNITS: [(&str, f64); 7] =
    [("ns", 1.0), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", SECOND), ("m", 60.0 * SECOND), ("h", 3600.0 * SECOND)];

/// Whether `text` matches the schema's duration pattern.
pub fn is_valid(text: &str) -> bool {
    DURATION.is_match(text)
}

/// The length of a valid duration in nanoseconds; `None` when `text` does not match the pattern.
pub fn nanos(text: &str) -> Option<f64> {
    if !is_valid(text) {
        return None;
    }
    let mut total = 0.0;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !c.is_ascii_digit() && c != '.')?;
        let number: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let (unit, scale) = UNITS.iter().find(|(unit, _)| rest.starts_with(unit))?;
        total += number * scale;
        rest = &rest[unit.len()..];
    }
    Some(total)
}

/// The problem with `text` as a duration, for messages; `None` when it is valid.
pub fn problem(text: &str) -> Option<String> {
    (!is_valid(text)).then(|| {
        format!("{text:?} is not a duration; use a number with a unit (ns, us, ms, s, m, h), such as 30s or 1m30s")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pattern_decides_validity() {
        for ok in ["0s", "30s", "1m30s", "1.5h", "250ms", "10us", "10µs", "5ns", "1h2m3s4ms"] {
            assert!(is_valid(ok), "{ok}");
        }
        for bad in ["", "30", "s", "-1s", "1.s", ".5s", "1d", "1 s", "1S", "1m 30s", "+1s"] {
            assert!(!is_valid(bad), "{bad}");
        }
    }

    #[test]
    fn values_add_up_across_units() {
        assert_eq!(nanos("1m30s"), Some(90.0 * SECOND));
        assert_eq!(nanos("1.5h"), Some(5400.0 * SECOND));
        assert_eq!(nanos("999ms"), Some(999e6));
        assert_eq!(nanos("1000ms"), Some(SECOND));
        assert_eq!(nanos("2µs"), Some(2e3));
        assert_eq!(nanos("7ns"), Some(7.0));
        assert_eq!(nanos("1x"), None);
    }

    #[test]
    fn problems_name_the_value() {
        assert!(problem("30").is_some_and(|p| p.contains("\"30\"")));
        assert_eq!(problem("30s"), None);
    }
}
