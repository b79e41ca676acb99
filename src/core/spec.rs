//! What a monitored process is: its name and the parameters of each spawn
//! (the seed's `_Process`).

use crate::error::{Error, Result};
use std::borrow::Borrow;
use std::cmp::Ordering;
use std::ffi::{CStr, CString};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// A process name: non-empty UTF-8 without NUL. Cheap to clone; also kept
/// NUL-terminated so it can be handed to C callbacks without a copy.
/// Compares and hashes as its text, so maps keyed by `Name` answer `&str` lookups.
#[derive(Clone)]
pub struct Name(Arc<str>); // the name followed by one '\0'

impl PartialEq for Name {
    fn eq(&self, other: &Name) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Name {}

impl Hash for Name {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Name) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Name {
    fn cmp(&self, other: &Name) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Name {
    pub fn new(name: &str) -> Result<Name> {
        if name.is_empty() {
            return Err(Error::invalid("the process name is empty"));
        }
        if name.contains('\0') {
            return Err(Error::invalid("the process name contains a NUL byte"));
        }
        Ok(Name(format!("{name}\0").into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0[..self.0.len() - 1]
    }

    /// The name as a pointer to a NUL-terminated string (valid as long as this
    /// `Name`), without the scan that [`as_c_str`](Self::as_c_str) makes.
    pub fn as_ptr(&self) -> *const std::ffi::c_char {
        self.0.as_ptr().cast()
    }

    /// The name as a C string (valid as long as this `Name`).
    pub fn as_c_str(&self) -> &CStr {
        CStr::from_bytes_with_nul(self.0.as_bytes()).expect("a Name holds exactly one NUL, last")
    }
}

impl Borrow<str> for Name {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The parameters of one monitored process (the seed's `_Process`): argv, and
/// optionally the environment, working directory, uid and gid, and whether a stop
/// reaches the child's process group.
///
/// Kept small, as there is one per monitored process: the options most processes
/// never set live in a box of their own, allocated only when one is set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessSpec {
    argv: Box<[CString]>,
    options: Option<Box<SpawnOptions>>,
}

/// What [`ProcessSpec`] holds beyond argv; all unset by default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct SpawnOptions {
    env: Option<Vec<CString>>,
    cwd: Option<CString>,
    uid: Option<u32>,
    gid: Option<u32>,
    /// Stopping signals the child's whole process group.
    stop_group: bool,
}

fn c_string(bytes: Vec<u8>, what: &str) -> Result<CString> {
    CString::new(bytes).map_err(|_| Error::invalid(format!("{what} contains a NUL byte")))
}

impl ProcessSpec {
    /// `argv[0]` is the program; it must be present and non-empty.
    pub fn new<I, S>(argv: I) -> Result<ProcessSpec>
    where
        I: IntoIterator<Item = S>,
        S: Into<Vec<u8>>,
    {
        let argv = argv
            .into_iter()
            .map(|arg| c_string(arg.into(), "an argument"))
            .collect::<Result<Box<[_]>>>()?;
        match argv.first() {
            None => {
                return Err(Error::invalid(
                    "argv is empty: it needs at least the program",
                ))
            }
            Some(program) if program.is_empty() => {
                return Err(Error::invalid("argv[0], the program, is empty"))
            }
            Some(_) => {}
        }
        Ok(ProcessSpec {
            argv,
            options: None,
        })
    }

    fn options_mut(&mut self) -> &mut SpawnOptions {
        self.options.get_or_insert_with(Box::default)
    }

    /// The child's whole environment as `KEY=VALUE` entries (an empty list is an
    /// empty environment). Without this call the host's environment is inherited.
    pub fn with_env<I, S>(mut self, env: I) -> Result<ProcessSpec>
    where
        I: IntoIterator<Item = S>,
        S: Into<Vec<u8>>,
    {
        let env = env
            .into_iter()
            .map(|entry| {
                let entry = c_string(entry.into(), "an environment entry")?;
                match entry.as_bytes().iter().position(|&b| b == b'=') {
                    Some(0) | None => Err(Error::invalid(format!(
                        "environment entry {:?} is not of the form KEY=VALUE",
                        String::from_utf8_lossy(entry.as_bytes())
                    ))),
                    Some(_) => Ok(entry),
                }
            })
            .collect::<Result<Vec<_>>>()?;
        self.options_mut().env = Some(env);
        Ok(self)
    }

    pub fn with_cwd(mut self, cwd: impl Into<Vec<u8>>) -> Result<ProcessSpec> {
        let cwd = c_string(cwd.into(), "the working directory")?;
        if cwd.is_empty() {
            return Err(Error::invalid("the working directory is empty"));
        }
        self.options_mut().cwd = Some(cwd);
        Ok(self)
    }

    pub fn with_uid(mut self, uid: u32) -> ProcessSpec {
        self.options_mut().uid = Some(uid);
        self
    }

    pub fn with_gid(mut self, gid: u32) -> ProcessSpec {
        self.options_mut().gid = Some(gid);
        self
    }

    /// Whether stopping the child signals its whole process group (its own
    /// children too) rather than the child alone.
    pub fn with_process_group_stop(mut self, stop_group: bool) -> ProcessSpec {
        if stop_group || self.options.is_some() {
            self.options_mut().stop_group = stop_group;
        }
        self
    }

    pub fn argv(&self) -> &[CString] {
        &self.argv
    }

    pub fn program(&self) -> &CStr {
        &self.argv[0]
    }

    pub fn env(&self) -> Option<&[CString]> {
        self.options.as_ref()?.env.as_deref()
    }

    pub fn cwd(&self) -> Option<&CStr> {
        self.options.as_ref()?.cwd.as_deref()
    }

    pub fn uid(&self) -> Option<u32> {
        self.options.as_ref()?.uid
    }

    pub fn gid(&self) -> Option<u32> {
        self.options.as_ref()?.gid
    }

    pub fn stops_process_group(&self) -> bool {
        self.options.as_ref().is_some_and(|o| o.stop_group)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn name_rules() {
        assert_eq!(Name::new("").unwrap_err().kind(), ErrorKind::Invalid);
        assert_eq!(Name::new("a\0b").unwrap_err().kind(), ErrorKind::Invalid);
        let n = Name::new("web").unwrap();
        assert_eq!(n.as_str(), "web");
        assert_eq!(n.as_c_str().to_bytes_with_nul(), b"web\0");
        let mut map = std::collections::HashMap::new();
        map.insert(n.clone(), 1);
        assert_eq!(map.get("web"), Some(&1), "lookups by &str find a Name");
    }

    #[test]
    fn argv_needs_a_program() {
        let none: [&str; 0] = [];
        assert_eq!(
            ProcessSpec::new(none).unwrap_err().kind(),
            ErrorKind::Invalid
        );
        assert_eq!(
            ProcessSpec::new([""]).unwrap_err().kind(),
            ErrorKind::Invalid
        );
        assert_eq!(
            ProcessSpec::new(["a\0"]).unwrap_err().kind(),
            ErrorKind::Invalid
        );
        assert_eq!(
            ProcessSpec::new(["true"]).unwrap().program().to_bytes(),
            b"true"
        );
    }

    #[test]
    fn env_entries_need_a_key() {
        let spec = ProcessSpec::new(["true"]).unwrap();
        assert!(spec.clone().with_env(["A=1", "B="]).is_ok());
        assert!(spec.clone().with_env(["=1"]).is_err());
        assert!(spec.clone().with_env(["NOEQUALS"]).is_err());
        assert!(spec.clone().with_cwd("").is_err());
    }
}
