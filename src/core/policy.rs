//! The rules that decide what follows an exit and whether a start may be made:
//! the seed's backoff (`connectionLost`), the per-process restart policies and
//! the start limit, as pure functions of their inputs.

use super::{ExitFlags, ExitStatus, ProcessSpec, RestartPolicy, Settings, StartLimit, Time};
use std::collections::VecDeque;
use std::time::Duration;

/// What to do after a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Restart {
    /// How long to wait before the next start (zero: at once).
    pub wait: Duration,
    /// The process's delay for the next instant death (the seed's `delay[name]`).
    pub next_delay: Duration,
}

/// The seed's rule. A run that lived at least `threshold` restarts at once and resets
/// the delay to `min_restart_delay`; a shorter one (or a failed spawn: `uptime` is
/// `None`) waits its current `delay`, which then doubles, capped at `max_restart_delay`.
pub fn next_restart(uptime: Option<Duration>, delay: Duration, settings: &Settings) -> Restart {
    match uptime {
        Some(lived) if lived >= settings.threshold => Restart {
            wait: Duration::ZERO,
            next_delay: settings.min_restart_delay,
        },
        _ => Restart {
            wait: delay,
            next_delay: delay.saturating_mul(2).min(settings.max_restart_delay),
        },
    }
}

/// Why a run was asked to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// `stop_process`, `stop`, `remove` or `free`: under ON_FAILURE and NEVER the
    /// process stays stopped.
    Stop,
    /// `restart_all`: a restart follows, whatever the policy.
    Restart,
    /// Not ready within its readiness timeout: a failure, an instant death.
    Timeout,
    /// A missed watchdog, or reported unhealthy: a failure.
    Watchdog,
}

impl StopReason {
    /// A stop the host asked for (the C API's `PROCMON_EXIT_REQUESTED`).
    pub fn is_requested(self) -> bool {
        matches!(self, StopReason::Stop | StopReason::Restart)
    }
}

/// What an exit means, and whether a restart follows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub flags: ExitFlags,
    pub restart: bool,
}

/// Judges an exit by the process's spec: its flags (EXPECTED, REQUESTED,
/// CORE_DUMPED, STATUS_UNKNOWN, TIMEOUT, WATCHDOG) and whether its policy
/// restarts it. Whether the service runs is the caller's to add.
pub fn judge_exit(spec: &ProcessSpec, status: ExitStatus, stop: Option<StopReason>) -> Verdict {
    let mut flags = ExitFlags::default();
    let requested = stop.is_some_and(StopReason::is_requested);
    if requested {
        flags |= ExitFlags::REQUESTED;
    }
    // A run stopped for its timeout or watchdog failed, however it ends.
    let failed = match stop {
        Some(StopReason::Timeout) => Some(ExitFlags::TIMEOUT),
        Some(StopReason::Watchdog) => Some(ExitFlags::WATCHDOG),
        _ => None,
    };
    let success = failed.is_none()
        && match status {
            ExitStatus::Code(code) => spec.success_codes().contains(&code),
            ExitStatus::Signal(signal) | ExitStatus::Dumped(signal) => {
                requested && signal == spec.stop_signal()
            }
            ExitStatus::Unknown => false,
        };
    if let Some(flag) = failed {
        flags |= flag;
    }
    if success {
        flags |= ExitFlags::EXPECTED;
    }
    match status {
        ExitStatus::Dumped(_) => flags |= ExitFlags::CORE_DUMPED,
        ExitStatus::Unknown => flags |= ExitFlags::STATUS_UNKNOWN,
        _ => {}
    }
    let restart = match (stop, spec.restart()) {
        (Some(StopReason::Restart), _) | (_, RestartPolicy::Always) => true,
        (Some(StopReason::Stop), _) | (_, RestartPolicy::Never) => false,
        (None | Some(StopReason::Timeout | StopReason::Watchdog), RestartPolicy::OnFailure) => {
            !success
        }
    };
    Verdict { flags, restart }
}

/// The times of a process's recent starts, for its start limit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StartLog(VecDeque<Time>);

impl StartLog {
    /// Records a start at `now` if `limit` allows one; false (nothing recorded)
    /// when `limit.burst` starts were made within the last `limit.interval`.
    pub fn admit(&mut self, limit: &StartLimit, now: Time) -> bool {
        while self
            .0
            .front()
            .is_some_and(|&at| now.saturating_sub(at) >= limit.interval)
        {
            self.0.pop_front();
        }
        if self.0.len() >= limit.burst as usize {
            return false;
        }
        self.0.push_back(now);
        true
    }

    /// A fresh count.
    pub fn clear(&mut self) {
        self.0.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(threshold: u64, min: u64, max: u64) -> Settings {
        Settings {
            threshold: Duration::from_secs(threshold),
            kill_time: Duration::from_secs(5),
            min_restart_delay: Duration::from_secs(min),
            max_restart_delay: Duration::from_secs(max),
        }
    }

    #[test]
    fn long_lived_restarts_at_once_and_resets() {
        let r = next_restart(
            Some(Duration::from_secs(1)),
            Duration::from_secs(8),
            &s(1, 1, 3600),
        );
        assert_eq!(r.wait, Duration::ZERO);
        assert_eq!(r.next_delay, Duration::from_secs(1));
    }

    #[test]
    fn instant_death_waits_then_doubles_up_to_max() {
        let settings = s(1, 1, 5);
        let mut delay = Duration::from_secs(1);
        let mut waits = vec![];
        for _ in 0..5 {
            let r = next_restart(Some(Duration::from_millis(10)), delay, &settings);
            waits.push(r.wait.as_secs());
            delay = r.next_delay;
        }
        assert_eq!(waits, [1, 2, 4, 5, 5]);
    }

    #[test]
    fn failed_spawn_counts_as_instant_death() {
        let r = next_restart(None, Duration::from_secs(2), &s(0, 1, 3600));
        assert_eq!(r.wait, Duration::from_secs(2));
        assert_eq!(r.next_delay, Duration::from_secs(4));
    }

    #[test]
    fn zero_threshold_makes_every_death_long_lived() {
        let r = next_restart(Some(Duration::ZERO), Duration::from_secs(3), &s(0, 1, 3600));
        assert_eq!(r.wait, Duration::ZERO);
    }
}
