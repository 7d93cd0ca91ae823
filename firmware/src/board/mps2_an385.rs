//! The Arm MPS2 FPGA board with the AN385 image (Cortex-M3), as QEMU models
//! it (`qemu-system-arm -M mps2-an385`): the SMSC LAN9118 at 0x4020_0000 is
//! the network device and, through its 25 MHz FREE_RUN counter, the clock;
//! SysTick wakes the core from `wfi`; there are no LEDs or relay to drive,
//! so the pins are [`NoPin`]s; semihosting carries the defmt log out and
//! provides the time of day for the boot epoch.

use super::tick::TickIdle;
use crate::hal::NoPin;
use crate::lan9118::phy::Lan9118;
use crate::lan9118::regs::Regs;
use crate::lan9118::{Chip, FreeRunClock};

/// The core clock (and SysTick's) on the MPS2: 25 MHz.
const CORE_HZ: u32 = 25_000_000;
/// SysTick period: the longest the witness sleeps before it looks at the
/// NIC again, so the delay it adds to a frame. Well under the protocol's
/// 1 ms delay allowance.
const TICK_US: u32 = 250;

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
    let mut nic = Lan9118::new(chip);
    let mut idle = TickIdle::<TICK_US>::start(core.SYST, CORE_HZ);
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
