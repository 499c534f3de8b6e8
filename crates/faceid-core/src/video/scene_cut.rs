//! Hard-cut (shot boundary) detection from small grayscale thumbnails.
//!
//! # Algorithm
//!
//! Every frame is reduced to a tiny grayscale thumbnail (default 32x18) by
//! box averaging ([`thumbnail`]); at that size camera noise, fine
//! texture and motion blur have mostly vanished and a pan of a few pixels
//! moves the content by a fraction of a thumbnail pixel. Consecutive
//! thumbnails are compared with two scores ([`compare_thumbnails`]):
//!
//! * **structure** – `1 - l * r`, clamped to `0..=1`, where `r` is the
//!   Pearson correlation of the two thumbnails (regularised so that flat
//!   images do not divide by zero) and `l` is an SSIM-style luminance term
//!   that only departs from 1 for large changes of mean brightness (black to
//!   white flash). Correlation is invariant to global brightness and contrast
//!   changes, so flicker and fades score ~0, while unrelated images score
//!   ~0.5..1. Pixels that are dark in *both* thumbnails (luma < 24) are left
//!   out: letterbox / pillarbox bars and black backgrounds are shared by both
//!   shots and would otherwise make unrelated shots look correlated.
//! * **histogram** – half the L1 distance between the 16-bin luma histograms
//!   (`0..=1`). Pans, zooms and motion blur keep the global tone distribution
//!   almost unchanged, so it stays low for camera motion.
//!
//! A cut is declared when `structure >= threshold` **and** either
//! `histogram >= HISTOGRAM_GATE` (the change of layout is confirmed by a
//! change of tones) or `structure >= STRONG_FACTOR * threshold` (the shots
//! are clearly unrelated, e.g. a mirrored shot with identical histogram).
//! The histogram alone never fires (brightness flicker moves the histogram
//! but not the correlation); the gate suppresses false cuts from fast camera
//! motion, where the structure score can rise moderately while the tones
//! stay the same.
//!
//! Known limits: a cut between two shots with nearly the same layout and
//! tones (e.g. the same set, almost the same framing) can be missed; a fade
//! from black reports one cut when the first non-black frame appears (no
//! face is tracked in a black frame anyway). Since missing a cut is worse
//! for face identity than a spurious one (a spurious cut only restarts the
//! tracks), the default threshold leans towards firing.

use crate::frame::FrameRef;

/// Default thumbnail width (16:9 frames).
pub const DEFAULT_THUMB_WIDTH: usize = 32;
/// Default thumbnail height (16:9 frames).
pub const DEFAULT_THUMB_HEIGHT: usize = 18;

/// Default threshold on the structure score.
///
/// 0.15 corresponds to a correlation of about 0.85 between consecutive
/// thumbnails. Within a shot, consecutive frames under camera motion keep a
/// correlation well above 0.9 (the synthetic pans of 4 px/frame at 320x180
/// in the tests score < 0.01; zoom, motion blur and flicker stay below
/// 0.05), whereas two different shots scored 0.25..1 in the tests: they can
/// correlate by chance (shared gradients, shared layout), so the threshold is
/// kept low and false alarms from fast motion are filtered by the histogram
/// gate instead. A false cut only restarts tracks, a missed cut can let a
/// track jump to another person, so the default leans towards firing.
pub const DEFAULT_CUT_THRESHOLD: f32 = 0.15;

/// Above `STRONG_FACTOR * threshold` the structure score alone declares a
/// cut, without the histogram gate (0.375 by default, a correlation < 0.63).
pub const STRONG_FACTOR: f32 = 2.5;

/// Minimum histogram score needed to confirm a moderate structural change.
/// Frames of the same shot under camera motion typically differ by < 0.05.
pub const HISTOGRAM_GATE: f32 = 0.1;

/// Pixels darker than this in both thumbnails are ignored by the structure
/// score (letterbox bars, black backgrounds).
const DARK_LEVEL: u8 = 24;
/// Below this many remaining pixels both frames are considered black: no
/// structural information, structure score 0.
const MIN_PIXELS: usize = 8;
/// Variance regulariser of the correlation (luma levels squared, ~3 levels
/// standard deviation): flat images correlate as 1 with each other and
/// weakly with textured ones.
const VARIANCE_EPS: f64 = 9.0;
/// SSIM luminance constant `(0.01 * 255)^2`.
const LUMA_EPS: f64 = 6.5025;

/// `i * n / d` without overflow (`d > 0`).
fn scale_index(i: usize, n: usize, d: usize) -> usize {
    let v = (i as u128 * n as u128) / (d.max(1) as u128);
    usize::try_from(v).unwrap_or(usize::MAX)
}

/// Downscales `frame` to a `thumb_w x thumb_h` grayscale thumbnail by box averaging:
/// thumbnail pixel `(tx, ty)` is the (BT.601) luma of the mean colour of source columns
/// `tx*width/thumb_w .. (tx+1)*width/thumb_w` and the corresponding rows.
///
/// Returns an empty `Vec` when the thumbnail would be larger than the frame or empty.
pub fn thumbnail(frame: &FrameRef<'_>, thumb_w: usize, thumb_h: usize) -> Vec<u8> {
    let (width, height) = (frame.width(), frame.height());
    if thumb_w == 0 || thumb_h == 0 || thumb_w > width || thumb_h > height {
        return Vec::new();
    }
    let cols: Vec<(usize, usize)> = (0..thumb_w)
        .map(|tx| {
            (
                scale_index(tx, width, thumb_w),
                scale_index(tx + 1, width, thumb_w),
            )
        })
        .collect();
    let mut out = Vec::with_capacity(thumb_w * thumb_h);
    let mut sums = vec![0u64; thumb_w];
    for ty in 0..thumb_h {
        let y0 = scale_index(ty, height, thumb_h);
        let y1 = scale_index(ty + 1, height, thumb_h);
        sums.fill(0);
        for y in y0..y1 {
            for (sum, &(x0, x1)) in sums.iter_mut().zip(&cols) {
                *sum += frame.luma_sum_256(y, x0, x1);
            }
        }
        let rows = (y1 - y0) as u64;
        for (sum, &(x0, x1)) in sums.iter().zip(&cols) {
            let n = rows
                .saturating_mul((x1 - x0) as u64)
                .max(1)
                .saturating_mul(256);
            out.push(u8::try_from((sum + n / 2) / n).unwrap_or(u8::MAX));
        }
    }
    out
}

/// The two difference scores between consecutive thumbnails, both in
/// `0..=1` (0 = identical). See the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct CutScores {
    /// `1 - luminance * correlation`, ignoring pixels dark in both.
    pub structure: f32,
    /// Half L1 distance of the 16-bin luma histograms.
    pub histogram: f32,
}

/// Compares two thumbnails of the same size. Returns `None` when the sizes
/// differ or they are empty.
pub fn compare_thumbnails(a: &[u8], b: &[u8]) -> Option<CutScores> {
    if a.len() != b.len() || a.is_empty() {
        return None;
    }
    let mut ha = [0u32; 16];
    let mut hb = [0u32; 16];
    let (mut n, mut sa, mut sb, mut saa, mut sbb, mut sab) = (0usize, 0f64, 0f64, 0f64, 0f64, 0f64);
    for (&va, &vb) in a.iter().zip(b) {
        if let Some(c) = ha.get_mut(usize::from(va >> 4)) {
            *c = c.saturating_add(1);
        }
        if let Some(c) = hb.get_mut(usize::from(vb >> 4)) {
            *c = c.saturating_add(1);
        }
        if va < DARK_LEVEL && vb < DARK_LEVEL {
            continue;
        }
        let (fa, fb) = (f64::from(va), f64::from(vb));
        n += 1;
        sa += fa;
        sb += fb;
        saa += fa * fa;
        sbb += fb * fb;
        sab += fa * fb;
    }
    let total = a.len() as f64;
    let histogram = ha
        .iter()
        .zip(&hb)
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).abs())
        .sum::<f64>()
        * 0.5
        / total;

    let structure = if n < MIN_PIXELS {
        0.0
    } else {
        let nf = n as f64;
        let (ma, mb) = (sa / nf, sb / nf);
        let va = (saa / nf - ma * ma).max(0.0);
        let vb = (sbb / nf - mb * mb).max(0.0);
        let cov = sab / nf - ma * mb;
        let r = (cov + VARIANCE_EPS) / ((va + VARIANCE_EPS) * (vb + VARIANCE_EPS)).sqrt();
        let l = (2.0 * ma * mb + LUMA_EPS) / (ma * ma + mb * mb + LUMA_EPS);
        1.0 - l * r
    };
    let clamp = |v: f64| {
        if v.is_finite() {
            v.clamp(0.0, 1.0) as f32
        } else {
            0.0
        }
    };
    Some(CutScores {
        structure: clamp(structure),
        histogram: clamp(histogram),
    })
}

/// Detects hard cuts by comparing each thumbnail with the previous one.
#[derive(Clone, Debug)]
pub struct SceneCutDetector {
    threshold: f32,
    previous: Option<Vec<u8>>,
    last_scores: Option<CutScores>,
}

impl SceneCutDetector {
    /// Creates a detector. `threshold` is the structure-score threshold in
    /// `0..=1` (see [`DEFAULT_CUT_THRESHOLD`]); non-finite values fall back to
    /// the default, others are clamped.
    pub fn new(threshold: f32) -> Self {
        let threshold = if threshold.is_finite() {
            threshold.clamp(0.0, 1.0)
        } else {
            DEFAULT_CUT_THRESHOLD
        };
        Self {
            threshold,
            previous: None,
            last_scores: None,
        }
    }

    /// The threshold in use.
    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// The scores of the last comparison (`None` after the first frame, a
    /// size change or a reset). Useful for logging and tuning.
    pub fn last_scores(&self) -> Option<CutScores> {
        self.last_scores
    }

    /// Feeds the next frame's thumbnail; returns true when it differs from
    /// the previous one enough to be a hard cut. A change of thumbnail size
    /// counts as a cut. The first frame (or the first after
    /// [`reset`](Self::reset)) returns false.
    pub fn is_cut(&mut self, thumbnail: &[u8]) -> bool {
        let Some(prev) = self.previous.as_mut() else {
            self.previous = Some(thumbnail.to_vec());
            self.last_scores = None;
            return false;
        };
        let scores = compare_thumbnails(prev, thumbnail);
        let size_changed = prev.len() != thumbnail.len();
        prev.clear();
        prev.extend_from_slice(thumbnail);
        self.last_scores = scores;
        match scores {
            Some(s) => {
                let strong = (STRONG_FACTOR * self.threshold).min(1.0);
                s.structure >= strong
                    || (s.structure >= self.threshold && s.histogram >= HISTOGRAM_GATE)
            }
            None => size_changed,
        }
    }

    /// Forgets the previous thumbnail.
    pub fn reset(&mut self) {
        self.previous = None;
        self.last_scores = None;
    }
}

impl Default for SceneCutDetector {
    fn default() -> Self {
        Self::new(DEFAULT_CUT_THRESHOLD)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::PixelLayout;

    /// [`thumbnail`] of raw BGRx bytes; empty when they are not a frame.
    fn thumbnail_bgrx(
        data: &[u8],
        width: usize,
        height: usize,
        stride: usize,
        thumb_w: usize,
        thumb_h: usize,
    ) -> Vec<u8> {
        match FrameRef::new(data, width, height, stride, PixelLayout::Bgrx) {
            Ok(frame) => thumbnail(&frame, thumb_w, thumb_h),
            Err(_) => Vec::new(),
        }
    }

    const W: usize = 320;
    const H: usize = 180;

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> f32 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 40) as f32 / (1u64 << 24) as f32
        }
        fn range(&mut self, lo: f32, hi: f32) -> f32 {
            lo + (hi - lo) * self.next()
        }
    }

    /// A synthetic "scene" in world coordinates: coloured background
    /// gradient, low-frequency waves, soft blobs and fine hashed texture.
    struct Scene {
        base: [f32; 3],
        grad: [f32; 2],
        waves: Vec<(f32, f32, f32, f32)>,
        blobs: Vec<(f32, f32, f32, [f32; 3])>,
        seed: u64,
    }

    impl Scene {
        fn new(seed: u64) -> Self {
            let mut r = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
            let base = [
                r.range(30.0, 200.0),
                r.range(30.0, 200.0),
                r.range(30.0, 200.0),
            ];
            let grad = [r.range(-0.2, 0.2), r.range(-0.2, 0.2)];
            let waves = (0..3)
                .map(|_| {
                    (
                        r.range(-0.03, 0.03),
                        r.range(-0.03, 0.03),
                        r.range(0.0, std::f32::consts::TAU),
                        r.range(10.0, 30.0),
                    )
                })
                .collect();
            let blobs = (0..6)
                .map(|_| {
                    (
                        r.range(-100.0, 900.0),
                        r.range(0.0, 300.0),
                        r.range(20.0, 90.0),
                        [
                            r.range(-90.0, 90.0),
                            r.range(-90.0, 90.0),
                            r.range(-90.0, 90.0),
                        ],
                    )
                })
                .collect();
            Self {
                base,
                grad,
                waves,
                blobs,
                seed,
            }
        }

        fn rgb(&self, x: f32, y: f32) -> [f32; 3] {
            let mut v = [0f32; 3];
            let mut common = self.grad[0] * x + self.grad[1] * y;
            for &(fx, fy, ph, amp) in &self.waves {
                common += amp * (fx * x + fy * y + ph).sin();
            }
            // Fine texture: hash of the integer world position.
            let (xi, yi) = (x.floor() as i64, y.floor() as i64);
            let mut h = (xi as u64)
                .wrapping_mul(0x9E37_79B9)
                .wrapping_add((yi as u64).wrapping_mul(0x85EB_CA6B))
                .wrapping_add(self.seed);
            h ^= h >> 15;
            h = h.wrapping_mul(0x2C1B_3C6D);
            h ^= h >> 12;
            common += (h % 17) as f32 - 8.0;
            for (c, out) in v.iter_mut().enumerate() {
                let mut s = self.base[c] + common;
                for &(bx, by, br, col) in &self.blobs {
                    let d2 = ((x - bx) * (x - bx) + (y - by) * (y - by)) / (br * br);
                    s += col[c] * (-d2).exp();
                }
                *out = s;
            }
            v
        }
    }

    /// Renders a BGRx frame; `map` gives the world coordinate of a pixel and
    /// `post` adjusts the RGB value.
    fn render(
        scene: &Scene,
        stride_pad: usize,
        map: impl Fn(f32, f32) -> (f32, f32),
        post: impl Fn(usize, usize, [f32; 3]) -> [f32; 3],
    ) -> (Vec<u8>, usize) {
        let stride = W * 4 + stride_pad;
        let mut data = vec![0u8; stride * H];
        for y in 0..H {
            for x in 0..W {
                let (wx, wy) = map(x as f32, y as f32);
                let rgb = post(x, y, scene.rgb(wx, wy));
                let o = y * stride + x * 4;
                data[o] = rgb[2].clamp(0.0, 255.0) as u8;
                data[o + 1] = rgb[1].clamp(0.0, 255.0) as u8;
                data[o + 2] = rgb[0].clamp(0.0, 255.0) as u8;
                data[o + 3] = 255;
            }
        }
        (data, stride)
    }

    fn frame(scene: &Scene, dx: f32) -> Vec<u8> {
        let (d, s) = render(scene, 0, |x, y| (x + dx, y), |_, _, c| c);
        thumb(&d, s)
    }

    fn thumb(data: &[u8], stride: usize) -> Vec<u8> {
        thumbnail_bgrx(
            data,
            W,
            H,
            stride,
            DEFAULT_THUMB_WIDTH,
            DEFAULT_THUMB_HEIGHT,
        )
    }

    #[test]
    fn thumbnail_values_and_stride() {
        // 4x2 frame, stride 20 (4 bytes padding filled with garbage).
        let mut data = vec![0xAAu8; 20 * 2];
        for y in 0..2 {
            for x in 0..4 {
                let v = if x < 2 { 10 } else { 200 };
                let o = y * 20 + x * 4;
                data[o..o + 4].copy_from_slice(&[v, v, v, 0]);
            }
        }
        assert_eq!(thumbnail_bgrx(&data, 4, 2, 20, 2, 1), vec![10, 200]);
        assert_eq!(thumbnail_bgrx(&data, 4, 2, 20, 1, 1), vec![105]);
        // The last row may omit its padding.
        assert_eq!(thumbnail_bgrx(&data[..36], 4, 2, 20, 2, 1), vec![10, 200]);
        // Pure colours: BT.601 luma.
        let red = [0u8, 0, 255, 0];
        assert_eq!(thumbnail_bgrx(&red, 1, 1, 4, 1, 1), vec![77]);
        let green = [0u8, 255, 0, 0];
        assert_eq!(thumbnail_bgrx(&green, 1, 1, 4, 1, 1), vec![149]);
        let white = [255u8; 4];
        assert_eq!(thumbnail_bgrx(&white, 1, 1, 4, 1, 1), vec![255]);
        // Non-divisible sizes.
        let data = vec![100u8; 7 * 5 * 4];
        assert_eq!(thumbnail_bgrx(&data, 7, 5, 28, 3, 2), vec![100; 6]);
    }

    #[test]
    fn thumbnail_degenerate_inputs() {
        let data = vec![0u8; 64];
        assert!(thumbnail_bgrx(&data, 0, 4, 16, 1, 1).is_empty());
        assert!(thumbnail_bgrx(&data, 4, 0, 16, 1, 1).is_empty());
        assert!(thumbnail_bgrx(&data, 4, 4, 16, 0, 1).is_empty());
        assert!(thumbnail_bgrx(&data, 4, 4, 16, 1, 0).is_empty());
        assert!(thumbnail_bgrx(&data, 4, 4, 15, 1, 1).is_empty());
        assert!(thumbnail_bgrx(&data[..63], 4, 4, 16, 1, 1).is_empty());
        assert!(thumbnail_bgrx(&data, 4, 4, 16, 5, 1).is_empty());
        assert!(thumbnail_bgrx(&data, usize::MAX, 4, usize::MAX, 1, 1).is_empty());
        assert!(thumbnail_bgrx(&data, 4, usize::MAX, 16, 1, 1).is_empty());
        assert!(thumbnail_bgrx(&[], 1, 1, 4, 1, 1).is_empty());
        assert_eq!(thumbnail_bgrx(&data, 4, 4, 16, 4, 4).len(), 16);
    }

    #[test]
    fn first_frame_size_change_reset() {
        let mut d = SceneCutDetector::default();
        assert!(!d.is_cut(&[10; 576]));
        assert!(!d.is_cut(&[10; 576]));
        assert_eq!(d.last_scores().unwrap().structure, 0.0);
        assert!(d.is_cut(&[10; 100]), "size change is a cut");
        assert!(d.is_cut(&[]));
        assert!(!d.is_cut(&[]));
        d.reset();
        assert!(!d.is_cut(&[200; 100]));
        assert!(d.last_scores().is_none());
        assert_eq!(
            SceneCutDetector::new(f32::NAN).threshold(),
            DEFAULT_CUT_THRESHOLD
        );
        assert_eq!(SceneCutDetector::new(7.0).threshold(), 1.0);
    }

    #[test]
    fn panning_texture_is_not_a_cut() {
        for seed in 1..4 {
            let scene = Scene::new(seed);
            let mut d = SceneCutDetector::default();
            let mut max = CutScores::default();
            for t in 0..30 {
                let th = frame(&scene, 4.0 * t as f32);
                assert!(
                    !d.is_cut(&th),
                    "seed {seed} frame {t}: {:?}",
                    d.last_scores()
                );
                if let Some(s) = d.last_scores() {
                    max.structure = max.structure.max(s.structure);
                    max.histogram = max.histogram.max(s.histogram);
                }
            }
            assert!(max.structure < 0.05 && max.histogram < 0.1, "{max:?}");
        }
    }

    #[test]
    fn fast_vertical_pan_is_not_a_cut() {
        let scene = Scene::new(9);
        let mut d = SceneCutDetector::default();
        for t in 0..10 {
            let (f, s) = render(&scene, 0, |x, y| (x, y + 8.0 * t as f32), |_, _, c| c);
            assert!(!d.is_cut(&thumb(&f, s)), "frame {t}: {:?}", d.last_scores());
        }
    }

    #[test]
    fn zoom_is_not_a_cut() {
        let scene = Scene::new(5);
        let mut d = SceneCutDetector::default();
        for t in 0..15 {
            let z = 1.0 + 0.02 * t as f32;
            let (cx, cy) = (W as f32 / 2.0, H as f32 / 2.0);
            let (f, s) = render(
                &scene,
                0,
                |x, y| (cx + (x - cx) / z, cy + (y - cy) / z),
                |_, _, c| c,
            );
            assert!(!d.is_cut(&thumb(&f, s)), "frame {t}: {:?}", d.last_scores());
        }
    }

    #[test]
    fn brightness_flicker_is_not_a_cut() {
        for seed in 1..4 {
            let scene = Scene::new(seed);
            let mut d = SceneCutDetector::default();
            for t in 0..10 {
                // Alternating multiplicative and additive 5% flicker.
                let (f, s) = render(
                    &scene,
                    8,
                    |x, y| (x, y),
                    |_, _, c| match t % 4 {
                        0 => c,
                        1 => c.map(|v| v * 0.95),
                        2 => c.map(|v| v + 12.75),
                        _ => c.map(|v| v * 1.05),
                    },
                );
                assert!(
                    !d.is_cut(&thumb(&f, s)),
                    "seed {seed} frame {t}: {:?}",
                    d.last_scores()
                );
            }
        }
    }

    #[test]
    fn motion_blur_is_not_a_cut() {
        let scene = Scene::new(3);
        let sharp = frame(&scene, 0.0);
        // Horizontal 16 px motion blur of the shifted frame.
        let (f, s) = render(
            &scene,
            0,
            |x, y| (x, y),
            |x, y, _| {
                let mut acc = [0f32; 3];
                for k in 0..8 {
                    let c = scene.rgb(x as f32 + 4.0 + 2.0 * k as f32 - 8.0, y as f32);
                    for i in 0..3 {
                        acc[i] += c[i] / 8.0;
                    }
                }
                acc
            },
        );
        let mut d = SceneCutDetector::default();
        assert!(!d.is_cut(&sharp));
        assert!(!d.is_cut(&thumb(&f, s)), "{:?}", d.last_scores());
    }

    #[test]
    fn switch_to_different_image_is_a_cut() {
        for a in 1..12u64 {
            let b = a + 100;
            let (sa, sb) = (Scene::new(a), Scene::new(b));
            let mut d = SceneCutDetector::default();
            assert!(!d.is_cut(&frame(&sa, 0.0)));
            assert!(!d.is_cut(&frame(&sa, 4.0)));
            let cut = d.is_cut(&frame(&sb, 0.0));
            assert!(cut, "{a}->{b}: {:?}", d.last_scores());
            assert!(!d.is_cut(&frame(&sb, 4.0)), "{:?}", d.last_scores());
        }
    }

    #[test]
    fn mirrored_image_with_same_histogram_is_a_cut() {
        let scene = Scene::new(11);
        let (f, s) = render(&scene, 0, |x, y| (x, y), |_, _, c| c);
        let (g, _) = render(
            &scene,
            0,
            |x, y| (W as f32 - 1.0 - x, H as f32 - 1.0 - y),
            |_, _, c| c,
        );
        let mut d = SceneCutDetector::default();
        assert!(!d.is_cut(&thumb(&f, s)));
        assert!(d.is_cut(&thumb(&g, s)), "{:?}", d.last_scores());
        assert!(d.last_scores().unwrap().histogram < 0.05);
    }

    #[test]
    fn letterboxed_cut_and_pan() {
        let bars = |_x: usize, y: usize, c: [f32; 3]| {
            if !(23..H - 23).contains(&y) {
                [0.0; 3]
            } else {
                c
            }
        };
        let (sa, sb) = (Scene::new(21), Scene::new(22));
        let mut d = SceneCutDetector::default();
        for t in 0..5 {
            let (f, s) = render(&sa, 0, |x, y| (x + 4.0 * t as f32, y), bars);
            assert!(!d.is_cut(&thumb(&f, s)), "{:?}", d.last_scores());
        }
        let (f, s) = render(&sb, 0, |x, y| (x, y), bars);
        assert!(d.is_cut(&thumb(&f, s)), "{:?}", d.last_scores());
    }

    #[test]
    fn black_frames() {
        let black = vec![0u8; 576];
        let mut d = SceneCutDetector::default();
        assert!(!d.is_cut(&black));
        assert!(!d.is_cut(&black));
        let near_black: Vec<u8> = (0..576).map(|i| (i % 7) as u8).collect();
        assert!(!d.is_cut(&near_black));
        assert!(
            d.is_cut(&frame(&Scene::new(1), 0.0)),
            "{:?}",
            d.last_scores()
        );
        assert!(d.is_cut(&black));
        let white = vec![255u8; 576];
        assert!(d.is_cut(&white), "{:?}", d.last_scores());
        assert!(!d.is_cut(&white));
        let grey = vec![128u8; 576];
        d.is_cut(&grey);
        assert!(!d.is_cut(&grey));
    }

    #[test]
    fn compare_degenerate() {
        assert!(compare_thumbnails(&[], &[]).is_none());
        assert!(compare_thumbnails(&[1, 2], &[1]).is_none());
        let s = compare_thumbnails(&[0, 255], &[255, 0]).unwrap();
        assert!(s.structure.is_finite() && s.histogram.is_finite());
    }
}
