//! Small numerically stable scalar helpers shared by calibration and diagnostics.

/// Logistic sigmoid in f64, without overflow for any finite input.
#[inline]
pub(crate) fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// `log(1 + exp(x))` without overflow or loss of precision in either tail.
#[inline]
pub(crate) fn softplus(x: f64) -> f64 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

/// Binary cross-entropy of a logit `z` against a 0/1 (or soft) target `y`:
/// `softplus(z) - y z`, exact in both tails.
#[inline]
pub(crate) fn bce_logit(z: f64, y: f64) -> f64 {
    // softplus(z) - y z = y softplus(-z) + (1 - y) softplus(z): both terms are >= 0, no cancellation.
    y * softplus(-z) + (1.0 - y) * softplus(z)
}

/// Logistic sigmoid in f32 computed in f64 and rounded once.
#[inline]
pub(crate) fn sigmoid_f32(x: f32) -> f32 {
    sigmoid(f64::from(x)) as f32
}

/// Neumaier-compensated sum accumulator: keeps long f64 sums accurate to ~1 ulp.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Sum {
    sum: f64,
    comp: f64,
}

impl Sum {
    #[inline]
    pub(crate) fn add(&mut self, x: f64) {
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.comp += (self.sum - t) + x;
        } else {
            self.comp += (x - t) + self.sum;
        }
        self.sum = t;
    }

    #[inline]
    pub(crate) fn value(&self) -> f64 {
        self.sum + self.comp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails_are_finite_and_accurate() {
        assert_eq!(sigmoid(-1e4), 0.0);
        assert_eq!(sigmoid(1e4), 1.0);
        assert!((softplus(-30.0) - 9.357622968839299e-14).abs() < 1e-25);
        assert_eq!(softplus(1e4), 1e4);
        assert!((bce_logit(-15.25, 0.0) - 2.3823e-7).abs() < 1e-10);
        assert_eq!(bce_logit(1e4, 1.0), 0.0);
    }

    #[test]
    fn compensated_sum_beats_naive() {
        let mut s = Sum::default();
        s.add(1e16);
        for _ in 0..1000 {
            s.add(1.0);
        }
        s.add(-1e16);
        assert_eq!(s.value(), 1000.0);
    }
}
