//! The dB step, `librosa.power_to_db`:
//! `10 * log10(max(amin, S)) - 10 * log10(max(amin, |ref|))`, then optional clipping at
//! `max - top_db` over the whole clip. Applied to the mel spectrum whatever `power` is.

/// Precomputed constants of the dB step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct DbParams {
    /// `amin` as the f32 floor librosa applies to an f32 spectrum.
    pub amin: f32,
    /// `10 * log10(max(amin, |ref|))`, in f64 as librosa computes it.
    pub ref_db: f64,
    /// Optional dynamic range.
    pub top_db: Option<f32>,
}

impl DbParams {
    pub fn new(amin: f64, ref_value: f64, top_db: Option<f64>) -> Self {
        Self {
            amin: amin as f32,
            ref_db: 10.0 * amin.max(ref_value.abs()).log10(),
            top_db: top_db.map(|t| t as f32),
        }
    }

    /// dB of a block of mel values, in place (vectorises: no branch inside the loop).
    #[inline(always)]
    pub fn db_in_place<const N: usize>(&self, x: &mut [f32; N]) {
        let (amin, ref_db) = (self.amin, self.ref_db as f32);
        for v in x.iter_mut() {
            *v = 10.0 * fast_log10(v.max(amin)) - ref_db;
        }
    }

    /// Clips `db` in place at `max(db) - top_db`, if `top_db` is set.
    pub fn clip_top_db(&self, db: &mut [f32]) {
        let Some(top_db) = self.top_db else { return };
        let max = db.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let floor = max - top_db;
        for v in db {
            *v = v.max(floor);
        }
    }
}

/// `log10(x)` for finite normal `x > 0`, accurate to about two f32 ulps of the result
/// (below 1e-5 dB for any mel value of a real clip), written without branches so that loops over it vectorise.
///
/// `x = 2^e * m` with `m` in `[sqrt(1/2), sqrt(2))`; `ln(m)` from the Cephes `logf`
/// polynomial; `log10(x) = (e * ln 2 + ln m) * log10(e)`.
#[inline(always)]
pub fn fast_log10(x: f32) -> f32 {
    const SQRT_HALF_BITS: u32 = 0x3F35_04F3; // f32 sqrt(0.5)
    let bits = x.to_bits();
    // Exponent relative to sqrt(0.5), so that the mantissa lands in [sqrt(0.5), sqrt(2)).
    let rel = bits.wrapping_sub(SQRT_HALF_BITS);
    let e = (rel as i32) >> 23;
    let m = f32::from_bits((rel & 0x007F_FFFF).wrapping_add(SQRT_HALF_BITS));
    let f = m - 1.0;
    let z = f * f;
    let mut y = 7.037_683_6e-2f32;
    y = y * f - 1.151_461e-1;
    y = y * f + 1.167_699_9e-1;
    y = y * f - 1.242_014_1e-1;
    y = y * f + 1.424_932_3e-1;
    y = y * f - 1.666_805_8e-1;
    y = y * f + 2.000_071_5e-1;
    y = y * f - 2.499_999_4e-1;
    y = y * f + 3.333_333e-1;
    y *= f * z;
    let ln_m = f - 0.5 * z + y;
    let ef = e as f32;
    // ln 2 split in a high part exact in f32 and a low correction (Cephes).
    let ln_x = ef * 0.693_359_4 + (ln_m + ef * -2.121_944_4e-4);
    ln_x * std::f32::consts::LOG10_E
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_log10_is_accurate_over_the_f32_range() {
        // Error relative to max(1, |log10 x|): a couple of f32 ulps of the result.
        let mut worst = 0f64;
        let mut x = 1e-30f32;
        while x < 1e30 {
            let want = f64::from(x).log10();
            let got = f64::from(fast_log10(x));
            worst = worst.max((got - want).abs() / want.abs().max(1.0));
            x *= 1.000_37;
        }
        assert!(worst < 2.5e-7, "worst relative error {worst}");
        assert_eq!(fast_log10(1.0), 0.0);
    }

    #[test]
    fn db_of_silence_is_minus_100() {
        let p = DbParams::new(1e-10, 1.0, None);
        let mut x = [0.0f32, 1.0, 100.0, 1e-12];
        p.db_in_place(&mut x);
        for (got, want) in x.iter().zip([-100.0, 0.0, 20.0, -100.0]) {
            assert!((got - want).abs() < 1e-4, "{x:?}");
        }
        let p = DbParams::new(1e-10, 10.0, Some(20.0));
        let mut x = [10.0f32];
        p.db_in_place(&mut x);
        assert!(x[0].abs() < 1e-5);
        let mut v = vec![0.0, -50.0, 3.0];
        p.clip_top_db(&mut v);
        assert_eq!(v, vec![0.0, -17.0, 3.0]);
    }
}
