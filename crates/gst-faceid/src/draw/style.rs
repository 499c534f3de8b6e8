//! What is drawn and in which colours: a face's label, the style, colours.

use faceid_core::face_result::{NamedFace, UNKNOWN};
use faceid_core::geometry::FaceBox;

/// A colour with red, green, blue and opacity (alpha) components in `0.0..=1.0`.
///
/// Components outside that range are clamped, non-finite ones read as 0.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rgb {
    /// Red component, 0..1.
    pub r: f64,
    /// Green component, 0..1.
    pub g: f64,
    /// Blue component, 0..1.
    pub b: f64,
    /// Opacity, 0 (invisible) ..1 (opaque).
    pub a: f64,
}

impl Rgb {
    /// Makes an opaque colour from its red, green and blue components (0..1).
    pub const fn new(r: f64, g: f64, b: f64) -> Self {
        Rgb { r, g, b, a: 1.0 }
    }

    /// A colour from a 32-bit `0xAARRGGBB` value, like textoverlay's `color` property.
    pub fn from_argb(argb: u32) -> Self {
        let [a, r, g, b] = argb.to_be_bytes().map(|c| f64::from(c) / 255.0);
        Rgb { r, g, b, a }
    }

    /// The colour as `0xAARRGGBB`, each component rounded to 8 bits.
    pub fn to_argb(self) -> u32 {
        let (r, g, b, a) = self.sanitized();
        let byte = |v: f64| (v * 255.0).round() as u8;
        u32::from_be_bytes([byte(a), byte(r), byte(g), byte(b)])
    }

    /// The components clamped to 0..1, non-finite ones replaced by 0.
    pub(super) fn sanitized(self) -> (f64, f64, f64, f64) {
        fn component(v: f64) -> f64 {
            if v.is_finite() {
                v.clamp(0.0, 1.0)
            } else {
                0.0
            }
        }
        (
            component(self.r),
            component(self.g),
            component(self.b),
            component(self.a),
        )
    }
}

/// One face to label.
#[derive(Clone, Debug, PartialEq)]
pub struct FaceLabel {
    /// The face box in frame pixels; zero or negative size means nothing is drawn.
    pub rect: FaceBox,
    /// Text above the box, e.g. "sheldon 0.93" or "unknown".
    pub title: String,
    /// true => box/label in `style.confident_color` (green by default), false =>
    /// `style.unsure_color` (red by default)
    pub confident: bool,
    /// Every person's confidence, drawn as a list beside the face ("amy 0.01" per line), best first as given. Empty => no list.
    pub scores: Vec<(String, f32)>,
}

impl FaceLabel {
    /// How `face` is drawn: "name 0.93" (or "unknown") above its box, in the confident colour
    /// when it is confident, with `scores` listed beside it.
    pub fn for_face(face: &NamedFace, scores: Vec<(String, f32)>) -> FaceLabel {
        FaceLabel {
            rect: face.rect,
            title: match &face.label {
                Some(name) => format!("{name} {:.2}", face.confidence),
                None => UNKNOWN.to_string(),
            },
            confident: face.confident,
            scores,
        }
    }
}

/// Default colour of confident names, `0xAARRGGBB`: opaque green (0, 217, 0).
pub const DEFAULT_CONFIDENT_ARGB: u32 = 0xff00_d900;
/// Default colour of unknown faces and unsure names, `0xAARRGGBB`: opaque red (230, 0, 0).
pub const DEFAULT_UNSURE_ARGB: u32 = 0xffe6_0000;

/// How labels look: font and colours.
#[derive(Clone, Debug, PartialEq)]
pub struct DrawStyle {
    /// Font family for the toy text API, resolved by fontconfig. Default
    /// "Noto Sans CJK KR" (renders Hangul and Latin; fontconfig picks
    /// another font if absent, which may lack Hangul glyphs).
    pub font_family: String,
    /// Colour of boxes and titles of confident matches. Default green (0, 0.85, 0), that is
    /// [`DEFAULT_CONFIDENT_ARGB`].
    pub confident_color: Rgb,
    /// Colour of boxes and titles of unknown faces and unsure matches. Default red (0.9, 0, 0),
    /// that is [`DEFAULT_UNSURE_ARGB`].
    pub unsure_color: Rgb,
    /// Colour of all text. Default white; titles are drawn on a filled box
    /// of the label colour and scores on a dark box, so text is readable on
    /// any background.
    pub text_color: Rgb,
    /// Multiplier of the box line width. Default 1.0; non-finite or
    /// non-positive values are treated as 1.0.
    pub line_width_scale: f64,
}

impl Default for DrawStyle {
    fn default() -> Self {
        DrawStyle {
            font_family: "Noto Sans CJK KR".to_owned(),
            confident_color: Rgb::from_argb(DEFAULT_CONFIDENT_ARGB),
            unsure_color: Rgb::from_argb(DEFAULT_UNSURE_ARGB),
            text_color: Rgb::new(1.0, 1.0, 1.0),
            line_width_scale: 1.0,
        }
    }
}
