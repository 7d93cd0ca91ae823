//! Board support: each board is a small module that brings up its clock,
//! its network device and its pins, finds a boot epoch, and hands them to
//! [`crate::app::run`]. Only the QEMU MPS2-AN385 board exists so far.

pub mod mps2_an385;
