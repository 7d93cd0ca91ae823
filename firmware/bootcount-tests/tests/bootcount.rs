//! The witness firmware's boot counter (`firmware/src/bootcount.rs`) on a
//! NOR flash in RAM that can lose power at any point.
//!
//! Its guarantee (docs/protocol.md, "Epochs"): every boot that returns an
//! epoch returns one strictly greater than every epoch any earlier boot
//! returned, whatever power cuts happened in between; and a boot after a
//! power cut still succeeds.
//!
//! Most tests use small blocks (64 bytes: eight records) so the counter
//! switches blocks every few boots; one runs the NUCLEO-F429ZI's real
//! geometry.

use embedded_storage::nor_flash::NorFlash;
use failover_witness_bootcount_tests::bootcount::{advance, Area, Boot, Error};
use failover_witness_bootcount_tests::flash::{
    F429Flash, MockFlash, Steps, Tear, ERASE_STEPS, F429_CAPACITY,
};

/// Byte programs like the F429's, 64-byte erase blocks.
type Small = MockFlash<1, 64>;

/// Bytes per record.
const RECORD: usize = 8;
/// What fills the flash around the counter's blocks (the firmware image,
/// other data): the counter must never change it.
const SENTINEL: u8 = 0xA5;

/// A chip whose counter blocks, of `len` bytes, are at `E` (A) and at
/// `E + 2 * len` (B), with other data in front of A (one erase block of `E`
/// bytes), between the blocks (`len` bytes) and after B (one erase block).
fn chip<const W: usize, const E: usize>(len: u32) -> (MockFlash<W, E>, Area) {
    let len_usize = len as usize;
    let e = E as u32;
    let mut flash = MockFlash::<W, E>::new(E + 3 * len_usize + E);
    flash.bytes_mut().fill(SENTINEL);
    let area = Area {
        blocks: [e, e + 2 * len],
        block_len: len,
    };
    for &b in &area.blocks {
        flash.bytes_mut()[b as usize..b as usize + len_usize].fill(0xFF);
    }
    (flash, area)
}

fn small() -> (Small, Area) {
    chip::<1, 64>(64)
}

/// Every byte outside the counter's two blocks is still the sentinel.
fn assert_outside_untouched<const W: usize, const E: usize>(flash: &MockFlash<W, E>, area: &Area) {
    for (i, &byte) in flash.bytes().iter().enumerate() {
        let inside = area
            .blocks
            .iter()
            .any(|&b| (b as usize..(b + area.block_len) as usize).contains(&i));
        if !inside {
            assert_eq!(byte, SENTINEL, "byte {i:#x}, outside the counter, changed");
        }
    }
}

fn boot<F: NorFlash>(flash: &mut F, area: &Area, floor: u32) -> Boot {
    match advance(flash, area, floor) {
        Ok(boot) => boot,
        Err(e) => panic!("the boot failed: {e:?}"),
    }
}

/// A boot that loses power before it completes.
fn boot_cut<const W: usize, const E: usize>(
    flash: &mut MockFlash<W, E>,
    area: &Area,
    floor: u32,
    steps: Steps,
    n: u64,
    tear: Tear,
) {
    flash.cut(steps, n, tear);
    match advance(flash, area, floor) {
        Err(Error::Flash) => assert!(!flash.powered(), "failed without a power cut"),
        Err(e) => panic!("a power cut gave {e:?}, not Error::Flash"),
        Ok(b) => panic!("the boot completed (epoch {}) despite the cut", b.epoch),
    }
    flash.power_on();
}

/// The record at `index` of block `block`.
fn record<const W: usize, const E: usize>(
    flash: &MockFlash<W, E>,
    area: &Area,
    block: usize,
    index: usize,
) -> [u8; RECORD] {
    let at = area.blocks[block] as usize + index * RECORD;
    flash.bytes()[at..at + RECORD].try_into().unwrap()
}

/// A record as the firmware writes it: the epoch, then its complement,
/// little-endian.
fn encoded(epoch: u32) -> [u8; RECORD] {
    let mut r = [0; RECORD];
    r[..4].copy_from_slice(&epoch.to_le_bytes());
    r[4..].copy_from_slice(&(!epoch).to_le_bytes());
    r
}

fn block_is_erased<const W: usize, const E: usize>(
    flash: &MockFlash<W, E>,
    area: &Area,
    block: usize,
) -> bool {
    let b = area.blocks[block] as usize;
    flash.bytes()[b..b + area.block_len as usize]
        .iter()
        .all(|&x| x == 0xFF)
}

#[test]
fn new_chip_gives_epoch_one_and_records_it() {
    let (mut flash, area) = small();
    let b = boot(&mut flash, &area, 0);
    assert_eq!(b.epoch, 1);
    assert!(!b.found);
    assert_eq!((b.block, b.record, b.erased), (0, 0, false));
    assert_eq!(record(&flash, &area, 0, 0), encoded(1));
    assert_eq!(
        encoded(1),
        [0x01, 0, 0, 0, 0xFE, 0xFF, 0xFF, 0xFF],
        "the layout bootcount.rs documents"
    );
    // Nothing else written, nothing erased.
    let a = area.blocks[0] as usize;
    assert!(flash.bytes()[a + RECORD..a + 64].iter().all(|&x| x == 0xFF));
    assert!(block_is_erased(&flash, &area, 1));
    assert_eq!(flash.total_erases(), 0);
    assert_outside_untouched(&flash, &area);
}

#[test]
fn successive_boots_count_up_by_one() {
    let (mut flash, area) = small();
    for n in 1..=6u32 {
        let b = boot(&mut flash, &area, 0);
        assert_eq!(b.epoch, n);
        assert_eq!(b.found, n > 1);
        assert_eq!((b.block, b.record, b.erased), (0, n - 1, false));
        assert_eq!(record(&flash, &area, 0, n as usize - 1), encoded(n));
    }
    assert_eq!(flash.total_erases(), 0);
    assert_eq!(flash.dirty_programs(), 0);
    assert_outside_untouched(&flash, &area);
}

#[test]
fn floor_raises_the_epoch() {
    const BUILD: u32 = 1_700_000_000;
    let (mut flash, area) = small();
    // A new chip starts at the build time.
    let b = boot(&mut flash, &area, BUILD);
    assert_eq!(b.epoch, BUILD);
    assert!(!b.found);
    // The same image counts on from there.
    assert_eq!(boot(&mut flash, &area, BUILD).epoch, BUILD + 1);
    // An older image (lower floor) too: the counter is above its floor.
    assert_eq!(boot(&mut flash, &area, 5).epoch, BUILD + 2);
    assert_eq!(boot(&mut flash, &area, 0).epoch, BUILD + 3);
    // A newer image jumps to its own build time.
    let b = boot(&mut flash, &area, BUILD + 1000);
    assert_eq!(b.epoch, BUILD + 1000);
    assert!(b.found);
    assert_eq!(boot(&mut flash, &area, BUILD + 1000).epoch, BUILD + 1001);

    // On a chip that has counted, a floor above the counter wins.
    let (mut flash, area) = small();
    for _ in 0..3 {
        boot(&mut flash, &area, 0);
    }
    let b = boot(&mut flash, &area, 100);
    assert_eq!((b.epoch, b.found, b.record), (100, true, 3));
}

#[test]
fn torn_record_is_skipped_and_the_next_boot_is_larger() {
    for programmed in 0..RECORD as u64 {
        for tear in Tear::ALL {
            let (mut flash, area) = small();
            let mut returned = 0;
            for _ in 0..3 {
                returned = boot(&mut flash, &area, 0).epoch;
            }
            assert_eq!(returned, 3);
            // The fourth boot loses power with `programmed` bytes of its
            // record written and the next one torn.
            flash.seed(programmed * 7 + 1);
            boot_cut(&mut flash, &area, 0, Steps::Programs, programmed, tear);
            let torn = record(&flash, &area, 0, 3);
            assert_eq!(
                &torn[..programmed as usize],
                &encoded(4)[..programmed as usize]
            );
            if programmed < 4 {
                assert!(torn[5..].iter().all(|&x| x == 0xFF));
            }

            let b = boot(&mut flash, &area, 0);
            assert!(b.epoch > returned, "epoch {} after {returned}", b.epoch);
            // The torn boot returned nothing, so its epoch may be used
            // again: 4, written after the torn slot unless that slot still
            // reads as free. (Its last three bytes are 0xFF: once the first
            // five are programmed, the record is complete, and counts.)
            let want = if torn == encoded(4) { 5 } else { 4 };
            assert_eq!(b.epoch, want);
            if torn == [0xFF; RECORD] {
                assert_eq!(b.record, 3, "an untouched slot is reused");
            } else {
                assert_eq!(b.record, 4, "a used slot is skipped, not reused");
                assert_eq!(
                    record(&flash, &area, 0, 3),
                    torn,
                    "the torn slot is left as it is"
                );
            }
            assert_eq!(record(&flash, &area, 0, b.record as usize), encoded(want));
            let next = boot(&mut flash, &area, 0);
            assert_eq!(next.epoch, want + 1);
            assert_eq!(flash.dirty_programs(), 0);
            assert_outside_untouched(&flash, &area);
        }
    }
}

#[test]
fn full_block_switches_to_the_other() {
    let (mut flash, area) = small();
    let records = (area.block_len as usize / RECORD) as u32;
    assert_eq!(records, 8);
    let mut last = 0;
    let mut next = || {
        let b = boot(&mut flash, &area, 0);
        assert_eq!(b.epoch, last + 1);
        last = b.epoch;
        (b, flash.clone())
    };
    for n in 0..records {
        let (b, _) = next();
        assert_eq!((b.block, b.record, b.erased), (0, n, false));
    }
    // A is full: B is erased (it was already empty) and takes the record.
    let (b, f) = next();
    assert_eq!((b.epoch, b.block, b.record, b.erased), (9, 1, 0, true));
    assert_eq!(f.erase_count(area.blocks[1]), 1);
    assert_eq!(f.erase_count(area.blocks[0]), 0);
    for n in 1..records {
        let (b, _) = next();
        assert_eq!((b.block, b.record, b.erased), (1, n, false));
    }
    // B is full: A, holding older epochs, is erased and takes the record;
    // B, holding the largest, is kept.
    let (b, f) = next();
    assert_eq!((b.epoch, b.block, b.record, b.erased), (17, 0, 0, true));
    assert_eq!(f.erase_count(area.blocks[0]), 1);
    assert_eq!(record(&f, &area, 0, 0), encoded(17));
    for n in 1..records as usize {
        assert_eq!(record(&f, &area, 0, n), [0xFF; RECORD], "A erased");
    }
    for n in 0..records as usize {
        assert_eq!(record(&f, &area, 1, n), encoded(9 + n as u32), "B kept");
    }
    let (b, f) = next();
    assert_eq!((b.epoch, b.block, b.record, b.erased), (18, 0, 1, false));
    assert_eq!(f.dirty_programs(), 0);
    assert_outside_untouched(&f, &area);
}

#[test]
fn interrupted_erase_is_redone_at_the_next_boot() {
    // Every point of the erase of A, which holds epochs 1 to 8 when B
    // (9 to 16) is full, and just after it, before the record.
    for done in 0..=ERASE_STEPS as u64 {
        for tear in Tear::ALL {
            let (mut flash, area) = small();
            for _ in 0..16 {
                boot(&mut flash, &area, 0);
            }
            assert_eq!(flash.erase_count(area.blocks[0]), 0);
            flash.seed(done + 100);
            if done < ERASE_STEPS as u64 {
                boot_cut(&mut flash, &area, 0, Steps::EraseSteps, done, tear);
                assert!(!block_is_erased(&flash, &area, 0), "A left half erased");
                if tear == Tear::Clean {
                    // The steps done are erased, the others hold old epochs.
                    for n in 0..8 {
                        let want = if n < done as usize {
                            [0xFF; RECORD]
                        } else {
                            encoded(n as u32 + 1)
                        };
                        assert_eq!(record(&flash, &area, 0, n), want);
                    }
                }
            } else {
                boot_cut(&mut flash, &area, 0, Steps::Programs, 0, Tear::Clean);
                assert!(block_is_erased(&flash, &area, 0));
            }
            assert_eq!(flash.erase_count(area.blocks[0]), 1);

            let b = boot(&mut flash, &area, 0);
            assert_eq!((b.epoch, b.block, b.record, b.erased), (17, 0, 0, true));
            assert_eq!(flash.erase_count(area.blocks[0]), 2, "the erase was redone");
            assert_eq!(record(&flash, &area, 0, 0), encoded(17));
            for n in 1..8 {
                assert_eq!(record(&flash, &area, 0, n), [0xFF; RECORD]);
                assert_eq!(record(&flash, &area, 1, n), encoded(9 + n as u32));
            }
            assert_eq!(boot(&mut flash, &area, 0).epoch, 18);
            assert_outside_untouched(&flash, &area);
        }
    }
}

#[test]
fn record_that_does_not_verify_is_an_error_then_skipped() {
    let (mut flash, area) = small();
    assert_eq!(boot(&mut flash, &area, 0).epoch, 1);
    // The second record's first byte no longer programs.
    flash.wear_out(area.blocks[0] as usize + RECORD);
    match advance(&mut flash, &area, 0) {
        Err(Error::Verify) => {}
        Err(e) => panic!("{e:?}, not Error::Verify"),
        Ok(b) => panic!(
            "epoch {} returned from a record that reads back wrong",
            b.epoch
        ),
    }
    // That record is skipped as torn; the epoch it held was never returned.
    let b = boot(&mut flash, &area, 0);
    assert_eq!((b.epoch, b.record), (2, 2));
}

#[test]
fn exhausted_counter_refuses_and_writes_nothing() {
    let (mut flash, area) = small();
    assert!(matches!(
        advance(&mut flash, &area, u32::MAX),
        Err(Error::Exhausted)
    ));
    assert!(block_is_erased(&flash, &area, 0) && block_is_erased(&flash, &area, 1));
    assert_eq!(boot(&mut flash, &area, u32::MAX - 1).epoch, u32::MAX - 1);
    let before = flash.bytes().to_vec();
    assert!(matches!(
        advance(&mut flash, &area, 0),
        Err(Error::Exhausted)
    ));
    assert_eq!(flash.bytes(), &before[..]);
}

/// The NUCLEO-F429ZI's own geometry: the board's `Area` (sectors 22 and 23
/// of the 2 MiB flash, `src/board/nucleo_f429zi.rs`), 128 KiB erase blocks,
/// byte programs. 16384 records per sector.
#[test]
fn nucleo_f429zi_geometry() {
    const BUILD: u32 = 1_750_000_000;
    // BOOT_COUNTER in src/board/nucleo_f429zi.rs.
    let area = Area {
        blocks: [0x1C_0000, 0x1E_0000],
        block_len: 0x2_0000,
    };
    let mut flash = F429Flash::new(F429_CAPACITY);
    // The image and everything else in front of the counter.
    flash.bytes_mut()[..0x1C_0000].fill(SENTINEL);

    let b = boot(&mut flash, &area, BUILD);
    assert_eq!(
        (b.epoch, b.found, b.block, b.record, b.erased),
        (BUILD, false, 0, 0, false)
    );
    let b = boot(&mut flash, &area, BUILD);
    assert_eq!((b.epoch, b.block, b.record), (BUILD + 1, 0, 1));

    // Fill sector 22 but its last record, as 16381 more boots would.
    let records = area.block_len as usize / RECORD;
    assert_eq!(records, 16384);
    for n in 2..records - 1 {
        let at = area.blocks[0] as usize + n * RECORD;
        flash.bytes_mut()[at..at + RECORD].copy_from_slice(&encoded(BUILD + n as u32));
    }
    let b = boot(&mut flash, &area, BUILD);
    assert_eq!(
        (b.epoch, b.block, b.record, b.erased),
        (BUILD + 16383, 0, 16383, false)
    );
    // Sector 22 full: sector 23 is erased (whole, one 128 KiB erase) and
    // takes the next record.
    let b = boot(&mut flash, &area, BUILD);
    assert_eq!(
        (b.epoch, b.block, b.record, b.erased),
        (BUILD + 16384, 1, 0, true)
    );
    assert_eq!(flash.erase_count(area.blocks[1]), 1);
    assert_eq!(flash.total_erases(), 1);
    assert!(flash.bytes()[..0x1C_0000].iter().all(|&x| x == SENTINEL));

    // A power cut during the first boot after that, at each byte of its
    // record: the boot after it is still larger.
    for programmed in 0..RECORD as u64 {
        let mut f = flash.clone();
        boot_cut(
            &mut f,
            &area,
            BUILD,
            Steps::Programs,
            programmed,
            Tear::Partial,
        );
        let torn = record(&f, &area, 1, 1);
        let b = boot(&mut f, &area, BUILD);
        if torn == encoded(BUILD + 16385) {
            // The last byte's program got far enough.
            assert_eq!((b.epoch, b.record), (BUILD + 16386, 2));
        } else {
            assert_eq!((b.epoch, b.record), (BUILD + 16385, 2));
        }
        assert_eq!(b.block, 1);
    }
}

/// A block of several erase blocks and more records than bootcount.rs
/// reads at a time (16), not a multiple of it: 24 records.
#[test]
fn block_of_several_erase_blocks() {
    let (mut flash, area) = chip::<1, 64>(192);
    for n in 1..=24u32 {
        let b = boot(&mut flash, &area, 0);
        assert_eq!((b.epoch, b.block, b.record), (n, 0, n - 1));
    }
    let b = boot(&mut flash, &area, 0);
    assert_eq!((b.epoch, b.block, b.record, b.erased), (25, 1, 0, true));
    for e in 0..3 {
        assert_eq!(flash.erase_count(area.blocks[1] + 64 * e), 1);
    }
    assert_outside_untouched(&flash, &area);
}

/// SplitMix64, for a reproducible walk.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The steps a complete boot from this state takes.
fn steps_of_a_boot<const W: usize, const E: usize>(
    flash: &MockFlash<W, E>,
    area: &Area,
    floor: u32,
) -> u64 {
    let mut f = flash.clone();
    let start = f.ops();
    boot(&mut f, area, floor);
    f.ops() - start
}

/// The exhaustive property. A long history of boots (`boots` of them, one
/// in four cut at a random point, so torn records and half-erased blocks
/// stay in it) crossing many block switches; from *every* state of it,
/// every possible power cut of the next boot (after k steps, for every k
/// until the boot completes, with every kind of tear), then a complete
/// boot, which must succeed and return an epoch greater than every epoch
/// the history returned; and from each of those cut states, every cut of
/// the recovery boot too (two cuts in a row). The counter never touches
/// flash outside its blocks and never programs over a used word.
fn every_power_cut_keeps_the_epoch_increasing<const W: usize, const E: usize>(
    block_len: u32,
    boots: usize,
    seed: u64,
) {
    let (mut flash, area) = chip::<W, E>(block_len);
    let mut rng = Rng(seed);
    let mut returned_max = 0u32;
    let mut switches = 0;
    let mut cut_boots = 0;
    let mut floor = 0;
    for step in 0..boots {
        // A newer image, half way: its build time as the floor.
        if step == boots / 2 {
            floor = returned_max + 1000;
        }
        let total = steps_of_a_boot(&flash, &area, floor);
        for k in 0..total {
            for tear in Tear::ALL {
                let mut f = flash.clone();
                f.seed(rng.next());
                boot_cut(&mut f, &area, floor, Steps::All, k, tear);
                let mut g = f.clone();
                let b = boot(&mut g, &area, floor);
                assert!(
                    b.epoch > returned_max,
                    "step {step}, cut after {k} steps ({tear:?}): epoch {} not above {returned_max}",
                    b.epoch
                );
                let again = boot(&mut g, &area, floor);
                assert!(again.epoch > b.epoch);
                assert_outside_untouched(&g, &area);
                assert_eq!(g.dirty_programs(), 0, "programmed over a used word");

                // A second cut, during the recovery boot.
                let total2 = steps_of_a_boot(&f, &area, floor);
                for k2 in 0..total2 {
                    for tear2 in [Tear::Clean, Tear::Partial] {
                        let mut h = f.clone();
                        h.seed(rng.next());
                        boot_cut(&mut h, &area, floor, Steps::All, k2, tear2);
                        let b = boot(&mut h, &area, floor);
                        assert!(
                            b.epoch > returned_max,
                            "step {step}, cuts after {k} ({tear:?}) then {k2} ({tear2:?}) steps: epoch {} not above {returned_max}",
                            b.epoch
                        );
                        assert_eq!(h.dirty_programs(), 0, "programmed over a used word");
                    }
                }
            }
        }

        // The history moves on.
        if rng.below(4) == 0 {
            let k = rng.below(total);
            let tear = Tear::ALL[rng.below(3) as usize];
            flash.seed(rng.next());
            boot_cut(&mut flash, &area, floor, Steps::All, k, tear);
            cut_boots += 1;
        } else {
            let b = boot(&mut flash, &area, floor);
            assert!(b.epoch > returned_max);
            returned_max = b.epoch;
            switches += usize::from(b.erased);
        }
        assert_outside_untouched(&flash, &area);
        assert_eq!(flash.dirty_programs(), 0);
    }
    assert!(switches >= 5, "only {switches} block switches");
    assert!(cut_boots >= boots / 8, "only {cut_boots} cut boots");
}

#[test]
fn every_power_cut_keeps_the_epoch_increasing_byte_programs() {
    // The F429's byte programs; eight records a block.
    every_power_cut_keeps_the_epoch_increasing::<1, 64>(64, 120, 1);
}

#[test]
fn every_power_cut_keeps_the_epoch_increasing_word_programs() {
    // Other NOR flashes: 4- and 8-byte program words.
    every_power_cut_keeps_the_epoch_increasing::<4, 64>(64, 80, 2);
    every_power_cut_keeps_the_epoch_increasing::<8, 64>(64, 80, 3);
}

#[test]
fn every_power_cut_keeps_the_epoch_increasing_multi_block() {
    // Blocks of two erase blocks, 16 records each.
    every_power_cut_keeps_the_epoch_increasing::<1, 64>(128, 160, 4);
}
