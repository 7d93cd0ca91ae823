//! The failover witness firmware: failover-core's [`Witness`] machine on a
//! Cortex-M microcontroller, on the private network with smoltcp (UDP over
//! IPv4, ARP), configured at build time (`witness.toml`), logging with
//! defmt.
//!
//! * `app`: the board-independent loop, generic over a smoltcp device, a
//!   clock, an idle strategy and embedded-hal output pins;
//! * `hal`: those traits, and a no-op pin;
//! * `lan9118`: the QEMU board's Ethernet controller's driver (registers,
//!   chip procedures, smoltcp glue);
//! * `bootcount`: the real board's boot counter in flash (the epoch);
//! * `board`: one small module per board, chosen by cargo feature
//!   (`board-mps2-an385`, the default, or `board-nucleo-f429zi`);
//! * `config`: the build-time configuration;
//! * `stack`: the stack's high-water mark, for the status log.
//!
//! `unsafe` code is denied everywhere except, each with its reasons: the
//! LAN9118's register access (`lan9118/regs.rs`), the QEMU board's
//! interrupt number and unmasking (`board/mps2_an385.rs`), and the read of
//! the painted stack region (`stack.rs`).
//!
//! [`Witness`]: failover_core::Witness
#![no_std]
#![no_main]
#![deny(unsafe_code)]

#[cfg(all(feature = "board-mps2-an385", feature = "board-nucleo-f429zi"))]
compile_error!(
    "two boards selected: build the NUCLEO with --no-default-features --features board-nucleo-f429zi"
);
#[cfg(not(any(feature = "board-mps2-an385", feature = "board-nucleo-f429zi")))]
compile_error!("no board selected: enable board-mps2-an385 or board-nucleo-f429zi");

// The critical-section implementation the defmt loggers need (cortex-m's
// `critical-section-single-core`); the link fails without a reference.
use cortex_m as _;
// QEMU: the defmt logger (semihosting stdout). Each board's panic handler
// is in its board module.
#[cfg(feature = "board-mps2-an385")]
use defmt_semihosting as _;
// A real board: the defmt logger over RTT (a debug probe reads it from
// RAM); its panic handler is in its board module.
#[cfg(feature = "board-nucleo-f429zi")]
use defmt_rtt as _;

mod app;
mod board;
#[cfg(feature = "board-nucleo-f429zi")]
mod bootcount;
mod config;
mod hal;
#[cfg(feature = "board-mps2-an385")]
mod lan9118;
mod stack;

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
    board::run()
}
