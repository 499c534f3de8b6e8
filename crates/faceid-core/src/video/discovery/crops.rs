//! Face crops to train on: cut with margin (so the detector finds the face again in the
//! crop), scored, and chosen sharp, large and spread over the track's time.

use crate::encoding::Encoding;
use crate::frame::FrameRef;
use crate::geometry::FaceBox;

/// Crops kept per track while the video runs (the best by [`Crop::quality`]).
pub const CANDIDATES_PER_TRACK: usize = 12;

/// Crops written per track: enough to train on, few enough that a long track does not
/// outweigh the others.
pub const CROPS_PER_TRACK: usize = 4;

/// Margin around the face box on each side, as a share of the box's size: the crop is twice
/// the face's size, like the photos people train on.
pub const MARGIN: f32 = 0.5;

/// A crop wider than this many pixels is scaled down (it stays well above the detector's
/// smallest face).
pub const MAX_CROP_SIDE: usize = 400;

/// Chosen crops of one track are at least this many frames apart (a third of a second at 30
/// frames/s): varied, not the same picture several times.
pub const MIN_FRAMES_APART: u64 = 10;

/// A face's height from which size no longer adds to a crop's quality.
const FULL_QUALITY_HEIGHT: f32 = 150.0;

/// One face crop.
#[derive(Clone, Debug)]
pub struct Crop {
    /// The frame it was cut from (from 0).
    pub frame: u64,
    /// The face's box in the video's pixels.
    pub face: FaceBox,
    /// The crop's size and packed RGB pixels.
    pub width: usize,
    pub height: usize,
    pub rgb: Vec<u8>,
    /// Higher is better: sharpness times size (see [`Crop::cut`]).
    pub quality: f32,
    /// The face's encoding.
    pub encoding: Encoding,
}

impl Crop {
    /// The crop of `frame` around `face` with [`MARGIN`], or `None` when the face is not in
    /// the frame. Its quality is the face's sharpness ([`sharpness`]) times its height up to
    /// [`FULL_QUALITY_HEIGHT`], halved when the face is cut by the frame's edge.
    pub fn cut(
        frame: &FrameRef<'_>,
        index: u64,
        face: FaceBox,
        encoding: Encoding,
    ) -> Option<Crop> {
        let (w, h) = (frame.width() as i32, frame.height() as i32);
        let inside = face.clipped(frame.width(), frame.height())?;
        let mx = (face.width as f32 * MARGIN) as i32;
        let my = (face.height as f32 * MARGIN) as i32;
        let x0 = (face.x - mx).clamp(0, w);
        let y0 = (face.y - my).clamp(0, h);
        let x1 = (face.x + face.width + mx).clamp(0, w);
        let y1 = (face.y + face.height + my).clamp(0, h);
        if x1 - x0 < 2 || y1 - y0 < 2 {
            return None;
        }
        let region = frame.crop(x0 as usize, y0 as usize, x1 as usize, y1 as usize)?;
        let (cw, ch) = ((x1 - x0) as usize, (y1 - y0) as usize);
        let scale = (MAX_CROP_SIDE as f32 / cw.max(ch) as f32).min(1.0);
        let (out_w, out_h) = (
            ((cw as f32 * scale) as usize).max(1),
            ((ch as f32 * scale) as usize).max(1),
        );
        let cut_by_edge = inside != face;
        let size = (face.height as f32 / FULL_QUALITY_HEIGHT).min(1.0);
        let quality = sharpness(frame, &inside) * size * if cut_by_edge { 0.5 } else { 1.0 };
        Some(Crop {
            frame: index,
            face,
            width: out_w,
            height: out_h,
            rgb: region.to_rgb(out_w, out_h),
            quality,
            encoding,
        })
    }
}

/// How sharp the face at `rect` is: the standard deviation of the Laplacian of its luma, on a
/// grid of about 48 x 48 points (so faces of every size compare), divided by the luma's own
/// spread (so a dark or flat face is not called blurred for its lighting alone).
pub fn sharpness(frame: &FrameRef<'_>, rect: &FaceBox) -> f32 {
    let Some(rect) = rect.clipped(frame.width(), frame.height()) else {
        return 0.0;
    };
    let step = (rect.width.max(rect.height) as usize / 48).max(1);
    let (x0, y0) = (rect.x as usize, rect.y as usize);
    let (x1, y1) = (x0 + rect.width as usize, y0 + rect.height as usize);
    if x1 < x0 + 2 * step + 1 || y1 < y0 + 2 * step + 1 {
        return 0.0;
    }
    let (mut lap_sum, mut lap_sq, mut luma_sum, mut luma_sq, mut n) = (0.0f64, 0.0, 0.0, 0.0, 0.0);
    let mut y = y0 + step;
    while y + step < y1 {
        let mut x = x0 + step;
        while x + step < x1 {
            let c = f64::from(frame.luma_at(x, y));
            let around = f64::from(frame.luma_at(x - step, y))
                + f64::from(frame.luma_at(x + step, y))
                + f64::from(frame.luma_at(x, y - step))
                + f64::from(frame.luma_at(x, y + step));
            let lap = 4.0 * c - around;
            lap_sum += lap;
            lap_sq += lap * lap;
            luma_sum += c;
            luma_sq += c * c;
            n += 1.0;
            x += step;
        }
        y += step;
    }
    if n < 4.0 {
        return 0.0;
    }
    let lap_sd = (lap_sq / n - (lap_sum / n).powi(2)).max(0.0).sqrt();
    let luma_sd = (luma_sq / n - (luma_sum / n).powi(2)).max(0.0).sqrt();
    (lap_sd / luma_sd.max(8.0)) as f32
}

/// A track's best crops so far.
#[derive(Clone, Debug, Default)]
pub struct Candidates {
    crops: Vec<Crop>,
}

impl Candidates {
    /// Keeps `crop` when it is among the best [`CANDIDATES_PER_TRACK`].
    pub fn offer(&mut self, crop: Crop) {
        if !crop.quality.is_finite() {
            return;
        }
        self.crops.push(crop);
        if self.crops.len() > CANDIDATES_PER_TRACK {
            let worst = self
                .crops
                .iter()
                .enumerate()
                .min_by(|a, b| a.1.quality.total_cmp(&b.1.quality).then(b.0.cmp(&a.0)))
                .map(|(i, _)| i)
                .unwrap_or(0);
            self.crops.remove(worst);
        }
    }

    /// Number held.
    pub fn len(&self) -> usize {
        self.crops.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.crops.is_empty()
    }

    /// Up to `k` crops, best first, each at least [`MIN_FRAMES_APART`] frames from the ones
    /// chosen before it.
    pub fn choose(self, k: usize) -> Vec<Crop> {
        let mut crops = self.crops;
        crops.sort_by(|a, b| b.quality.total_cmp(&a.quality).then(a.frame.cmp(&b.frame)));
        let mut chosen: Vec<Crop> = Vec::new();
        for crop in crops {
            if chosen.len() >= k {
                break;
            }
            if chosen
                .iter()
                .all(|c| c.frame.abs_diff(crop.frame) >= MIN_FRAMES_APART)
            {
                chosen.push(crop);
            }
        }
        chosen
    }
}
