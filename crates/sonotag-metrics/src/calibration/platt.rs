//! Platt scaling: per label, `(a, b)` such that `sigmoid(a z + b)` minimises the mean NLL
//! against hard 0/1 targets (no Platt-1998 target smoothing, no regularisation, as the fixture
//! reference `scipy.optimize.minimize(trust-exact)`).
//!
//! The objective is a two-parameter logistic regression, convex. The solver takes Newton steps
//! (gradient steps where the 2x2 Hessian is numerically singular) with a backtracking Armijo
//! line search, projected onto the box `|a|, |b| <= max_abs_parameter`.
//!
//! Degenerate cases, all bounded:
//! - Strictly separable labels (every positive logit above every negative one, or below) have
//!   their optimum at infinity: a step at the midpoint `m` between the classes. The fit returns
//!   the steepest such step inside the box, `a = +-bound / max(1, |m|)`, `b = -a m`, with
//!   [`FitStatus::AtBound`].
//! - If the Newton iterates reach the box otherwise, the projected point is returned, also
//!   [`FitStatus::AtBound`].
//! - Single-class labels return the identity `(1, 0)` with [`FitStatus::SingleClass`].

use serde::{Deserialize, Serialize};

use super::scores::mean_bce;
use super::{FitStatus, check_logit_pairs, fit_each_label};
use crate::error::{Result, invalid};
use crate::math::{Sum, sigmoid};
use crate::matrix::{ScoreMatrix, TargetMatrix};

/// Settings of the Platt solver.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PlattOptions {
    /// Box bound on `|a|` and `|b|`, default 1000.
    pub max_abs_parameter: f64,
    /// Newton iteration limit, default 100.
    pub max_iterations: usize,
    /// Stop when the max-norm of the gradient falls below this, default 1e-12.
    pub gradient_tolerance: f64,
}

impl Default for PlattOptions {
    fn default() -> Self {
        Self {
            max_abs_parameter: 1000.0,
            max_iterations: 100,
            gradient_tolerance: 1e-12,
        }
    }
}

/// Result of one label's Platt fit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PlattFit {
    /// Slope applied to the logit.
    pub a: f64,
    /// Offset added after the slope.
    pub b: f64,
    /// Mean NLL at `(1, 0)`, i.e. of the raw logits.
    pub nll_before: f64,
    /// Mean NLL at the fitted `(a, b)`.
    pub nll_after: f64,
    /// Newton iterations used.
    pub iterations: usize,
    /// How the fit ended.
    pub status: FitStatus,
}

/// Fits `(a, b)` for one label.
///
/// ```
/// use sonotag_metrics::{PlattOptions, fit_platt};
/// let z = [2.0, 1.0, -1.0, -2.0, 0.5, -0.5];
/// let y = [1, 0, 0, 0, 1, 1];
/// let fit = fit_platt(&z, &y, &PlattOptions::default()).unwrap();
/// assert!(fit.nll_after <= fit.nll_before);
/// ```
pub fn fit_platt(logits: &[f32], targets: &[u8], options: &PlattOptions) -> Result<PlattFit> {
    check_logit_pairs(logits, targets)?;
    check_options(options)?;
    let z: Vec<f64> = logits.iter().map(|&v| f64::from(v)).collect();
    Ok(solve(&z, targets, options))
}

/// Fits `(a, b)` for every label (column) of a logit matrix.
pub fn fit_platt_per_label(
    logits: &ScoreMatrix<'_>,
    targets: &TargetMatrix<'_>,
    options: &PlattOptions,
) -> Result<Vec<PlattFit>> {
    check_options(options)?;
    fit_each_label(logits, targets, "Platt scaling", |z, y| {
        solve(z, y, options)
    })
}

fn check_options(o: &PlattOptions) -> Result<()> {
    if !(o.max_abs_parameter.is_finite() && o.max_abs_parameter >= 1.0) {
        return Err(invalid(
            "max_abs_parameter",
            format!("{} is not a finite number >= 1", o.max_abs_parameter),
        ));
    }
    if o.gradient_tolerance.is_nan() || o.gradient_tolerance < 0.0 {
        return Err(invalid("gradient_tolerance", "must be >= 0"));
    }
    Ok(())
}

struct Local {
    f: f64,
    g: [f64; 2],
    h: [f64; 3],
}

/// Objective, gradient and Hessian `[h_aa, h_ab, h_bb]` at `(a, b)`.
fn local(z: &[f64], y: &[u8], a: f64, b: f64) -> Local {
    let mut acc: [Sum; 5] = Default::default();
    for (&zi, &yi) in z.iter().zip(y) {
        let s = sigmoid(a * zi + b);
        let r = s - f64::from(yi);
        let w = s * (1.0 - s);
        acc[0].add(r * zi);
        acc[1].add(r);
        acc[2].add(w * zi * zi);
        acc[3].add(w * zi);
        acc[4].add(w);
    }
    let n = z.len() as f64;
    Local {
        f: objective(z, y, a, b),
        g: [acc[0].value() / n, acc[1].value() / n],
        h: [acc[2].value() / n, acc[3].value() / n, acc[4].value() / n],
    }
}

fn objective(z: &[f64], y: &[u8], a: f64, b: f64) -> f64 {
    mean_bce(z.iter().map(|&zi| a * zi + b), y)
}

fn solve(z: &[f64], y: &[u8], o: &PlattOptions) -> PlattFit {
    let nll_before = objective(z, y, 1.0, 0.0);
    let n_pos = y.iter().filter(|&&t| t == 1).count();
    if n_pos == 0 || n_pos == y.len() {
        return PlattFit {
            a: 1.0,
            b: 0.0,
            nll_before,
            nll_after: nll_before,
            iterations: 0,
            status: FitStatus::SingleClass,
        };
    }
    let bound = o.max_abs_parameter;
    if let Some((sign, mid)) = separation(z, y) {
        // The optimum is a step at `mid` (a -> +-inf): return the steepest step the box allows.
        let a = sign * bound / mid.abs().max(1.0);
        let b = -a * mid;
        return PlattFit {
            a,
            b,
            nll_before,
            nll_after: objective(z, y, a, b),
            iterations: 0,
            status: FitStatus::AtBound,
        };
    }
    let project = |v: f64| v.clamp(-bound, bound);
    let (mut a, mut b) = (1.0f64, 0.0f64);
    let mut status = FitStatus::MaxIterations;
    let mut iterations = o.max_iterations;
    for it in 0..o.max_iterations {
        let Local { f, g, h } = local(z, y, a, b);
        if g[0].abs().max(g[1].abs()) <= o.gradient_tolerance {
            status = FitStatus::Converged;
            iterations = it;
            break;
        }
        let det = h[0] * h[2] - h[1] * h[1];
        let (da, db) = if det > 1e-12 * h[0] * h[2] && det.is_finite() {
            (
                (-h[2] * g[0] + h[1] * g[1]) / det,
                (h[1] * g[0] - h[0] * g[1]) / det,
            )
        } else {
            // Singular Hessian (e.g. saturated sigmoids): fall back to steepest descent.
            let scale = (h[0] + h[2]).max(1e-12);
            (-g[0] / scale, -g[1] / scale)
        };
        let mut t = 1.0;
        let mut accepted = None;
        while t > 1e-12 {
            let (na, nb) = (project(a + t * da), project(b + t * db));
            let decrease = g[0] * (na - a) + g[1] * (nb - b);
            let fn_ = objective(z, y, na, nb);
            if fn_ <= f + 1e-4 * decrease {
                accepted = Some((na, nb));
                break;
            }
            t *= 0.5;
        }
        match accepted {
            Some((na, nb))
                if (na - a).abs() + (nb - b).abs() > 1e-15 * (1.0 + a.abs() + b.abs()) =>
            {
                a = na;
                b = nb;
            }
            // No progress possible: at the optimum to rounding, or pinned to the box.
            Some((na, nb)) => {
                a = na;
                b = nb;
                status = FitStatus::Converged;
                iterations = it + 1;
                break;
            }
            None => {
                status = FitStatus::Converged;
                iterations = it + 1;
                break;
            }
        }
    }
    if a.abs() >= bound || b.abs() >= bound {
        status = FitStatus::AtBound;
    }
    PlattFit {
        a,
        b,
        nll_before,
        nll_after: objective(z, y, a, b),
        iterations,
        status,
    }
}

/// `Some((direction, midpoint))` if a threshold separates the classes strictly: every positive
/// scores above every negative (direction +1) or below (direction -1).
fn separation(z: &[f64], y: &[u8]) -> Option<(f64, f64)> {
    let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
    for (&zi, &yi) in z.iter().zip(y) {
        let c = usize::from(yi);
        lo[c] = lo[c].min(zi);
        hi[c] = hi[c].max(zi);
    }
    if hi[0] < lo[1] {
        Some((1.0, 0.5 * (hi[0] + lo[1])))
    } else if hi[1] < lo[0] {
        Some((-1.0, 0.5 * (hi[1] + lo[0])))
    } else {
        None
    }
}
