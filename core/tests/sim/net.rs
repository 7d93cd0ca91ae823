//! The simulated network: two links (0 private, 1 public), a port per node
//! per link that can be cut, and per-direction loss, delay, duplication
//! (reordering follows from random delays).

use failover_core::{Duration, LinkId};
use rand::Rng;
use rand_pcg::Pcg64Mcg;

use super::NodeIx;

/// Which nodes are attached to which link: the witness only to the private one.
pub fn attached(link: LinkId, node: NodeIx) -> bool {
    link.0 == 0 || node != NodeIx::Witness
}

/// Impairments of one direction between two nodes on one link.
#[derive(Debug, Clone, Copy)]
pub struct PathQuality {
    /// Probability that a frame is lost.
    pub loss: f64,
    /// Probability that a frame is delivered twice.
    pub dup: f64,
}

impl PathQuality {
    pub const CLEAN: PathQuality = PathQuality {
        loss: 0.0,
        dup: 0.0,
    };
}

/// The whole network's state.
#[derive(Debug, Clone)]
pub struct Network {
    /// `up[link][node]`: the node's switch port on that link.
    pub up: [[bool; 3]; 2],
    /// `quality[link][from][to]`.
    pub quality: [[[PathQuality; 3]; 3]; 2],
    /// Delay range for every frame.
    pub delay_min: Duration,
    pub delay_max: Duration,
}

impl Network {
    pub fn new(delay_min: Duration, delay_max: Duration) -> Self {
        Network {
            up: [[true; 3]; 2],
            quality: [[[PathQuality::CLEAN; 3]; 3]; 2],
            delay_min,
            delay_max,
        }
    }

    /// Whether frames can currently pass from `from` to `to` on `link`
    /// (ports up; loss is drawn separately).
    pub fn connected(&self, link: LinkId, from: NodeIx, to: NodeIx) -> bool {
        let l = link.0 as usize;
        l < 2
            && attached(link, from)
            && attached(link, to)
            && self.up[l][from as usize]
            && self.up[l][to as usize]
    }

    /// The delays (zero, one or two copies) of a frame sent now.
    pub fn fate(
        &self,
        rng: &mut Pcg64Mcg,
        link: LinkId,
        from: NodeIx,
        to: NodeIx,
    ) -> [Option<Duration>; 2] {
        if !self.connected(link, from, to) {
            return [None, None];
        }
        let q = self.quality[link.0 as usize][from as usize][to as usize];
        if q.loss > 0.0 && rng.gen_bool(q.loss) {
            return [None, None];
        }
        let first = Some(self.delay(rng));
        let second = if q.dup > 0.0 && rng.gen_bool(q.dup) {
            Some(self.delay(rng))
        } else {
            None
        };
        [first, second]
    }

    fn delay(&self, rng: &mut Pcg64Mcg) -> Duration {
        let lo = self.delay_min.total_micros();
        let hi = self.delay_max.total_micros().max(lo);
        Duration::from_micros(rng.gen_range(lo..=hi))
    }

    /// Sets the loss on every direction of `link`.
    pub fn set_link_loss(&mut self, link: usize, loss: f64) {
        for from in 0..3 {
            for to in 0..3 {
                self.quality[link][from][to].loss = loss;
            }
        }
    }

    /// The highest loss on any path that touches the primary or the
    /// secondary (for deciding whether liveness can be demanded).
    pub fn max_loss(&self) -> f64 {
        let mut max: f64 = 0.0;
        for link in &self.quality {
            for row in link {
                for q in row {
                    max = max.max(q.loss);
                }
            }
        }
        max
    }

    pub fn all_up(&self) -> bool {
        self.up.iter().all(|l| l.iter().all(|&u| u))
    }
}
