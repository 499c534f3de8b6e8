//! dlib's image and rectangle types from and to the core's: packed RGB as an `ImageMatrix`,
//! `Rectangle` (inclusive corners) as a `FaceBox`.

use dlib_face_recognition::{ImageMatrix, Rectangle};
use faceid_core::geometry::FaceBox;

/// Packed RGB pixels as a dlib image (dlib copies them).
pub(crate) fn image_matrix(rgb: &[u8], width: usize, height: usize) -> ImageMatrix {
    assert!(rgb.len() >= width * height * 3, "rgb buffer too small");
    // SAFETY: the buffer holds width * height packed RGB pixels (checked above); dlib copies it.
    unsafe { ImageMatrix::new(width, height, rgb.as_ptr()) }
}

/// A dlib rectangle (inclusive corners), scaled by `scale`, as a face box.
pub(crate) fn from_dlib(r: &Rectangle, scale: f64) -> FaceBox {
    let x = (r.left as f64 * scale).round() as i32;
    let y = (r.top as f64 * scale).round() as i32;
    let right = ((r.right + 1) as f64 * scale).round() as i32;
    let bottom = ((r.bottom + 1) as f64 * scale).round() as i32;
    FaceBox {
        x,
        y,
        width: right - x,
        height: bottom - y,
    }
}

/// A face box as a dlib rectangle.
pub(crate) fn to_dlib(b: FaceBox) -> Rectangle {
    Rectangle {
        left: b.x as _,
        top: b.y as _,
        right: (b.x + b.width - 1) as _,
        bottom: (b.y + b.height - 1) as _,
    }
}
