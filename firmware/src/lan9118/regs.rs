//! The LAN9118's register window: the firmware's only `unsafe` code.
//!
//! The SMSC LAN9118 (and QEMU's `lan9118` model) decodes a 256-byte window
//! of 32-bit registers: the FIFO ports at 0x00–0x4C and the control and
//! status registers ("CSRs") from 0x50. Everything above this module talks
//! to the chip through [`Regs::read`] and [`Regs::write`], which take a
//! [`Reg`], so no other code does raw pointer arithmetic.
//!
//! Offsets and bits: SMSC LAN9118 datasheet, section 5 ("Register
//! Descriptions"), and QEMU's `hw/net/lan9118.c`, which models the same
//! layout.

use core::ptr::{read_volatile, write_volatile};
use core::sync::atomic::{AtomicBool, Ordering};

/// A register of the 256-byte window, by byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Reg {
    /// Received frame data, one 32-bit word per read (0x00–0x1C alias).
    RxDataFifo = 0x00,
    /// Frame data to send, TX command A and B first (0x20–0x3C alias).
    TxDataFifo = 0x20,
    /// One status word per received frame: length in bits 29:16.
    RxStatusFifo = 0x40,
    /// One status word per sent frame.
    TxStatusFifo = 0x48,
    /// Chip id (bits 31:16, 0x0118 for the LAN9118) and revision.
    IdRev = 0x50,
    /// Interrupt pin configuration.
    IrqCfg = 0x54,
    /// Interrupt status; write 1 to clear.
    IntSts = 0x58,
    /// Interrupt enable.
    IntEn = 0x5C,
    /// FIFO levels that raise an interrupt: RX status words (7:0).
    FifoInt = 0x68,
    /// Reads 0x87654321 whatever the bus width and byte order.
    ByteTest = 0x64,
    /// Receive configuration (alignment, dump).
    RxCfg = 0x6C,
    /// Transmit configuration (TX_ON, status overrun).
    TxCfg = 0x70,
    /// Hardware configuration (soft reset, FIFO sizes).
    HwCfg = 0x74,
    /// RX FIFO levels: status words used (23:16), data bytes used (15:0).
    RxFifoInf = 0x7C,
    /// TX FIFO levels: status words used (23:16), data bytes free (15:0).
    TxFifoInf = 0x80,
    /// Power management; bit 0 is READY after a reset.
    PmtCtrl = 0x84,
    /// Free-running counter at 25 MHz.
    FreeRun = 0x9C,
    /// Indirect MAC register access: command (busy, read, address).
    MacCsrCmd = 0xA4,
    /// Indirect MAC register access: data.
    MacCsrData = 0xA8,
}

/// The register window of one LAN9118.
#[derive(Debug)]
pub struct Regs {
    base: usize,
}

/// Handed out once: [`Regs::mps2_an385`].
static MPS2_TAKEN: AtomicBool = AtomicBool::new(false);

impl Regs {
    /// The LAN9118 of the Arm MPS2 boards (AN385 in QEMU: `-M mps2-an385`),
    /// at 0x4020_0000. `None` after the first call: one owner only.
    pub fn mps2_an385() -> Option<Regs> {
        if MPS2_TAKEN.swap(true, Ordering::AcqRel) {
            return None;
        }
        Some(Regs { base: 0x4020_0000 })
    }

    fn addr(&self, reg: Reg) -> *mut u32 {
        (self.base + reg as usize) as *mut u32
    }

    /// Reads a register. Reading a FIFO port pops from that FIFO.
    pub fn read(&self, reg: Reg) -> u32 {
        // SAFETY: `base` is the MMIO window of a LAN9118 (the only
        // constructor hands out the board's fixed, documented address), every
        // `Reg` offset lies inside its 256-byte window and is 4-byte aligned,
        // and device registers are not Rust memory: a volatile 32-bit read
        // cannot alias or invalidate any Rust object.
        unsafe { read_volatile(self.addr(reg)) }
    }

    /// Writes a register. Writing the TX data FIFO port pushes a word.
    pub fn write(&self, reg: Reg, value: u32) {
        // SAFETY: as in `read`: an aligned 32-bit volatile store to a
        // register inside the LAN9118's window, which no Rust object
        // occupies.
        unsafe { write_volatile(self.addr(reg), value) }
    }

    /// A read-only view of the free-running counter, for the clock.
    pub fn free_run(&self) -> FreeRun {
        FreeRun { base: self.base }
    }

    /// A handle that can only clear interrupt status bits, for the board's
    /// sleep (it re-arms the receive interrupt after each wake-up).
    pub fn int_sts(&self) -> IntSts {
        IntSts { base: self.base }
    }
}

/// The INT_STS register alone, written only: writing 1s clears those
/// status bits and nothing else, so it cannot disturb the driver's FIFO
/// work, whoever owns the rest of the window.
#[derive(Debug)]
pub struct IntSts {
    base: usize,
}

impl IntSts {
    /// Clears the status bits set in `bits`.
    pub fn clear(&self, bits: u32) {
        // SAFETY: as in `Regs::write`: an aligned 32-bit volatile store to
        // INT_STS, inside the LAN9118's window, which no Rust object
        // occupies; write-1-to-clear has no effect on other registers.
        unsafe { write_volatile((self.base + Reg::IntSts as usize) as *mut u32, bits) }
    }
}

/// The FREE_RUN register alone (reading it has no side effect), so a clock
/// can own it while the driver owns the rest.
#[derive(Debug)]
pub struct FreeRun {
    base: usize,
}

impl FreeRun {
    /// The counter: 25 MHz, wraps every 171.8 s.
    pub fn read(&self) -> u32 {
        // SAFETY: as in `Regs::read`; FREE_RUN is a read-only counter whose
        // read has no side effect on the chip.
        unsafe { read_volatile((self.base + Reg::FreeRun as usize) as *const u32) }
    }
}
