//! How deep the stack has ever been: cortex-m-rt paints the whole stack
//! region with [`STACK_PAINT_VALUE`] at reset (its `paint-stack` feature);
//! the deepest word no longer holding the paint marks the peak. The status
//! log reports it, so the lab measures the real peak under its traffic
//! (floods, forgeries, grants) and the memory layout's stack reservation
//! can be checked against it.
//!
//! The stack grows down from `_stack_start` to `_stack_end` (the linker
//! script's symbols; each board's `memory/<board>.x` puts the region at the
//! bottom of RAM).

use cortex_m_rt::STACK_PAINT_VALUE;

extern "C" {
    static _stack_end: u32;
    static _stack_start: u32;
}

/// The stack region's size and the deepest it has been, in bytes.
#[derive(Clone, Copy, defmt::Format)]
pub struct StackUse {
    /// Bytes ever used (from the top of the region down to the deepest
    /// scrubbed word).
    pub peak: u32,
    /// The region's size.
    pub size: u32,
}

/// Scans the region from its far end (the lowest address) up to the first
/// word without the paint: at most the region's size in words, once per
/// status line.
#[allow(unsafe_code)]
pub fn usage() -> StackUse {
    // Taking the addresses of the linker's symbols reads nothing.
    let end = core::ptr::addr_of!(_stack_end) as usize;
    let start = core::ptr::addr_of!(_stack_start) as usize;
    let size = start.saturating_sub(end);
    let mut addr = end;
    while addr < start {
        // SAFETY: `addr` is 4-byte aligned (`_stack_end` is aligned to 4 by
        // cortex-m-rt's linker script, and we step by 4) and lies inside
        // the stack region, which is mapped RAM that this program owns. A
        // volatile read of a word below the live frames aliases no Rust
        // object; a word inside a live frame is read as plain memory and
        // only compared.
        let word = unsafe { core::ptr::read_volatile(addr as *const u32) };
        if word != STACK_PAINT_VALUE {
            break;
        }
        addr += 4;
    }
    StackUse {
        peak: u32::try_from(start - addr).unwrap_or(u32::MAX),
        size: u32::try_from(size).unwrap_or(u32::MAX),
    }
}
