//! Where the picture moves: a coarse grey copy of each frame, and how much a region changed
//! since the previous one.
//!
//! Weak detections ([`crate::video::analyzer`]) exist for faces smeared by motion, and motion blur
//! needs motion. A still face that HOG scores below its usual cut is soft or turned, not
//! smeared, and dlib's encoder puts such faces close to *someone*: a soft-focus extra in a
//! bbt group photo came 0.54 from raj's photos. So a weak detection is only considered where
//! the picture changed since the previous frame.

use crate::frame::FrameRef;
use crate::geometry::FaceBox;

/// One sample every this many pixels in each direction.
pub const MOTION_CELL: usize = 4;

/// [`MotionMap::follow`]: the farthest a face is looked for from one frame to the next, in
/// cells (and at most half the face's size): 32 px, a fast pan at 720p.
pub const MAX_FOLLOW_SHIFT: i32 = 8;
/// [`MotionMap::follow`]: at most this many samples a side are compared, whatever the face's
/// size (a big face is compared on every second or third cell).
const FOLLOW_SAMPLES: i32 = 12;
/// [`MotionMap::follow`]: what a shift of one cell costs, in grey levels of mean difference,
/// so that noise on a still or flat face does not walk the box away.
const FOLLOW_SHIFT_COST: f32 = 0.1;

/// A grey copy of a frame, one sample per [`MOTION_CELL`]² pixels.
#[derive(Clone, Debug, PartialEq)]
pub struct MotionMap {
    frame_width: usize,
    frame_height: usize,
    width: usize,
    height: usize,
    grey: Vec<u8>,
}

impl MotionMap {
    /// Samples `frame` (any layout) every [`MOTION_CELL`] pixels.
    pub fn new(frame: &FrameRef<'_>) -> MotionMap {
        let width = frame.width().div_ceil(MOTION_CELL);
        let height = frame.height().div_ceil(MOTION_CELL);
        let mut grey = Vec::with_capacity(width * height);
        for y in 0..height {
            for x in 0..width {
                grey.push(frame.luma_at(x * MOTION_CELL, y * MOTION_CELL));
            }
        }
        MotionMap {
            frame_width: frame.width(),
            frame_height: frame.height(),
            width,
            height,
            grey,
        }
    }

    /// Mean absolute grey difference (0-255) between this map and `previous` inside `face`
    /// (in frame pixels); `None` when the frames differ in size or the box is outside.
    pub fn change_in(&self, previous: &MotionMap, face: &FaceBox) -> Option<f32> {
        if (self.frame_width, self.frame_height) != (previous.frame_width, previous.frame_height) {
            return None;
        }
        let cell = MOTION_CELL as i32;
        let x0 = (face.x / cell).clamp(0, self.width as i32) as usize;
        let y0 = (face.y / cell).clamp(0, self.height as i32) as usize;
        let x1 = ((face.x + face.width) / cell).clamp(0, self.width as i32) as usize;
        let y1 = ((face.y + face.height) / cell).clamp(0, self.height as i32) as usize;
        if x1 <= x0 || y1 <= y0 {
            return None;
        }
        let mut sum = 0u64;
        for y in y0..y1 {
            let a = &self.grey[y * self.width + x0..y * self.width + x1];
            let b = &previous.grey[y * self.width + x0..y * self.width + x1];
            sum += a
                .iter()
                .zip(b)
                .map(|(p, q)| p.abs_diff(*q) as u64)
                .sum::<u64>();
        }
        Some(sum as f32 / ((x1 - x0) * (y1 - y0)) as f32)
    }

    /// Where the picture inside `face` (frame pixels) has moved to in `next`, the following
    /// frame: `face` shifted by the whole number of cells, at most half the face's size and
    /// [`MAX_FOLLOW_SHIFT`] either way, whose picture differs least from it (mean absolute
    /// grey difference, a small cost per cell shifted). `None` when the maps differ in size
    /// or the face is mostly outside. Chained from frame to frame, this carries a face found
    /// on an earlier frame (the live mode's worker) to where it is now.
    pub fn follow(&self, next: &MotionMap, face: &FaceBox) -> Option<FaceBox> {
        if (self.width, self.height) != (next.width, next.height) || face.width <= 0 {
            return None;
        }
        let cell = MOTION_CELL as i32;
        let (x0, y0) = (face.x.div_euclid(cell), face.y.div_euclid(cell));
        let (cols, rows) = ((face.width / cell).max(1), (face.height / cell).max(1));
        let (step_x, step_y) = (
            (cols as u32).div_ceil(FOLLOW_SAMPLES as u32) as i32,
            (rows as u32).div_ceil(FOLLOW_SAMPLES as u32) as i32,
        );
        let max_shift = (cols.min(rows) / 2).clamp(1, MAX_FOLLOW_SHIFT);
        let (w, h) = (self.width as i32, self.height as i32);
        let inside = |x: i32, y: i32| (0..w).contains(&x) && (0..h).contains(&y);
        let at = |m: &MotionMap, x: i32, y: i32| m.grey[(y * w + x) as usize];
        let grid = (y0..y0 + rows).step_by(step_y as usize).flat_map(|y| {
            (x0..x0 + cols)
                .step_by(step_x as usize)
                .map(move |x| (x, y))
        });
        let all = grid.clone().count();
        let samples: Vec<(i32, i32)> = grid.filter(|&(x, y)| inside(x, y)).collect();
        if samples.len() * 2 < all {
            return None;
        }
        let cost = |dx: i32, dy: i32| {
            let (mut sum, mut n) = (0u32, 0u32);
            for &(x, y) in &samples {
                if inside(x + dx, y + dy) {
                    sum += u32::from(at(self, x, y).abs_diff(at(next, x + dx, y + dy)));
                    n += 1;
                }
            }
            ((n as usize) * 2 >= samples.len())
                .then(|| sum as f32 / n as f32 + FOLLOW_SHIFT_COST * (dx.abs() + dy.abs()) as f32)
        };
        // Every shift of up to 2 cells (8 px: most faces from one frame to the next), every
        // second one beyond, then the best one's neighbours: a third of the comparisons.
        let mut best: Option<(f32, i32, i32)> = None;
        let consider = |dx: i32, dy: i32, best: &mut Option<(f32, i32, i32)>| {
            if let Some(c) = cost(dx, dy)
                && best.is_none_or(|(b, _, _)| c < b)
            {
                *best = Some((c, dx, dy));
            }
        };
        for dy in -max_shift..=max_shift {
            for dx in -max_shift..=max_shift {
                let near = dx.abs() <= 2 && dy.abs() <= 2;
                if near || (dx % 2 == 0 && dy % 2 == 0) {
                    consider(dx, dy, &mut best);
                }
            }
        }
        let (_, cx, cy) = best?;
        for dy in cy - 1..=cy + 1 {
            for dx in cx - 1..=cx + 1 {
                if dx.abs() <= max_shift && dy.abs() <= max_shift {
                    consider(dx, dy, &mut best);
                }
            }
        }
        let (_, dx, dy) = best?;
        Some(FaceBox {
            x: face.x + dx * cell,
            y: face.y + dy * cell,
            ..*face
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::PixelLayout;

    /// A 64x48 BGRx frame with vertical stripes shifted by `dx` pixels.
    fn stripes(dx: usize) -> Vec<u8> {
        let (w, h) = (64, 48);
        let mut data = vec![0u8; w * h * 4];
        for y in 0..h {
            for x in 0..w {
                let v = if ((x + dx) / 6).is_multiple_of(2) {
                    200
                } else {
                    40
                };
                data[(y * w + x) * 4..(y * w + x) * 4 + 3].copy_from_slice(&[v, v, v]);
            }
        }
        data
    }

    fn map(data: &[u8], w: usize, h: usize) -> MotionMap {
        MotionMap::new(&FrameRef::new(data, w, h, w * 4, PixelLayout::Bgrx).unwrap())
    }

    fn face(x: i32, y: i32, side: i32) -> FaceBox {
        FaceBox {
            x,
            y,
            width: side,
            height: side,
        }
    }

    #[test]
    fn a_still_picture_has_no_change_and_a_pan_has_much() {
        let still = stripes(0);
        let a = map(&still, 64, 48);
        assert_eq!(a.change_in(&a.clone(), &face(8, 8, 32)), Some(0.0));
        let panned = stripes(3);
        let b = map(&panned, 64, 48);
        let change = b.change_in(&a, &face(8, 8, 32)).unwrap();
        assert!(change >= 20.0, "{change}");
    }

    #[test]
    fn other_sizes_and_boxes_outside_give_none() {
        let a = map(&stripes(0), 64, 48);
        let small = vec![0u8; 32 * 24 * 4];
        let b = map(&small, 32, 24);
        assert_eq!(a.change_in(&b, &face(0, 0, 16)), None);
        assert_eq!(a.change_in(&a, &face(100, 100, 16)), None);
        assert_eq!(a.change_in(&a, &face(-50, -50, 10)), None);
        assert_eq!(a.change_in(&a, &face(10, 10, 0)), None);
    }

    /// A 160x120 frame, black but for a textured 40 px square at (`x`, `y`).
    fn square_at(x: usize, y: usize) -> Vec<u8> {
        let (w, h) = (160, 120);
        let mut data = vec![0u8; w * h * 4];
        for j in 0..40 {
            for i in 0..40 {
                let v = 60 + ((i * 7 + j * 13) % 23) as u8 * 8;
                let p = ((y + j) * w + x + i) * 4;
                data[p..p + 3].copy_from_slice(&[v, v, v]);
            }
        }
        data
    }

    #[test]
    fn a_face_is_followed_to_where_it_moved_and_a_still_one_stays() {
        let before = map(&square_at(40, 40), 160, 120);
        let after = map(&square_at(56, 32), 160, 120);
        assert_eq!(
            before.follow(&after, &face(40, 40, 40)),
            Some(face(56, 32, 40))
        );
        assert_eq!(
            before.follow(&before, &face(40, 40, 40)),
            Some(face(40, 40, 40))
        );
        // A flat picture gives no reason to move.
        let flat = map(&vec![90u8; 160 * 120 * 4], 160, 120);
        assert_eq!(
            flat.follow(&flat, &face(40, 40, 40)),
            Some(face(40, 40, 40))
        );
        // At most half the face's size a frame: this one moved too far to be followed.
        let far = map(&square_at(100, 40), 160, 120);
        assert_ne!(
            before.follow(&far, &face(40, 40, 40)),
            Some(face(100, 40, 40))
        );
    }

    #[test]
    fn following_needs_maps_of_one_size_and_a_face_inside() {
        let a = map(&square_at(40, 40), 160, 120);
        let small = map(&vec![0u8; 32 * 24 * 4], 32, 24);
        assert_eq!(a.follow(&small, &face(0, 0, 16)), None);
        assert_eq!(a.follow(&a, &face(150, 110, 40)), None);
        assert_eq!(a.follow(&a, &face(10, 10, 0)), None);
    }

    #[test]
    fn odd_sizes_are_sampled_without_reading_past_the_frame() {
        let data = vec![9u8; 13 * 7 * 3 + 5];
        let frame = FrameRef::new(&data, 13, 7, 13 * 3, PixelLayout::Rgb).unwrap();
        let m = MotionMap::new(&frame);
        assert_eq!((m.width, m.height), (4, 2));
        assert_eq!(m.change_in(&m.clone(), &face(0, 0, 13)), Some(0.0));
    }
}
