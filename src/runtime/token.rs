//! The epoll tokens of both epoll sets, in one encoding: the event loop's (its
//! waker and the children's pidfds) and the callback thread's (its waker and the
//! children's pipes). Every registration makes its token here and every wait
//! decodes it here; no other file knows the bit layout.
//!
//! The low three bits say what the descriptor is, the rest is its run id:
//! `0` is a waker (the whole token is 0), `1` and `2` a run's stdout and stderr
//! (the values of [`Stream`]), `3` a run's pidfd, `4` its cgroup's
//! `cgroup.events`, `5` its NOTIFY_FD pipe, `6` the monitor's sd_notify socket
//! (with run id 0). Run ids stay below 2^61.

use super::callbacks::Stream;
use crate::core::RunId;

/// What a registered descriptor is, as its token says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    /// The set's eventfd, written by other threads to wake its thread.
    Waker,
    /// The pidfd of a run's child (the event loop's set).
    Pidfd(RunId),
    /// One of a run's output pipes (the callback thread's set).
    Pipe(RunId, Stream),
    /// The `cgroup.events` of a run's draining cgroup (the event loop's set).
    Unit(RunId),
    /// Our end of a run's NOTIFY_FD descriptor (the event loop's set).
    Notify(RunId),
    /// The monitor's sd_notify socket (the event loop's set).
    NotifySocket,
}

/// The 64-bit value an epoll registration carries, and what it comes back as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Token(u64);

const KIND_BITS: u32 = 3;
const KIND_MASK: u64 = (1 << KIND_BITS) - 1;
const KIND_WAKER: u64 = 0;
const KIND_STDOUT: u64 = Stream::Stdout as u64;
const KIND_STDERR: u64 = Stream::Stderr as u64;
const KIND_PIDFD: u64 = 3;
const KIND_UNIT: u64 = 4;
const KIND_NOTIFY: u64 = 5;
const KIND_NOTIFY_SOCKET: u64 = 6;

impl Token {
    /// The waker's token, in either set.
    pub fn waker() -> Token {
        Token(KIND_WAKER)
    }

    /// The token of `run`'s pidfd.
    pub fn pidfd(run: RunId) -> Token {
        Token::of(run, KIND_PIDFD)
    }

    /// The token of `run`'s cgroup's `cgroup.events`.
    pub fn unit(run: RunId) -> Token {
        Token::of(run, KIND_UNIT)
    }

    /// The token of `run`'s NOTIFY_FD pipe.
    pub fn notify(run: RunId) -> Token {
        Token::of(run, KIND_NOTIFY)
    }

    /// The token of the sd_notify socket.
    pub fn notify_socket() -> Token {
        Token(KIND_NOTIFY_SOCKET)
    }

    /// The token of `run`'s `stream` pipe.
    pub fn pipe(run: RunId, stream: Stream) -> Token {
        Token::of(run, stream as u64)
    }

    fn of(run: RunId, kind: u64) -> Token {
        debug_assert!(run.0 >> (64 - KIND_BITS) == 0, "a run id above 2^61");
        Token(run.0 << KIND_BITS | kind)
    }

    /// The value to hand to `epoll_ctl`.
    pub fn raw(self) -> u64 {
        self.0
    }

    /// A value `epoll_wait` returned (one that [`raw`](Self::raw) gave).
    pub fn from_raw(raw: u64) -> Token {
        Token(raw)
    }

    /// What the token stands for.
    pub fn source(self) -> Source {
        let run = RunId(self.0 >> KIND_BITS);
        match self.0 & KIND_MASK {
            KIND_STDOUT => Source::Pipe(run, Stream::Stdout),
            KIND_STDERR => Source::Pipe(run, Stream::Stderr),
            KIND_PIDFD => Source::Pidfd(run),
            KIND_UNIT => Source::Unit(run),
            KIND_NOTIFY => Source::Notify(run),
            KIND_NOTIFY_SOCKET => Source::NotifySocket,
            _ => {
                debug_assert_eq!(self, Token::waker(), "a token no constructor makes");
                Source::Waker
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_token_decodes_to_what_made_it() {
        assert_eq!(Token::waker().source(), Source::Waker);
        assert_eq!(Token::notify_socket().source(), Source::NotifySocket);
        for run in [RunId(0), RunId(1), RunId(7), RunId((1 << 61) - 1)] {
            assert_eq!(Token::pidfd(run).source(), Source::Pidfd(run));
            assert_eq!(Token::unit(run).source(), Source::Unit(run));
            assert_eq!(Token::notify(run).source(), Source::Notify(run));
            for stream in [Stream::Stdout, Stream::Stderr] {
                assert_eq!(Token::pipe(run, stream).source(), Source::Pipe(run, stream));
            }
        }
    }

    #[test]
    fn no_two_descriptors_share_a_token() {
        let mut seen = std::collections::HashSet::new();
        assert!(seen.insert(Token::waker()));
        assert!(seen.insert(Token::notify_socket()));
        for run in 0..100 {
            let run = RunId(run);
            assert!(seen.insert(Token::pidfd(run)));
            assert!(seen.insert(Token::unit(run)));
            assert!(seen.insert(Token::notify(run)));
            assert!(seen.insert(Token::pipe(run, Stream::Stdout)));
            assert!(seen.insert(Token::pipe(run, Stream::Stderr)));
        }
    }

    #[test]
    fn a_raw_value_comes_back_as_the_same_token() {
        let token = Token::pipe(RunId(42), Stream::Stderr);
        assert_eq!(Token::from_raw(token.raw()), token);
    }
}
