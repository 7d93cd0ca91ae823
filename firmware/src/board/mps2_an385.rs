//! The Arm MPS2 FPGA board with the AN385 image (Cortex-M3), as QEMU models
//! it (`qemu-system-arm -M mps2-an385`): the SMSC LAN9118 at 0x4020_0000 is
//! the network device and, through its 25 MHz FREE_RUN counter, the clock;
//! the core sleeps in `wfi` until the LAN9118's interrupt line (a frame) or
//! SysTick (the loop's next deadline) wakes it ([`FrameOrDeadline`]);
//! there are no LEDs or relay to drive, so the pins are [`NoPin`]s;
//! semihosting carries the defmt log out and provides the time of day for
//! the boot epoch.

use cortex_m::interrupt::InterruptNumber;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::{NVIC, SCB, SYST};

use crate::hal::{Idle, NoPin};
use crate::lan9118::phy::Lan9118;
use crate::lan9118::regs::Regs;
use crate::lan9118::{Chip, FreeRunClock, RxInterrupt};

/// The core clock (and SysTick's) on the MPS2: 25 MHz.
const CORE_HZ: u32 = 25_000_000;
/// SysTick's counter is 24 bits: at 25 MHz it reaches 0.67 s at most, so
/// an idle witness still wakes about 1.5 times a second.
const SYSTICK_MAX: u32 = 0x00FF_FFFF;

/// The LAN9118's interrupt line on the MPS2's NVIC: external interrupt 13
/// (`ETHERNET_IRQn` in Arm's AN385 documentation; QEMU's `hw/arm/mps2.c`).
#[derive(Clone, Copy)]
struct EthernetIrq;

// SAFETY: 13 is an external interrupt the MPS2-AN385's NVIC has (QEMU's
// Cortex-M3 there has 32), which is what `InterruptNumber` requires.
#[allow(unsafe_code)]
unsafe impl InterruptNumber for EthernetIrq {
    fn number(self) -> u16 {
        13
    }
}

/// The MPS2-AN385's external interrupts: 32 on QEMU's Cortex-M3 there.
const EXTERNAL_INTERRUPTS: usize = 32;

extern "C" {
    /// cortex-m-rt's handler for any exception without one of its own.
    fn DefaultHandler();
}

/// The interrupt half of the vector table, one entry per external
/// interrupt of this board, each to `DefaultHandler`: none is ever taken
/// ([`FrameOrDeadline`] keeps PRIMASK set; the Ethernet line only ends
/// `wfi`), but a vector the NVIC has must point somewhere. cortex-m-rt's
/// own table (without its `device` feature) has 240 entries for any
/// ARMv7-M, 832 B of flash more than this board has interrupts for.
// SAFETY: cortex-m-rt's `device` feature requires exactly this symbol in
// this section (its link.x places it after the exception vectors and checks
// the table's size); nothing else has the name, and the entries are
// functions with the ABI and signature of an exception handler.
#[allow(unsafe_code)]
#[unsafe(link_section = ".vector_table.interrupts")]
#[unsafe(no_mangle)]
static __INTERRUPTS: [unsafe extern "C" fn(); EXTERNAL_INTERRUPTS] =
    [DefaultHandler; EXTERNAL_INTERRUPTS];

/// Sleeps in `wfi` until a frame arrives or the loop's deadline passes,
/// with interrupts masked for good (PRIMASK): a pending interrupt still
/// ends `wfi`, but no handler ever runs. So nothing happens in interrupt
/// context, and a frame that arrives after the loop last read the chip
/// keeps its interrupt pending, and the next `wfi` returns at once: no
/// wake-up is lost. Before this, the witness woke every 250 µs to poll.
struct FrameOrDeadline {
    syst: SYST,
    rx: RxInterrupt,
}

impl FrameOrDeadline {
    fn start(mut syst: SYST, rx: RxInterrupt) -> Self {
        cortex_m::interrupt::disable();
        syst.set_clock_source(SystClkSource::Core);
        // TICKINT: reaching zero pends SysTick, which ends `wfi`.
        syst.enable_interrupt();
        // SAFETY: unmasking an interrupt is unsafe because its handler may
        // then run and break a critical section. None ever runs here:
        // PRIMASK was set just above and is never cleared (the only
        // critical sections, defmt's, save and restore it), so the line only
        // wakes `wfi`.
        #[allow(unsafe_code)]
        unsafe {
            NVIC::unmask(EthernetIrq);
        }
        FrameOrDeadline { syst, rx }
    }
}

impl Idle for FrameOrDeadline {
    const WAKES: &'static str = "on a frame or at its next deadline";

    fn idle(&mut self, now_us: u64, until_us: u64) {
        if until_us <= now_us {
            return;
        }
        let cycles = (until_us - now_us).saturating_mul(u64::from(CORE_HZ / 1_000_000));
        let reload = u32::try_from(cycles)
            .unwrap_or(SYSTICK_MAX)
            .clamp(1, SYSTICK_MAX);
        self.syst.disable_counter();
        self.syst.set_reload(reload);
        self.syst.clear_current();
        SCB::clear_pendst();
        self.syst.enable_counter();
        cortex_m::asm::wfi();
        // Re-arm both sources before the loop reads the chip (see the
        // type's documentation).
        self.rx.acknowledge();
        NVIC::unpend(EthernetIrq);
        SCB::clear_pendst();
    }
}

/// The boot epoch: the host's time of day (semihosting SYS_TIME, whole
/// seconds), so each boot's epoch is larger than the last one's, as the
/// protocol requires, provided boots are at least a second apart (the lab
/// waits that long between a power-off and the next power-on). A board
/// with flash would keep a boot counter instead (docs/protocol.md,
/// "Epochs").
fn boot_epoch() -> u32 {
    use semihosting::experimental::time::SystemTime;
    let secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(1, |d| d.as_secs());
    // The image's build time as a floor, should the host's clock be off.
    u32::try_from(secs)
        .unwrap_or(u32::MAX)
        .max(crate::config::BUILD_EPOCH)
}

/// Brings the board up and runs the witness; never returns.
pub fn run() -> ! {
    // Taken once, at reset: cannot fail.
    let Some(core) = cortex_m::Peripherals::take() else {
        crate::fatal("core peripherals taken twice")
    };
    let Some(regs) = Regs::mps2_an385() else {
        crate::fatal("LAN9118 taken twice")
    };
    let chip = match Chip::init(regs, crate::config::MAC) {
        Ok(c) => c,
        Err(e) => {
            defmt::error!("LAN9118: {}", e);
            crate::fatal("no network device")
        }
    };
    let mut clock = FreeRunClock::new(chip.free_run());
    let mac = chip.mac();
    let mut idle = FrameOrDeadline::start(core.SYST, chip.rx_interrupt());
    let mut nic = Lan9118::new(chip);
    let pins = crate::app::Pins {
        primary_led: NoPin,
        secondary_led: NoPin,
        grant_led: NoPin,
        fence: NoPin,
    };
    crate::app::run(&mut nic, mac, &mut clock, &mut idle, pins, boot_epoch())
}

/// A panic logs where it happened (defmt, over semihosting) and ends QEMU
/// with a failure status, which the lab reports. The message is not read:
/// formatting it would keep `core::fmt` and its formatters in the image,
/// some 2 KB of flash. The firmware's own fatal errors are logged before
/// they panic.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    match info.location() {
        Some(at) => defmt::error!("panic at {}:{}", at.file(), at.line()),
        None => defmt::error!("panic"),
    }
    semihosting::process::exit(101)
}
