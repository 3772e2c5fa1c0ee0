//! Parsers for the value shapes configuration variables share (durations, booleans, numbers).
//!
//! Each returns the "what it expects" half of a [`ConfigError`](super::ConfigError) so the caller
//! only adds the variable's name.

use std::str::FromStr;
use std::time::Duration;

/// A duration such as `90s`, `15m`, `24h` or `7d`; zero is refused because every TTL must expire
/// *after* it is issued.
pub fn duration(raw: &str) -> Result<Duration, String> {
    let expected = || "a duration such as 90s, 15m, 24h or 7d".to_owned();
    match humantime::parse_duration(raw) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err(expected()),
    }
}

/// A duration that may be zero (`0s` turns a delay off), at most an hour.
pub fn duration_or_zero(raw: &str) -> Result<Duration, String> {
    match humantime::parse_duration(raw) {
        Ok(d) if d <= Duration::from_secs(3600) => Ok(d),
        _ => Err("a duration from 0s to 1h, such as 5s".to_owned()),
    }
}

/// `true`/`false` plus the usual spellings (`1`, `yes`, `on`, …), case-insensitively.
pub fn boolean(raw: &str) -> Result<bool, String> {
    match raw.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err("true or false".to_owned()),
    }
}

/// An integer within `min..=max`.
pub fn integer_in<T>(raw: &str, min: T, max: T) -> Result<T, String>
where
    T: FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let expected = || format!("an integer from {min} to {max}");
    let value: T = raw.parse().map_err(|_| expected())?;
    if value < min || value > max {
        return Err(expected());
    }
    Ok(value)
}

/// One of a fixed set of lowercase words.
pub fn one_of<'a>(raw: &str, choices: &[&'a str]) -> Result<&'a str, String> {
    let lowered = raw.to_ascii_lowercase();
    choices
        .iter()
        .find(|choice| **choice == lowered)
        .copied()
        .ok_or_else(|| format!("one of {}", choices.join(", ")))
}

/// A rate written `COUNT/PERIOD` (`30/1h`, `5/15m`); `off` disables the limit.
pub fn rate(raw: &str) -> Result<Option<Rate>, String> {
    let expected = || "a rate such as 30/1h or 5/15m, or off".to_owned();
    if raw.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let (count, period) = raw.split_once('/').ok_or_else(expected)?;
    let count: u32 = count.trim().parse().map_err(|_| expected())?;
    let period = duration(period.trim()).map_err(|_| expected())?;
    if count == 0 {
        return Err(expected());
    }
    Ok(Some(Rate { count, period }))
}

/// A number of events allowed per period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// How many events the period allows.
    pub count: u32,
    /// The length of the window.
    pub period: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_accept_common_units_and_refuse_zero() {
        assert_eq!(duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert!(duration("0s").is_err());
        assert!(duration("soon").is_err());
    }

    #[test]
    fn rates_parse_count_and_period() {
        let parsed = rate("30/1h").unwrap().unwrap();
        assert_eq!(parsed.count, 30);
        assert_eq!(parsed.period, Duration::from_secs(3600));
        assert_eq!(rate("OFF"), Ok(None));
        assert!(rate("0/1h").is_err());
        assert!(rate("30").is_err());
    }

    #[test]
    fn integers_respect_bounds() {
        assert_eq!(integer_in::<u32>("4", 1, 64), Ok(4));
        assert!(integer_in::<u32>("65", 1, 64).is_err());
        assert!(integer_in::<u32>("-1", 1, 64).is_err());
    }
}
