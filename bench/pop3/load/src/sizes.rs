//! Message sizes: a fixed size, or "mixed", a spread like real mailboxes where most messages
//! are small and a few are large: log-uniform between 2 KiB and 100 KiB (median ~14 KiB,
//! mean ~25 KiB), drawn from the message number so every run and both servers agree.

use crate::corpus::{self, Rng};

const MIXED_MIN: f64 = 2048.0;
const MIXED_MAX: f64 = 102_400.0;

/// How big the corpus messages are.
#[derive(Clone, Copy, Debug)]
pub enum Sizes {
    Fixed(usize),
    Mixed,
}

impl Sizes {
    pub fn parse(spec: &str) -> Result<Self, String> {
        if spec == "mixed" {
            return Ok(Sizes::Mixed);
        }
        spec.parse()
            .map(Sizes::Fixed)
            .map_err(|_| format!("--size: a number or 'mixed', not {spec}"))
    }

    /// Size in octets of corpus message `i`.
    pub fn of(self, i: u64) -> usize {
        match self {
            Sizes::Fixed(n) => n,
            Sizes::Mixed => {
                // A different stream from the one corpus::message uses for the words.
                let u = (Rng::new(i ^ 0x51_2e5).next() >> 11) as f64 / (1u64 << 53) as f64;
                (MIXED_MIN * (MIXED_MAX / MIXED_MIN).powf(u)) as usize
            }
        }
    }

    /// Corpus message `i` at its size.
    pub fn message(self, i: u64) -> Vec<u8> {
        corpus::message(i, self.of(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_sizes_span_the_range_with_a_realistic_median() {
        let mut v: Vec<usize> = (0..10_000).map(|i| Sizes::Mixed.of(i)).collect();
        v.sort_unstable();
        assert!(v[0] >= 2048 && v[v.len() - 1] <= 102_400);
        assert!(
            v[0] < 2300 && v[v.len() - 1] > 95_000,
            "{} .. {}",
            v[0],
            v[v.len() - 1]
        );
        let median = v[v.len() / 2];
        assert!((12_000..17_000).contains(&median), "median {median}");
        let mean = v.iter().sum::<usize>() / v.len();
        assert!((22_000..28_000).contains(&mean), "mean {mean}");
    }

    #[test]
    fn messages_have_their_size() {
        for i in 0..200 {
            assert_eq!(Sizes::Mixed.message(i).len(), Sizes::Mixed.of(i));
        }
        assert_eq!(Sizes::Fixed(4096).message(3).len(), 4096);
    }
}
