//! The four tunables of the seed, with its defaults.

use crate::error::{Error, Result};
use std::time::Duration;

/// The seed's class attributes `threshold`, `killTime`, `minRestartDelay`, `maxRestartDelay`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    /// How long a child must live for its death not to count as instant.
    pub threshold: Duration,
    /// Grace between TERM and KILL.
    pub kill_time: Duration,
    /// First backoff delay, and the delay after a reset.
    pub min_restart_delay: Duration,
    /// Cap of the doubling backoff.
    pub max_restart_delay: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            threshold: Duration::from_secs(1),
            kill_time: Duration::from_secs(5),
            min_restart_delay: Duration::from_secs(1),
            max_restart_delay: Duration::from_secs(3600),
        }
    }
}

/// The longest duration accepted; larger finite values are clamped to it so that
/// `now + duration` can never overflow (about 31 years).
const LONGEST: Duration = Duration::from_secs(1 << 30);

/// Converts the C API's `double` seconds into a duration: finite and non-negative,
/// clamped to about 31 years. `what` names the setting in the error message.
pub fn seconds(value: f64, what: &str) -> Result<Duration> {
    if !value.is_finite() || value < 0.0 {
        return Err(Error::invalid(format!(
            "{what} must be a finite, non-negative number of seconds, not {value}"
        )));
    }
    Ok(Duration::try_from_secs_f64(value).map_or(LONGEST, |d| d.min(LONGEST)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn accepts_finite_non_negative() {
        assert_eq!(seconds(0.0, "x").unwrap(), Duration::ZERO);
        assert_eq!(seconds(1.5, "x").unwrap(), Duration::from_millis(1500));
    }

    #[test]
    fn rejects_nan_infinite_negative() {
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.001] {
            let e = seconds(v, "threshold").unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Invalid);
            assert!(e.message().contains("threshold"), "{}", e.message());
        }
    }

    #[test]
    fn clamps_huge_values() {
        assert_eq!(seconds(1e300, "x").unwrap(), LONGEST);
    }
}
