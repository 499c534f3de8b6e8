//! Training-time augmentation: a motion-blurred copy of each training photo's face.
//!
//! Music videos pan fast, and a face smeared sideways by motion blur lands far (0.60 to 0.65 in
//! dlib distance) from its person's sharp photos, beyond the calibrated unknown distance. Encoding
//! each training photo a second time, blurred sideways by about a ninth of the face's width, gives
//! the nearest-neighbour search a photo of each person that looks like such a frame. Measured on
//! the bbt photos (`docs/motion-blur.md`): blurred video faces of leonard and penny come from
//! 0.60-0.64 down to 0.50-0.53, while no sharp or sideways-blurred stranger comes nearer than
//! 0.60. Only horizontal blur is added: vertically blurred copies let 8 of 39 vertically blurred
//! strangers within the calibrated distance, because smearing a face up and down erases the rows
//! (eyes, nose, mouth) that tell people apart.

use faceid_core::encoding::Encoding;
use faceid_core::frame::FrameRef;
use faceid_core::geometry::FaceBox;

use crate::pipeline::FacePipeline;

/// Length of the blur as a fraction of the face box's width (13 pixels on a 108-130 pixel face,
/// as on dlib's 150-pixel face chips).
pub const MOTION_BLUR_FRACTION: f32 = 0.11;

/// Blur length in pixels for a face of this box: odd, at least 3.
pub fn motion_blur_length(face: &FaceBox) -> usize {
    let length = (face.width.max(0) as f32 * MOTION_BLUR_FRACTION).round() as usize;
    length.max(3) | 1
}

/// A copy of `frame`'s pixel bytes (same size, stride and layout) blurred horizontally with a box
/// filter `length` pixels wide, as a camera pan smears a face. Only the rows and columns around
/// `face` (plus half its size on each side, the margin the encoder's landmarks and chip read) are
/// blurred; the rest is copied. Edges repeat the border pixel. Padding bytes are copied unchanged.
pub fn motion_blurred_copy(frame: &FrameRef<'_>, face: &FaceBox, length: usize) -> Vec<u8> {
    let mut out = frame.data().to_vec();
    let bpp = frame.layout().bytes_per_pixel();
    let margin = face.width.max(face.height).max(0) / 2 + 8;
    let x0 = (face.x - margin).clamp(0, frame.width() as i32) as usize;
    let x1 = (face.x + face.width + margin).clamp(0, frame.width() as i32) as usize;
    let y0 = (face.y - margin).clamp(0, frame.height() as i32) as usize;
    let y1 = (face.y + face.height + margin).clamp(0, frame.height() as i32) as usize;
    if length < 2 || x1 <= x0 || y1 <= y0 {
        return out;
    }
    let half = (length / 2) as isize;
    let last = frame.width() as isize - 1;
    let n = (2 * half + 1) as u32;
    for y in y0..y1 {
        let row = &frame.data()[y * frame.stride()..];
        let out_row = &mut out[y * frame.stride()..];
        for channel in 0..bpp.min(3) {
            let at = |x: isize| row[x.clamp(0, last) as usize * bpp + channel] as u32;
            // Running sum over the window [x - half, x + half].
            let mut sum: u32 = (-half..=half).map(|k| at(x0 as isize + k)).sum();
            for x in x0..x1 {
                out_row[x * bpp + channel] = ((sum + n / 2) / n) as u8;
                let xi = x as isize;
                sum = sum + at(xi + half + 1) - at(xi - half);
            }
        }
    }
    out
}

/// Encodes the face at `face` in a copy of `frame` blurred sideways by
/// [`motion_blur_length`] (same box: a horizontal blur does not move the face). `None` when the
/// encoder gives nothing.
pub fn encode_motion_blurred(
    pipeline: &FacePipeline,
    frame: &FrameRef<'_>,
    face: FaceBox,
    jitters: u32,
) -> Option<Encoding> {
    let blurred = motion_blurred_copy(frame, &face, motion_blur_length(&face));
    let view = FrameRef::new(
        &blurred,
        frame.width(),
        frame.height(),
        frame.stride(),
        frame.layout(),
    )
    .ok()?;
    pipeline.encode(&view, &[face], jitters).pop()
}

#[cfg(test)]
mod tests {
    use super::*;
    use faceid_core::frame::PixelLayout;

    fn face(x: i32, y: i32, side: i32) -> FaceBox {
        FaceBox {
            x,
            y,
            width: side,
            height: side,
        }
    }

    #[test]
    fn blur_length_follows_the_face_and_is_odd() {
        assert_eq!(motion_blur_length(&face(0, 0, 108)), 13);
        assert_eq!(motion_blur_length(&face(0, 0, 130)), 15);
        assert_eq!(motion_blur_length(&face(0, 0, 400)), 45);
        assert_eq!(motion_blur_length(&face(0, 0, 10)), 3);
        assert_eq!(motion_blur_length(&face(0, 0, -5)), 3);
    }

    #[test]
    fn a_vertical_edge_is_smeared_sideways_and_rows_stay_apart() {
        // 40x40 RGB, left half black, right half white, one red row at y = 20.
        let (w, h) = (40usize, 40usize);
        let stride = w * 3 + 2; // padding bytes must survive
        let mut data = vec![7u8; stride * h];
        for y in 0..h {
            for x in 0..w {
                let v = if x < 20 { 0 } else { 255 };
                let p = &mut data[y * stride + x * 3..y * stride + x * 3 + 3];
                p.copy_from_slice(&[v, v, v]);
                if y == 20 {
                    p.copy_from_slice(&[255, 0, 0]);
                }
            }
        }
        let frame = FrameRef::new(&data, w, h, stride, PixelLayout::Rgb).unwrap();
        let out = motion_blurred_copy(&frame, &face(10, 10, 20), 5);
        let px = |x: usize, y: usize| &out[y * stride + x * 3..y * stride + x * 3 + 3];
        // Far from the edge: unchanged. At the edge: a ramp of 5 steps.
        assert_eq!(px(5, 5), &[0, 0, 0]);
        assert_eq!(px(35, 5), &[255, 255, 255]);
        assert_eq!(px(19, 5), &[102, 102, 102]); // 2 of 5 white
        assert_eq!(px(20, 5), &[153, 153, 153]); // 3 of 5 white
        // Horizontal blur never mixes rows: the red row stays red, its neighbours get no red.
        assert_eq!(px(19, 20), &[255, 0, 0]);
        assert_eq!(px(19, 19)[0], px(19, 19)[1]);
        // Padding bytes untouched.
        assert_eq!(out[5 * stride + w * 3], 7);
        assert_eq!(out.len(), data.len());
    }

    #[test]
    fn faces_at_the_border_and_degenerate_boxes_do_not_panic() {
        let data = vec![100u8; 16 * 16 * 4];
        let frame = FrameRef::new(&data, 16, 16, 64, PixelLayout::Bgrx).unwrap();
        for b in [
            face(-50, -50, 20),
            face(10, 10, 100),
            face(100, 100, 5),
            face(0, 0, 0),
        ] {
            let out = motion_blurred_copy(&frame, &b, motion_blur_length(&b));
            assert_eq!(out, data, "a flat image stays flat for {b:?}");
        }
    }
}
