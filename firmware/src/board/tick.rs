//! Sleeping in `wfi` until SysTick (or any other enabled interrupt) wakes
//! the core: the [`Idle`] every board uses. The tick bounds the delay the
//! witness adds to a frame it receives when nothing else wakes it.

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::SYST;
use cortex_m_rt::exception;

use crate::hal::Idle;

/// Sleeps in `wfi` until the next SysTick, every `TICK_US` µs, or an
/// earlier interrupt.
pub struct TickIdle<const TICK_US: u32> {
    _syst: SYST,
}

impl<const TICK_US: u32> TickIdle<TICK_US> {
    /// Starts SysTick on the core clock, which runs at `core_hz`.
    pub fn start(mut syst: SYST, core_hz: u32) -> Self {
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload(core_hz / 1_000_000 * TICK_US - 1);
        syst.clear_current();
        syst.enable_interrupt();
        syst.enable_counter();
        TickIdle { _syst: syst }
    }
}

impl<const TICK_US: u32> Idle for TickIdle<TICK_US> {
    const WAKES: &'static str = "at every tick or on an interrupt";

    /// Ignores the deadline: the tick is shorter than any of the
    /// witness's timers.
    fn idle(&mut self, _now_us: u64, _until_us: u64) {
        cortex_m::asm::wfi();
    }
}

/// The tick only wakes the core; the loop does the work.
#[exception]
fn SysTick() {}
