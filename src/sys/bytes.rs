//! Byte search with the CPU's vector instructions, for the line splitter.

/// Bit i set when `block[i]` is a '\n'.
#[cfg(target_arch = "x86_64")]
pub fn newline_mask_64(block: &[u8; 64]) -> u64 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
    };
    let mut mask = 0u64;
    for (k, lane) in block.chunks_exact(16).enumerate() {
        // SAFETY: SSE2 is part of the x86_64 baseline, so every CPU this code
        // runs on has these instructions; `lane` is 16 readable bytes, and the
        // load is unaligned.
        let bits = unsafe {
            let newline = _mm_set1_epi8(b'\n' as i8);
            let bytes = _mm_loadu_si128(lane.as_ptr().cast::<__m128i>());
            _mm_movemask_epi8(_mm_cmpeq_epi8(bytes, newline))
        };
        mask |= u64::from(bits as u16) << (16 * k);
    }
    mask
}

/// Bit i set when `block[i]` is a '\n'.
#[cfg(not(target_arch = "x86_64"))]
pub fn newline_mask_64(block: &[u8; 64]) -> u64 {
    block
        .iter()
        .enumerate()
        .fold(0, |mask, (i, &b)| mask | u64::from(b == b'\n') << i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_newline_and_nothing_else_is_a_bit() {
        let mut block = [b'x'; 64];
        assert_eq!(newline_mask_64(&block), 0);
        for i in [0, 1, 15, 16, 31, 32, 47, 48, 62, 63] {
            block[i] = b'\n';
        }
        block[5] = b'\n' | 0x80; // looks like '\n' in the low bits only
        block[6] = 0;
        let want = [0, 1, 15, 16, 31, 32, 47, 48, 62, 63]
            .iter()
            .fold(0u64, |m, &i| m | 1 << i);
        assert_eq!(newline_mask_64(&block), want);
    }
}
