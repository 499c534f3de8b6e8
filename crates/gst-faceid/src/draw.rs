//! Drawing of face boxes, names and per-person confidence lists onto raw
//! 32-bit video frames, using cairo's built-in "toy" text API.
//!
//! The frame is drawn on in place: [`draw_labels`] wraps the caller's bytes
//! in a cairo image surface for the duration of the call only.
//!
//! Text is rendered with a single font family chosen through fontconfig
//! (cairo's toy API does no per-glyph fallback), so the family must cover
//! every script used in names. The default, "Noto Sans CJK KR", covers Latin
//! and Hangul; [`font_covers`] tells whether a family has all glyphs of a
//! text.

use std::borrow::Cow;
use std::fmt;

use cairo::{
    Antialias, Context, FontOptions, FontSlant, FontWeight, Format, ImageSurface, LineJoin,
};

/// Largest frame width or height cairo accepts for an image surface.
const MAX_DIMENSION: u32 = 32767;

/// Opacity of the dark background behind the scores list.
const SCORES_BACKGROUND_ALPHA: f64 = 0.6;

/// Below this title font size (in pixels) no text is drawn: it would be
/// unreadable and only happens on frames less than 24 pixels high.
const MIN_FONT_SIZE: f64 = 2.0;

pub use faceid_core::frame::PixelLayout;

/// The cairo format with the same memory layout on a little-endian host: BGRx is cairo's
/// Rgb24, BGRA its ARgb32 (premultiplied alpha: opaque frames are drawn on exactly as
/// expected). Cairo draws on no other layout.
fn cairo_format(layout: PixelLayout) -> Result<Format, DrawError> {
    match layout {
        PixelLayout::Bgrx => Ok(Format::Rgb24),
        PixelLayout::Bgra => Ok(Format::ARgb32),
        other => Err(bad_geometry(format!(
            "cairo draws on BGRx or BGRA pixels, not {other:?}"
        ))),
    }
}

pub mod contact_sheet;
mod style;
pub use style::{DEFAULT_CONFIDENT_ARGB, DEFAULT_UNSURE_ARGB, DrawStyle, FaceLabel, Rgb};

/// Why labels could not be drawn.
#[derive(Debug)]
pub enum DrawError {
    /// The frame's size, stride, buffer length or alignment is unusable.
    BadGeometry(String),
    /// Cairo reported an error.
    Cairo(cairo::Error),
}

impl fmt::Display for DrawError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DrawError::BadGeometry(msg) => write!(f, "bad frame geometry: {msg}"),
            DrawError::Cairo(err) => write!(f, "cairo error: {err}"),
        }
    }
}

impl std::error::Error for DrawError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DrawError::BadGeometry(_) => None,
            DrawError::Cairo(err) => Some(err),
        }
    }
}

impl From<cairo::Error> for DrawError {
    fn from(err: cairo::Error) -> Self {
        DrawError::Cairo(err)
    }
}

/// Draw all labels onto a frame in place.
///
/// `data` holds `height` rows of `stride` bytes, each row starting with
/// `width` 32-bit pixels in `layout`. Bytes past `width * 4` in a row are
/// never written. `data.len()` must be >= stride*height, stride >= width*4
/// and a multiple of 4, width/height > 0 and <= 32767 (cairo's limit), and
/// `data` must start on a 4-byte boundary; else `Err(BadGeometry)`, never a
/// panic.
///
/// Faces with zero or negative size, or wholly outside the frame, are
/// skipped. Boxes are drawn first, then score lists, then titles, so no
/// face's box hides another face's text.
pub fn draw_labels(
    data: &mut [u8],
    width: u32,
    height: u32,
    stride: u32,
    layout: PixelLayout,
    labels: &[FaceLabel],
    style: &DrawStyle,
) -> Result<(), DrawError> {
    let format = cairo_format(layout)?;
    check_geometry(data, width, height, stride, format)?;
    if labels.is_empty() {
        return Ok(());
    }
    let (Ok(w), Ok(h), Ok(s)) = (
        i32::try_from(width),
        i32::try_from(height),
        i32::try_from(stride),
    ) else {
        return Err(bad_geometry("dimensions do not fit in i32"));
    };
    // SAFETY: `check_geometry` verified that `data` is 4-byte aligned and
    // holds at least `stride * height` bytes, that `stride` is a multiple of 4
    // and at least `cairo_format_stride_for_width(format, width)`, so cairo
    // only reads and writes inside `data`. The exclusive borrow of `data`
    // lasts for this whole call and `data` is not touched otherwise until the
    // surface is finished below, after which cairo no longer accesses the
    // memory (any surface or context reference that outlived this call would
    // be a finished surface that cannot draw).
    let surface =
        unsafe { ImageSurface::create_for_data_unsafe(data.as_mut_ptr(), format, w, h, s)? };
    let result = draw_on_surface(&surface, f64::from(width), f64::from(height), labels, style);
    surface.flush();
    surface.finish();
    result
}

/// Whether `font_family`, as resolved by fontconfig for cairo's toy text
/// API, has a glyph for every character of `text`.
///
/// The toy API does not fall back to other fonts per glyph, so a `false`
/// here means some characters would be drawn as empty boxes. Useful to warn
/// at start-up that e.g. `fonts-noto-cjk` is missing.
pub fn font_covers(font_family: &str, text: &str) -> Result<bool, DrawError> {
    let surface = ImageSurface::create(Format::ARgb32, 1, 1)?;
    let ctx = Context::new(&surface)?;
    ctx.select_font_face(
        &clean_text(font_family),
        FontSlant::Normal,
        FontWeight::Normal,
    );
    ctx.set_font_size(16.0);
    let (glyphs, _clusters) = ctx
        .scaled_font()
        .text_to_glyphs(0.0, 0.0, &clean_text(text))?;
    Ok(glyphs.iter().all(|glyph| glyph.index() != 0))
}

fn bad_geometry(msg: impl Into<String>) -> DrawError {
    DrawError::BadGeometry(msg.into())
}

/// Checks everything cairo needs to stay inside `data`.
fn check_geometry(
    data: &[u8],
    width: u32,
    height: u32,
    stride: u32,
    format: Format,
) -> Result<(), DrawError> {
    if width == 0 || height == 0 {
        return Err(bad_geometry(format!(
            "frame size {width}x{height} must be positive"
        )));
    }
    if width > MAX_DIMENSION || height > MAX_DIMENSION {
        return Err(bad_geometry(format!(
            "frame size {width}x{height} exceeds cairo's limit of {MAX_DIMENSION}"
        )));
    }
    if !stride.is_multiple_of(4) {
        return Err(bad_geometry(format!(
            "stride {stride} is not a multiple of 4"
        )));
    }
    let min_stride = u64::from(width) * 4;
    let cairo_min_stride = u64::try_from(format.stride_for_width(width)?).unwrap_or(u64::MAX);
    if u64::from(stride) < min_stride.max(cairo_min_stride) {
        return Err(bad_geometry(format!(
            "stride {stride} is smaller than width {width} * 4"
        )));
    }
    if i32::try_from(stride).is_err() {
        return Err(bad_geometry(format!("stride {stride} is too large")));
    }
    let needed = u64::from(stride) * u64::from(height);
    if (data.len() as u64) < needed {
        return Err(bad_geometry(format!(
            "buffer of {} bytes is shorter than stride {stride} * height {height} = {needed}",
            data.len()
        )));
    }
    if !data.as_ptr().addr().is_multiple_of(4) {
        return Err(bad_geometry("pixel data is not 4-byte aligned"));
    }
    Ok(())
}

/// Text safe to hand to cairo: NUL (which cairo-rs cannot pass to C) and
/// other control characters become spaces.
fn clean_text(text: &str) -> Cow<'_, str> {
    if text.chars().any(char::is_control) {
        Cow::Owned(
            text.chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect(),
        )
    } else {
        Cow::Borrowed(text)
    }
}

/// The position in `0..=limit - size` closest to `pos`; 0 if `size`
/// does not fit (the drawing is then clipped by the frame). Never panics.
fn clamp_into(pos: f64, size: f64, limit: f64) -> f64 {
    let pos = pos.min(limit - size).max(0.0);
    if pos.is_finite() { pos } else { 0.0 }
}

fn set_color(ctx: &Context, color: Rgb) {
    let (r, g, b, a) = color.sanitized();
    ctx.set_source_rgba(r, g, b, a);
}

/// Where one face's box goes, in frame pixels, and how big its text is.
struct FaceGeometry<'a> {
    label: &'a FaceLabel,
    left: f64,
    top: f64,
    right: f64,
    bottom: f64,
    /// Box line width in whole pixels (>= 1).
    line_width: f64,
    /// Title font size in pixels.
    title_font: f64,
    color: Rgb,
}

impl<'a> FaceGeometry<'a> {
    /// `None` for empty or negative boxes and boxes wholly outside the frame.
    fn new(label: &'a FaceLabel, frame_w: f64, frame_h: f64, style: &DrawStyle) -> Option<Self> {
        if label.rect.width <= 0 || label.rect.height <= 0 {
            return None;
        }
        let face_h = f64::from(label.rect.height);
        let scale = if style.line_width_scale.is_finite() && style.line_width_scale > 0.0 {
            style.line_width_scale
        } else {
            1.0
        };
        let line_width = ((face_h / 60.0).max(2.0) * scale).round().clamp(1.0, 256.0);
        let left = f64::from(label.rect.x);
        let top = f64::from(label.rect.y);
        let right = left + f64::from(label.rect.width);
        let bottom = top + face_h;
        let half = line_width / 2.0;
        if right + half <= 0.0
            || bottom + half <= 0.0
            || left - half >= frame_w
            || top - half >= frame_h
        {
            return None;
        }
        let title_font = (face_h * 0.18).clamp(12.0, 48.0).min(frame_h / 12.0);
        let color = if label.confident {
            style.confident_color
        } else {
            style.unsure_color
        };
        Some(FaceGeometry {
            label,
            left,
            top,
            right,
            bottom,
            line_width,
            title_font,
            color,
        })
    }

    /// Offset that puts odd-width lines on pixel centres, for crisp edges.
    fn pixel_offset(&self) -> f64 {
        if self.line_width % 2.0 == 1.0 {
            0.5
        } else {
            0.0
        }
    }
}

fn draw_on_surface(
    surface: &ImageSurface,
    frame_w: f64,
    frame_h: f64,
    labels: &[FaceLabel],
    style: &DrawStyle,
) -> Result<(), DrawError> {
    let ctx = Context::new(surface)?;
    let mut options = FontOptions::new()?;
    // Grey antialiasing: subpixel (coloured) fringes look wrong on video.
    options.set_antialias(Antialias::Gray);
    ctx.set_font_options(&options);
    let family = clean_text(&style.font_family);
    let faces: Vec<FaceGeometry<'_>> = labels
        .iter()
        .filter_map(|label| FaceGeometry::new(label, frame_w, frame_h, style))
        .collect();

    // Titles are laid out first so score lists can keep clear of them.
    ctx.select_font_face(&family, FontSlant::Normal, FontWeight::Bold);
    let titles = faces
        .iter()
        .map(|face| layout_title(&ctx, face, frame_w, frame_h))
        .collect::<Result<Vec<_>, _>>()?;

    for face in &faces {
        draw_box(&ctx, face, frame_w, frame_h)?;
    }
    ctx.select_font_face(&family, FontSlant::Normal, FontWeight::Normal);
    for (face, title) in faces.iter().zip(&titles) {
        let title_rect = title.as_ref().map(|t| t.rect);
        draw_scores(&ctx, face, title_rect, frame_w, frame_h, style)?;
    }
    ctx.select_font_face(&family, FontSlant::Normal, FontWeight::Bold);
    for (face, title) in faces.iter().zip(&titles) {
        if let Some(title) = title {
            draw_title(&ctx, face, title, style)?;
        }
    }
    ctx.status()?;
    Ok(())
}

fn draw_box(
    ctx: &Context,
    face: &FaceGeometry<'_>,
    frame_w: f64,
    frame_h: f64,
) -> Result<(), DrawError> {
    // Clamp far-away edges to just outside the frame, where they stay
    // invisible, so huge coordinates never reach cairo's fixed-point range.
    let margin = face.line_width + 2.0;
    let left = face.left.max(-margin);
    let top = face.top.max(-margin);
    let right = face.right.min(frame_w + margin);
    let bottom = face.bottom.min(frame_h + margin);
    let offset = face.pixel_offset();
    set_color(ctx, face.color);
    ctx.set_line_width(face.line_width);
    ctx.set_line_join(LineJoin::Miter);
    ctx.rectangle(left + offset, top + offset, right - left, bottom - top);
    ctx.stroke()?;
    Ok(())
}

/// An axis-aligned rectangle in frame pixels.
#[derive(Clone, Copy, Debug)]
struct Rect {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

impl Rect {
    fn overlaps(&self, other: &Rect) -> bool {
        self.x < other.x + other.w
            && other.x < self.x + self.w
            && self.y < other.y + other.h
            && other.y < self.y + self.h
    }
}

/// Where a title label goes and how its text sits in it.
struct TitleLayout {
    text: String,
    rect: Rect,
    /// Text origin (left end of the baseline).
    text_x: f64,
    text_y: f64,
}

/// Places the title above the box (inside below its top edge if there is no
/// room above), shifted to stay inside the frame. `None` if nothing to draw.
/// Expects the title font face to be selected.
fn layout_title(
    ctx: &Context,
    face: &FaceGeometry<'_>,
    frame_w: f64,
    frame_h: f64,
) -> Result<Option<TitleLayout>, DrawError> {
    let text = clean_text(&face.label.title);
    if text.is_empty() || face.title_font < MIN_FONT_SIZE {
        return Ok(None);
    }
    ctx.set_font_size(face.title_font);
    let font = ctx.font_extents()?;
    let extents = ctx.text_extents(&text)?;
    let pad_x = (face.title_font * 0.3).round().max(1.0);
    let pad_y = (face.title_font * 0.15).round().max(1.0);
    let text_w = extents
        .x_advance()
        .max(extents.x_bearing() + extents.width());
    let label_w = (text_w + 2.0 * pad_x).ceil();
    let label_h = (font.ascent() + font.descent() + 2.0 * pad_y).ceil();

    let half = face.line_width / 2.0;
    let above = face.top - half - label_h;
    let y = if above >= 0.0 {
        above
    } else {
        (face.top + half).max(0.0)
    };
    let y = clamp_into(y, label_h, frame_h).round();
    let x = clamp_into(face.left - half, label_w, frame_w).round();
    Ok(Some(TitleLayout {
        text: text.into_owned(),
        rect: Rect {
            x,
            y,
            w: label_w,
            h: label_h,
        },
        text_x: x + pad_x,
        text_y: y + pad_y + font.ascent(),
    }))
}

/// Expects the title font face to be selected.
fn draw_title(
    ctx: &Context,
    face: &FaceGeometry<'_>,
    title: &TitleLayout,
    style: &DrawStyle,
) -> Result<(), DrawError> {
    let r = title.rect;
    ctx.set_font_size(face.title_font);
    set_color(ctx, face.color);
    ctx.rectangle(r.x, r.y, r.w, r.h);
    ctx.fill()?;
    set_color(ctx, style.text_color);
    ctx.move_to(title.text_x, title.text_y);
    ctx.show_text(&title.text)?;
    Ok(())
}

/// Draws the scores list beside the box, below `title` if it would overlap
/// it. Expects the list font face to be selected.
fn draw_scores(
    ctx: &Context,
    face: &FaceGeometry<'_>,
    title: Option<Rect>,
    frame_w: f64,
    frame_h: f64,
    style: &DrawStyle,
) -> Result<(), DrawError> {
    if face.label.scores.is_empty() || face.title_font < MIN_FONT_SIZE {
        return Ok(());
    }
    let font_size = face.title_font * 0.7;
    ctx.set_font_size(font_size);
    let font = ctx.font_extents()?;
    let line_h = (font.ascent() + font.descent()).ceil().max(1.0);
    let pad = (font_size * 0.3).round().max(1.0);
    // Keep the list inside the frame: show only as many (best) lines as fit.
    let fitting = ((frame_h - 2.0 * pad) / line_h).floor().max(1.0) as usize;
    let lines: Vec<String> = face
        .label
        .scores
        .iter()
        .take(fitting)
        .map(|(name, score)| format!("{} {score:.2}", clean_text(name)))
        .collect();
    let mut text_w: f64 = 0.0;
    for line in &lines {
        let extents = ctx.text_extents(line)?;
        text_w = text_w
            .max(extents.x_advance())
            .max(extents.x_bearing() + extents.width());
    }
    let list_w = (text_w + 2.0 * pad).ceil();
    let list_h = lines.len() as f64 * line_h + 2.0 * pad;

    let half = face.line_width / 2.0;
    let gap = half + (font_size * 0.25).round().max(2.0);
    let right_x = (face.right + gap).round();
    let left_x = (face.left - gap - list_w).round();
    let top_y = clamp_into(face.top - half, list_h, frame_h).round();
    let fits = |x: f64, y: f64| x >= 0.0 && x + list_w <= frame_w && y + list_h <= frame_h;
    let clear = |x: f64, y: f64| {
        let list = Rect {
            x,
            y,
            w: list_w,
            h: list_h,
        };
        title.is_none_or(|title| !list.overlaps(&title))
    };
    // Right of the box, else left of it; level with the box top, else below
    // the title; if nothing fits cleanly, right of the box shifted inside.
    let below_title = title.map(|t| (t.y + t.h).round());
    let (x, y) = [right_x, left_x]
        .into_iter()
        .flat_map(|x| [(x, top_y)].into_iter().chain(below_title.map(|y| (x, y))))
        .find(|&(x, y)| fits(x, y) && clear(x, y))
        .unwrap_or_else(|| {
            let x = if fits(right_x, top_y) || !fits(left_x, top_y) {
                clamp_into(right_x, list_w, frame_w).round()
            } else {
                left_x
            };
            (x, top_y)
        });

    ctx.set_source_rgba(0.0, 0.0, 0.0, SCORES_BACKGROUND_ALPHA);
    ctx.rectangle(x, y, list_w, list_h);
    ctx.fill()?;
    set_color(ctx, style.text_color);
    for (i, line) in lines.iter().enumerate() {
        ctx.move_to(x + pad, y + pad + i as f64 * line_h + font.ascent());
        ctx.show_text(line)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use faceid_core::geometry::FaceBox;

    const W: u32 = 320;
    const H: u32 = 240;

    /// A test frame filled with one pixel value.
    struct Frame {
        data: Vec<u8>,
        width: u32,
        height: u32,
        stride: u32,
        layout: PixelLayout,
    }

    impl Frame {
        fn new(width: u32, height: u32, stride: u32, layout: PixelLayout, fill: [u8; 4]) -> Self {
            let mut data = vec![0u8; (stride * height) as usize];
            for row in data.chunks_mut(stride as usize) {
                for px in row[..(width * 4) as usize].chunks_mut(4) {
                    px.copy_from_slice(&fill);
                }
            }
            assert!(
                data.as_ptr().addr().is_multiple_of(4),
                "test allocation unexpectedly unaligned"
            );
            Frame {
                data,
                width,
                height,
                stride,
                layout,
            }
        }

        fn black(width: u32, height: u32) -> Self {
            Frame::new(width, height, width * 4, PixelLayout::Bgrx, [0, 0, 0, 0])
        }

        fn draw(&mut self, labels: &[FaceLabel]) {
            self.draw_style(labels, &DrawStyle::default());
        }

        fn draw_style(&mut self, labels: &[FaceLabel], style: &DrawStyle) {
            draw_labels(
                &mut self.data,
                self.width,
                self.height,
                self.stride,
                self.layout,
                labels,
                style,
            )
            .expect("draw_labels failed");
        }

        /// (r, g, b, 4th byte) of a pixel.
        fn px(&self, x: u32, y: u32) -> (u8, u8, u8, u8) {
            let i = (y * self.stride + x * 4) as usize;
            let p = &self.data[i..i + 4];
            (p[2], p[1], p[0], p[3])
        }

        fn count(
            &self,
            xs: std::ops::Range<u32>,
            ys: std::ops::Range<u32>,
            pred: impl Fn((u8, u8, u8, u8)) -> bool,
        ) -> usize {
            let mut n = 0;
            for y in ys {
                for x in xs.clone() {
                    if pred(self.px(x, y)) {
                        n += 1;
                    }
                }
            }
            n
        }

        fn count_all(&self, pred: impl Fn((u8, u8, u8, u8)) -> bool) -> usize {
            self.count(0..self.width, 0..self.height, pred)
        }
    }

    fn is_white(p: (u8, u8, u8, u8)) -> bool {
        p.0 > 200 && p.1 > 200 && p.2 > 200
    }

    fn is_black(p: (u8, u8, u8, u8)) -> bool {
        p.0 == 0 && p.1 == 0 && p.2 == 0
    }

    fn label(x: i32, y: i32, w: i32, h: i32, title: &str, confident: bool) -> FaceLabel {
        FaceLabel {
            rect: FaceBox::new(x, y, w, h),
            title: title.to_owned(),
            confident,
            scores: Vec::new(),
        }
    }

    fn scores() -> Vec<(String, f32)> {
        vec![
            ("sheldon".to_owned(), 0.93),
            ("amy".to_owned(), 0.01),
            ("쯔위".to_owned(), 0.05),
        ]
    }

    fn require_cjk_font() {
        let family = DrawStyle::default().font_family;
        let covered = font_covers(&family, "쯔위 다현 Zoë").expect("font probe failed");
        assert!(
            covered,
            "font family {family:?} lacks Hangul glyphs: install a CJK font, \
             e.g. `apt-get install -y fonts-noto-cjk`"
        );
    }

    #[test]
    fn one_label_changes_box_and_title_only() {
        let mut f = Frame::black(W, H);
        f.draw(&[label(100, 100, 80, 80, "sheldon 0.93", true)]);
        // Box outline (line width 2 centred on x = 100 covers columns 99, 100).
        assert!(!is_black(f.px(100, 150)), "left edge not drawn");
        assert!(!is_black(f.px(179, 150)), "right edge not drawn");
        assert!(!is_black(f.px(140, 100)), "top edge not drawn");
        assert!(!is_black(f.px(140, 179)), "bottom edge not drawn");
        // Inside the face stays untouched.
        assert!(is_black(f.px(140, 140)));
        // Title area just above the box: filled and with white text.
        assert!(!is_black(f.px(102, 95)), "title area not filled");
        assert!(f.count(99..260, 60..99, is_white) > 20, "no title text");
        // Far away: untouched, all four bytes.
        assert_eq!(f.px(10, 230), (0, 0, 0, 0));
        assert_eq!(f.count(0..90, 190..240, |p| p != (0, 0, 0, 0)), 0);
    }

    #[test]
    fn confident_is_green_unsure_is_red() {
        let mut f = Frame::black(W, H);
        f.draw(&[label(100, 100, 80, 80, "x", true)]);
        let (r, g, b, _) = f.px(100, 150);
        assert!(g > 150 && r < 50 && b < 50, "confident edge {r},{g},{b}");

        let mut f = Frame::black(W, H);
        f.draw(&[label(100, 100, 80, 80, "x", false)]);
        let (r, g, b, _) = f.px(100, 150);
        assert!(r > 150 && g < 50 && b < 50, "unsure edge {r},{g},{b}");
    }

    #[test]
    fn configured_colours_are_drawn_exactly() {
        // Cyan for confident names, yellow for the rest (textoverlay's 0xAARRGGBB).
        let style = DrawStyle {
            confident_color: Rgb::from_argb(0xff00_ffff),
            unsure_color: Rgb::from_argb(0xffff_ff00),
            ..DrawStyle::default()
        };
        for layout in [PixelLayout::Bgrx, PixelLayout::Bgra] {
            let mut f = Frame::new(W, H, W * 4, layout, [0, 0, 0, 255]);
            f.draw_style(
                &[
                    label(20, 100, 80, 80, "x", true),
                    label(150, 100, 80, 80, "y", false),
                ],
                &style,
            );
            // Box edges (line width 2 on x = 20 and x = 150: columns 19-20, 149-150) and the
            // filled title backgrounds just above the boxes.
            assert_eq!(
                f.px(20, 150),
                (0, 255, 255, 255),
                "{layout:?} confident edge"
            );
            assert_eq!(
                f.px(22, 95),
                (0, 255, 255, 255),
                "{layout:?} confident title"
            );
            assert_eq!(f.px(150, 150), (255, 255, 0, 255), "{layout:?} unsure edge");
            assert_eq!(f.px(152, 95), (255, 255, 0, 255), "{layout:?} unsure title");
        }
        // Half-transparent blue over mid grey: blended, the grey shows through.
        let style = DrawStyle {
            confident_color: Rgb::from_argb(0x8000_00ff),
            ..DrawStyle::default()
        };
        let mut f = Frame::new(W, H, W * 4, PixelLayout::Bgrx, [0x80, 0x80, 0x80, 0]);
        f.draw_style(&[label(20, 100, 80, 80, "x", true)], &style);
        let (r, g, b, _) = f.px(20, 150);
        assert!(r.abs_diff(64) <= 2 && g.abs_diff(64) <= 2, "{r},{g},{b}");
        assert!(b.abs_diff(192) <= 2, "{r},{g},{b}");
    }

    #[test]
    fn argb_values_round_trip_and_defaults_are_green_and_red() {
        for argb in [
            0u32,
            0xffff_ffff,
            0x8012_3456,
            DEFAULT_CONFIDENT_ARGB,
            DEFAULT_UNSURE_ARGB,
        ] {
            assert_eq!(Rgb::from_argb(argb).to_argb(), argb);
        }
        // The colours drawn before they were configurable.
        assert_eq!(Rgb::new(0.0, 0.85, 0.0).to_argb(), DEFAULT_CONFIDENT_ARGB);
        assert_eq!(Rgb::new(0.9, 0.0, 0.0).to_argb(), DEFAULT_UNSURE_ARGB);
        let style = DrawStyle::default();
        assert_eq!(style.confident_color.to_argb(), DEFAULT_CONFIDENT_ARGB);
        assert_eq!(style.unsure_color.to_argb(), DEFAULT_UNSURE_ARGB);
    }

    #[test]
    fn padding_bytes_beyond_width_untouched() {
        for layout in [PixelLayout::Bgrx, PixelLayout::Bgra] {
            let (w, h, stride) = (100u32, 80u32, 100 * 4 + 12);
            let mut f = Frame::new(w, h, stride, layout, [0, 0, 0, 255]);
            for row in f.data.chunks_mut(stride as usize) {
                row[(w * 4) as usize..].fill(0xAB);
            }
            let mut wide = label(60, 30, 38, 40, "a very long title here", true);
            wide.scores = scores();
            f.draw(&[
                wide,
                label(-50, -50, 400, 400, "huge", false),
                label(90, 70, 30, 30, "corner", true),
            ]);
            for (y, row) in f.data.chunks(stride as usize).enumerate() {
                assert!(
                    row[(w * 4) as usize..].iter().all(|&b| b == 0xAB),
                    "{layout:?}: padding of row {y} was written"
                );
            }
            assert!(
                f.count_all(|p| !is_black(p)) > 100,
                "{layout:?}: nothing drawn"
            );
        }
    }

    #[test]
    fn bgra_layout_draws_opaque_green() {
        let mut f = Frame::new(W, H, W * 4, PixelLayout::Bgra, [0, 0, 0, 255]);
        f.draw(&[label(100, 100, 80, 80, "sheldon 0.93", true)]);
        let (r, g, b, a) = f.px(100, 150);
        assert!(g > 150 && r < 50 && b < 50, "edge {r},{g},{b}");
        assert_eq!(a, 255);
        assert!(f.count(99..260, 60..99, is_white) > 20, "no title text");
        assert_eq!(f.px(10, 230), (0, 0, 0, 255));
    }

    #[test]
    fn hangul_and_accented_titles_render_glyphs() {
        require_cjk_font();
        let face = |title: &str| {
            let mut f = Frame::black(640, 480);
            f.draw(&[label(200, 200, 200, 200, title, true)]);
            f.count_all(is_white)
        };
        let blank = face("   ");
        assert_eq!(blank, 0, "a title of spaces should draw no text pixels");
        for title in ["쯔위", "Zoë", "Dahyun 다현"] {
            let n = face(title);
            assert!(n > 100, "{title:?} rendered only {n} text pixels");
        }
    }

    #[test]
    fn font_covers_detects_missing_glyphs() {
        require_cjk_font();
        assert!(font_covers("Noto Sans CJK KR", "Dahyun 다현").unwrap());
        assert!(!font_covers("Noto Sans CJK KR", "\u{10FFFD}").unwrap());
    }

    #[test]
    fn scores_list_present_only_when_scores_given() {
        let grey = [0x80, 0x80, 0x80, 0];
        let is_grey = |p: (u8, u8, u8, u8)| p.0 == 0x80 && p.1 == 0x80 && p.2 == 0x80;
        // Right of the box (x 60..140, line width 2 => outer edge at 141).
        let right = 143..230;
        let rows = 60..140;

        let mut f = Frame::new(W, H, W * 4, PixelLayout::Bgrx, grey);
        f.draw(&[label(60, 60, 80, 80, "amy 0.77", true)]);
        assert_eq!(
            f.count(right.clone(), rows.clone(), |p| !is_grey(p)),
            0,
            "something drawn right of the box without scores"
        );

        let mut f = Frame::new(W, H, W * 4, PixelLayout::Bgrx, grey);
        let mut with = label(60, 60, 80, 80, "amy 0.77", true);
        with.scores = scores();
        f.draw(&[with]);
        let darkened = f.count(right.clone(), rows.clone(), |p| p.0 < 0x80 && p.0 == p.1);
        let text = f.count(right, rows, is_white);
        assert!(darkened > 500, "no dark list background ({darkened})");
        assert!(text > 30, "no list text ({text})");
        // Nothing on the left side.
        assert_eq!(f.count(0..58, 60..140, |p| !is_grey(p)), 0);
    }

    #[test]
    fn scores_go_left_and_stay_inside_near_edges() {
        let grey = [0x80, 0x80, 0x80, 0];
        let is_grey = |p: (u8, u8, u8, u8)| p.0 == 0x80 && p.1 == 0x80 && p.2 == 0x80;
        let mut f = Frame::new(W, H, W * 4, PixelLayout::Bgrx, grey);
        let mut near_right = label(250, 200, 60, 30, "t", true);
        near_right.scores = (0..5).map(|i| (format!("p{i}"), 0.1)).collect();
        f.draw(&[near_right]);
        // List moved to the left of the box...
        assert!(f.count(150..247, 150..240, |p| !is_grey(p)) > 300);
        // ...nothing right of the box...
        assert_eq!(f.count(312..320, 150..240, |p| !is_grey(p)), 0);
        // ...and shifted up so that its five lines fit above the bottom edge
        // (it would start at y = 199 otherwise).
        assert!(f.count(150..247, 150..198, |p| !is_grey(p)) > 100);
    }

    #[test]
    fn title_near_right_edge_stays_inside() {
        let title = "sheldon 0.93 long title";
        let mut centre = Frame::black(W, H);
        centre.draw(&[label(20, 100, 30, 40, title, true)]);
        let full = centre.count_all(is_white);
        assert!(full > 100);

        let mut edge = Frame::black(W, H);
        edge.draw(&[label(288, 100, 30, 40, title, true)]);
        let shifted = edge.count_all(is_white);
        assert!(
            shifted.abs_diff(full) * 50 <= full,
            "text clipped at right edge: {shifted} vs {full} white pixels"
        );
        // The label background reaches the right edge of the frame.
        let (r, g, b, _) = edge.px(319, 90);
        assert!(g > 150 || (r > 200 && b > 200), "label not at right edge");
    }

    #[test]
    fn scores_list_keeps_clear_of_a_wide_title() {
        let title = "a title much wider than the box";
        let face = |title: &str, with_scores: bool| {
            // Near the top, so the title goes inside the box, level with the list.
            let mut l = label(200, 10, 60, 150, title, true);
            if with_scores {
                l.scores = scores();
            }
            let mut f = Frame::black(640, 480);
            f.draw(&[l]);
            f.count_all(is_white)
        };
        let title_only = face(title, false);
        let list_only = face("", true);
        let both = face(title, true);
        assert!(
            title_only > 50 && list_only > 50,
            "{title_only} {list_only} {both}"
        );
        assert!(
            (title_only + list_only).abs_diff(both) * 50 <= both,
            "title and list overlap: {title_only} + {list_only} != {both}"
        );
    }

    #[test]
    fn title_goes_inside_box_at_top_edge() {
        let mut f = Frame::black(W, H);
        f.draw(&[label(100, 0, 80, 80, "top", false)]);
        // Label filled red just below the top edge, inside the box.
        let (r, g, _, _) = f.px(104, 5);
        assert!(r > 150 && g < 50 || is_white(f.px(104, 5)));
        assert!(f.count(100..180, 0..40, is_white) > 10);
    }

    #[test]
    fn bad_geometry_is_an_error() {
        let labels = [label(0, 0, 10, 10, "x", true)];
        let style = DrawStyle::default();
        let mut data = vec![0u8; 16 * 16 * 4];
        let cases: [(u32, u32, u32, usize); 7] = [
            (16, 16, 64, 16 * 64 - 1), // data too short
            (0, 16, 64, 1024),         // width 0
            (16, 0, 64, 1024),         // height 0
            (16, 16, 60, 1024),        // stride < width * 4
            (3, 16, 14, 1024),         // stride not a multiple of 4
            (40000, 1, 160000, 1024),  // wider than cairo allows
            (16, 40000, 64, 1024),     // taller than cairo allows
        ];
        for (w, h, stride, len) in cases {
            let r = draw_labels(
                &mut data[..len],
                w,
                h,
                stride,
                PixelLayout::Bgrx,
                &labels,
                &style,
            );
            assert!(
                matches!(r, Err(DrawError::BadGeometry(_))),
                "{w}x{h} stride {stride} len {len}: {r:?}"
            );
        }
        // Misaligned start.
        let off = (1..4)
            .find(|o| !(data.as_ptr().addr() + o).is_multiple_of(4))
            .unwrap();
        let r = draw_labels(
            &mut data[off..off + 64],
            4,
            4,
            16,
            PixelLayout::Bgra,
            &labels,
            &style,
        );
        assert!(matches!(r, Err(DrawError::BadGeometry(_))), "{r:?}");
        assert!(r.unwrap_err().to_string().contains("aligned"));
        assert!(data.iter().all(|&b| b == 0), "bad geometry still drew");
    }

    #[test]
    fn tiny_frames_and_odd_labels_do_not_panic() {
        let mut tiny = Frame::black(1, 1);
        tiny.draw(&[
            label(0, 0, 1, 1, "쯔위", true),
            label(-5, -5, 20, 20, "big", false),
        ]);

        let mut f = Frame::black(W, H);
        let mut odd = vec![
            label(-100, -100, 1000, 1000, "bigger than the frame", true),
            label(i32::MIN, i32::MIN, i32::MAX, i32::MAX, "extreme", true),
            label(i32::MAX, i32::MAX, i32::MAX, i32::MAX, "far", false),
            label(10, 10, 10, 10, "", true),
            label(20, 20, 10, 10, "nul\0inside", true),
        ];
        let mut listed = label(300, 230, 100, 100, "partly out", false);
        listed.scores = vec![("a\0b".to_owned(), f32::NAN), (String::new(), 1.0)];
        odd.push(listed);
        let weird = DrawStyle {
            font_family: "no such font\0".to_owned(),
            line_width_scale: f64::NAN,
            text_color: Rgb::new(f64::INFINITY, -3.0, 2.0),
            ..DrawStyle::default()
        };
        f.draw_style(&odd, &weird);
    }

    #[test]
    fn degenerate_and_outside_boxes_draw_nothing() {
        let mut f = Frame::black(W, H);
        f.draw(&[
            label(10, 10, 0, 50, "zero width", true),
            label(10, 10, 50, -5, "negative height", true),
            label(400, 10, 50, 50, "right of frame", true),
            label(10, -200, 50, 50, "above frame", true),
            label(10, 300, 50, 50, "below frame", true),
            label(-80, 10, 50, 50, "left of frame", true),
        ]);
        assert!(f.data.iter().all(|&b| b == 0));
        // No labels at all is fine too.
        f.draw(&[]);
    }
}
