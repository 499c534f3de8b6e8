//! A distance adapted to the people of one model: within-class covariance normalisation (WCCN,
//! the first half of LDA).
//!
//! dlib's encoder was trained so that the plain Euclidean distance separates people in
//! general; among look-alikes (K-pop members, 63% of BTS different-member pairs under dlib's
//! 0.6) most of that distance is the variation every person's photos show anyway: light, pose,
//! make-up. WCCN measures that variation on the model's own photos (each photo's deviation
//! from its person's mean, pooled over people: the within-person covariance `S`) and divides it
//! out: distances are taken after the linear map `W` with `WᵀW = Σ⁻¹`, where
//! `Σ = (1 − λ)·S + λ·t·I` is `S` shrunk towards its average variance `t`, so directions in
//! which one person's photos vary count less, and those in which people differ count more.
//!
//! With few photos `S` is a poor estimate (35 photos of 7 people give 28 degrees of freedom in
//! 128 dimensions), so the shrinkage `λ` depends on them: `λ = K / (dof + K)` with
//! [`SHRINKAGE_PHOTOS`]` = K`, 0.9 for 5 photos a member and 0.73 for 15 ([`shrinkage_for`]).
//! Measured on 20 random splits of the 171 BTS photos (which member, by the nearest whitened
//! person mean): 5 photos a member 0.853 → 0.866, 15 a member 0.898 → 0.920 (0.930 at λ = 0.7).
//!
//! `W` is scaled by `√t`, so distances stay on dlib's scale (λ = 1 gives the plain distance).
//! The map is `√t · L⁻¹` where `Σ = L·Lᵀ` (Cholesky): `‖W(x − y)‖² = t·(x − y)ᵀ Σ⁻¹ (x − y)`.
//! Everything is computed in `f64`, deterministic, and never panics (a degenerate input gives
//! the identity map).

use crate::encoding::{ENCODING_DIM, Encoding};

/// The `K` of [`shrinkage_for`]: the photos' degrees of freedom at which the measured
/// within-person covariance and the identity weigh the same.
pub const SHRINKAGE_PHOTOS: f64 = 250.0;

/// The shrinkage towards the identity for `photos` photos of `people` people.
pub fn shrinkage_for(photos: usize, people: usize) -> f32 {
    let dof = photos.saturating_sub(people) as f64;
    (SHRINKAGE_PHOTOS / (dof + SHRINKAGE_PHOTOS)) as f32
}

/// A linear map of encodings, lower triangular, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Whitening {
    /// `ENCODING_DIM²` numbers; `None`: the identity.
    matrix: Option<Box<[f32]>>,
}

impl Whitening {
    /// The identity: plain distances.
    pub fn identity() -> Whitening {
        Whitening { matrix: None }
    }

    /// WCCN over `deviations` (each an encoding minus its person's mean), shrunk by
    /// `shrinkage` (0: the measured covariance alone, 1: the identity). `dof` is the number of
    /// independent deviations (photos minus people); fewer than 1 gives the identity.
    pub fn fit(deviations: &[Encoding], dof: usize, shrinkage: f32) -> Whitening {
        let shrinkage = f64::from(shrinkage);
        if deviations.is_empty() || dof == 0 || !(0.0..1.0).contains(&shrinkage) {
            return Whitening::identity();
        }
        let n = ENCODING_DIM;
        let mut cov = vec![0.0f64; n * n];
        for d in deviations {
            for i in 0..n {
                let di = f64::from(d[i]);
                for j in 0..=i {
                    cov[i * n + j] += di * f64::from(d[j]);
                }
            }
        }
        let scale = 1.0 / dof as f64;
        let trace: f64 = (0..n).map(|i| cov[i * n + i] * scale).sum();
        let average = trace / n as f64;
        if !(average.is_finite() && average > 0.0) {
            return Whitening::identity();
        }
        for i in 0..n {
            for j in 0..=i {
                let mut v = (1.0 - shrinkage) * cov[i * n + j] * scale;
                if i == j {
                    v += shrinkage * average;
                }
                cov[i * n + j] = v;
            }
        }
        let Some(l) = cholesky(&cov, n) else {
            return Whitening::identity();
        };
        let Some(inverse) = invert_lower(&l, n) else {
            return Whitening::identity();
        };
        let root = average.sqrt();
        let matrix: Box<[f32]> = inverse.iter().map(|v| (v * root) as f32).collect();
        if matrix.iter().any(|v| !v.is_finite()) {
            return Whitening::identity();
        }
        Whitening {
            matrix: Some(matrix),
        }
    }

    /// `W·e`.
    pub fn apply(&self, e: &Encoding) -> Encoding {
        let Some(m) = &self.matrix else {
            return *e;
        };
        let n = ENCODING_DIM;
        let mut out = [0.0f32; ENCODING_DIM];
        for (i, o) in out.iter_mut().enumerate() {
            let row = &m[i * n..i * n + i + 1];
            *o = row.iter().zip(e.iter()).map(|(a, b)| a * b).sum();
        }
        out
    }

    /// Whether this is the identity.
    pub fn is_identity(&self) -> bool {
        self.matrix.is_none()
    }
}

/// Lower-triangular `L` with `L·Lᵀ = a` (only `a`'s lower triangle is read); `None` when `a`
/// is not positive definite.
fn cholesky(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0f64; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut sum = a[i * n + j];
            for k in 0..j {
                sum -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if !(sum > 0.0 && sum.is_finite()) {
                    return None;
                }
                l[i * n + i] = sum.sqrt();
            } else {
                l[i * n + j] = sum / l[j * n + j];
            }
        }
    }
    Some(l)
}

/// The inverse of a lower-triangular matrix with a positive diagonal (also lower triangular).
fn invert_lower(l: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut inv = vec![0.0f64; n * n];
    for i in 0..n {
        let d = l[i * n + i];
        if d.is_nan() || d <= 0.0 {
            return None;
        }
        inv[i * n + i] = 1.0 / d;
        for j in 0..i {
            let sum: f64 = (j..i).map(|k| l[i * n + k] * inv[k * n + j]).sum();
            inv[i * n + j] = -sum / d;
        }
    }
    Some(inv)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::distance;

    fn unit(axis: usize, v: f32) -> Encoding {
        let mut e = [0.0f32; ENCODING_DIM];
        e[axis] = v;
        e
    }

    #[test]
    fn cholesky_and_inverse_reproduce_a_small_matrix() {
        // [[4, 2], [2, 3]] = L Lᵀ with L = [[2, 0], [1, √2]].
        let a = [4.0, 0.0, 2.0, 3.0];
        let l = cholesky(&a, 2).unwrap();
        assert!((l[0] - 2.0).abs() < 1e-12 && (l[2] - 1.0).abs() < 1e-12);
        assert!((l[3] - 2f64.sqrt()).abs() < 1e-12);
        let inv = invert_lower(&l, 2).unwrap();
        // L · L⁻¹ = I
        let p10 = l[2] * inv[0] + l[3] * inv[2];
        assert!((l[0] * inv[0] - 1.0).abs() < 1e-12 && p10.abs() < 1e-12);
        assert!(cholesky(&[-1.0, 0.0, 0.0, 1.0], 2).is_none());
    }

    #[test]
    fn directions_a_person_varies_in_count_less() {
        // Every person's photos vary a lot along axis 0 and hardly along axis 1.
        let deviations: Vec<Encoding> = (0..40)
            .map(|i| {
                let mut e = unit(0, if i % 2 == 0 { 0.3 } else { -0.3 });
                e[1] = if i % 4 < 2 { 0.01 } else { -0.01 };
                e[2 + i % 50] += 0.05;
                e
            })
            .collect();
        let w = Whitening::fit(&deviations, 36, 0.3);
        assert!(!w.is_identity());
        let (a, b, c) = (unit(0, 0.0), unit(0, 0.2), unit(1, 0.2));
        let (wa, wb, wc) = (w.apply(&a), w.apply(&b), w.apply(&c));
        // Plainly the same distance; after whitening the stable direction weighs more.
        assert!((distance(&a, &b) - distance(&a, &c)).abs() < 1e-6);
        assert!(distance(&wa, &wc) > 3.0 * distance(&wa, &wb));
    }

    #[test]
    fn full_shrinkage_isotropic_data_and_degenerate_input_keep_distances() {
        let iso: Vec<Encoding> = (0..ENCODING_DIM).map(|i| unit(i, 0.1)).collect();
        let w = Whitening::fit(&iso, ENCODING_DIM, 0.5);
        let (a, b) = (unit(3, 0.4), unit(7, -0.2));
        let d = distance(&w.apply(&a), &w.apply(&b));
        assert!((d - distance(&a, &b)).abs() < 1e-4, "{d}");
        assert!(Whitening::fit(&iso, 10, 1.0).is_identity());
        assert!(Whitening::fit(&[], 0, 0.5).is_identity());
        assert!(Whitening::fit(&[[f32::NAN; ENCODING_DIM]], 3, 0.5).is_identity());
        assert!(Whitening::fit(&[[0.0; ENCODING_DIM]], 3, 0.5).is_identity());
    }

    #[test]
    fn shrinkage_falls_with_more_photos() {
        assert!((shrinkage_for(35, 7) - 0.899).abs() < 0.01);
        assert!((shrinkage_for(105, 7) - 0.718).abs() < 0.01);
        assert_eq!(shrinkage_for(3, 7), 1.0);
    }
}
