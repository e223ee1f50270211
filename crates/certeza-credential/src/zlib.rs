//! zlib (RFC 1950) with strict, bounded decompression.

use crate::error::{Error, Result};
use miniz_oxide::inflate::TINFLStatus;
use miniz_oxide::inflate::core::inflate_flags::{
    TINFL_FLAG_COMPUTE_ADLER32, TINFL_FLAG_PARSE_ZLIB_HEADER, TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF,
};
use miniz_oxide::inflate::core::{DecompressorOxide, decompress};

/// The default bound on the decompressed size of a credential.
pub const MAX_CREDENTIAL_SIZE: usize = 64 * 1024;

/// Compresses with zlib at the highest level.
#[must_use]
pub fn compress(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(data, 9)
}

/// Decompresses a zlib stream that must end exactly at the end of `input` and whose output
/// must not exceed `limit` bytes.
///
/// # Errors
///
/// [`Error::Compression`] for a corrupt, truncated or oversized stream, a bad checksum, or
/// bytes after the end of the stream.
pub fn decompress_bounded(input: &[u8], limit: usize) -> Result<Vec<u8>> {
    let mut state = DecompressorOxide::new();
    let mut out = vec![0u8; limit.min(input.len().saturating_mul(4).max(1024))];
    let mut in_pos = 0;
    let mut out_pos = 0;
    let flags = TINFL_FLAG_PARSE_ZLIB_HEADER | TINFL_FLAG_COMPUTE_ADLER32 | TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
    loop {
        let rest = input.get(in_pos..).unwrap_or_default();
        let (status, read, written) = decompress(&mut state, rest, &mut out, out_pos, flags);
        in_pos += read;
        out_pos += written;
        match status {
            TINFLStatus::Done => {
                if in_pos != input.len() {
                    return Err(Error::Compression("trailing bytes after the stream"));
                }
                out.truncate(out_pos);
                return Ok(out);
            }
            TINFLStatus::HasMoreOutput => {
                if out.len() >= limit {
                    return Err(Error::Compression("decompressed size over the limit"));
                }
                let grown = out.len().saturating_mul(2).min(limit);
                out.resize(grown, 0);
            }
            TINFLStatus::NeedsMoreInput | TINFLStatus::FailedCannotMakeProgress => {
                return Err(Error::Compression("truncated stream"));
            }
            TINFLStatus::Adler32Mismatch => return Err(Error::Compression("checksum mismatch")),
            _ => return Err(Error::Compression("corrupt stream")),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trip_and_strictness() {
        let data = vec![7u8; 10_000];
        let z = compress(&data);
        assert_eq!(decompress_bounded(&z, 10_000).unwrap(), data);
        assert!(decompress_bounded(&z, 9_999).is_err());
        let mut trailing = z.clone();
        trailing.push(0);
        assert!(decompress_bounded(&trailing, 20_000).is_err());
        assert!(decompress_bounded(&z[..z.len() - 1], 20_000).is_err());
        assert!(decompress_bounded(b"not zlib", 20_000).is_err());
        let mut bad_sum = z;
        let last = bad_sum.len() - 1;
        bad_sum[last] ^= 1;
        assert!(decompress_bounded(&bad_sum, 20_000).is_err());
    }
}
