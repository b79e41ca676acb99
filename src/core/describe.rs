//! Python's `repr()` of a string, for the seed's `ProcessMonitor.__repr__`.

/// Quotes `s` as Python 3's `repr(str)` does: single quotes unless the text holds a
/// single quote and no double quote; backslash escapes for the quote, `\\`, `\t`,
/// `\n`, `\r`, and `\xNN`/`\uNNNN`/`\UNNNNNNNN` for characters Python does not print.
pub fn python_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if is_printable(c) => out.push(c),
            c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push(quote);
    out
}

/// An approximation of Python's `str.isprintable()` without Unicode tables: control
/// characters, the Latin-1 non-printables, separators other than the space, format
/// characters commonly met, surrogates' neighbours and private use are not printable.
fn is_printable(c: char) -> bool {
    let u = c as u32;
    !(u < 0x20
        || (0x7f..=0xa0).contains(&u)
        || u == 0xad
        || (0x2000..=0x200f).contains(&u)
        || (0x2028..=0x202f).contains(&u)
        || (0x205f..=0x206f).contains(&u)
        || u == 0x3000
        || u == 0xfeff
        || (0xe000..=0xf8ff).contains(&u)
        || (0xfff9..=0xfffb).contains(&u)
        || u >= 0xf0000)
}

#[cfg(test)]
mod tests {
    use super::python_repr;

    #[test]
    fn quotes_like_python() {
        assert_eq!(python_repr("foo"), "'foo'");
        assert_eq!(python_repr("it's"), "\"it's\"");
        assert_eq!(python_repr("it's \"x\""), "'it\\'s \"x\"'");
        assert_eq!(python_repr("a\\b\n\t\r"), "'a\\\\b\\n\\t\\r'");
        assert_eq!(python_repr("\x01\x7f\u{a0}"), "'\\x01\\x7f\\xa0'");
        assert_eq!(python_repr("héllo ☃"), "'héllo ☃'");
        assert_eq!(python_repr("\u{2028}"), "'\\u2028'");
        assert_eq!(python_repr(""), "''");
    }
}
