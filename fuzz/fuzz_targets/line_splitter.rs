//! The line splitter against a reference: any byte stream, cut into chunks of any
//! sizes, with any line limit, gives the lines of splitting the whole stream at
//! once on '\n' (a line longer than the limit in pieces of the limit, an empty
//! line as one empty line, the last line without '\n' at finish).
//!
//! Input: byte 0 picks the limit, bytes 1..=8 the chunk sizes (cycled), the rest
//! is the stream.
#![no_main]

use libfuzzer_sys::fuzz_target;
use procmon::core::{LineSplitter, LINE_LIMIT};

/// The expected lines, computed independently of the splitter: one pass over the
/// bytes, a line ending at each '\n', then cut into pieces.
fn expected(stream: &[u8], limit: usize) -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    let mut current = Vec::new();
    let cut = |line: &[u8], lines: &mut Vec<Vec<u8>>| {
        if line.is_empty() {
            lines.push(Vec::new());
            return;
        }
        let mut at = 0;
        while at < line.len() {
            let end = (at + limit).min(line.len());
            lines.push(line[at..end].to_vec());
            at = end;
        }
    };
    for &byte in stream {
        if byte == b'\n' {
            cut(&current, &mut lines);
            current.clear();
        } else {
            current.push(byte);
        }
    }
    if !current.is_empty() {
        cut(&current, &mut lines);
    }
    lines
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 9 {
        return;
    }
    let limit = match data[0] {
        // Mostly small limits, so that short inputs reach the piece logic.
        0..=239 => 1 + usize::from(data[0] % 16),
        240..=247 => 64 + usize::from(data[0]),
        _ => LINE_LIMIT,
    };
    let mut sizes: Vec<usize> = data[1..9].iter().map(|&b| usize::from(b)).collect();
    if sizes.iter().all(|&n| n == 0) {
        sizes[0] = 1; // else the stream would never be consumed
    }
    let stream = &data[9..];

    let mut splitter = LineSplitter::with_limit(limit);
    let mut got: Vec<Vec<u8>> = Vec::new();
    let mut rest = stream;
    let mut size = sizes.iter().cycle();
    while !rest.is_empty() {
        // A size of 0 means an empty chunk, which must change nothing.
        let n = (*size.next().unwrap()).min(rest.len());
        let mut chunk = rest[..n].to_vec();
        rest = &rest[n..];
        splitter.feed(&mut chunk, |line| {
            let with_nul = line.bytes_with_nul();
            assert_eq!(with_nul.last(), Some(&0), "a line is followed by a NUL");
            assert_eq!(&with_nul[..with_nul.len() - 1], line.bytes());
            assert!(line.bytes().len() <= limit, "a piece longer than the limit");
            got.push(line.bytes().to_vec());
        });
        assert!(splitter.pending() <= limit, "more than the limit held back");
    }
    splitter.finish(|line| {
        assert_eq!(line.bytes_with_nul().last(), Some(&0));
        got.push(line.bytes().to_vec());
    });
    assert_eq!(splitter.pending(), 0, "finish leaves nothing held back");
    let want = expected(stream, limit);
    assert_eq!(got, want, "limit {limit}, chunk sizes {sizes:?}");
});
