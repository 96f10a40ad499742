//! Test support: a small deterministic byte generator for the no-panic-on-noise tests of the
//! decoders (the same bytes every run, so a failure reproduces).

/// A linear congruential generator (Knuth's MMIX constants), high bits out.
pub(crate) struct Lcg(pub(crate) u64);

impl Lcg {
    pub(crate) fn next(&mut self) -> u8 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as u8
    }
}
