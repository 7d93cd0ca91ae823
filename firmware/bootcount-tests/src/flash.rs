//! A NOR flash in RAM, with power cuts.
//!
//! [`MockFlash`] implements embedded-storage's `ReadNorFlash` and `NorFlash`
//! with real NOR semantics: an erase sets whole erase blocks to `0xFF`; a
//! program can only clear bits (the cell becomes `old & data`); reads,
//! programs and erases outside the chip, or not aligned to `READ_SIZE`,
//! `WRITE_SIZE` and `ERASE_SIZE`, fail as the traits require (with
//! embedded-storage's own `check_*` helpers).
//!
//! Every operation is a number of *steps*, counted by [`MockFlash::ops`]:
//! a read is one step, a program one step per `WRITE_SIZE` word, an erase
//! [`ERASE_STEPS`] steps per erase block (each erasing the next
//! `1/ERASE_STEPS` of it). [`MockFlash::cut`] arms a power cut: the next
//! `n` steps (of every kind, or only programs, or only erase steps) complete,
//! the one after is interrupted and leaves its word or its part of the block
//! as a [`Tear`] says, and from then on every operation fails with
//! [`FlashError::PowerLost`] until [`MockFlash::power_on`], which is the next
//! boot. Counting all steps lets a test enumerate every point at which a
//! boot can lose power.

use embedded_storage::nor_flash::{
    check_erase, check_read, check_write, ErrorType, NorFlash, NorFlashError, NorFlashErrorKind,
    ReadNorFlash,
};

/// The steps an erase of one erase block takes.
pub const ERASE_STEPS: usize = 8;

/// The STM32F429ZI's flash as the NUCLEO's firmware sees it, through
/// stm32f4xx-hal 0.21's `UnlockedFlash`: reads and programs of single bytes
/// (`READ_SIZE` and `WRITE_SIZE` 1: it programs with PSIZE x8), an
/// `ERASE_SIZE` of 128 KiB (the size of the two sectors the boot counter
/// uses, 22 and 23). Its capacity is 2 MiB.
pub type F429Flash = MockFlash<1, 0x2_0000>;

/// The STM32F429ZI's flash size.
pub const F429_CAPACITY: usize = 2 * 1024 * 1024;

/// What the operation a power cut interrupts leaves behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tear {
    /// Nothing: the interrupted step had not started changing its cells.
    Clean,
    /// Cells in between, as NOR cells can be: a program leaves its word as
    /// `old & (data | noise)` (some of the bits it was clearing are
    /// cleared), an erase leaves its step's bytes as `old | noise` (some
    /// bits are set).
    Partial,
    /// Anything (embedded-storage: the contents are "undefined"): a program
    /// leaves its word as noise, an erase leaves the *whole* erase block it
    /// was erasing as noise.
    Garbage,
}

impl Tear {
    /// Every kind of tear.
    pub const ALL: [Tear; 3] = [Tear::Clean, Tear::Partial, Tear::Garbage];
}

/// Which steps a power cut counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Steps {
    /// Every step: reads, word programs, erase steps.
    All,
    /// Only word programs.
    Programs,
    /// Only erase steps.
    EraseSteps,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Read,
    Program,
    Erase,
}

/// The mock's errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlashError {
    /// Arguments not aligned to the read, write or erase size.
    NotAligned,
    /// Arguments outside the chip.
    OutOfBounds,
    /// The power is off (a cut happened; [`MockFlash::power_on`] restores
    /// it).
    PowerLost,
}

impl NorFlashError for FlashError {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            FlashError::NotAligned => NorFlashErrorKind::NotAligned,
            FlashError::OutOfBounds => NorFlashErrorKind::OutOfBounds,
            FlashError::PowerLost => NorFlashErrorKind::Other,
        }
    }
}

impl From<NorFlashErrorKind> for FlashError {
    fn from(kind: NorFlashErrorKind) -> Self {
        match kind {
            NorFlashErrorKind::NotAligned => FlashError::NotAligned,
            _ => FlashError::OutOfBounds,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Cut {
    steps: Steps,
    /// Steps of that kind still to complete before the cut.
    remaining: u64,
    tear: Tear,
}

/// A NOR flash in RAM with `WRITE`-byte program words and `ERASE`-byte erase
/// blocks; reads are byte-granular. Cloning it clones the chip's state, so a
/// test can try many futures from one state.
#[derive(Debug, Clone)]
pub struct MockFlash<const WRITE: usize, const ERASE: usize> {
    mem: Vec<u8>,
    ops: u64,
    cut: Option<Cut>,
    powered: bool,
    noise: u64,
    /// Erases started, per erase block.
    erases: Vec<u32>,
    /// Bytes that no longer program (a worn-out cell keeps its value).
    stuck: Vec<usize>,
    /// Words programmed that were not all `0xFF` before.
    dirty_programs: u64,
}

impl<const WRITE: usize, const ERASE: usize> MockFlash<WRITE, ERASE> {
    /// A new chip of `capacity` bytes (a whole number of erase blocks), all
    /// `0xFF`.
    pub fn new(capacity: usize) -> Self {
        assert!(WRITE > 0 && ERASE > 0 && ERASE % WRITE == 0);
        assert!(ERASE % ERASE_STEPS == 0, "erase blocks split into steps");
        assert!(capacity % ERASE == 0, "capacity in whole erase blocks");
        Self {
            mem: vec![0xFF; capacity],
            ops: 0,
            cut: None,
            powered: true,
            noise: 0x9E37_79B9_7F4A_7C15,
            erases: vec![0; capacity / ERASE],
            stuck: Vec::new(),
            dirty_programs: 0,
        }
    }

    /// The chip's contents, read directly (no step counted, power or not).
    pub fn bytes(&self) -> &[u8] {
        &self.mem
    }

    /// The chip's contents, written directly (to set up a state: no NOR
    /// rules, no step counted).
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.mem
    }

    /// Steps performed since the chip was made (interrupted ones included,
    /// refused ones not).
    pub fn ops(&self) -> u64 {
        self.ops
    }

    /// Arms a power cut: the next `n` steps of the kind `steps` complete,
    /// the one after that is interrupted, leaving `tear`.
    pub fn cut(&mut self, steps: Steps, n: u64, tear: Tear) {
        self.cut = Some(Cut {
            steps,
            remaining: n,
            tear,
        });
    }

    /// Whether the power is on (no cut has happened since the last
    /// [`power_on`](Self::power_on)).
    pub fn powered(&self) -> bool {
        self.powered
    }

    /// Powers the chip on again (the next boot), disarming any cut not yet
    /// reached.
    pub fn power_on(&mut self) {
        self.powered = true;
        self.cut = None;
    }

    /// Seeds the noise torn cells are made of.
    pub fn seed(&mut self, seed: u64) {
        self.noise = seed;
    }

    /// Erases started on the erase block holding `offset` (interrupted ones
    /// included): its wear.
    pub fn erase_count(&self, offset: u32) -> u32 {
        self.erases[offset as usize / ERASE]
    }

    /// Erases started on the whole chip.
    pub fn total_erases(&self) -> u32 {
        self.erases.iter().sum()
    }

    /// Program words written over a word that was not erased (not all
    /// `0xFF`): what a flash without multiple writes per word would not
    /// allow.
    pub fn dirty_programs(&self) -> u64 {
        self.dirty_programs
    }

    /// Wears out the cell at `offset`: programs no longer change it.
    pub fn wear_out(&mut self, offset: usize) {
        self.stuck.push(offset);
    }

    fn noise_byte(&mut self) -> u8 {
        // SplitMix64.
        self.noise = self.noise.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.noise;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) as u8
    }

    /// One step: `Ok(None)` to do it, `Ok(Some(tear))` when the power goes
    /// during it, `Err` when the power is already off.
    fn step(&mut self, kind: Kind) -> Result<Option<Tear>, FlashError> {
        if !self.powered {
            return Err(FlashError::PowerLost);
        }
        self.ops += 1;
        let Some(cut) = &mut self.cut else {
            return Ok(None);
        };
        let counts = match cut.steps {
            Steps::All => true,
            Steps::Programs => kind == Kind::Program,
            Steps::EraseSteps => kind == Kind::Erase,
        };
        if !counts {
            return Ok(None);
        }
        if cut.remaining > 0 {
            cut.remaining -= 1;
            return Ok(None);
        }
        let tear = cut.tear;
        self.cut = None;
        self.powered = false;
        Ok(Some(tear))
    }

    fn program_word(&mut self, at: usize, data: &[u8], tear: Option<Tear>) {
        if self.mem[at..at + data.len()].iter().any(|&b| b != 0xFF) {
            self.dirty_programs += 1;
        }
        for (i, &d) in data.iter().enumerate() {
            if self.stuck.contains(&(at + i)) {
                continue;
            }
            let old = self.mem[at + i];
            self.mem[at + i] = match tear {
                None => old & d,
                Some(Tear::Clean) => old,
                Some(Tear::Partial) => old & (d | self.noise_byte()),
                Some(Tear::Garbage) => self.noise_byte(),
            };
        }
    }
}

impl<const WRITE: usize, const ERASE: usize> ErrorType for MockFlash<WRITE, ERASE> {
    type Error = FlashError;
}

impl<const WRITE: usize, const ERASE: usize> ReadNorFlash for MockFlash<WRITE, ERASE> {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FlashError> {
        check_read(self, offset, bytes.len())?;
        if self.step(Kind::Read)?.is_some() {
            return Err(FlashError::PowerLost);
        }
        let at = offset as usize;
        bytes.copy_from_slice(&self.mem[at..at + bytes.len()]);
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.mem.len()
    }
}

impl<const WRITE: usize, const ERASE: usize> NorFlash for MockFlash<WRITE, ERASE> {
    const WRITE_SIZE: usize = WRITE;
    const ERASE_SIZE: usize = ERASE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), FlashError> {
        check_erase(self, from, to)?;
        let step_len = ERASE / ERASE_STEPS;
        for block in (from as usize..to as usize).step_by(ERASE) {
            if !self.powered {
                return Err(FlashError::PowerLost);
            }
            self.erases[block / ERASE] += 1;
            for s in 0..ERASE_STEPS {
                let part = block + s * step_len..block + (s + 1) * step_len;
                match self.step(Kind::Erase)? {
                    None => self.mem[part].fill(0xFF),
                    Some(tear) => {
                        match tear {
                            Tear::Clean => {}
                            Tear::Partial => {
                                for i in part {
                                    self.mem[i] |= self.noise_byte();
                                }
                            }
                            Tear::Garbage => {
                                for i in block..block + ERASE {
                                    self.mem[i] = self.noise_byte();
                                }
                            }
                        }
                        return Err(FlashError::PowerLost);
                    }
                }
            }
        }
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), FlashError> {
        check_write(self, offset, bytes.len())?;
        for (i, word) in bytes.chunks_exact(WRITE).enumerate() {
            let at = offset as usize + i * WRITE;
            let tear = self.step(Kind::Program)?;
            self.program_word(at, word, tear);
            if tear.is_some() {
                return Err(FlashError::PowerLost);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Flash = MockFlash<4, 64>;

    #[test]
    fn new_chip_is_erased() {
        let f = Flash::new(256);
        assert_eq!(f.capacity(), 256);
        assert!(f.bytes().iter().all(|&b| b == 0xFF));
    }

    #[test]
    fn program_clears_bits_only() {
        let mut f = Flash::new(256);
        f.write(8, &[0xF0, 0x0F, 0xAA, 0x55]).unwrap();
        f.write(8, &[0x3C, 0xFF, 0x0F, 0xFF]).unwrap();
        let mut b = [0; 4];
        f.read(8, &mut b).unwrap();
        assert_eq!(b, [0x30, 0x0F, 0x0A, 0x55]);
        assert_eq!(f.dirty_programs(), 1);
    }

    #[test]
    fn erase_sets_whole_blocks() {
        let mut f = Flash::new(256);
        f.write(60, &[0; 8]).unwrap();
        f.erase(0, 64).unwrap();
        assert!(f.bytes()[..64].iter().all(|&b| b == 0xFF));
        assert_eq!(&f.bytes()[64..68], &[0; 4]);
        assert_eq!(f.erase_count(0), 1);
        assert_eq!(f.erase_count(64), 0);
    }

    #[test]
    fn alignment_and_bounds() {
        let mut f = Flash::new(256);
        assert_eq!(f.write(2, &[0; 4]), Err(FlashError::NotAligned));
        assert_eq!(f.write(4, &[0; 3]), Err(FlashError::NotAligned));
        assert_eq!(f.write(252, &[0; 8]), Err(FlashError::OutOfBounds));
        assert_eq!(f.erase(32, 64), Err(FlashError::NotAligned));
        assert_eq!(f.erase(0, 100), Err(FlashError::NotAligned));
        assert_eq!(f.erase(64, 0), Err(FlashError::OutOfBounds));
        assert_eq!(f.erase(0, 320), Err(FlashError::OutOfBounds));
        let mut b = [0; 2];
        assert_eq!(f.read(3, &mut b), Ok(()));
        assert_eq!(f.read(255, &mut b), Err(FlashError::OutOfBounds));
        // Refused operations are not steps and change nothing.
        assert_eq!(f.ops(), 1);
        assert!(f.bytes().iter().all(|&b| b == 0xFF));
    }

    #[test]
    fn cut_after_programs_tears_the_next_word() {
        let mut f = Flash::new(256);
        f.cut(Steps::Programs, 1, Tear::Clean);
        let mut b = [0; 4];
        f.read(0, &mut b).unwrap();
        assert_eq!(
            f.write(0, &[1, 2, 3, 4, 5, 6, 7, 8]),
            Err(FlashError::PowerLost)
        );
        assert_eq!(&f.bytes()[..8], &[1, 2, 3, 4, 0xFF, 0xFF, 0xFF, 0xFF]);
        assert!(!f.powered());
        assert_eq!(f.read(0, &mut b), Err(FlashError::PowerLost));
        assert_eq!(f.erase(0, 64), Err(FlashError::PowerLost));
        f.power_on();
        f.read(0, &mut b).unwrap();
        assert_eq!(b, [1, 2, 3, 4]);
    }

    #[test]
    fn partial_program_only_clears_bits_it_was_asked_to() {
        for seed in 0..64 {
            let mut f = Flash::new(256);
            f.seed(seed);
            f.cut(Steps::All, 0, Tear::Partial);
            assert_eq!(
                f.write(0, &[0x0F, 0xF0, 0x00, 0xFF]),
                Err(FlashError::PowerLost)
            );
            for (&got, want) in f.bytes()[..4].iter().zip([0x0F, 0xF0, 0x00, 0xFF]) {
                assert_eq!(got & want, want, "a bit to stay 1 was cleared");
            }
        }
    }

    #[test]
    fn cut_during_erase_leaves_the_block_partly_erased() {
        let mut f = Flash::new(256);
        f.write(64, &[0; 64]).unwrap();
        f.cut(Steps::EraseSteps, 3, Tear::Clean);
        assert_eq!(f.erase(64, 128), Err(FlashError::PowerLost));
        let step = 64 / ERASE_STEPS;
        assert!(f.bytes()[64..64 + 3 * step].iter().all(|&b| b == 0xFF));
        assert!(f.bytes()[64 + 3 * step..128].iter().all(|&b| b == 0));
        assert_eq!(f.erase_count(64), 1);

        let mut g = Flash::new(256);
        g.write(64, &[0; 64]).unwrap();
        g.cut(Steps::EraseSteps, 3, Tear::Garbage);
        assert_eq!(g.erase(64, 128), Err(FlashError::PowerLost));
        assert!(g.bytes()[64..128].iter().any(|&b| b != 0xFF && b != 0));
    }

    #[test]
    fn worn_out_cell_keeps_its_value() {
        let mut f = Flash::new(256);
        f.wear_out(1);
        f.write(0, &[0, 0, 0, 0]).unwrap();
        assert_eq!(&f.bytes()[..4], &[0, 0xFF, 0, 0]);
    }
}
