//! Temperature scaling: one `T > 0` such that `sigmoid(z / T)` minimises the mean NLL.
//!
//! In terms of `beta = 1 / T` the objective `f(beta) = mean softplus(beta z) - y beta z` is a
//! one-parameter logistic regression without intercept, hence convex, with
//! `f'(beta) = mean (sigmoid(beta z) - y) z` (non-decreasing) and
//! `f''(beta) = mean sigmoid(beta z) (1 - sigmoid(beta z)) z^2`. The solver keeps a bracket on
//! which `f'` changes sign and takes Newton steps inside it, bisecting whenever Newton would
//! leave it, so it cannot diverge: if `f'` has no sign change within the bounds the optimum is at
//! a bound (separable data push `T` to its lower bound) and that bound is returned.

use serde::{Deserialize, Serialize};

use super::scores::mean_bce;
use super::{FitStatus, check_logit_pairs, fit_each_label};
use crate::error::{Result, invalid};
use crate::math::{Sum, sigmoid};
use crate::matrix::{ScoreMatrix, TargetMatrix};

/// Bounds of the temperature search.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TemperatureOptions {
    /// Smallest temperature allowed (sharpest), default 0.05.
    pub min_temperature: f64,
    /// Largest temperature allowed (flattest), default 50.
    pub max_temperature: f64,
    /// Iteration limit of the safeguarded Newton solver, default 200.
    pub max_iterations: usize,
}

impl Default for TemperatureOptions {
    fn default() -> Self {
        Self {
            min_temperature: 0.05,
            max_temperature: 50.0,
            max_iterations: 200,
        }
    }
}

/// Result of a temperature fit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TemperatureFit {
    /// The fitted temperature (divide logits by it).
    pub temperature: f64,
    /// Mean NLL at `T = 1`.
    pub nll_before: f64,
    /// Mean NLL at the fitted temperature.
    pub nll_after: f64,
    /// Newton/bisection iterations used.
    pub iterations: usize,
    /// How the fit ended.
    pub status: FitStatus,
}

/// Fits one temperature to binary logits and 0/1 targets by minimising the mean NLL.
///
/// Degenerate inputs never fail or diverge: single-class targets and all-zero logits return
/// `T = 1` (status [`FitStatus::SingleClass`] / [`FitStatus::ConstantLogits`]); separable data
/// return the lower bound (status [`FitStatus::AtBound`]).
///
/// ```
/// use sonotag_metrics::{TemperatureOptions, fit_temperature};
/// // Over-confident logits: the right temperature is above 1.
/// let z = [4.0, -4.0, 4.0, -4.0, 4.0, -4.0];
/// let y = [1, 0, 0, 0, 1, 1];
/// let fit = fit_temperature(&z, &y, &TemperatureOptions::default()).unwrap();
/// assert!(fit.temperature > 1.0 && fit.nll_after < fit.nll_before);
/// ```
pub fn fit_temperature(
    logits: &[f32],
    targets: &[u8],
    options: &TemperatureOptions,
) -> Result<TemperatureFit> {
    check_logit_pairs(logits, targets)?;
    check_options(options)?;
    let z: Vec<f64> = logits.iter().map(|&v| f64::from(v)).collect();
    Ok(solve(&z, targets, options))
}

/// Fits one temperature per label (column) of a logit matrix.
pub fn fit_temperature_per_label(
    logits: &ScoreMatrix<'_>,
    targets: &TargetMatrix<'_>,
    options: &TemperatureOptions,
) -> Result<Vec<TemperatureFit>> {
    check_options(options)?;
    fit_each_label(logits, targets, "temperatures", |z, y| solve(z, y, options))
}

fn check_options(o: &TemperatureOptions) -> Result<()> {
    if !(o.min_temperature > 0.0
        && o.min_temperature < o.max_temperature
        && o.max_temperature.is_finite())
    {
        return Err(invalid(
            "min_temperature/max_temperature",
            format!(
                "need 0 < min < max < inf, got [{}, {}]",
                o.min_temperature, o.max_temperature
            ),
        ));
    }
    Ok(())
}

/// `(f'(beta), f''(beta))`, compensated sums.
fn derivatives(z: &[f64], y: &[u8], beta: f64) -> (f64, f64) {
    let (mut g, mut h) = (Sum::default(), Sum::default());
    for (&zi, &yi) in z.iter().zip(y) {
        let s = sigmoid(beta * zi);
        g.add((s - f64::from(yi)) * zi);
        h.add(s * (1.0 - s) * zi * zi);
    }
    let n = z.len() as f64;
    (g.value() / n, h.value() / n)
}

fn solve(z: &[f64], y: &[u8], o: &TemperatureOptions) -> TemperatureFit {
    let nll = |beta: f64| mean_bce(z.iter().map(|&zi| beta * zi), y);
    let nll_before = nll(1.0);
    let finish = |beta: f64, iterations, status| TemperatureFit {
        temperature: 1.0 / beta,
        nll_before,
        nll_after: nll(beta),
        iterations,
        status,
    };
    let n_pos = y.iter().filter(|&&t| t == 1).count();
    if n_pos == 0 || n_pos == y.len() {
        return finish(1.0, 0, FitStatus::SingleClass);
    }
    if z.iter().all(|&v| v == 0.0) {
        return finish(1.0, 0, FitStatus::ConstantLogits);
    }
    let (mut lo, mut hi) = (1.0 / o.max_temperature, 1.0 / o.min_temperature);
    if derivatives(z, y, lo).0 >= 0.0 {
        return finish(lo, 0, FitStatus::AtBound);
    }
    if derivatives(z, y, hi).0 <= 0.0 {
        return finish(hi, 0, FitStatus::AtBound);
    }
    let mut beta = 1.0f64.clamp(lo, hi);
    for it in 1..=o.max_iterations {
        let (g, h) = derivatives(z, y, beta);
        if g == 0.0 {
            return finish(beta, it, FitStatus::Converged);
        }
        if g < 0.0 {
            lo = beta;
        } else {
            hi = beta;
        }
        let newton = beta - g / h;
        let next = if h > 0.0 && newton > lo && newton < hi {
            newton
        } else {
            0.5 * (lo + hi)
        };
        let step = (next - beta).abs();
        beta = next;
        if step <= 1e-15 * beta || hi - lo <= 1e-15 * hi {
            return finish(beta, it, FitStatus::Converged);
        }
    }
    finish(beta, o.max_iterations, FitStatus::MaxIterations)
}
