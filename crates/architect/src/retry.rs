//! Retry policy: exponential backoff with jitter, honouring `Retry-After`.

use std::time::{Duration, SystemTime};

/// When and how often to retry a failed request.
///
/// Retry number `n` (1 for the first retry) waits `min(max_backoff, initial_backoff * multiplier^(n-1))`,
/// shortened by a random fraction of up to `jitter` (so with `jitter = 0.5` the wait is uniform in
/// `[base/2, base]`). A server's `Retry-After` raises the wait to at least that long; one longer than
/// `max_retry_after` ends the request with [`crate::ChatError::RateLimited`] instead of sleeping.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included (1 disables retries).
    pub max_attempts: u32,
    /// Base wait before the first retry.
    pub initial_backoff: Duration,
    /// Growth factor per retry.
    pub multiplier: f64,
    /// Upper bound on the base wait.
    pub max_backoff: Duration,
    /// Fraction (0..=1) of the base wait that jitter may remove.
    pub jitter: f64,
    /// Longest `Retry-After` this client is willing to sleep.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(500),
            multiplier: 2.0,
            max_backoff: Duration::from_secs(30),
            jitter: 0.5,
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The base wait (before jitter) ahead of retry number `retry` (1-based).
    pub fn base_delay(&self, retry: u32) -> Duration {
        let exponent = retry.saturating_sub(1).min(63) as i32;
        let secs = self.initial_backoff.as_secs_f64() * self.multiplier.max(1.0).powi(exponent);
        Duration::from_secs_f64(secs.min(self.max_backoff.as_secs_f64()))
    }

    /// The wait ahead of retry number `retry`, given a uniform random sample `unit` in `[0, 1)` and the server's
    /// `Retry-After`, if any.
    pub fn delay(&self, retry: u32, unit: f64, retry_after: Option<Duration>) -> Duration {
        let base = self.base_delay(retry);
        let cut = self.jitter.clamp(0.0, 1.0) * unit.clamp(0.0, 1.0);
        let jittered = base.mul_f64(1.0 - cut);
        match retry_after {
            Some(asked) => asked.max(jittered),
            None => jittered,
        }
    }
}

/// Parses a `Retry-After` header: delay seconds (`"7"`, also `"1.5"`) or an HTTP date, measured from `now`.
/// A date in the past means "now" (zero). Returns `None` for anything else.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_schedule_doubles_and_caps() {
        let policy = RetryPolicy::default();
        let bases: Vec<f64> = (1..=8)
            .map(|n| policy.base_delay(n).as_secs_f64())
            .collect();
        assert_eq!(bases, vec![0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]);
    }

    #[test]
    fn jitter_stays_within_the_documented_band() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.delay(3, 0.0, None), Duration::from_secs(2));
        assert_eq!(policy.delay(3, 0.999_999, None).as_millis(), 1000);
        assert_eq!(policy.delay(3, 0.5, None), Duration::from_millis(1500));
    }

    #[test]
    fn retry_after_is_a_floor() {
        let policy = RetryPolicy::default();
        assert_eq!(
            policy.delay(1, 0.0, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
        assert_eq!(
            policy.delay(4, 0.0, Some(Duration::from_secs(1))),
            Duration::from_secs(4)
        );
    }

    #[test]
    fn parses_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480); // Wed, 21 Oct 2015 07:28:00 GMT
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after(" 1.5 ", now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
    }
}
