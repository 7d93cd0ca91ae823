//! Board support: each board is a small module that brings up its clock,
//! its network device and its pins, finds a boot epoch, and hands them to
//! [`crate::app::run`]. One board per build, chosen by cargo feature:
//!
//! * `board-mps2-an385` (default): QEMU's MPS2-AN385, the lab's witness;
//! * `board-nucleo-f429zi`: ST's NUCLEO-F429ZI, a real board.

#[cfg(feature = "board-nucleo-f429zi")]
mod tick;

#[cfg(feature = "board-mps2-an385")]
pub mod mps2_an385;
#[cfg(feature = "board-mps2-an385")]
pub use mps2_an385::run;

#[cfg(feature = "board-nucleo-f429zi")]
pub mod nucleo_f429zi;
#[cfg(feature = "board-nucleo-f429zi")]
pub use nucleo_f429zi::run;
