//! The optimizer's arithmetic: how much of a rule's traffic each target
//! gets when the rule says `"optimize": true`.
//!
//! **Thompson sampling over EPC.** Each target's earnings per click is
//! uncertain: its conversion rate is drawn from Beta(1 + conversions,
//! 1 + clicks − conversions) and multiplied by its payout per conversion
//! (the rule's pooled figure while a target has none of its own). Of many
//! such draws, the share in which a target comes out best is its share of
//! the traffic: a clear winner takes most, targets that cannot yet be told
//! apart split evenly, and a target with little traffic still gets tried.
//!
//! **The floor.** Every target keeps at least `floor` of the traffic (5 %
//! unless the rule says otherwise), so a target that lost early keeps being
//! measured and can win back its share; the rest is shared in proportion.
//!
//! Pure: the caller brings the counts and the random numbers ([`Rng`], a
//! seeded xorshift, so every node of a cluster seeding it alike computes
//! the same weights).

/// What a target did over the optimizer's window.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Arm {
    pub clicks: u64,
    pub conversions: u64,
    /// The payout those conversions earned, in one currency.
    pub payout: f64,
}

/// The weights the optimizer's shares become: relative, out of this.
pub const WEIGHT_SCALE: u32 = 10_000;

/// A small, seedable generator (xorshift64*): reproducible draws, no
/// dependency, good enough for sampling.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        // xorshift has a fixed point at 0
        Rng(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in (0, 1): never 0, so logarithms stay finite.
    pub fn unit(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        // Box-Muller
        let (u, v) = (self.unit(), self.unit());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// Gamma(shape, 1) by Marsaglia and Tsang; shape >= 1 here (Beta's
    /// parameters are counts plus one).
    fn gamma(&mut self, shape: f64) -> f64 {
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let x = self.normal();
            let v = (1.0 + c * x).powi(3);
            if v <= 0.0 {
                continue;
            }
            let u = self.unit();
            if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
                return d * v;
            }
        }
    }

    pub fn beta(&mut self, a: f64, b: f64) -> f64 {
        let x = self.gamma(a);
        let y = self.gamma(b);
        x / (x + y)
    }
}

/// Each target's share of the traffic (they sum to 1): the share of
/// `samples` Thompson draws it wins, lifted to at least `floor` (a
/// fraction; with more targets than `1 / floor`, all share evenly).
pub fn shares(arms: &[Arm], floor: f64, samples: u32, rng: &mut Rng) -> Vec<f64> {
    let n = arms.len();
    if n == 0 {
        return Vec::new();
    }
    let (paid, converted) = arms
        .iter()
        .fold((0.0, 0u64), |(p, c), a| (p + a.payout, c + a.conversions));
    // a target without conversions of its own is valued at the rule's mean
    let pooled = if converted > 0 {
        paid / converted as f64
    } else {
        1.0
    };
    let value: Vec<f64> = arms
        .iter()
        .map(|a| {
            if a.conversions > 0 {
                a.payout / a.conversions as f64
            } else {
                pooled
            }
        })
        .collect();
    let mut wins = vec![0u32; n];
    let samples = samples.max(1);
    for _ in 0..samples {
        let mut best = (f64::MIN, 0);
        for (i, a) in arms.iter().enumerate() {
            let conv = a.conversions.min(a.clicks);
            let rate = rng.beta(1.0 + conv as f64, 1.0 + (a.clicks - conv) as f64);
            let epc = rate * value[i];
            if epc > best.0 {
                best = (epc, i);
            }
        }
        wins[best.1] += 1;
    }
    let floor = floor.clamp(0.0, 1.0 / n as f64);
    let free = 1.0 - floor * n as f64;
    wins.iter()
        .map(|w| floor + free * f64::from(*w) / f64::from(samples))
        .collect()
}

/// Shares as split weights out of [`WEIGHT_SCALE`], each at least 1 (a
/// weight of 0 would take a target out of the split altogether).
pub fn weights(shares: &[f64]) -> Vec<u32> {
    shares
        .iter()
        .map(|s| ((s * f64::from(WEIGHT_SCALE)).round() as u32).max(1))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arm(clicks: u64, conversions: u64, payout: f64) -> Arm {
        Arm {
            clicks,
            conversions,
            payout,
        }
    }

    #[test]
    fn a_clear_winner_takes_all_but_the_floor() {
        let arms = [arm(5_000, 250, 2_500.0), arm(5_000, 50, 500.0)];
        let s = shares(&arms, 0.05, 2_000, &mut Rng::new(7));
        assert!((s[0] - 0.95).abs() < 1e-9, "{s:?}");
        assert!((s[1] - 0.05).abs() < 1e-9, "{s:?}");
        assert_eq!(weights(&s), vec![9_500, 500]);
    }

    #[test]
    fn payout_counts_not_just_conversion_rate() {
        // B converts half as often but pays four times as much: EPC 0.4 vs 0.2
        let arms = [arm(10_000, 200, 2_000.0), arm(10_000, 100, 4_000.0)];
        let s = shares(&arms, 0.05, 2_000, &mut Rng::new(3));
        assert!(s[1] > 0.9, "{s:?}");
    }

    #[test]
    fn targets_that_cannot_be_told_apart_split_about_evenly() {
        let arms = [arm(0, 0, 0.0), arm(0, 0, 0.0), arm(0, 0, 0.0)];
        let s = shares(&arms, 0.05, 30_000, &mut Rng::new(11));
        for x in &s {
            assert!((x - 1.0 / 3.0).abs() < 0.02, "{s:?}");
        }
        assert!((s.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn the_floor_holds_and_shares_sum_to_one() {
        let arms = [
            arm(100_000, 9_000, 9_000.0),
            arm(100, 0, 0.0),
            arm(100, 0, 0.0),
        ];
        let s = shares(&arms, 0.10, 1_000, &mut Rng::new(5));
        assert!(s.iter().all(|x| *x >= 0.10 - 1e-12), "{s:?}");
        assert!((s.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        // more targets than the floor allows: all share evenly
        let many = [arm(10, 1, 1.0); 25];
        let s = shares(&many, 0.05, 100, &mut Rng::new(5));
        assert!(s.iter().all(|x| (x - 0.04).abs() < 1e-9), "{s:?}");
    }

    #[test]
    fn the_same_seed_gives_the_same_shares() {
        let arms = [arm(300, 12, 120.0), arm(280, 10, 150.0)];
        let a = shares(&arms, 0.05, 500, &mut Rng::new(42));
        let b = shares(&arms, 0.05, 500, &mut Rng::new(42));
        assert_eq!(a, b);
    }

    #[test]
    fn beta_draws_have_the_right_mean() {
        let mut rng = Rng::new(9);
        let n = 20_000;
        let mean: f64 = (0..n).map(|_| rng.beta(3.0, 7.0)).sum::<f64>() / f64::from(n);
        assert!((mean - 0.3).abs() < 0.01, "{mean}");
    }
}
