//! The pure rules of readiness (API.md "Readiness"): how a process says it is
//! ready and still healthy, what is valid to ask for, the sd_notify message
//! format, and the start-order graph. The supervisor applies them
//! (`supervisor/ready.rs`); the runtime only turns bytes into [`Notice`]s.

use super::Name;
use crate::error::{Error, Result};
use std::time::Duration;

/// How a run says that it is ready.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ReadyMode {
    /// As soon as it is spawned (the seed).
    #[default]
    OnStart,
    /// The first newline on this descriptor of the child (s6's notification-fd);
    /// later newlines are watchdog pings.
    NotifyFd(u32),
    /// `READY=1` over `NOTIFY_SOCKET` (systemd's sd_notify); `WATCHDOG=1` pings.
    SdNotify,
    /// The first stdout or stderr line containing this text.
    Line(Box<[u8]>),
}

/// What a process's spec says about readiness, health and start order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Readiness {
    pub mode: ReadyMode,
    /// Not ready within this: stopped, an instant death. None: wait for ever.
    pub timeout: Option<Duration>,
    /// Once ready, a ping at least this often, or it is stopped. None: off.
    pub watchdog: Option<Duration>,
    /// Started only once each of these is ready; stopped before them.
    pub after: Box<[Name]>,
}

/// The highest descriptor number a NOTIFY_FD may name (exclusive).
pub const NOTIFY_FD_LIMIT: u32 = 1024;

/// NOTIFY_FD's argument: a descriptor number, digits only, 3 to 1023.
pub fn parse_notify_fd(arg: &str) -> Result<u32> {
    let bad = |why: &str| {
        Error::invalid(format!(
            "the readiness descriptor (NOTIFY_FD) {arg:?} {why}: give a number from 3 to {}",
            NOTIFY_FD_LIMIT - 1
        ))
    };
    if arg.is_empty() || !arg.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("is not a descriptor number"));
    }
    match arg.parse::<u32>() {
        Ok(fd @ 3..) if fd < NOTIFY_FD_LIMIT => Ok(fd),
        Ok(0..=2) => Err(bad("is stdin, stdout or stderr")),
        _ => Err(bad("is too large")),
    }
}

/// LINE's argument: a non-empty text without a newline (lines have none).
pub fn check_ready_line(text: &[u8]) -> Result<()> {
    if text.is_empty() {
        return Err(Error::invalid(
            "the readiness line (LINE) is empty: every line would match",
        ));
    }
    if text.contains(&b'\n') {
        return Err(Error::invalid(
            "the readiness line (LINE) holds a newline: no line can contain it",
        ));
    }
    Ok(())
}

impl Readiness {
    /// The checks that need the whole spec and its name, made when it is added:
    /// a watchdog needs a mode that can ping, and `after` may not name the
    /// process itself.
    pub fn check(&self, name: &Name) -> Result<()> {
        if self.watchdog.is_some()
            && !matches!(self.mode, ReadyMode::NotifyFd(_) | ReadyMode::SdNotify)
        {
            return Err(Error::invalid(
                "the watchdog needs readiness NOTIFY_FD or SD_NOTIFY (the child pings \
                 through them); set one with the readiness, or no watchdog",
            ));
        }
        if self.after.contains(name) {
            return Err(Error::invalid(format!(
                "the start order (after) of {name:?} names {name:?} itself"
            )));
        }
        Ok(())
    }
}

/// What a child says about itself, as the runtime hears it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice {
    /// A newline on the NOTIFY_FD descriptor: ready the first time, a ping after.
    Newline,
    /// `READY=1`, or a LINE match.
    Ready,
    /// `WATCHDOG=1`.
    Watchdog,
    /// `WATCHDOG=trigger`: the child reports itself unhealthy.
    Unhealthy,
}

/// The notices in one sd_notify datagram: newline-separated `KEY=VALUE`
/// assignments. `READY=1` and `WATCHDOG=1` count; `STOPPING=1`, `STATUS=…` and
/// any other assignment are accepted and have no effect here.
pub fn parse_sd_notify(datagram: &[u8]) -> impl Iterator<Item = Notice> + '_ {
    datagram
        .split(|&b| b == b'\n')
        .filter_map(|assignment| match assignment {
            b"READY=1" => Some(Notice::Ready),
            b"WATCHDOG=1" => Some(Notice::Watchdog),
            b"WATCHDOG=trigger" => Some(Notice::Unhealthy),
            _ => None,
        })
}

/// Whether `line` holds `text` (LINE readiness), without a copy of either.
pub fn line_matches(line: &[u8], text: &[u8]) -> bool {
    !text.is_empty() && memchr::memmem::find(line, text).is_some()
}

/// A cycle that adding `name` with these `after` names would close, as the path
/// of names from `name` back to itself; `after_of` gives the `after` names of a
/// monitored process (None for a name not monitored: it ends a path).
pub fn find_cycle<'a>(
    name: &Name,
    after: &'a [Name],
    after_of: impl Fn(&str) -> Option<&'a [Name]>,
) -> Option<Vec<Name>> {
    // Depth first, with the path kept: the graph is small (names with `after`).
    let mut stack: Vec<(Name, std::slice::Iter<'a, Name>)> = vec![(name.clone(), after.iter())];
    let mut seen = std::collections::HashSet::new();
    while let Some((_, next)) = stack.last_mut() {
        let Some(dep) = next.next() else {
            stack.pop();
            continue;
        };
        if dep == name {
            let mut path: Vec<Name> = stack.iter().map(|(n, _)| n.clone()).collect();
            path.push(name.clone());
            return Some(path);
        }
        if !seen.insert(dep.clone()) {
            continue;
        }
        if let Some(deps) = after_of(dep.as_str()) {
            stack.push((dep.clone(), deps.iter()));
        }
    }
    None
}

/// The error for a cycle found by [`find_cycle`].
pub fn cycle_error(path: &[Name]) -> Error {
    let names: Vec<String> = path.iter().map(|n| format!("{n:?}")).collect();
    Error::invalid(format!(
        "the start order (after) would make a cycle: {}",
        names.join(" after ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Name {
        Name::new(s).unwrap()
    }

    #[test]
    fn notify_fd_numbers() {
        assert_eq!(parse_notify_fd("3").unwrap(), 3);
        assert_eq!(parse_notify_fd("1023").unwrap(), 1023);
        for bad in [
            "0",
            "1",
            "2",
            "-1",
            "abc",
            "",
            "1024",
            "99999999999",
            "+3",
            " 3",
            "3 ",
        ] {
            let e = parse_notify_fd(bad).unwrap_err();
            assert!(e.message().contains("NOTIFY_FD"), "{bad}: {}", e.message());
        }
    }

    #[test]
    fn ready_lines() {
        assert!(check_ready_line(b"listening on").is_ok());
        assert!(check_ready_line(b"")
            .unwrap_err()
            .message()
            .contains("LINE"));
        assert!(check_ready_line(b"a\nb").is_err());
        assert!(line_matches(b"now listening on :80", b"listening on"));
        assert!(!line_matches(b"listening", b"listening on"));
    }

    #[test]
    fn sd_notify_messages() {
        let got: Vec<Notice> = parse_sd_notify(b"STATUS=up\nREADY=1\nWATCHDOG=1").collect();
        assert_eq!(got, [Notice::Ready, Notice::Watchdog]);
        assert_eq!(parse_sd_notify(b"READY=0\nSTOPPING=1\n").count(), 0);
        let trigger: Vec<Notice> = parse_sd_notify(b"WATCHDOG=trigger").collect();
        assert_eq!(trigger, [Notice::Unhealthy]);
    }

    #[test]
    fn a_watchdog_needs_a_mode_that_pings() {
        let mut r = Readiness {
            watchdog: Some(Duration::from_secs(1)),
            ..Readiness::default()
        };
        assert!(r.check(&n("a")).unwrap_err().message().contains("watchdog"));
        r.mode = ReadyMode::Line(b"x".to_vec().into());
        assert!(r.check(&n("a")).is_err());
        r.mode = ReadyMode::NotifyFd(3);
        assert!(r.check(&n("a")).is_ok());
        r.mode = ReadyMode::SdNotify;
        assert!(r.check(&n("a")).is_ok());
    }

    #[test]
    fn after_itself_is_refused() {
        let r = Readiness {
            after: vec![n("b"), n("a")].into(),
            ..Readiness::default()
        };
        assert!(r.check(&n("a")).unwrap_err().message().contains("itself"));
        assert!(r.check(&n("c")).is_ok());
    }

    #[test]
    fn cycles() {
        let graph: Vec<(Name, Vec<Name>)> = vec![
            (n("b"), vec![n("c")]),
            (n("c"), vec![n("d"), n("x")]),
            (n("d"), vec![]),
        ];
        let after_of = |name: &str| {
            graph
                .iter()
                .find(|(k, _)| k.as_str() == name)
                .map(|(_, v)| v.as_slice())
        };
        // a after b: b → c → d: no cycle; x is not monitored.
        let b = [n("b")];
        assert_eq!(find_cycle(&n("a"), &b, after_of), None);
        // d after b would close d → b → c → d.
        let path = find_cycle(&n("d"), &b, after_of).unwrap();
        assert_eq!(path, [n("d"), n("b"), n("c"), n("d")]);
        assert!(cycle_error(&path).message().contains("cycle"));
    }
}
