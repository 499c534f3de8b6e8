//! A borrowed video frame as the face code sees it: pixel rows of any stride in one of three
//! layouts, checked once when the view is made, so every later index into it is in bounds; its
//! downscaled RGB copy; and its grey samples (the one luma sampler that scene cuts, motion and
//! appearance all use).

use std::fmt;

/// BT.601 luma weights, out of 256.
const LUMA_R: u64 = 77;
const LUMA_G: u64 = 150;
const LUMA_B: u64 = 29;

/// BT.601 luma of one pixel, 0-255 (integer weights 77, 150, 29 out of 256).
pub fn luma(r: u8, g: u8, b: u8) -> u8 {
    ((LUMA_R * u64::from(r) + LUMA_G * u64::from(g) + LUMA_B * u64::from(b)) >> 8) as u8
}

/// Frames larger than this on either side are refused (GStreamer's own limit is far above what
/// dlib can sensibly process).
pub const MAX_FRAME_SIDE: usize = 16384;

/// Memory layout of a frame's pixels (the GStreamer formats the elements accept).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PixelLayout {
    /// 4 bytes a pixel: blue, green, red, padding (GStreamer BGRx; cairo Rgb24 on
    /// little-endian hosts).
    Bgrx,
    /// 4 bytes a pixel: blue, green, red, alpha (GStreamer BGRA; cairo ARgb32).
    Bgra,
    /// 4 bytes a pixel: red, green, blue, padding or alpha (GStreamer RGBx, RGBA).
    Rgbx,
    /// 3 bytes a pixel: red, green, blue.
    Rgb,
}

impl PixelLayout {
    /// Bytes per pixel.
    pub fn bytes_per_pixel(self) -> usize {
        match self {
            PixelLayout::Bgrx | PixelLayout::Bgra | PixelLayout::Rgbx => 4,
            PixelLayout::Rgb => 3,
        }
    }

    /// Byte offsets of red, green and blue within a pixel.
    pub fn rgb_offsets(self) -> (usize, usize, usize) {
        match self {
            PixelLayout::Bgrx | PixelLayout::Bgra => (2, 1, 0),
            PixelLayout::Rgbx | PixelLayout::Rgb => (0, 1, 2),
        }
    }
}

/// A borrowed video frame. Made only by [`FrameRef::new`], which checks the geometry against
/// the data: every row of `width` pixels lies inside `data`.
#[derive(Clone, Copy, Debug)]
pub struct FrameRef<'a> {
    data: &'a [u8],
    width: usize,
    height: usize,
    stride: usize,
    layout: PixelLayout,
}

/// Why a frame can not be processed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError(pub String);

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FrameError {}

impl<'a> FrameRef<'a> {
    /// Checks the geometry against the data.
    pub fn new(
        data: &'a [u8],
        width: usize,
        height: usize,
        stride: usize,
        layout: PixelLayout,
    ) -> Result<Self, FrameError> {
        if width == 0 || height == 0 {
            return Err(FrameError(format!("empty frame ({width}x{height})")));
        }
        if width > MAX_FRAME_SIDE || height > MAX_FRAME_SIDE {
            return Err(FrameError(format!(
                "frame {width}x{height} is larger than {MAX_FRAME_SIDE} pixels on a side"
            )));
        }
        let row = width * layout.bytes_per_pixel();
        if stride < row {
            return Err(FrameError(format!(
                "stride {stride} is smaller than a row of {row} bytes"
            )));
        }
        let needed = stride * (height - 1) + row;
        if data.len() < needed {
            return Err(FrameError(format!(
                "frame data has {} bytes, {width}x{height} with stride {stride} needs {needed}",
                data.len()
            )));
        }
        Ok(FrameRef {
            data,
            width,
            height,
            stride,
            layout,
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Bytes from one row to the next.
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// Pixel layout.
    pub fn layout(&self) -> PixelLayout {
        self.layout
    }

    /// The pixel bytes, rows `stride` apart.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// Row `y`: `width` pixels.
    fn row(&self, y: usize) -> &'a [u8] {
        let start = y * self.stride;
        &self.data[start..start + self.width * self.layout.bytes_per_pixel()]
    }

    /// Luma (BT.601, 0-255) of the pixel at `(x, y)`; coordinates are clamped into the frame.
    pub fn luma_at(&self, x: usize, y: usize) -> u8 {
        let bpp = self.layout.bytes_per_pixel();
        let (x, y) = (x.min(self.width - 1), y.min(self.height - 1));
        let p = &self.row(y)[x * bpp..x * bpp + bpp];
        let (r, g, b) = self.layout.rgb_offsets();
        luma(p[r], p[g], p[b])
    }

    /// Sum of the luma of pixels `x0..x1` of row `y`, times 256 (exact for box averages).
    /// The caller keeps `x0 <= x1 <= width` and `y < height`.
    pub fn luma_sum_256(&self, y: usize, x0: usize, x1: usize) -> u64 {
        let bpp = self.layout.bytes_per_pixel();
        let (r, g, b) = self.layout.rgb_offsets();
        let (mut sr, mut sg, mut sb) = (0u64, 0u64, 0u64);
        for p in self.row(y)[x0 * bpp..x1 * bpp].chunks_exact(bpp) {
            sr += u64::from(p[r]);
            sg += u64::from(p[g]);
            sb += u64::from(p[b]);
        }
        LUMA_R * sr + LUMA_G * sg + LUMA_B * sb
    }

    /// The region `x0..x1` x `y0..y1`, without copying; `None` unless
    /// `x0 < x1 <= width` and `y0 < y1 <= height`.
    pub fn crop(&self, x0: usize, y0: usize, x1: usize, y1: usize) -> Option<FrameRef<'a>> {
        if !(x0 < x1 && x1 <= self.width && y0 < y1 && y1 <= self.height) {
            return None;
        }
        Some(self.crop_unchecked(x0, y0, x1, y1))
    }

    fn crop_unchecked(&self, x0: usize, y0: usize, x1: usize, y1: usize) -> FrameRef<'a> {
        let bpp = self.layout.bytes_per_pixel();
        FrameRef {
            data: &self.data[y0 * self.stride + x0 * bpp..],
            width: x1 - x0,
            height: y1 - y0,
            stride: self.stride,
            layout: self.layout,
        }
    }

    /// Packed RGB copy, downscaled by an integer-free bilinear-ish box sample to `out_w x out_h`
    /// (equal sizes copy 1:1).
    pub fn to_rgb(self, out_w: usize, out_h: usize) -> Vec<u8> {
        let bpp = self.layout.bytes_per_pixel();
        let (ri, gi, bi) = self.layout.rgb_offsets();
        let mut out = Vec::with_capacity(out_w * out_h * 3);
        if out_w == self.width && out_h == self.height {
            for y in 0..self.height {
                let row = &self.data[y * self.stride..y * self.stride + self.width * bpp];
                for px in row.chunks_exact(bpp) {
                    out.extend_from_slice(&[px[ri], px[gi], px[bi]]);
                }
            }
            return out;
        }
        // Area averaging over the source pixels that fall into each output pixel.
        let x_bounds: Vec<(usize, usize)> = (0..out_w)
            .map(|x| {
                let a = x * self.width / out_w;
                let b = ((x + 1) * self.width / out_w).max(a + 1).min(self.width);
                (a, b)
            })
            .collect();
        for y in 0..out_h {
            let y0 = y * self.height / out_h;
            let y1 = ((y + 1) * self.height / out_h).max(y0 + 1).min(self.height);
            for &(x0, x1) in &x_bounds {
                let (mut r, mut g, mut b) = (0u32, 0u32, 0u32);
                for sy in y0..y1 {
                    let row = &self.data[sy * self.stride..];
                    for sx in x0..x1 {
                        let px = &row[sx * bpp..sx * bpp + bpp];
                        r += px[ri] as u32;
                        g += px[gi] as u32;
                        b += px[bi] as u32;
                    }
                }
                let n = ((y1 - y0) * (x1 - x0)) as u32;
                out.extend_from_slice(&[(r / n) as u8, (g / n) as u8, (b / n) as u8]);
            }
        }
        out
    }
}

/// An owned copy of a frame's pixels, for work that outlives the buffer (the live mode's
/// worker thread). Rows are packed (`stride` = a row's bytes).
#[derive(Clone, Debug)]
pub struct OwnedFrame {
    data: Vec<u8>,
    width: usize,
    height: usize,
    layout: PixelLayout,
}

impl OwnedFrame {
    /// Copies `frame`'s pixels.
    pub fn copy_of(frame: &FrameRef<'_>) -> OwnedFrame {
        let row = frame.width * frame.layout.bytes_per_pixel();
        let mut data = Vec::with_capacity(row * frame.height);
        for y in 0..frame.height {
            data.extend_from_slice(frame.row(y));
        }
        OwnedFrame {
            data,
            width: frame.width,
            height: frame.height,
            layout: frame.layout,
        }
    }

    /// A view of the copy.
    pub fn view(&self) -> FrameRef<'_> {
        FrameRef {
            data: &self.data,
            width: self.width,
            height: self.height,
            stride: self.width * self.layout.bytes_per_pixel(),
            layout: self.layout,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_geometry_is_checked() {
        let data = vec![0u8; 100];
        assert!(FrameRef::new(&data, 0, 1, 4, PixelLayout::Bgrx).is_err());
        assert!(FrameRef::new(&data, 5, 5, 16, PixelLayout::Bgrx).is_err());
        assert!(FrameRef::new(&data, 5, 5, 20, PixelLayout::Bgrx).is_ok());
        assert!(FrameRef::new(&data, 5, 6, 20, PixelLayout::Bgrx).is_err());
    }

    #[test]
    fn downscale_averages_and_swaps_channels() {
        // 2x2 BGRx frame with stride padding, downscaled to 1x1.
        let data = [
            10, 20, 30, 0, 30, 40, 50, 0, 99, 99, //
            10, 20, 30, 0, 30, 40, 50, 0, 99, 99,
        ];
        let frame = FrameRef::new(&data, 2, 2, 10, PixelLayout::Bgrx).unwrap();
        assert_eq!(frame.to_rgb(1, 1), vec![40, 30, 20]);
        assert_eq!(frame.to_rgb(2, 2)[..6], [30, 20, 10, 50, 40, 30]);
    }

    #[test]
    fn crops_are_checked_and_luma_is_sampled_in_bounds() {
        let data = [10u8, 20, 30, 0, 255, 255, 255, 0];
        let frame = FrameRef::new(&data, 2, 1, 8, PixelLayout::Bgrx).unwrap();
        assert!(frame.crop(0, 0, 3, 1).is_none());
        assert!(frame.crop(1, 0, 1, 1).is_none());
        let right = frame.crop(1, 0, 2, 1).unwrap();
        assert_eq!((right.width(), right.height()), (1, 1));
        assert_eq!(right.luma_at(0, 0), 255);
        // (77*30 + 150*20 + 29*10) / 256, clamped coordinates.
        assert_eq!(frame.luma_at(0, 5), 21);
        assert_eq!(frame.luma_sum_256(0, 0, 2), 77 * 285 + 150 * 275 + 29 * 265);
        assert_eq!(luma(255, 255, 255), 255);
    }

    #[test]
    fn an_owned_copy_has_the_same_pixels_without_the_padding() {
        let (w, h, stride) = (3, 2, 16);
        let data: Vec<u8> = (0..stride * h).map(|i| i as u8).collect();
        let frame = FrameRef::new(&data, w, h, stride, PixelLayout::Bgrx).unwrap();
        let copy = OwnedFrame::copy_of(&frame);
        let view = copy.view();
        assert_eq!((view.width(), view.height(), view.stride()), (3, 2, 12));
        for y in 0..h {
            for x in 0..w {
                assert_eq!(view.luma_at(x, y), frame.luma_at(x, y));
            }
        }
    }
}
