//! The failover witness firmware: failover-core's [`Witness`] machine on a
//! Cortex-M microcontroller, on the private network with smoltcp (UDP over
//! IPv4, ARP), configured at build time (`witness.toml`), logging with
//! defmt.
//!
//! * `app`: the board-independent loop, generic over a smoltcp device, a
//!   clock, an idle strategy and embedded-hal output pins;
//! * `hal`: those traits, and a no-op pin;
//! * `lan9118`: the Ethernet controller's driver (registers, chip
//!   procedures, smoltcp glue);
//! * `board`: one small module per board;
//! * `config`: the build-time configuration.
//!
//! The only `unsafe` code is the LAN9118's register access
//! (`lan9118/regs.rs`); everything else is denied it.
//!
//! [`Witness`]: failover_core::Witness
#![no_std]
#![no_main]
#![deny(unsafe_code)]

// The critical-section implementation defmt-semihosting needs (cortex-m's
// `critical-section-single-core`); the link fails without a reference.
use cortex_m as _;
// The defmt logger (semihosting stdout) and the panic handler (the message
// on semihosting stderr, then QEMU exits with a failure status).
use defmt_semihosting as _;
use semihosting as _;

mod app;
mod board;
mod config;
mod hal;
mod lan9118;

use core::sync::atomic::{AtomicU32, Ordering};

/// Milliseconds since boot, for defmt's timestamps (set by the loop).
static NOW_MS: AtomicU32 = AtomicU32::new(0);

defmt::timestamp!("{=u32:ms}", NOW_MS.load(Ordering::Relaxed));

/// Records the time for log timestamps.
pub(crate) fn set_log_time(micros: u64) {
    NOW_MS.store((micros / 1000) as u32, Ordering::Relaxed);
}

/// Stops on an unrecoverable start-up error (logged first).
pub(crate) fn fatal(why: &'static str) -> ! {
    defmt::error!("fatal: {}", why);
    panic!("{}", why)
}

#[cortex_m_rt::entry]
fn main() -> ! {
    board::mps2_an385::run()
}
