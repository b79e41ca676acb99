//! Splitting a byte stream into lines, the seed's `LineReceiver` with
//! `delimiter = b"\n"`, minus its loss: over-long lines are passed in pieces.

use memchr::memchr;

/// The longest line passed whole; longer lines are passed in pieces of this size.
pub const LINE_LIMIT: usize = 64 * 1024;

/// One line (or piece of a line) without its `'\n'`, always followed in memory by a
/// NUL byte so C can receive it without a copy. Any bytes, NUL included.
#[derive(Clone, Copy, Debug)]
pub struct Line<'a> {
    with_nul: &'a [u8],
}

impl<'a> Line<'a> {
    fn new(with_nul: &'a [u8]) -> Line<'a> {
        debug_assert_eq!(with_nul.last(), Some(&0));
        Line { with_nul }
    }

    /// The line's bytes, without the terminating NUL.
    pub fn bytes(&self) -> &'a [u8] {
        &self.with_nul[..self.with_nul.len() - 1]
    }

    /// The line's bytes followed by one NUL.
    pub fn bytes_with_nul(&self) -> &'a [u8] {
        self.with_nul
    }
}

/// Turns the chunks read from one stream into lines: split on `'\n'` (dropped; a
/// `'\r'` before it is kept), empty lines kept, a line longer than the limit passed
/// in pieces of the limit, a last line without `'\n'` passed by [`finish`].
///
/// Lines inside a chunk are handed out in place (the `'\n'` is overwritten by the
/// NUL); only a line spanning chunks is copied, into a buffer of at most the limit.
///
/// [`finish`]: LineSplitter::finish
#[derive(Debug)]
pub struct LineSplitter {
    carry: Vec<u8>,
    scratch: Vec<u8>,
    limit: usize,
}

impl Default for LineSplitter {
    fn default() -> Self {
        Self::with_limit(LINE_LIMIT)
    }
}

impl LineSplitter {
    pub fn with_limit(limit: usize) -> LineSplitter {
        assert!(limit > 0, "the line limit must be positive");
        LineSplitter {
            carry: Vec::new(),
            scratch: Vec::new(),
            limit,
        }
    }

    /// Feeds the next chunk of the stream; `emit` is called for every complete line.
    /// The chunk is modified (each `'\n'` that ends a line becomes a NUL).
    pub fn feed<F: FnMut(Line<'_>)>(&mut self, chunk: &mut [u8], mut emit: F) {
        let mut start = 0;
        if !self.carry.is_empty() {
            match memchr(b'\n', chunk) {
                Some(end) => {
                    self.extend_carry(&chunk[..end], &mut emit);
                    self.emit_carry(&mut emit);
                    start = end + 1;
                }
                None => {
                    self.extend_carry(chunk, &mut emit);
                    return;
                }
            }
        }
        // The '\n's of each 64-byte block are found at once, as the bits of a
        // mask, and taken from it lowest first: for short lines much cheaper than
        // a search per line.
        let mut block = start;
        while block < chunk.len() {
            let block_end = (block + 64).min(chunk.len());
            let mut mask = newline_mask(&chunk[block..block_end]);
            while mask != 0 {
                let end = block + mask.trailing_zeros() as usize;
                mask &= mask - 1;
                while end - start > self.limit {
                    self.scratch.clear();
                    self.scratch
                        .extend_from_slice(&chunk[start..start + self.limit]);
                    self.scratch.push(0);
                    emit(Line::new(&self.scratch));
                    start += self.limit;
                }
                chunk[end] = 0;
                emit(Line::new(&chunk[start..=end]));
                start = end + 1;
            }
            block = block_end;
        }
        self.extend_carry(&chunk[start..], &mut emit);
    }

    /// The stream has closed: passes the last line if it had no `'\n'`.
    pub fn finish<F: FnMut(Line<'_>)>(&mut self, mut emit: F) {
        if !self.carry.is_empty() {
            self.emit_carry(&mut emit);
        }
    }

    /// Bytes of an unfinished line held back (at most the limit).
    pub fn pending(&self) -> usize {
        self.carry.len()
    }

    fn extend_carry<F: FnMut(Line<'_>)>(&mut self, mut data: &[u8], emit: &mut F) {
        while !data.is_empty() {
            if self.carry.len() == self.limit {
                // A byte beyond the limit: what is held is a full piece.
                self.emit_carry(emit);
            }
            let take = (self.limit - self.carry.len()).min(data.len());
            self.carry.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
    }

    fn emit_carry<F: FnMut(Line<'_>)>(&mut self, emit: &mut F) {
        self.carry.push(0);
        emit(Line::new(&self.carry));
        self.carry.clear();
    }
}

/// Bit i set when `block[i]` is a '\n' (`block` holds at most 64 bytes).
fn newline_mask(block: &[u8]) -> u64 {
    match <&[u8; 64]>::try_from(block) {
        Ok(full) => full_block_mask(full),
        Err(_) => block
            .iter()
            .enumerate()
            .fold(0, |mask, (i, &b)| mask | u64::from(b == b'\n') << i),
    }
}

/// [`newline_mask`] of a whole block, with vector compares (SSE2 on x86_64):
/// about 10 instructions per 64 bytes, where a search per line costs 60.
fn full_block_mask(block: &[u8; 64]) -> u64 {
    crate::sys::bytes::newline_mask_64(block)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference: split the whole stream at once.
    fn reference(stream: &[u8], limit: usize) -> Vec<Vec<u8>> {
        let mut out = vec![];
        let mut parts: Vec<&[u8]> = stream.split(|&b| b == b'\n').collect();
        let last = parts.pop().unwrap();
        for part in parts {
            push_pieces(&mut out, part, limit);
        }
        if !last.is_empty() {
            push_pieces(&mut out, last, limit);
        }
        out
    }

    fn push_pieces(out: &mut Vec<Vec<u8>>, line: &[u8], limit: usize) {
        if line.is_empty() {
            out.push(vec![]);
        }
        for piece in line.chunks(limit) {
            out.push(piece.to_vec());
        }
    }

    fn split(stream: &[u8], chunk_sizes: &[usize], limit: usize) -> Vec<Vec<u8>> {
        let mut s = LineSplitter::with_limit(limit);
        let mut out = vec![];
        let mut rest = stream;
        let mut sizes = chunk_sizes.iter().cycle();
        while !rest.is_empty() {
            let n = (*sizes.next().unwrap()).clamp(1, rest.len());
            let mut chunk = rest[..n].to_vec();
            rest = &rest[n..];
            s.feed(&mut chunk, |line| {
                assert_eq!(line.bytes_with_nul().last(), Some(&0));
                out.push(line.bytes().to_vec());
            });
        }
        s.finish(|line| out.push(line.bytes().to_vec()));
        out
    }

    #[test]
    fn complete_lines_empty_lines_and_cr() {
        let got = split(b"a\n\nb\r\n", &[100], 10);
        assert_eq!(got, vec![b"a".to_vec(), vec![], b"b\r".to_vec()]);
    }

    #[test]
    fn partial_last_line_flushed_at_close() {
        assert_eq!(split(b"x\ny", &[1], 10), vec![b"x".to_vec(), b"y".to_vec()]);
    }

    #[test]
    fn raw_bytes_pass_untouched() {
        let got = split(b"\xff\x00\xfe\n", &[2], 10);
        assert_eq!(got, vec![b"\xff\x00\xfe".to_vec()]);
    }

    #[test]
    fn long_lines_come_in_pieces_of_the_limit() {
        let got = split(b"0123456789abcdefghij0\nxy\n", &[100], 10);
        assert_eq!(
            got,
            vec![
                b"0123456789".to_vec(),
                b"abcdefghij".to_vec(),
                b"0".to_vec(),
                b"xy".to_vec()
            ]
        );
        // Exactly the limit: one piece, no empty tail.
        assert_eq!(
            split(b"0123456789\n", &[3], 10),
            vec![b"0123456789".to_vec()]
        );
    }

    #[test]
    fn any_chunking_gives_the_reference_lines() {
        let mut stream = vec![];
        let mut seed = 12345u32;
        for _ in 0..5000 {
            seed = seed.wrapping_mul(1103515245).wrapping_add(12345);
            stream.push(match seed >> 28 {
                0..=2 => b'\n',
                3 => 0,
                4 => b'\r',
                _ => (seed >> 8) as u8,
            });
        }
        for limit in [1, 2, 7, 64, 10_000] {
            let want = reference(&stream, limit);
            for sizes in [&[1][..], &[3, 1, 8], &[64], &[4999], &[17, 250, 2]] {
                assert_eq!(
                    split(&stream, sizes, limit),
                    want,
                    "limit {limit} sizes {sizes:?}"
                );
            }
        }
    }
}
