//! Where to look for a program: `argv[0]` as is when it holds a `/`, otherwise each
//! directory of the host's `PATH` in turn (as `execvp` and `posix_spawnp` do).

use std::ffi::{CStr, CString, OsString};
use std::os::unix::ffi::OsStringExt;

/// glibc's default search path when `PATH` is unset.
const DEFAULT_PATH: &[u8] = b"/bin:/usr/bin";

/// The paths to try, in order.
pub(crate) fn candidates(program: &CStr) -> Vec<CString> {
    let bytes = program.to_bytes();
    if bytes.contains(&b'/') {
        return vec![program.to_owned()];
    }
    let path = std::env::var_os("PATH").map(OsString::into_vec);
    let path = path.as_deref().unwrap_or(DEFAULT_PATH);
    path.split(|&b| b == b':')
        .map(|dir| {
            // An empty entry means the current directory.
            let mut full = if dir.is_empty() {
                b".".to_vec()
            } else {
                dir.to_vec()
            };
            full.push(b'/');
            full.extend_from_slice(bytes);
            CString::new(full).expect("PATH and the program hold no NUL")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_with_a_slash_is_used_as_is() {
        assert_eq!(candidates(c"./x"), vec![c"./x".to_owned()]);
        assert_eq!(candidates(c"/bin/true"), vec![c"/bin/true".to_owned()]);
    }

    #[test]
    fn a_bare_name_is_searched_in_path() {
        let found = candidates(c"sh");
        assert!(!found.is_empty());
        assert!(found.iter().all(|p| p.to_bytes().ends_with(b"/sh")));
    }
}
