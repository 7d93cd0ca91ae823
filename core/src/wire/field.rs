//! Reading and writing big-endian fields at fixed offsets, for the views in
//! this module. Every helper is total: a field beyond the end of the buffer
//! reads as zero and is not written, so a view can never panic, even over a
//! buffer nobody checked. The views check lengths once, up front
//! (`new_checked`), and after that these fallbacks are never taken.

use core::ops::Range;

/// A multi-byte field: its byte range.
pub(super) type Field = Range<usize>;

pub(super) fn read_u8(bytes: &[u8], at: usize) -> u8 {
    bytes.get(at).copied().unwrap_or(0)
}

pub(super) fn read_u16(bytes: &[u8], f: Field) -> u16 {
    bytes
        .get(f)
        .and_then(|b| <[u8; 2]>::try_from(b).ok())
        .map_or(0, u16::from_be_bytes)
}

pub(super) fn read_u32(bytes: &[u8], f: Field) -> u32 {
    bytes
        .get(f)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map_or(0, u32::from_be_bytes)
}

/// Copies `value` into `bytes[f]`; does nothing if `bytes` is too short.
pub(super) fn write(bytes: &mut [u8], f: Field, value: &[u8]) {
    if let Some(dst) = bytes.get_mut(f) {
        for (d, s) in dst.iter_mut().zip(value.iter()) {
            *d = *s;
        }
    }
}

pub(super) fn write_u8(bytes: &mut [u8], at: usize, value: u8) {
    if let Some(b) = bytes.get_mut(at) {
        *b = value;
    }
}

pub(super) fn write_u32(bytes: &mut [u8], f: Field, value: u32) {
    write(bytes, f, &value.to_be_bytes());
}

/// `v` as a `u32`, saturating: the wire's durations are 32-bit.
pub(super) fn saturate_u32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}
