//! The one error type of every layer; `ffi` maps its kind to `procmon_error_t`.

use std::fmt;

/// What went wrong, one variant per C error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// A bad argument: NULL, empty or non-UTF-8 name, empty argv, bad duration.
    Invalid,
    /// The name is already monitored.
    Exists,
    /// The name is not monitored.
    NotFound,
    /// Not allowed now, e.g. the monitor is shutting down.
    State,
    /// An OS call failed.
    System,
    /// A bug: a panic was caught.
    Internal,
    /// Nothing to take now (pull mode); not a failure.
    Again,
}

/// An error with a human-readable detail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, message)
    }

    pub fn state(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::State, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    pub fn not_found(name: &str) -> Self {
        Self::new(
            ErrorKind::NotFound,
            format!("unrecognized process name: {name:?}"),
        )
    }

    /// An OS call `what` failed with `errno`.
    pub fn system(what: &str, errno: i32) -> Self {
        // std's text ends in "(os error N)": keep the words, name the errno once.
        let text = std::io::Error::from_raw_os_error(errno).to_string();
        let words = text.split(" (os error").next().unwrap_or(&text);
        Self::new(
            ErrorKind::System,
            format!("{what} failed: {words} (errno {errno})"),
        )
    }

    /// The same error, its message prefixed with `place` (`names[3]: ...`).
    pub fn at(self, place: impl fmt::Display) -> Self {
        Error {
            kind: self.kind,
            message: format!("{place}: {}", self.message),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;
