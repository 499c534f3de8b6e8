//! Where a face is: a box in frame pixels.

/// A face box in frame pixels, top-left corner and size.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct FaceBox {
    /// Left edge.
    pub x: i32,
    /// Top edge.
    pub y: i32,
    /// Width.
    pub width: i32,
    /// Height.
    pub height: i32,
}

impl FaceBox {
    /// Overlap (intersection over union) with another box.
    pub fn iou(&self, other: &FaceBox) -> f32 {
        // In i64: boxes read from files may hold any i32.
        let (a, b) = (self.wide(), other.wide());
        let x0 = a[0].max(b[0]);
        let y0 = a[1].max(b[1]);
        let x1 = (a[0] + a[2]).min(b[0] + b[2]);
        let y1 = (a[1] + a[3]).min(b[1] + b[3]);
        let inter = (x1 - x0).max(0).saturating_mul((y1 - y0).max(0)) as f32;
        let union = (self.width as i64 * self.height as i64
            + other.width as i64 * other.height as i64) as f32
            - inter;
        if union > 0.0 { inter / union } else { 0.0 }
    }

    fn wide(&self) -> [i64; 4] {
        [self.x, self.y, self.width, self.height].map(i64::from)
    }

    /// Whether the centre of `self` lies inside `other`.
    pub fn center_inside(&self, other: &FaceBox) -> bool {
        let cx = self.x + self.width / 2;
        let cy = self.y + self.height / 2;
        cx >= other.x && cx < other.x + other.width && cy >= other.y && cy < other.y + other.height
    }
}

impl FaceBox {
    /// A box from its top-left corner and size.
    pub const fn new(x: i32, y: i32, width: i32, height: i32) -> FaceBox {
        FaceBox {
            x,
            y,
            width,
            height,
        }
    }

    /// Area in pixels (0 for an empty box).
    pub fn area(&self) -> i64 {
        i64::from(self.width.max(0)) * i64::from(self.height.max(0))
    }

    /// Whether the box has a positive size.
    pub fn is_valid(&self) -> bool {
        self.width > 0 && self.height > 0
    }

    /// The part of the box inside a `width x height` frame; `None` when nothing is left.
    pub fn clipped(&self, width: usize, height: usize) -> Option<FaceBox> {
        let x0 = i64::from(self.x).max(0);
        let y0 = i64::from(self.y).max(0);
        let x1 = (i64::from(self.x) + i64::from(self.width)).min(width as i64);
        let y1 = (i64::from(self.y) + i64::from(self.height)).min(height as i64);
        (x1 > x0 && y1 > y0).then(|| FaceBox {
            x: x0 as i32,
            y: y0 as i32,
            width: (x1 - x0) as i32,
            height: (y1 - y0) as i32,
        })
    }
}

/// dlib's 5 landmarks of a face, in frame pixels: two corners of each eye and the bottom of
/// the nose (index 4). Encoders that align a face (SFace) start from them.
pub type FivePoints = [(f32, f32); 5];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iou_of_boxes() {
        let a = FaceBox::new(0, 0, 10, 10);
        let b = FaceBox { x: 5, ..a };
        assert!((a.iou(&b) - 50.0 / 150.0).abs() < 1e-6);
        assert_eq!(a.iou(&FaceBox { x: 20, ..a }), 0.0);
        assert_eq!(a.area(), 100);
        assert!(FaceBox { x: 4, ..a }.center_inside(&a));
        assert!(!FaceBox { x: 20, ..a }.center_inside(&a));
    }

    #[test]
    fn boxes_are_clipped_to_the_frame() {
        let b = FaceBox::new(-10, 5, 30, 20);
        assert_eq!(b.clipped(100, 100), Some(FaceBox::new(0, 5, 20, 20)));
        assert_eq!(FaceBox::new(200, 0, 10, 10).clipped(100, 100), None);
        assert!(!FaceBox::new(1, 1, 0, 5).is_valid());
    }
}
