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

    #[test]
    fn odd_sizes_are_sampled_without_reading_past_the_frame() {
        let data = vec![9u8; 13 * 7 * 3 + 5];
        let frame = FrameRef::new(&data, 13, 7, 13 * 3, PixelLayout::Rgb).unwrap();
        let m = MotionMap::new(&frame);
        assert_eq!((m.width, m.height), (4, 2));
        assert_eq!(m.change_in(&m.clone(), &face(0, 0, 13)), Some(0.0));
    }
}
