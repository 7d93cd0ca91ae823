//! The boot counter: each boot's epoch is one more than the last one's,
//! kept in NOR flash, for a board without a clock to take the time of day
//! from (docs/protocol.md, "Epochs": a rebooted node must use a larger
//! epoch than before, written to stable storage before its first frame).
//!
//! # Layout
//!
//! Two erase blocks, A and B, each a row of 8-byte records: the epoch
//! (`u32`, little-endian), then its bitwise complement. A record of all
//! ones is free; any other record whose two halves do not match is torn (a
//! power cut while programming it) and is skipped.
//!
//! A boot reads every record, takes the largest valid epoch (0 when there
//! is none: a new or erased chip), adds one, raises that to the floor it
//! is given (the image's build time: see below), and programs the result into
//! the first free record after the last used one of the block that holds
//! that largest epoch. When that block is full, the *other* block is erased
//! and the record goes first in it. So the block holding the largest epoch
//! is never erased, and a power cut at any point loses nothing: an
//! interrupted erase is redone at the next boot, a torn record is skipped.
//! The record is read back before the epoch is used.
//!
//! # Wear
//!
//! One erase of a block per `block_len / 8` boots (16384 with 128 KiB
//! blocks), the two blocks in turn; flash rated for 10 000 erase cycles
//! lasts over 300 million boots.
//!
//! # Erasing the chip
//!
//! A full-chip erase empties both blocks. The floor keeps the next epoch
//! increasing anyway when a newer image is flashed: it is the image's build
//! time in UNIX seconds (the daemons' own rule, `max(persisted + 1, time)`,
//! with the build's time standing in for a clock the board lacks), and a
//! witness boots far less than once a second. Flashing the *same* image
//! again after an erase starts over at its build time, which may be lower
//! than the epoch the servers last heard. See the README ("Boot counter")
//! for what that means and what to do.

use embedded_storage::nor_flash::NorFlash;

/// Bytes per record.
const RECORD: u32 = 8;
/// Records read from flash at a time while scanning.
const CHUNK_RECORDS: usize = 16;

/// Where the counter lives: two erase blocks of the flash, by offset.
pub struct Area {
    /// The offsets of blocks A and B (each aligned to the flash's erase
    /// size).
    pub blocks: [u32; 2],
    /// The length of each block (a multiple of the erase size).
    pub block_len: u32,
}

/// What a boot found and wrote.
pub struct Boot {
    /// This boot's epoch (1 on a new or erased chip).
    pub epoch: u32,
    /// Whether an earlier epoch was found.
    pub found: bool,
    /// The block (0 = A, 1 = B) and the record index the epoch went to.
    pub block: usize,
    pub record: u32,
    /// Whether that block was erased first.
    pub erased: bool,
}

/// Why no epoch could be recorded.
#[derive(Debug, Clone, Copy, defmt::Format)]
pub enum Error {
    /// Reading, erasing or programming the flash failed.
    Flash,
    /// The record read back differs from the one programmed.
    Verify,
    /// The counter reached `u32::MAX - 1` (four billion boots).
    Exhausted,
}

fn decode(bytes: &[u8]) -> Option<u32> {
    let (a, b) = bytes.split_at(4);
    let epoch = u32::from_le_bytes(a.try_into().ok()?);
    let check = u32::from_le_bytes(b.try_into().ok()?);
    (check == !epoch && epoch != u32::MAX).then_some(epoch)
}

fn encode(epoch: u32) -> [u8; RECORD as usize] {
    let mut r = [0u8; RECORD as usize];
    r[..4].copy_from_slice(&epoch.to_le_bytes());
    r[4..].copy_from_slice(&(!epoch).to_le_bytes());
    r
}

/// Reads the counter, advances it (to at least `floor`), and records this
/// boot's epoch in `flash` (erase and program must be allowed: an unlocked
/// flash).
pub fn advance<F: NorFlash>(flash: &mut F, area: &Area, floor: u32) -> Result<Boot, Error> {
    let records = area.block_len / RECORD;
    // The largest valid epoch and its block.
    let mut best: Option<(u32, usize)> = None;
    // Per block: the index after the last record that is not free.
    let mut next_free = [0u32; 2];
    let mut chunk = [0u8; CHUNK_RECORDS * RECORD as usize];
    for (b, &base) in area.blocks.iter().enumerate() {
        let mut index = 0u32;
        while index < records {
            let n =
                usize::try_from(records - index).map_or(CHUNK_RECORDS, |n| n.min(CHUNK_RECORDS));
            let bytes = &mut chunk[..n * RECORD as usize];
            flash
                .read(base + index * RECORD, bytes)
                .map_err(|_| Error::Flash)?;
            for record in bytes.chunks_exact(RECORD as usize) {
                if record.iter().any(|&byte| byte != 0xFF) {
                    next_free[b] = index + 1;
                    if let Some(e) = decode(record) {
                        if best.is_none_or(|(max, _)| e > max) {
                            best = Some((e, b));
                        }
                    }
                }
                index += 1;
            }
        }
    }

    let (last, block) = best.unwrap_or((0, 0));
    let epoch = last
        .checked_add(1)
        .map(|e| e.max(floor))
        .filter(|&e| e != u32::MAX)
        .ok_or(Error::Exhausted)?;
    let (block, record, erased) = if next_free[block] < records {
        (block, next_free[block], false)
    } else {
        let other = 1 - block;
        let from = area.blocks[other];
        flash
            .erase(from, from + area.block_len)
            .map_err(|_| Error::Flash)?;
        (other, 0, true)
    };
    let at = area.blocks[block] + record * RECORD;
    let bytes = encode(epoch);
    flash.write(at, &bytes).map_err(|_| Error::Flash)?;
    let mut back = [0u8; RECORD as usize];
    flash.read(at, &mut back).map_err(|_| Error::Flash)?;
    if back != bytes {
        return Err(Error::Verify);
    }
    Ok(Boot {
        epoch,
        found: best.is_some(),
        block,
        record,
        erased,
    })
}
