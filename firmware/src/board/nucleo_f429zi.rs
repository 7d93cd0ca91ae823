//! ST's NUCLEO-F429ZI (STM32F429ZIT6, Cortex-M4F, 2 MiB flash, 256 KiB
//! RAM): the on-chip Ethernet MAC with the board's LAN8742A PHY (RMII) and
//! RJ45 jack, through `stm32-eth`; the three user LEDs; a fence output on
//! the Zio/Arduino header; TIM2 as the clock; the boot epoch from a counter
//! in flash ([`crate::bootcount`]); the defmt log over RTT (probe-rs reads
//! it through the on-board ST-LINK).
//!
//! | what | pin |
//! | --- | --- |
//! | LD1 green: the primary is heard | PB0 |
//! | LD2 blue: the secondary is heard | PB7 |
//! | LD3 red: a grant is out | PB14 |
//! | fence: high while asserted | PF13, marked D7 on CN10 |
//! | RMII: REF_CLK, MDIO, MDC, CRS_DV, RXD0, RXD1, TX_EN, TXD0, TXD1 | PA1, PA2, PC1, PA7, PC4, PC5, PG11, PG13, PB13 (wired on the board) |
//!
//! The clock tree runs from the 8 MHz the ST-LINK feeds to the MCU's HSE
//! input (the board's default, MCO solder bridges closed): 48 MHz core.
//!
//! [`Nic`] below is this board's smoltcp `phy::Device`: a few lines over
//! the driver's descriptor rings, counting frames for the status line and
//! following the PHY's link. `stm32-eth`'s own (feature `smoltcp-phy`, for
//! the same smoltcp 0.12) would need a wrapper of as many lines around its
//! tokens to count the frames, and its capabilities replaced (its MTU is
//! 1522, the buffers' size, and it has smoltcp skip the checksums of the
//! frames it receives, which the MAC, as the driver sets it up, passes on
//! even when wrong); built that way, the image was 92 bytes larger, with
//! the same RAM.

use embedded_storage::nor_flash::ReadNorFlash;
use smoltcp::phy::{self, Checksum, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use stm32_eth::dma::{EthernetDMA, RxError, RxPacket, RxRingEntry, TxRing, TxRingEntry};
use stm32_eth::mac::phy::{PhySpeed, LAN8742A};
use stm32_eth::mac::{EthernetMACWithMii, Phy, Speed};
use stm32_eth::{EthPins, Parts, PartsIn};
use stm32f4xx_hal::flash::FlashExt;
use stm32f4xx_hal::gpio::{Alternate, Speed as PinSpeed, PA2, PC1};
use stm32f4xx_hal::pac::{self, interrupt, TIM2};
use stm32f4xx_hal::prelude::*;
use stm32f4xx_hal::signature::Uid;
use stm32f4xx_hal::timer::CounterUs;
use stm32f4xx_hal::watchdog::IndependentWatchdog;

use super::tick::TickIdle;
use crate::bootcount::{self, Area};
use crate::hal::{Clock, Idle, NetStatus};

/// The ST-LINK's clock output, fed to HSE (bypass).
const HSE_HZ: u32 = 8_000_000;
/// The core clock (and SysTick's). Ethernet needs at least 25 MHz.
const CORE_HZ: u32 = 48_000_000;
/// SysTick period: the longest the witness sleeps when no frame arrives
/// (a frame wakes it at once through the Ethernet interrupt).
const TICK_US: u32 = 250;
/// The independent watchdog's period: a witness whose loop stops turning
/// for this long (a hang, a livelock) resets and comes back with a new
/// epoch, instead of staying silent until someone power-cycles it. The
/// loop turns at least every tick (250 µs); a second is far beyond any
/// turn's work.
const WATCHDOG_MS: u32 = 1000;
/// The LAN8742A's address on the MDIO bus (strapped on the board).
const PHY_ADDR: u8 = 0;
/// The largest frame smoltcp may build (Ethernet header included, FCS
/// excluded); the driver's buffers hold 1522 bytes.
const MTU: usize = 1514;
/// How often the PHY is asked about the link (µs).
const LINK_CHECK_US: i64 = 1_000_000;
/// The boot counter: the last two 128 KiB sectors (22 and 23, in bank 2),
/// as offsets from the start of flash. The image (48 KiB at most) never
/// comes near them, and probe-rs only erases the sectors it writes.
const BOOT_COUNTER: Area = Area {
    blocks: [0x1C_0000, 0x1E_0000],
    block_len: 0x2_0000,
};

/// MDIO and MDC, owned by the MAC.
type Mdio = PA2<Alternate<11>>;
type Mdc = PC1<Alternate<11>>;
type Lan8742a = LAN8742A<EthernetMACWithMii<Mdio, Mdc>>;

/// TIM2 (32 bits) counting microseconds, extended to 64 bits.
pub struct Tim2Clock {
    counter: CounterUs<TIM2>,
    last: u32,
    total: u64,
}

impl Tim2Clock {
    /// The counter wraps after this many ticks: the HAL sets its reload
    /// value to `u32::MAX - 1` (a duration of `u32::MAX` µs).
    const PERIOD: u32 = u32::MAX;
}

impl Clock for Tim2Clock {
    /// Wrap-safe as long as it is called at least once per wrap (71
    /// minutes); the loop calls it every few hundred microseconds.
    fn now_micros(&mut self) -> u64 {
        let raw = self.counter.now().ticks();
        let delta = if raw >= self.last {
            raw - self.last
        } else {
            raw + (Self::PERIOD - self.last)
        };
        self.last = raw;
        self.total += u64::from(delta);
        self.total
    }
}

/// A frame arrived or went out: clear the DMA's status so the interrupt
/// ends; waking the core is all it is for.
#[interrupt]
fn ETH() {
    let _ = stm32_eth::eth_interrupt_handler();
}

/// The MAC's DMA rings and the PHY, as a smoltcp [`phy::Device`].
pub struct Nic<'rx, 'tx> {
    dma: EthernetDMA<'rx, 'tx>,
    phy: Lan8742a,
    /// The link as last seen (`None`: down).
    link: Option<PhySpeed>,
    /// When to ask the PHY next (smoltcp time, µs).
    link_check_at: i64,
    /// Frames received, dropped (DMA errors, truncated), sent, and the
    /// times smoltcp found the transmit ring full.
    counters: [u32; 4],
}

impl Nic<'_, '_> {
    /// Follows the PHY's autonegotiated speed and duplex (the MAC must
    /// match them), logging changes.
    fn check_link(&mut self) {
        let link = if self.phy.link_established() {
            self.phy.link_speed()
        } else {
            None
        };
        if link == self.link {
            return;
        }
        self.link = link;
        let Some(speed) = link else {
            defmt::warn!("ethernet link DOWN");
            return;
        };
        let (mac_speed, name) = match speed {
            PhySpeed::HalfDuplexBase10T => (Speed::HalfDuplexBase10T, "10 Mbit/s half duplex"),
            PhySpeed::FullDuplexBase10T => (Speed::FullDuplexBase10T, "10 Mbit/s full duplex"),
            PhySpeed::HalfDuplexBase100Tx => (Speed::HalfDuplexBase100Tx, "100 Mbit/s half duplex"),
            PhySpeed::FullDuplexBase100Tx => (Speed::FullDuplexBase100Tx, "100 Mbit/s full duplex"),
        };
        self.phy.get_miim().set_speed(mac_speed);
        defmt::info!("ethernet link up: {}", name);
    }

    fn poll_link(&mut self, now: Instant) {
        let now = now.total_micros();
        if now >= self.link_check_at {
            self.link_check_at = now + LINK_CHECK_US;
            self.check_link();
        }
    }
}

impl NetStatus for Nic<'_, '_> {
    fn link_up(&mut self) -> bool {
        self.check_link();
        self.link.is_some()
    }

    fn counters(&self) -> [u32; 4] {
        self.counters
    }
}

/// A received frame, still in its DMA buffer (handed back on drop).
pub struct RxToken<'a> {
    packet: RxPacket<'a>,
}

/// A free transmit descriptor.
pub struct TxToken<'a, 'tx> {
    ring: &'a mut TxRing<'tx>,
    sent: &'a mut u32,
}

impl<'rx, 'tx> phy::Device for Nic<'rx, 'tx> {
    type RxToken<'a>
        = RxToken<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = TxToken<'a, 'tx>
    where
        Self: 'a;

    fn receive(&mut self, now: Instant) -> Option<(RxToken<'_>, TxToken<'_, 'tx>)> {
        self.poll_link(now);
        let [received, dropped, sent, _] = &mut self.counters;
        let (rx, tx) = self.dma.split();
        // A reply may be needed (ARP): only take a frame if one could go out.
        if !tx.next_entry_available() {
            return None;
        }
        match rx.recv_next(None) {
            Ok(packet) => {
                *received = received.wrapping_add(1);
                Some((RxToken { packet }, TxToken { ring: tx, sent }))
            }
            Err(RxError::WouldBlock) => None,
            Err(RxError::Truncated | RxError::DmaError) => {
                *dropped = dropped.wrapping_add(1);
                None
            }
        }
    }

    fn transmit(&mut self, _now: Instant) -> Option<TxToken<'_, 'tx>> {
        let [_, _, sent, full] = &mut self.counters;
        let (_, tx) = self.dma.split();
        if tx.next_entry_available() {
            Some(TxToken { ring: tx, sent })
        } else {
            *full = full.wrapping_add(1);
            None
        }
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = MTU;
        caps.max_burst_size = Some(1);
        // The driver has the MAC insert the IPv4, UDP and ICMP checksums
        // of every frame it sends (smoltcp leaves them zero, as the MAC
        // expects); smoltcp still checks those it receives.
        caps.checksum.ipv4 = Checksum::Rx;
        caps.checksum.udp = Checksum::Rx;
        caps.checksum.icmpv4 = Checksum::Rx;
        caps
    }
}

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&[u8]) -> R,
    {
        f(&self.packet)
    }
}

impl phy::TxToken for TxToken<'_, '_> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        // The token exists only while the ring's next descriptor is free,
        // and it holds the ring exclusively: this cannot fail. smoltcp
        // never asks for more than the MTU; clamp all the same.
        let Ok(mut packet) = self.ring.send_next(len.min(MTU), None) else {
            crate::fatal("the free transmit descriptor vanished")
        };
        let r = f(&mut packet);
        packet.send();
        *self.sent = self.sent.wrapping_add(1);
        r
    }
}

/// A locally administered Ethernet address from the chip's unique ID, for
/// when the configuration names none (`mac = ""`).
fn mac_from_uid() -> [u8; 6] {
    let uid = Uid::get();
    // FNV-1a over the ID's fields.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let [x0, x1] = uid.x().to_le_bytes();
    let [y0, y1] = uid.y().to_le_bytes();
    let fields = [x0, x1, y0, y1, uid.waf_num()];
    for b in fields.iter().chain(uid.lot_num().as_bytes()) {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    }
    let [_, _, _, a, b, c, d, e] = h.to_be_bytes();
    [0x02, a, b, c, d, e]
}

/// Advances the boot counter in flash and returns this boot's epoch.
/// Called before the clocks are raised, so the flash caches are still off
/// and the record read back is the one in flash.
fn boot_epoch(mut flash: pac::FLASH) -> u32 {
    let mut flash = flash.unlocked();
    let end = BOOT_COUNTER.blocks[1] + BOOT_COUNTER.block_len;
    if usize::try_from(end).map_or(true, |end| flash.capacity() < end) {
        crate::fatal("flash smaller than 2 MiB: not an STM32F429ZI");
    }
    match bootcount::advance(&mut flash, &BOOT_COUNTER, crate::config::BUILD_EPOCH) {
        Ok(boot) => {
            if !boot.found {
                defmt::warn!(
                    "boot counter: none in flash (a new or fully erased chip): starting at the image's build time"
                );
            }
            defmt::info!(
                "boot counter: epoch {} (sector {}, record {}{})",
                boot.epoch,
                22 + boot.block,
                boot.record,
                if boot.erased {
                    ", sector erased first"
                } else {
                    ""
                }
            );
            boot.epoch
        }
        Err(e) => {
            defmt::error!("boot counter: {}", e);
            crate::fatal("cannot record the boot epoch in flash")
        }
    }
}

/// The DMA rings, in .bss (SRAM1, which the Ethernet DMA reaches): two
/// receive buffers, one transmit buffer; the witness's frames are few and
/// small. A function of its own, not inlined: the initial values pass
/// through its stack frame (3.3 KiB), which is gone before the witness
/// runs.
#[inline(never)]
fn rings() -> (&'static mut [RxRingEntry; 2], &'static mut [TxRingEntry; 1]) {
    let Some(rx) = cortex_m::singleton!(: [RxRingEntry; 2] = [RxRingEntry::INIT; 2]) else {
        crate::fatal("receive ring taken twice")
    };
    let Some(tx) = cortex_m::singleton!(: [TxRingEntry; 1] = [TxRingEntry::INIT; 1]) else {
        crate::fatal("transmit ring taken twice")
    };
    (rx, tx)
}

/// Logs that the firmware panicked, then stops the core with an undefined
/// instruction: probe-rs, when attached, prints a backtrace (with the
/// place); otherwise the witness stays silent, which the servers treat as
/// a dead witness. The panic's message and place are not read: merely
/// reading them keeps `core::fmt` and every formatter a panic message could
/// use in the image, some 10 KB of flash. The firmware's own fatal errors
/// are logged before they panic.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    defmt::error!("panic (probe-rs prints the backtrace)");
    cortex_m::asm::udf()
}

/// [`TickIdle`] that feeds the watchdog on every turn of the loop.
struct WatchedIdle {
    tick: TickIdle<TICK_US>,
    dog: IndependentWatchdog,
}

impl Idle for WatchedIdle {
    const WAKES: &'static str = TickIdle::<TICK_US>::WAKES;

    fn idle(&mut self, now_us: u64, until_us: u64) {
        self.dog.feed();
        self.tick.idle(now_us, until_us);
    }
}

/// Brings the board up and runs the witness; never returns.
pub fn run() -> ! {
    // Taken once, at reset: cannot fail.
    let (Some(dp), Some(cp)) = (pac::Peripherals::take(), cortex_m::Peripherals::take()) else {
        crate::fatal("peripherals taken twice")
    };
    defmt::info!("NUCLEO-F429ZI: witness firmware starting");
    let epoch = boot_epoch(dp.FLASH);
    // Keep the bus clocked while the core sleeps in `wfi`, so a probe can
    // still read the RTT log (and halt the core); a little more power.
    dp.DBGMCU.cr.modify(|_, w| w.dbg_sleep().set_bit());

    // A hang here means no clock on HSE: the ST-LINK's MCO solder bridge.
    defmt::info!(
        "clocks: HSE {} Hz from the ST-LINK, core {} Hz",
        HSE_HZ,
        CORE_HZ
    );
    let clocks = dp
        .RCC
        .constrain()
        .cfgr
        .use_hse(HSE_HZ.Hz())
        .bypass_hse_oscillator()
        .sysclk(CORE_HZ.Hz())
        .hclk(CORE_HZ.Hz())
        .freeze();

    let mut counter = dp.TIM2.counter_us(&clocks);
    if counter.start(u32::MAX.micros()).is_err() {
        crate::fatal("TIM2 refused its period");
    }
    let mut clock = Tim2Clock {
        counter,
        last: 0,
        total: 0,
    };

    let gpioa = dp.GPIOA.split();
    let gpiob = dp.GPIOB.split();
    let gpioc = dp.GPIOC.split();
    let gpiof = dp.GPIOF.split();
    let gpiog = dp.GPIOG.split();
    let pins = crate::app::Pins {
        primary_led: gpiob.pb0.into_push_pull_output(),
        secondary_led: gpiob.pb7.into_push_pull_output(),
        grant_led: gpiob.pb14.into_push_pull_output(),
        // Low (released) from here on; the relay module's input.
        fence: gpiof.pf13.into_push_pull_output(),
    };

    let eth_pins = EthPins {
        ref_clk: gpioa.pa1,
        crs: gpioa.pa7,
        tx_en: gpiog.pg11,
        tx_d0: gpiog.pg13,
        tx_d1: gpiob.pb13,
        rx_d0: gpioc.pc4,
        rx_d1: gpioc.pc5,
    };
    let mdio: Mdio = gpioa.pa2.into_alternate().speed(PinSpeed::VeryHigh);
    let mdc: Mdc = gpioc.pc1.into_alternate().speed(PinSpeed::VeryHigh);
    let (rx_ring, tx_ring) = rings();
    let parts_in = PartsIn {
        mac: dp.ETHERNET_MAC,
        mmc: dp.ETHERNET_MMC,
        dma: dp.ETHERNET_DMA,
    };
    let Ok(Parts { mac, dma, .. }) = stm32_eth::new_with_mii(
        parts_in,
        &mut rx_ring[..],
        &mut tx_ring[..],
        clocks,
        eth_pins,
        mdio,
        mdc,
    ) else {
        crate::fatal("ethernet: core clock below 25 MHz")
    };
    dma.enable_interrupt();
    let mut phy = LAN8742A::new(mac, PHY_ADDR);
    phy.phy_init();
    let mut nic = Nic {
        dma,
        phy,
        link: None,
        link_check_at: 0,
        counters: [0; 4],
    };
    let mac = crate::config::MAC.unwrap_or_else(mac_from_uid);

    // Started last: the boot counter's sector erase (up to 4 s) and the
    // PHY bring-up come before. Frozen with the core when a probe halts it.
    let mut dog = IndependentWatchdog::new(dp.IWDG);
    dog.stop_on_debug(&dp.DBGMCU, true);
    dog.start(WATCHDOG_MS.millis());
    defmt::info!("watchdog: {} ms", WATCHDOG_MS);
    let mut idle = WatchedIdle {
        tick: TickIdle::start(cp.SYST, CORE_HZ),
        dog,
    };
    crate::app::run(&mut nic, mac, &mut clock, &mut idle, pins, epoch)
}
