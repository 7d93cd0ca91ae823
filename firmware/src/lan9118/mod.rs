//! A small driver for the SMSC LAN9118 Ethernet controller (MAC + PHY with
//! on-chip FIFOs, no DMA), as found on Arm's MPS2 boards and modelled by
//! QEMU's `lan9118` device.
//!
//! Three layers, each in its own file:
//!
//! * [`regs`]: the register window, the only `unsafe` code of the firmware
//!   (volatile 32-bit reads and writes at fixed offsets);
//! * this module: the chip's procedures on top of it: reset and
//!   identification, the indirect MAC and PHY registers, moving one frame
//!   through the RX and TX FIFOs, the FREE_RUN counter as a clock;
//! * [`phy`]: the glue that makes it a smoltcp [`Device`](smoltcp::phy::Device).
//!
//! The chip raises its interrupt line when a frame is received (RX status
//! FIFO level, `RSFL`), active high and push-pull, so the board can sleep
//! in `wfi` until a frame or its timer wakes it; the application loop then
//! reads the FIFOs. Nothing runs in interrupt context: the board only uses
//! the line to wake the core ([`RxInterrupt`]). Frames longer than [`FRAME_BUF`] are dropped on receipt
//! and never built for sending (smoltcp is told the MTU): the witness's
//! frames are under 200 bytes, and the buffers are part of a 16 KiB RAM
//! budget.
//!
//! Chip facts used here (SMSC LAN9118 datasheet rev. 1.5, section 5, and
//! QEMU's `hw/net/lan9118.c`):
//!
//! * a received frame is one status word in the RX status FIFO (length,
//!   including the 4-byte FCS, in bits 29:16; error summary in bit 15)
//!   followed by `ceil(length / 4)` little-endian words in the RX data FIFO;
//! * a frame to send is TX command A (first/last segment, buffer length),
//!   TX command B (tag, frame length), then `ceil(length / 4)` data words;
//!   the chip appends the FCS and pads short frames;
//! * MAC registers sit behind `MAC_CSR_CMD`/`MAC_CSR_DATA`, PHY registers
//!   behind the MAC's `MII_ACC`/`MII_DATA`;
//! * `FREE_RUN` counts at 25 MHz from reset.

pub mod phy;
#[allow(unsafe_code)]
pub mod regs;

use regs::{FreeRun, IntSts, Reg, Regs};

/// Largest frame handled, Ethernet header included, FCS excluded.
pub const FRAME_BUF: usize = 256;

/// Bounded polls of a busy bit (a few µs on the real chip; instant in QEMU).
const BUSY_POLLS: u32 = 100_000;

const BYTE_TEST_VALUE: u32 = 0x8765_4321;

// HW_CFG
const HW_CFG_SRST: u32 = 1 << 0;
// IRQ_CFG: the line enabled, active high, push-pull.
const IRQ_CFG_EN: u32 = 1 << 8;
const IRQ_CFG_POL_HIGH: u32 = 1 << 4;
const IRQ_CFG_PUSH_PULL: u32 = 1 << 0;
// INT_STS / INT_EN: RX status FIFO level (above FIFO_INT's RX level).
const INT_RSFL: u32 = 1 << 3;
// PMT_CTRL
const PMT_READY: u32 = 1 << 0;
// TX_CFG
const TX_CFG_TX_ON: u32 = 1 << 1;
const TX_CFG_TXSAO: u32 = 1 << 2;
// MAC_CSR_CMD
const MAC_CSR_BUSY: u32 = 1 << 31;
const MAC_CSR_READ: u32 = 1 << 30;
// Indirect MAC registers.
const MAC_CR: u32 = 1;
const MAC_ADDRH: u32 = 2;
const MAC_ADDRL: u32 = 3;
const MAC_MII_ACC: u32 = 6;
const MAC_MII_DATA: u32 = 7;
// MAC_CR: receive and transmit on, full duplex; no promiscuous mode (the
// reset value), broadcast accepted (BCAST clear), multicast refused.
const MAC_CR_RXEN: u32 = 1 << 2;
const MAC_CR_TXEN: u32 = 1 << 3;
const MAC_CR_FDPX: u32 = 1 << 20;
// MII_ACC: internal PHY at address 1; register in bits 10:6.
const MII_PHY_ADDR: u32 = 1 << 11;
const MII_WRITE: u32 = 1 << 1;
const MII_BUSY: u32 = 1 << 0;
// PHY registers (IEEE 802.3 clause 22).
const PHY_BMCR: u32 = 0;
const PHY_BMSR: u32 = 1;
const PHY_ANAR: u32 = 4;
const BMCR_RESET: u32 = 0x8000;
const BMCR_ANENABLE: u32 = 0x1000;
const BMCR_ANRESTART: u32 = 0x0200;
const BMSR_LINK: u32 = 0x0004;
/// 10/100, half and full duplex, IEEE 802.3.
const ANAR_ALL: u32 = 0x01E1;
// RX and TX status words.
const STATUS_ERROR: u32 = 1 << 15;
const RX_STATUS_LEN_SHIFT: u32 = 16;
const RX_STATUS_LEN_MASK: u32 = 0x3FFF;
// TX command words.
const TX_CMD_A_FIRST: u32 = 1 << 13;
const TX_CMD_A_LAST: u32 = 1 << 12;
const FCS_LEN: usize = 4;
const ETHERNET_HEADER: usize = 14;

/// Why the chip could not be brought up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, defmt::Format)]
pub enum Error {
    /// BYTE_TEST did not read 0x87654321: no LAN9118 at that address (or a
    /// bus-width problem).
    NotFound {
        /// What it read.
        byte_test: u32,
    },
    /// ID_REV names another chip.
    UnknownChip {
        /// What it read.
        id_rev: u32,
    },
    /// A busy or ready bit never changed.
    Timeout(&'static str),
    /// No MAC address was configured and the chip holds none.
    NoMacAddress,
}

/// Counters, for the status log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, defmt::Format)]
pub struct Stats {
    /// Frames received and handed on.
    pub rx_frames: u32,
    /// Frames dropped on receipt: errors, too short, longer than [`FRAME_BUF`].
    pub rx_dropped: u32,
    /// Frames queued for sending.
    pub tx_frames: u32,
    /// Send status words with the error bit.
    pub tx_errors: u32,
    /// Sends refused because the TX FIFO had no room.
    pub tx_full: u32,
}

/// The chip, brought up, with the register window it owns.
#[derive(Debug)]
pub struct Chip {
    regs: Regs,
    mac: [u8; 6],
    stats: Stats,
}

impl Chip {
    /// Resets and identifies the chip, sets the MAC address (`mac`, or the
    /// one the chip loaded from its EEPROM), starts the PHY's
    /// auto-negotiation and turns the receiver and the transmitter on.
    pub fn init(regs: Regs, mac: Option<[u8; 6]>) -> Result<Chip, Error> {
        let byte_test = regs.read(Reg::ByteTest);
        if byte_test != BYTE_TEST_VALUE {
            return Err(Error::NotFound { byte_test });
        }
        let id_rev = regs.read(Reg::IdRev);
        // LAN9115..LAN9118 share this register map (datasheet table 5-1).
        if !(0x0115..=0x0118).contains(&(id_rev >> 16)) {
            return Err(Error::UnknownChip { id_rev });
        }
        let mut chip = Chip {
            regs,
            mac: [0; 6],
            stats: Stats::default(),
        };
        chip.regs.write(Reg::HwCfg, HW_CFG_SRST);
        chip.wait("HW_CFG.SRST", || {
            chip.regs.read(Reg::HwCfg) & HW_CFG_SRST == 0
        })?;
        chip.wait("PMT_CTRL.READY", || {
            chip.regs.read(Reg::PmtCtrl) & PMT_READY != 0
        })?;
        // The line rises when the RX status FIFO holds more than 0 words,
        // that is on every received frame; every other source is off.
        chip.regs.write(Reg::IntEn, 0);
        chip.regs.write(Reg::IntSts, u32::MAX);
        chip.regs.write(Reg::FifoInt, 0);
        chip.regs.write(Reg::IntEn, INT_RSFL);
        chip.regs.write(
            Reg::IrqCfg,
            IRQ_CFG_EN | IRQ_CFG_POL_HIGH | IRQ_CFG_PUSH_PULL,
        );

        if let Some(m) = mac {
            chip.mac_write(MAC_ADDRL, u32::from_le_bytes([m[0], m[1], m[2], m[3]]))?;
            chip.mac_write(MAC_ADDRH, u32::from(m[4]) | u32::from(m[5]) << 8)?;
        }
        let lo = chip.mac_read(MAC_ADDRL)?.to_le_bytes();
        let hi = chip.mac_read(MAC_ADDRH)?.to_le_bytes();
        chip.mac = [lo[0], lo[1], lo[2], lo[3], hi[0], hi[1]];
        if chip.mac == [0; 6] || chip.mac == [0xFF; 6] {
            return Err(Error::NoMacAddress);
        }

        // PHY: reset, advertise everything, auto-negotiate.
        chip.phy_write(PHY_BMCR, BMCR_RESET)?;
        chip.wait_phy_reset()?;
        chip.phy_write(PHY_ANAR, ANAR_ALL)?;
        chip.phy_write(PHY_BMCR, BMCR_ANENABLE | BMCR_ANRESTART)?;

        // FIFOs: no RX offset or padding; TX on, and the TX status FIFO may
        // overrun (statuses are drained after each send, but a full status
        // FIFO must never stop the transmitter).
        chip.regs.write(Reg::RxCfg, 0);
        chip.regs.write(Reg::TxCfg, TX_CFG_TX_ON | TX_CFG_TXSAO);
        chip.mac_write(MAC_CR, MAC_CR_RXEN | MAC_CR_TXEN | MAC_CR_FDPX)?;
        Ok(chip)
    }

    /// The chip's Ethernet address.
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// The receive interrupt's acknowledger, for the board's sleep.
    pub fn rx_interrupt(&self) -> RxInterrupt {
        RxInterrupt(self.regs.int_sts())
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The FREE_RUN counter, for a [`FreeRunClock`].
    pub fn free_run(&self) -> FreeRun {
        self.regs.free_run()
    }

    /// Whether the PHY reports a link (cable in, partner up).
    pub fn link_up(&mut self) -> bool {
        self.phy_read(PHY_BMSR)
            .is_ok_and(|bmsr| bmsr & BMSR_LINK != 0)
    }

    fn wait(&self, what: &'static str, mut done: impl FnMut() -> bool) -> Result<(), Error> {
        for _ in 0..BUSY_POLLS {
            if done() {
                return Ok(());
            }
        }
        Err(Error::Timeout(what))
    }

    fn wait_phy_reset(&mut self) -> Result<(), Error> {
        for _ in 0..BUSY_POLLS {
            if self.phy_read(PHY_BMCR)? & BMCR_RESET == 0 {
                return Ok(());
            }
        }
        Err(Error::Timeout("PHY reset"))
    }

    fn mac_wait(&self) -> Result<(), Error> {
        self.wait("MAC_CSR_CMD.BUSY", || {
            self.regs.read(Reg::MacCsrCmd) & MAC_CSR_BUSY == 0
        })
    }

    fn mac_read(&self, reg: u32) -> Result<u32, Error> {
        self.mac_wait()?;
        self.regs
            .write(Reg::MacCsrCmd, MAC_CSR_BUSY | MAC_CSR_READ | reg);
        self.mac_wait()?;
        Ok(self.regs.read(Reg::MacCsrData))
    }

    fn mac_write(&self, reg: u32, value: u32) -> Result<(), Error> {
        self.mac_wait()?;
        self.regs.write(Reg::MacCsrData, value);
        self.regs.write(Reg::MacCsrCmd, MAC_CSR_BUSY | reg);
        self.mac_wait()
    }

    fn mii_wait(&self) -> Result<(), Error> {
        for _ in 0..BUSY_POLLS {
            if self.mac_read(MAC_MII_ACC)? & MII_BUSY == 0 {
                return Ok(());
            }
        }
        Err(Error::Timeout("MII_ACC.MIIBZY"))
    }

    fn phy_read(&mut self, reg: u32) -> Result<u32, Error> {
        self.mii_wait()?;
        self.mac_write(MAC_MII_ACC, MII_PHY_ADDR | reg << 6 | MII_BUSY)?;
        self.mii_wait()?;
        Ok(self.mac_read(MAC_MII_DATA)? & 0xFFFF)
    }

    fn phy_write(&mut self, reg: u32, value: u32) -> Result<(), Error> {
        self.mii_wait()?;
        self.mac_write(MAC_MII_DATA, value & 0xFFFF)?;
        self.mac_write(MAC_MII_ACC, MII_PHY_ADDR | reg << 6 | MII_WRITE | MII_BUSY)?;
        self.mii_wait()
    }

    /// Whether a received frame waits in the RX FIFO.
    pub fn rx_pending(&self) -> bool {
        (self.regs.read(Reg::RxFifoInf) >> 16) & 0xFF != 0
    }

    /// Takes the next received frame out of the RX FIFO into `buf` and
    /// returns its length (FCS removed); `None` when no frame waits or the
    /// frame was dropped (error, runt, longer than `buf`).
    pub fn receive(&mut self, buf: &mut [u8; FRAME_BUF]) -> Option<usize> {
        if !self.rx_pending() {
            return None;
        }
        let status = self.regs.read(Reg::RxStatusFifo);
        let wire_len = ((status >> RX_STATUS_LEN_SHIFT) & RX_STATUS_LEN_MASK) as usize;
        let words = wire_len.div_ceil(4);
        let len = wire_len.saturating_sub(FCS_LEN);
        let keep = status & STATUS_ERROR == 0 && len >= ETHERNET_HEADER && len <= FRAME_BUF;
        // Every word of the frame leaves the FIFO, kept or not, so the next
        // status word lines up with the next frame.
        let mut at = 0;
        for _ in 0..words {
            let word = self.regs.read(Reg::RxDataFifo).to_le_bytes();
            if keep {
                for b in word {
                    if let Some(slot) = buf.get_mut(at).filter(|_| at < len) {
                        *slot = b;
                    }
                    at += 1;
                }
            }
        }
        if keep {
            self.stats.rx_frames = self.stats.rx_frames.wrapping_add(1);
            Some(len)
        } else {
            self.stats.rx_dropped = self.stats.rx_dropped.wrapping_add(1);
            None
        }
    }

    /// Whether the TX FIFO has room for a frame of `len` bytes.
    pub fn tx_ready(&self, len: usize) -> bool {
        let free = (self.regs.read(Reg::TxFifoInf) & 0xFFFF) as usize;
        free >= len.next_multiple_of(4) + 8
    }

    /// Queues `frame` (Ethernet header onwards, no FCS) for sending.
    /// Returns false, and counts it, when the TX FIFO has no room.
    pub fn send(&mut self, frame: &[u8]) -> bool {
        self.drain_tx_status();
        let len = frame.len().min(FRAME_BUF);
        if !self.tx_ready(len) {
            self.stats.tx_full = self.stats.tx_full.wrapping_add(1);
            return false;
        }
        let len_bits = len as u32 & 0x7FF;
        let tag = self.stats.tx_frames & 0xFFFF;
        self.regs
            .write(Reg::TxDataFifo, TX_CMD_A_FIRST | TX_CMD_A_LAST | len_bits);
        self.regs.write(Reg::TxDataFifo, tag << 16 | len_bits);
        for chunk in frame[..len].chunks(4) {
            let mut word = [0u8; 4];
            word[..chunk.len()].copy_from_slice(chunk);
            self.regs.write(Reg::TxDataFifo, u32::from_le_bytes(word));
        }
        self.stats.tx_frames = self.stats.tx_frames.wrapping_add(1);
        true
    }

    /// Pops the TX status words of frames sent, counting errors.
    fn drain_tx_status(&mut self) {
        for _ in 0..32 {
            if (self.regs.read(Reg::TxFifoInf) >> 16) & 0xFF == 0 {
                break;
            }
            if self.regs.read(Reg::TxStatusFifo) & STATUS_ERROR != 0 {
                self.stats.tx_errors = self.stats.tx_errors.wrapping_add(1);
            }
        }
    }
}

/// A microsecond clock from the chip's 25 MHz FREE_RUN counter, extended
/// to 64 bits. It must be read at least once per wrap (171 s); the
/// application reads it at every wake-up.
#[derive(Debug)]
pub struct FreeRunClock {
    counter: FreeRun,
    last: u32,
    wraps: u64,
}

impl FreeRunClock {
    /// Counter ticks per microsecond.
    const TICKS_PER_US: u64 = 25;

    /// A clock whose origin is the chip's last reset.
    pub fn new(counter: FreeRun) -> Self {
        let last = counter.read();
        FreeRunClock {
            counter,
            last,
            wraps: 0,
        }
    }
}

impl crate::hal::Clock for FreeRunClock {
    fn now_micros(&mut self) -> u64 {
        let t = self.counter.read();
        if t < self.last {
            self.wraps += 1;
        }
        self.last = t;
        ((self.wraps << 32) | u64::from(t)) / Self::TICKS_PER_US
    }
}

/// Lowers the chip's interrupt line after a wake-up, so the next frame
/// raises it again. Acknowledge *before* the FIFOs are read: a frame that
/// arrives while the loop works then keeps the line up, and the next
/// `wfi` returns at once instead of sleeping on it.
#[derive(Debug)]
pub struct RxInterrupt(IntSts);

impl RxInterrupt {
    /// Clears the receive status bit (the line drops if nothing else is
    /// pending).
    pub fn acknowledge(&self) {
        self.0.clear(INT_RSFL);
    }
}
