//! Face alignment for ArcFace-style encoders (SFace): a similarity transform (rotation, one
//! scale, shift; no reflection) that puts the eye centres and the nose of a face on the
//! 112x112 ArcFace template, fitted by least squares (Umeyama 1991), and the warp of the frame
//! through it with bilinear sampling (black outside the frame), as OpenCV's `alignCrop` does.
//!
//! Plain Rust, no ONNX here: the encoder's input is a function of the frame and the landmarks.

use faceid_core::frame::FrameRef;
use faceid_core::geometry::FivePoints;

/// Side of the aligned face, in pixels.
pub const ALIGNED_SIZE: usize = 112;

/// Where the ArcFace template puts the eye on the image's left (the person's right eye), the
/// other eye and the nose, in the 112x112 crop.
pub const TEMPLATE: [(f64, f64); 3] = [(38.2946, 51.6963), (73.5318, 51.5014), (56.0252, 71.7366)];

/// The three points the template is fitted to: the eye centres, the image-left one first, and
/// the nose.
pub fn anchor_points(landmarks: &FivePoints) -> [(f64, f64); 3] {
    let centre = |a: (f32, f32), b: (f32, f32)| {
        (
            (f64::from(a.0) + f64::from(b.0)) / 2.0,
            (f64::from(a.1) + f64::from(b.1)) / 2.0,
        )
    };
    let first = centre(landmarks[0], landmarks[1]);
    let second = centre(landmarks[2], landmarks[3]);
    let (left, right) = if first.0 <= second.0 {
        (first, second)
    } else {
        (second, first)
    };
    let nose = (f64::from(landmarks[4].0), f64::from(landmarks[4].1));
    [left, right, nose]
}

/// A 2x3 affine map: `x' = m[0]·x + m[1]·y + m[2]`, `y' = m[3]·x + m[4]·y + m[5]`.
pub type Affine = [f64; 6];

/// The similarity transform taking `src` onto `dst` with the least squared error (Umeyama's
/// closed form in 2-D). Points that all coincide give the identity.
pub fn similarity(src: &[(f64, f64)], dst: &[(f64, f64)]) -> Affine {
    let n = src.len().min(dst.len());
    if n == 0 {
        return [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];
    }
    let mean = |p: &[(f64, f64)]| {
        let (sx, sy) = p[..n]
            .iter()
            .fold((0.0, 0.0), |(sx, sy), &(x, y)| (sx + x, sy + y));
        (sx / n as f64, sy / n as f64)
    };
    let (msx, msy) = mean(src);
    let (mdx, mdy) = mean(dst);
    // With complex numbers s = sx + i·sy (centred), the best a + ib minimises
    // Σ|d − (a + ib)·s|²: a + ib = Σ d·conj(s) / Σ|s|². It is a rotation and a scale, never a
    // reflection, which is Umeyama's solution in the plane.
    let (mut re, mut im, mut norm) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let (sx, sy) = (src[i].0 - msx, src[i].1 - msy);
        let (dx, dy) = (dst[i].0 - mdx, dst[i].1 - mdy);
        re += dx * sx + dy * sy;
        im += dy * sx - dx * sy;
        norm += sx * sx + sy * sy;
    }
    if norm <= f64::EPSILON {
        return [1.0, 0.0, mdx - msx, 0.0, 1.0, mdy - msy];
    }
    let (a, b) = (re / norm, im / norm);
    [
        a,
        -b,
        mdx - (a * msx - b * msy),
        b,
        a,
        mdy - (b * msx + a * msy),
    ]
}

/// The inverse of a similarity (or any invertible affine) map; `None` when it is singular.
pub fn invert(m: &Affine) -> Option<Affine> {
    let det = m[0] * m[4] - m[1] * m[3];
    if !det.is_finite() || det.abs() < 1e-12 {
        return None;
    }
    let (a, b, c, d) = (m[4] / det, -m[1] / det, -m[3] / det, m[0] / det);
    Some([a, b, -(a * m[2] + b * m[5]), c, d, -(c * m[2] + d * m[5])])
}

/// The map from the frame to the aligned crop for a face's landmarks.
pub fn alignment_for(landmarks: &FivePoints) -> Affine {
    similarity(&anchor_points(landmarks), &TEMPLATE)
}

/// The aligned 112x112 face as planar RGB floats (0-255, the encoder's NCHW input for one
/// face): each output pixel samples the frame bilinearly at the inverse map of its position,
/// black outside the frame. A singular map gives a black face.
pub fn warp_to_planes(frame: &FrameRef<'_>, to_aligned: &Affine, out: &mut [f32]) {
    let plane = ALIGNED_SIZE * ALIGNED_SIZE;
    assert!(
        out.len() >= 3 * plane,
        "output too small for one aligned face"
    );
    out[..3 * plane].fill(0.0);
    let Some(m) = invert(to_aligned) else {
        return;
    };
    let (w, h) = (frame.width() as i64, frame.height() as i64);
    let (bpp, stride, data) = (
        frame.layout().bytes_per_pixel(),
        frame.stride(),
        frame.data(),
    );
    let (ro, go, bo) = frame.layout().rgb_offsets();
    let pixel = |x: i64, y: i64| -> [f32; 3] {
        if x < 0 || y < 0 || x >= w || y >= h {
            return [0.0; 3];
        }
        let at = y as usize * stride + x as usize * bpp;
        [
            f32::from(data[at + ro]),
            f32::from(data[at + go]),
            f32::from(data[at + bo]),
        ]
    };
    for oy in 0..ALIGNED_SIZE {
        for ox in 0..ALIGNED_SIZE {
            let (fx, fy) = (ox as f64, oy as f64);
            let sx = m[0] * fx + m[1] * fy + m[2];
            let sy = m[3] * fx + m[4] * fy + m[5];
            if !(sx.is_finite() && sy.is_finite()) {
                continue;
            }
            let (x0, y0) = (sx.floor(), sy.floor());
            let (ax, ay) = ((sx - x0) as f32, (sy - y0) as f32);
            let (x0, y0) = (x0 as i64, y0 as i64);
            let (p00, p10, p01, p11) = (
                pixel(x0, y0),
                pixel(x0 + 1, y0),
                pixel(x0, y0 + 1),
                pixel(x0 + 1, y0 + 1),
            );
            let at = oy * ALIGNED_SIZE + ox;
            for c in 0..3 {
                let top = p00[c] + (p10[c] - p00[c]) * ax;
                let bottom = p01[c] + (p11[c] - p01[c]) * ax;
                // Rounded to whole grey levels, as OpenCV's warp of 8-bit images (the
                // network's training crops) gives them.
                out[c * plane + at] = (top + (bottom - top) * ay).round();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faceid_core::frame::PixelLayout;

    fn apply(m: &Affine, p: (f64, f64)) -> (f64, f64) {
        (
            m[0] * p.0 + m[1] * p.1 + m[2],
            m[3] * p.0 + m[4] * p.1 + m[5],
        )
    }

    #[test]
    fn a_similarity_is_recovered_exactly() {
        // Rotate by 30 degrees, scale 1.7, shift: the fit of the template's images finds it.
        let (c, s) = (
            30f64.to_radians().cos() * 1.7,
            30f64.to_radians().sin() * 1.7,
        );
        let truth = [c, -s, 12.0, s, c, -40.0];
        let src: Vec<_> = TEMPLATE.to_vec();
        let dst: Vec<_> = src.iter().map(|&p| apply(&truth, p)).collect();
        let fit = similarity(&src, &dst);
        for (a, b) in fit.iter().zip(truth) {
            assert!((a - b).abs() < 1e-9, "{fit:?} vs {truth:?}");
        }
        let back = invert(&fit).unwrap();
        let p = apply(&back, apply(&fit, (3.0, 4.0)));
        assert!((p.0 - 3.0).abs() < 1e-9 && (p.1 - 4.0).abs() < 1e-9);
    }

    #[test]
    fn a_mirrored_face_is_not_reflected() {
        // Source points mirrored left-right: the best similarity has a positive determinant.
        let src = [(73.5, 51.5), (38.3, 51.7), (56.0, 71.7)];
        let fit = similarity(&src, &TEMPLATE);
        assert!(fit[0] * fit[4] - fit[1] * fit[3] > 0.0);
    }

    #[test]
    fn the_eye_on_the_image_left_goes_first_whatever_dlib_order() {
        let a: FivePoints = [
            (60.0, 40.0),
            (50.0, 40.0),
            (20.0, 41.0),
            (30.0, 41.0),
            (40.0, 60.0),
        ];
        let [left, right, nose] = anchor_points(&a);
        assert_eq!(left, (25.0, 41.0));
        assert_eq!(right, (55.0, 40.0));
        assert_eq!(nose, (40.0, 60.0));
    }

    #[test]
    fn the_warp_samples_the_frame_where_the_map_says() {
        // A 200x200 RGBx frame whose red is x and green is y: after a pure shift by (-50, -60)
        // each aligned pixel holds its own position plus the shift.
        let (w, h) = (200usize, 200usize);
        let mut data = vec![0u8; w * h * 4];
        for y in 0..h {
            for x in 0..w {
                let at = (y * w + x) * 4;
                data[at] = x as u8;
                data[at + 1] = y as u8;
                data[at + 2] = 7;
            }
        }
        let frame = FrameRef::new(&data, w, h, w * 4, PixelLayout::Rgbx).unwrap();
        let shift = [1.0, 0.0, -50.0, 0.0, 1.0, -60.0];
        let mut out = vec![0f32; 3 * ALIGNED_SIZE * ALIGNED_SIZE];
        warp_to_planes(&frame, &shift, &mut out);
        let plane = ALIGNED_SIZE * ALIGNED_SIZE;
        let at = 10 * ALIGNED_SIZE + 20;
        assert_eq!(out[at], 70.0);
        assert_eq!(out[plane + at], 70.0);
        assert_eq!(out[2 * plane + at], 7.0);
        // Half a pixel: the mean of two neighbours.
        let half = [1.0, 0.0, -50.5, 0.0, 1.0, -60.0];
        warp_to_planes(&frame, &half, &mut out);
        assert_eq!(out[at], 71.0, "70.5, rounded as OpenCV rounds");
        // Outside the frame: black.
        let far = [1.0, 0.0, 500.0, 0.0, 1.0, 0.0];
        warp_to_planes(&frame, &far, &mut out);
        assert!(out.iter().all(|&v| v == 0.0));
    }
}
