//! smoltcp glue: the LAN9118 as a [`smoltcp::phy::Device`].
//!
//! Receiving takes the next frame out of the chip's RX FIFO into the
//! driver's receive buffer before handing smoltcp the tokens; sending builds
//! the frame in the transmit buffer and pushes it into the TX FIFO. Both
//! buffers are [`FRAME_BUF`] bytes, which is the MTU smoltcp is told.

use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

use super::{Chip, FRAME_BUF};

/// The chip with its two frame buffers.
#[derive(Debug)]
pub struct Lan9118 {
    chip: Chip,
    rx: [u8; FRAME_BUF],
    tx: [u8; FRAME_BUF],
}

impl Lan9118 {
    /// Wraps a chip brought up with [`Chip::init`].
    pub fn new(chip: Chip) -> Self {
        Lan9118 {
            chip,
            rx: [0; FRAME_BUF],
            tx: [0; FRAME_BUF],
        }
    }
}

impl crate::hal::NetStatus for Lan9118 {
    fn link_up(&mut self) -> bool {
        self.chip.link_up()
    }

    fn counters(&self) -> [u32; 4] {
        let s = self.chip.stats();
        [
            s.rx_frames,
            s.rx_dropped,
            s.tx_frames,
            s.tx_errors.wrapping_add(s.tx_full),
        ]
    }
}

/// A received frame, already out of the FIFO.
pub struct RxToken<'a> {
    frame: &'a [u8],
}

/// Room to build one frame to send.
pub struct TxToken<'a> {
    chip: &'a mut Chip,
    buf: &'a mut [u8; FRAME_BUF],
}

impl phy::Device for Lan9118 {
    type RxToken<'a>
        = RxToken<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = TxToken<'a>
    where
        Self: 'a;

    fn receive(&mut self, _timestamp: Instant) -> Option<(RxToken<'_>, TxToken<'_>)> {
        // A reply may be needed (ARP): only take a frame if one could go out.
        if !self.chip.tx_ready(FRAME_BUF) {
            return None;
        }
        let len = self.chip.receive(&mut self.rx)?;
        let frame = self.rx.get(..len)?;
        Some((
            RxToken { frame },
            TxToken {
                chip: &mut self.chip,
                buf: &mut self.tx,
            },
        ))
    }

    fn transmit(&mut self, _timestamp: Instant) -> Option<TxToken<'_>> {
        self.chip.tx_ready(FRAME_BUF).then(|| TxToken {
            chip: &mut self.chip,
            buf: &mut self.tx,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = FRAME_BUF;
        caps.max_burst_size = Some(1);
        caps
    }
}

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&[u8]) -> R,
    {
        f(self.frame)
    }
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        // smoltcp never asks for more than the MTU; clamp all the same.
        let len = len.min(FRAME_BUF);
        let frame = &mut self.buf[..len];
        let r = f(frame);
        self.chip.send(frame);
        r
    }
}
