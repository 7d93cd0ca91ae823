//! What the witness application needs from a board, as traits, so the
//! application (`app.rs`) is the same on every board: a network device
//! (smoltcp's `phy::Device`), a [`Clock`], a way to [`Idle`] until
//! something may have happened, and embedded-hal 1.0 `OutputPin`s for the
//! LEDs and the fence.

use core::convert::Infallible;

use embedded_hal::digital::{ErrorType, OutputPin};

/// A monotonic clock.
pub trait Clock {
    /// Microseconds since an origin of the board's choosing (boot). Never
    /// goes backwards.
    fn now_micros(&mut self) -> u64;
}

/// What a network device can tell about itself, for the status log.
pub trait NetStatus {
    /// Whether the PHY reports a link.
    fn link_up(&mut self) -> bool;
    /// Frames received, frames dropped on receipt, frames sent, send
    /// failures (errors and a full transmit queue).
    fn counters(&self) -> [u32; 4];
}

/// Sleeping between wake-ups.
pub trait Idle {
    /// Sleeps until a frame may have arrived or the clock reaches
    /// `until_us` (the loop's next deadline, in [`Clock::now_micros`]'s
    /// terms; `now_us` is the time now), whichever comes first. A board may
    /// wake earlier (a periodic tick); never later than the deadline, as
    /// far as its timer allows.
    fn idle(&mut self, now_us: u64, until_us: u64);

    /// When [`Idle::idle`] returns, in words, for the start-up log.
    const WAKES: &'static str;
}

/// An output that goes nowhere: a board without LEDs or a fence relay (the
/// QEMU board) passes these.
#[cfg_attr(not(feature = "board-mps2-an385"), allow(dead_code))]
#[derive(Debug, Default, Clone, Copy)]
pub struct NoPin;

impl ErrorType for NoPin {
    type Error = Infallible;
}

impl OutputPin for NoPin {
    fn set_low(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}
