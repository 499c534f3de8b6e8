//! Following a face by its look when the detector misses it.
//!
//! dlib's HOG detector loses faces that are motion-blurred, turned or partly covered for a few
//! frames, which music videos are full of. A track keeps a small grey-level picture of its face
//! from the last frame the detector found it (an [`AppearanceTemplate`]); when a detection round
//! misses the face, the template is searched for around the predicted box by normalised cross
//! correlation (NCC). A good match keeps the track on the face, a poor one lets it miss as
//! before. The search is at the template's own scale, a few thousand multiply-adds: nothing next
//! to one HOG pass.
//!
//! The template is refreshed only from detector hits, never from its own matches, so it cannot
//! drift onto the background; the analyzer also bounds how many rounds in a row a track may be
//! kept by appearance alone.

use crate::frame::FrameRef;
use crate::geometry::FaceBox;
use crate::video::tracker::Rect;

/// Side of the template, in cells: the face box is averaged down to this many cells a side.
pub const TEMPLATE_CELLS: usize = 24;
/// How far the search looks around the predicted box, in cells (a quarter of the face).
pub const SEARCH_CELLS: usize = 6;
/// Lowest NCC score accepted as "still the same face" (1 = identical up to brightness and
/// contrast, 0 = unrelated).
pub const MIN_MATCH_SCORE: f32 = 0.75;

/// A face's grey-level picture, `TEMPLATE_CELLS` a side, zero mean and unit norm.
#[derive(Clone, Debug)]
pub struct AppearanceTemplate {
    cells: Vec<f32>,
}

/// Where the template was found and how well it matched.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AppearanceMatch {
    /// The face's box in the new frame (same size as the searched box).
    pub rect: FaceBox,
    /// NCC score in `-1..=1`.
    pub score: f32,
}

impl AppearanceTemplate {
    /// The face inside `rect` of `frame`; `None` when the box is (mostly) outside the frame,
    /// smaller than the template, or featureless (a flat patch matches everything).
    pub fn capture(frame: &FrameRef<'_>, rect: &FaceBox) -> Option<Self> {
        let grid = CellGrid::new(frame, &Rect::from_box(rect), 0)?;
        let mut cells = grid.window(0, 0);
        normalize(&mut cells).then_some(AppearanceTemplate { cells })
    }

    /// Searches for the face around `predicted` (a box of the face's current size) in `frame`.
    /// Returns the best match, whatever its score; `None` when nothing can be compared.
    pub fn find(&self, frame: &FrameRef<'_>, predicted: &FaceBox) -> Option<AppearanceMatch> {
        let predicted = Rect::from_box(predicted);
        let grid = CellGrid::new(frame, &predicted, SEARCH_CELLS)?;
        let mut best: Option<(f32, usize, usize)> = None;
        for dy in 0..=grid.rows - TEMPLATE_CELLS {
            for dx in 0..=grid.cols - TEMPLATE_CELLS {
                let mut window = grid.window(dx, dy);
                if !normalize(&mut window) {
                    continue;
                }
                let score: f32 = window.iter().zip(&self.cells).map(|(a, b)| a * b).sum();
                if best.is_none_or(|(s, _, _)| score > s) {
                    best = Some((score, dx, dy));
                }
            }
        }
        let (score, dx, dy) = best?;
        let rect = Rect::new(
            grid.origin_x + dx as f32 * grid.cell_w,
            grid.origin_y + dy as f32 * grid.cell_h,
            predicted.w,
            predicted.h,
        )
        .to_box()?;
        Some(AppearanceMatch { rect, score })
    }
}

/// Mean grey level of cells of `rect`'s size / TEMPLATE_CELLS, over the box grown by `margin`
/// cells on each side. Cells falling outside the frame make the grid invalid.
struct CellGrid {
    values: Vec<f32>,
    cols: usize,
    rows: usize,
    origin_x: f32,
    origin_y: f32,
    cell_w: f32,
    cell_h: f32,
}

impl CellGrid {
    fn new(frame: &FrameRef<'_>, rect: &Rect, margin: usize) -> Option<Self> {
        if !rect.is_valid() || frame.width() == 0 || frame.height() == 0 {
            return None;
        }
        let cell_w = rect.w / TEMPLATE_CELLS as f32;
        let cell_h = rect.h / TEMPLATE_CELLS as f32;
        if cell_w < 1.0 || cell_h < 1.0 {
            return None;
        }
        // Clip the search area to the frame, keeping whole cells.
        let want = TEMPLATE_CELLS + 2 * margin;
        let ideal_x = rect.x - margin as f32 * cell_w;
        let ideal_y = rect.y - margin as f32 * cell_h;
        let skip_left = ((-ideal_x) / cell_w).ceil().max(0.0) as usize;
        let skip_top = ((-ideal_y) / cell_h).ceil().max(0.0) as usize;
        let origin_x = ideal_x + skip_left as f32 * cell_w;
        let origin_y = ideal_y + skip_top as f32 * cell_h;
        let fit_x = ((frame.width() as f32 - origin_x) / cell_w)
            .floor()
            .max(0.0) as usize;
        let fit_y = ((frame.height() as f32 - origin_y) / cell_h)
            .floor()
            .max(0.0) as usize;
        let cols = want.saturating_sub(skip_left).min(fit_x);
        let rows = want.saturating_sub(skip_top).min(fit_y);
        if cols < TEMPLATE_CELLS || rows < TEMPLATE_CELLS {
            return None;
        }
        // Each cell averages 3x3 samples spread over it: enough against aliasing, cheap for
        // large faces.
        const SAMPLES: usize = 3;
        let mut values = Vec::with_capacity(cols * rows);
        for r in 0..rows {
            for c in 0..cols {
                let mut sum = 0.0f32;
                let mut n = 0usize;
                for sy in 0..SAMPLES {
                    let y = origin_y + (r as f32 + (sy as f32 + 0.5) / SAMPLES as f32) * cell_h;
                    for sx in 0..SAMPLES {
                        let x = origin_x + (c as f32 + (sx as f32 + 0.5) / SAMPLES as f32) * cell_w;
                        sum += f32::from(frame.luma_at(x as usize, y as usize));
                        n += 1;
                    }
                }
                values.push(if n > 0 { sum / n as f32 } else { 0.0 });
            }
        }
        Some(CellGrid {
            values,
            cols,
            rows,
            origin_x,
            origin_y,
            cell_w,
            cell_h,
        })
    }

    /// The TEMPLATE_CELLS-square window whose top left cell is (dx, dy).
    fn window(&self, dx: usize, dy: usize) -> Vec<f32> {
        let mut out = Vec::with_capacity(TEMPLATE_CELLS * TEMPLATE_CELLS);
        for r in dy..dy + TEMPLATE_CELLS {
            let start = r * self.cols + dx;
            out.extend_from_slice(&self.values[start..start + TEMPLATE_CELLS]);
        }
        out
    }
}

/// Zero mean, unit norm in place; false for a flat patch (nothing to correlate).
fn normalize(v: &mut [f32]) -> bool {
    if v.is_empty() {
        return false;
    }
    let mean = v.iter().sum::<f32>() / v.len() as f32;
    let mut norm = 0.0f32;
    for x in v.iter_mut() {
        *x -= mean;
        norm += *x * *x;
    }
    let norm = norm.sqrt();
    // Below about one grey level of spread per cell, the patch is flat.
    if !norm.is_finite() || norm < (v.len() as f32).sqrt() {
        return false;
    }
    v.iter_mut().for_each(|x| *x /= norm);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::PixelLayout;

    /// A BGRx frame with a textured square (a stand-in for a face: a patch with structure)
    /// at (x, y) on a gently varying background.
    fn frame_with_patch(w: usize, h: usize, x: usize, y: usize, side: usize) -> Vec<u8> {
        let mut data = vec![0u8; w * h * 4];
        for r in 0..h {
            for c in 0..w {
                let mut v = ((r + c) / 8 % 16 + 100) as u8;
                if (x..x + side).contains(&c) && (y..y + side).contains(&r) {
                    let (u, t) = ((c - x) * 7 / side, (r - y) * 7 / side);
                    v = (((u * 37 + t * 91) % 13) * 18) as u8;
                }
                let at = (r * w + c) * 4;
                data[at..at + 3].copy_from_slice(&[v, v, v]);
            }
        }
        data
    }

    fn frame(data: &[u8], w: usize, h: usize) -> FrameRef<'_> {
        FrameRef::new(data, w, h, w * 4, PixelLayout::Bgrx).unwrap()
    }

    #[test]
    fn finds_a_moved_face_where_it_went() {
        let first = frame_with_patch(320, 240, 100, 80, 72);
        let template =
            AppearanceTemplate::capture(&frame(&first, 320, 240), &FaceBox::new(100, 80, 72, 72))
                .unwrap();
        let moved = frame_with_patch(320, 240, 112, 74, 72);
        let found = template
            .find(&frame(&moved, 320, 240), &FaceBox::new(100, 80, 72, 72))
            .unwrap();
        assert!(found.score > 0.95, "{found:?}");
        assert!((found.rect.x - 112).abs() <= 3, "{found:?}");
        assert!((found.rect.y - 74).abs() <= 3, "{found:?}");
    }

    #[test]
    fn a_face_that_left_scores_low() {
        let first = frame_with_patch(320, 240, 100, 80, 72);
        let template =
            AppearanceTemplate::capture(&frame(&first, 320, 240), &FaceBox::new(100, 80, 72, 72))
                .unwrap();
        let gone = frame_with_patch(320, 240, 240, 160, 72);
        let found = template.find(&frame(&gone, 320, 240), &FaceBox::new(100, 80, 72, 72));
        assert!(found.is_none_or(|m| m.score < MIN_MATCH_SCORE), "{found:?}");
    }

    #[test]
    fn tiny_flat_and_outside_boxes_give_nothing() {
        let data = vec![128u8; 64 * 64 * 4];
        let f = frame(&data, 64, 64);
        assert!(AppearanceTemplate::capture(&f, &FaceBox::new(0, 0, 40, 40)).is_none());
        assert!(AppearanceTemplate::capture(&f, &FaceBox::new(0, 0, 10, 10)).is_none());
        assert!(AppearanceTemplate::capture(&f, &FaceBox::new(500, 500, 40, 40)).is_none());
        // An empty frame cannot even be made.
        assert!(FrameRef::new(&[], 0, 0, 0, PixelLayout::Bgrx).is_err());
    }

    #[test]
    fn a_search_clipped_by_the_frame_edge_still_works() {
        let first = frame_with_patch(200, 200, 0, 0, 60);
        let template =
            AppearanceTemplate::capture(&frame(&first, 200, 200), &FaceBox::new(0, 0, 60, 60))
                .unwrap();
        let found = template
            .find(&frame(&first, 200, 200), &FaceBox::new(-5, -5, 60, 60))
            .unwrap();
        assert!(found.score > 0.95 && found.rect.x.abs() < 3, "{found:?}");
    }
}
