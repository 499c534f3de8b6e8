//! YuNet (OpenCV zoo's `face_detection_yunet_2023mar.onnx`, MIT): a face detector of 232 KB
//! that finds frontal, three-quarter and small faces (from about 10 px in its input) at a
//! fraction of HOG's cost. Its weights are compiled into the library (checked by a test against
//! the hash `models/LICENSES.md` lists); only ONNX Runtime has to be installed.
//!
//! The network's input is fixed at 640x640 (BGR, 0-255, planar): a frame is scaled to fit and
//! placed at the top-left corner, the rest left black, as OpenCV's `FaceDetectorYN` pads. Its
//! outputs are decoded here in plain Rust ([`decode`], [`non_max_suppression`]): for each of
//! three strides (8, 16, 32) and each cell of that grid, a class and an objectness score (the
//! face's score is the geometric mean of the two), a box (centre offset in cells, log size) and
//! five landmarks (offsets in cells).
//!
//! Boxes are given to the rest of the project in the convention of dlib's HOG detector (a
//! square on the eyes, nose and mouth; YuNet's box also holds the forehead and chin): see
//! [`to_hog_box`], fitted on the dev photos where both detectors find the face. Scores are
//! given on HOG's scale, where 0 is the detector's own cut and -1 the weakest a caller may ask
//! for: see [`hog_scale_score`].

use std::sync::{Arc, LazyLock, Mutex, Weak};

use faceid_core::detection::{YUNET_INPUT_SIZE, yunet_scale};
use faceid_core::frame::FrameRef;
use faceid_core::geometry::FaceBox;
use faceid_core::video::backend::{BackendError, FaceFinder};
use ort::session::Session;
use ort::value::Tensor;

use crate::runtime::{OnnxConfig, OnnxError, SessionPool, environment};

/// The weights, compiled in: YuNet 2023mar, byte-identical to OpenCV zoo's file and to
/// libfacedetection.train's `yunet_s_640_640.onnx`.
pub static YUNET_ONNX: &[u8] = include_bytes!("../weights/face_detection_yunet_2023mar.onnx");
/// The weights' file name (as OpenCV zoo names it).
pub const YUNET_FILE: &str = "face_detection_yunet_2023mar.onnx";
/// SHA-256 of [`YUNET_ONNX`].
pub const YUNET_SHA256: &str = "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4";

/// The network's input side, in pixels (its input is fixed at 640x640).
pub const INPUT_SIZE: usize = YUNET_INPUT_SIZE;
/// The grids the network predicts on (one cell every this many input pixels), with the names
/// of their class, objectness, box and landmark outputs.
pub const STRIDES: [(usize, [&str; 4]); 3] = [
    (8, ["cls_8", "obj_8", "bbox_8", "kps_8"]),
    (16, ["cls_16", "obj_16", "bbox_16", "kps_16"]),
    (32, ["cls_32", "obj_32", "bbox_32", "kps_32"]),
];

/// YuNet score (0 to 1) that counts as a detection at HOG's usual cut (HOG score 0). Faces
/// HOG finds in the dev photos score 0.90-0.94 with YuNet (median 0.93); OpenCV's default cut
/// is 0.9.
pub const SCORE_AT_CUT: f32 = 0.75;
/// YuNet score given HOG's score -1, the weakest a caller asks for (blurred faces).
pub const SCORE_AT_MINUS_ONE: f32 = 0.45;
/// Overlap above which two of YuNet's boxes are one face (OpenCV's default).
pub const NMS_IOU: f32 = 0.3;

/// A face as YuNet finds it, in the pixels of the image given to it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct YunetFace {
    /// Left, top, width, height of YuNet's box (forehead to chin).
    pub rect: [f32; 4],
    /// Right eye, left eye, nose tip, right and left mouth corner (the person's right: the
    /// image's left), `(x, y)`.
    pub landmarks: [[f32; 2]; 5],
    /// Geometric mean of the class and objectness scores, 0 to 1.
    pub score: f32,
}

impl YunetFace {
    /// The same face in an image scaled by `(sx, sy)`, then shifted by `(dx, dy)`.
    pub fn mapped(&self, (sx, sy): (f32, f32), (dx, dy): (f32, f32)) -> YunetFace {
        let [x, y, w, h] = self.rect;
        YunetFace {
            rect: [x * sx + dx, y * sy + dy, w * sx, h * sy],
            landmarks: self.landmarks.map(|[px, py]| [px * sx + dx, py * sy + dy]),
            score: self.score,
        }
    }

    fn iou(&self, other: &YunetFace) -> f32 {
        let [ax, ay, aw, ah] = self.rect;
        let [bx, by, bw, bh] = other.rect;
        let ix = ((ax + aw).min(bx + bw) - ax.max(bx)).max(0.0);
        let iy = ((ay + ah).min(by + bh) - ay.max(by)).max(0.0);
        let inter = ix * iy;
        let union = aw * ah + bw * bh - inter;
        if union > 0.0 { inter / union } else { 0.0 }
    }
}

/// The outputs of one stride, as the network gives them: per cell (row-major over the grid),
/// 1 class score, 1 objectness, 4 box numbers, 10 landmark numbers.
#[derive(Clone, Copy, Debug)]
pub struct StrideOutputs<'a> {
    /// Cells are this many input pixels apart.
    pub stride: usize,
    pub cls: &'a [f32],
    pub obj: &'a [f32],
    pub bbox: &'a [f32],
    pub kps: &'a [f32],
}

/// Faces of one stride's outputs scoring at least `min_score`, in input pixels (as OpenCV's
/// `FaceDetectorYN` decodes them), for an input `input_width` pixels wide.
pub fn decode(out: &StrideOutputs<'_>, input_width: usize, min_score: f32) -> Vec<YunetFace> {
    let s = out.stride as f32;
    let cols = input_width / out.stride;
    let cells = out
        .cls
        .len()
        .min(out.obj.len())
        .min(out.bbox.len() / 4)
        .min(out.kps.len() / 10);
    let mut faces = Vec::new();
    for i in 0..cells {
        let score = (out.cls[i].clamp(0.0, 1.0) * out.obj[i].clamp(0.0, 1.0)).sqrt();
        if score < min_score {
            continue;
        }
        let (col, row) = ((i % cols) as f32, (i / cols) as f32);
        let b = &out.bbox[i * 4..i * 4 + 4];
        let (cx, cy) = ((col + b[0]) * s, (row + b[1]) * s);
        let (w, h) = (b[2].exp() * s, b[3].exp() * s);
        let k = &out.kps[i * 10..i * 10 + 10];
        let landmarks = std::array::from_fn(|n| [(k[2 * n] + col) * s, (k[2 * n + 1] + row) * s]);
        faces.push(YunetFace {
            rect: [cx - w / 2.0, cy - h / 2.0, w, h],
            landmarks,
            score,
        });
    }
    faces
}

/// The best face of each group of boxes overlapping by more than `iou`, best score first.
pub fn non_max_suppression(mut faces: Vec<YunetFace>, iou: f32) -> Vec<YunetFace> {
    faces.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<YunetFace> = Vec::new();
    for face in faces {
        if kept.iter().all(|k| k.iou(&face) <= iou) {
            kept.push(face);
        }
    }
    kept
}

/// How YuNet's box maps onto HOG's, in units of YuNet's box width: HOG's box is a square of
/// side `HOG_SIDE` whose centre lies `HOG_CENTRE_DX`, `HOG_CENTRE_DY` from YuNet's box centre.
/// Medians over the 479 faces of the dev photos (bbt, fr_examples, johns, kpop's bts, twice and
/// aespa folders) that both find; mapped, the median overlap with HOG's box goes from 0.70 to
/// 0.77 (`docs/design-choices.md`).
pub const HOG_SIDE: f32 = 1.085;
/// See [`HOG_SIDE`].
pub const HOG_CENTRE_DX: f32 = -0.024;
/// See [`HOG_SIDE`].
pub const HOG_CENTRE_DY: f32 = 0.043;

/// A YuNet face's box in the convention of dlib's HOG detector (which the landmark model,
/// ground truth, metas and JSON use), in whole pixels.
pub fn to_hog_box(face: &YunetFace) -> FaceBox {
    let [x, y, w, h] = face.rect;
    let side = HOG_SIDE * w;
    let cx = x + w / 2.0 + HOG_CENTRE_DX * w;
    let cy = y + h / 2.0 + HOG_CENTRE_DY * w;
    let left = (cx - side / 2.0).round() as i32;
    let top = (cy - side / 2.0).round() as i32;
    let side = side.round().max(1.0) as i32;
    FaceBox {
        x: left,
        y: top,
        width: side,
        height: side,
    }
}

/// A YuNet score on HOG's scale: [`SCORE_AT_CUT`] is 0, [`SCORE_AT_MINUS_ONE`] is -1.
pub fn hog_scale_score(score: f32) -> f32 {
    (score - SCORE_AT_CUT) / (SCORE_AT_CUT - SCORE_AT_MINUS_ONE)
}

/// The YuNet score that a HOG-scale score `hog_score` stands for.
pub fn yunet_score(hog_score: f64) -> f32 {
    SCORE_AT_CUT + hog_score as f32 * (SCORE_AT_CUT - SCORE_AT_MINUS_ONE)
}

/// YuNet loaded once per process while anyone holds it; each detection borrows a session of a
/// pool (`Session::run` needs one to itself), so threads detect at once.
pub struct Yunet {
    sessions: SessionPool,
}

static LOADED: LazyLock<Mutex<Weak<Yunet>>> = LazyLock::new(|| Mutex::new(Weak::new()));

impl Yunet {
    /// Opens ONNX Runtime from `config`'s folder and YuNet (or shares the one already loaded).
    pub fn load(config: &OnnxConfig) -> Result<Arc<Yunet>, OnnxError> {
        let mut loaded = LOADED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(yunet) = loaded.upgrade() {
            return Ok(yunet);
        }
        let environment = environment(config)?;
        let yunet = Yunet {
            sessions: SessionPool::new(environment, YUNET_ONNX.to_vec())
                .map_err(|why| OnnxError::Runtime(config.path_of(YUNET_FILE), why))?,
        };
        let yunet = Arc::new(yunet);
        *loaded = Arc::downgrade(&yunet);
        Ok(yunet)
    }

    /// Faces in `image` scoring at least `min_score` (0 to 1), best first, in `image`'s
    /// pixels. The image is scaled to fit the network's 640x640 input (up or down).
    pub fn detect(
        &self,
        image: &FrameRef<'_>,
        min_score: f32,
    ) -> Result<Vec<YunetFace>, BackendError> {
        let scale = INPUT_SIZE as f32 / image.width().max(image.height()).max(1) as f32;
        self.detect_scaled(image, scale, min_score)
    }

    /// [`Yunet::detect`] on `image` scaled by `scale` (at most what fits the input): area
    /// averaging down, bilinear up.
    pub fn detect_scaled(
        &self,
        image: &FrameRef<'_>,
        scale: f32,
        min_score: f32,
    ) -> Result<Vec<YunetFace>, BackendError> {
        let (w, h) = (image.width(), image.height());
        if w == 0 || h == 0 {
            return Ok(Vec::new());
        }
        let scale = scale.min(INPUT_SIZE as f32 / w.max(h) as f32);
        let in_w = ((w as f32 * scale).round() as usize).clamp(1, INPUT_SIZE);
        let in_h = ((h as f32 * scale).round() as usize).clamp(1, INPUT_SIZE);
        let rgb = if in_w > w || in_h > h {
            bilinear(&image.to_rgb(w, h), (w, h), (in_w, in_h))
        } else {
            image.to_rgb(in_w, in_h)
        };
        let planes = bgr_planes(&rgb, in_w, in_h);
        let faces = self.run(planes, min_score)?;
        let back = (w as f32 / in_w as f32, h as f32 / in_h as f32);
        Ok(faces.iter().map(|f| f.mapped(back, (0.0, 0.0))).collect())
    }

    /// The network on one 640x640 input (planar BGR, 0-255): decoded, suppressed faces in
    /// input pixels.
    pub fn run(&self, planes: Vec<f32>, min_score: f32) -> Result<Vec<YunetFace>, BackendError> {
        let result = self
            .sessions
            .with_session(|session| run_session(session, planes, min_score));
        result.map_err(|why| BackendError(format!("YuNet failed: {why}")))
    }
}

/// Where the tiles of an image `w x h` looked at `scale` go: squares of `INPUT_SIZE / scale`
/// image pixels (the network's input at that scale), clipped to the image, overlapping by at
/// least an eighth of a tile: a face cut by a border is whole in the next tile, or larger
/// than that and found at the coarser scale. Left-top corners and side, in image pixels.
pub fn tiles(w: usize, h: usize, scale: f32) -> Vec<(usize, usize, usize)> {
    if w == 0 || h == 0 || scale <= 0.0 {
        return Vec::new();
    }
    let side = ((INPUT_SIZE as f32 / scale).floor() as usize).clamp(1, w.max(h));
    let starts = |len: usize| -> Vec<usize> {
        if len <= side {
            return vec![0];
        }
        let stride = (side * 7 / 8).max(1);
        let n = (len - side).div_ceil(stride) + 1;
        let step = (len - side) as f32 / (n - 1) as f32;
        (0..n).map(|i| (i as f32 * step).round() as usize).collect()
    };
    let (xs, ys) = (starts(w), starts(h));
    ys.iter()
        .flat_map(|&y| xs.iter().map(move |&x| (x, y, side)))
        .collect()
}

/// Packed RGB `from` resized to `to` by bilinear interpolation (pixel centres aligned, as
/// OpenCV's `INTER_LINEAR`), for enlarging: YuNet finds a small face enlarged smoothly far
/// better than one enlarged by repeating pixels.
pub fn bilinear(rgb: &[u8], from: (usize, usize), to: (usize, usize)) -> Vec<u8> {
    let ((fw, fh), (tw, th)) = (from, to);
    let mut out = Vec::with_capacity(tw * th * 3);
    let axis = |t: usize, f: usize, n: usize| -> (usize, usize, f32) {
        let x = ((t as f32 + 0.5) * f as f32 / n as f32 - 0.5).max(0.0);
        let x0 = (x.floor() as usize).min(f - 1);
        (x0, (x0 + 1).min(f - 1), x - x0 as f32)
    };
    let cols: Vec<_> = (0..tw).map(|x| axis(x, fw, tw)).collect();
    for y in 0..th {
        let (y0, y1, fy) = axis(y, fh, th);
        for &(x0, x1, fx) in &cols {
            for c in 0..3 {
                let at = |x: usize, y: usize| f32::from(rgb[(y * fw + x) * 3 + c]);
                let top = at(x0, y0) * (1.0 - fx) + at(x1, y0) * fx;
                let bottom = at(x0, y1) * (1.0 - fx) + at(x1, y1) * fx;
                out.push((top * (1.0 - fy) + bottom * fy).round() as u8);
            }
        }
    }
    out
}

/// The face height YuNet is asked to find a followed face at (input pixels): [`Yunet::find_near`]
/// scales the region so. Measured with dlib models (named_ok on bbt / bts15, faces under 40 px
/// found on the small-faces clip): 48 px 0.850 / 0.986 / 0.844, 72 px 0.914 / 0.965 / 0.844,
/// 96 px 0.877 / - / 0.884, 128 px 0.920 / 0.986 / 0.861, 160 px 0.922 / 0.965 / 0.823, 200 px
/// 0.894 / 0.986 / 0.799; fitting the region into the whole input (faces of 200-300 px) 0.885 /
/// 0.986 / 0.620. Each difference is one or two tracks; at 128 px one bts track (5 photos a
/// member) took another member's name, at 72 px no face of any clip did.
pub const NEAR_FACE_SIZE: f32 = 72.0;

impl Yunet {
    /// The whole image fitted into the input, and with `upsample` ≥ 1 also its [`tiles`] at
    /// [`yunet_scale`] (on up to `threads` threads), merged: YuNet's faces in `image`'s pixels,
    /// best first.
    pub fn detect_all(
        &self,
        image: &FrameRef<'_>,
        min_score: f32,
        upsample: u32,
        threads: usize,
    ) -> Result<Vec<YunetFace>, BackendError> {
        let (w, h) = (image.width(), image.height());
        let whole = INPUT_SIZE as f32 / w.max(h).max(1) as f32;
        let scale = yunet_scale(w, h, upsample) as f32;
        let crops = if upsample > 0 && scale > whole * 1.1 {
            tiles(w, h, scale)
        } else {
            Vec::new()
        };
        let detect_tile = |&(x, y, side): &(usize, usize, usize)| {
            let tile = image
                .crop(x, y, (x + side).min(w), (y + side).min(h))
                .ok_or_else(|| BackendError("a YuNet tile outside the frame".into()))?;
            let found = self.detect_scaled(&tile, scale, min_score)?;
            Ok::<_, BackendError>(
                found
                    .iter()
                    .map(|f| f.mapped((1.0, 1.0), (x as f32, y as f32)))
                    .collect::<Vec<_>>(),
            )
        };
        let parts: Vec<Result<Vec<YunetFace>, BackendError>> = if threads >= 2 && !crops.is_empty()
        {
            // The whole image and every other tile here, the rest on a second thread.
            std::thread::scope(|scope| {
                let other = scope.spawn(|| {
                    crops
                        .iter()
                        .skip(1)
                        .step_by(2)
                        .map(detect_tile)
                        .collect::<Vec<_>>()
                });
                let mut mine = vec![self.detect(image, min_score)];
                mine.extend(crops.iter().step_by(2).map(detect_tile));
                mine.extend(
                    other
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                );
                mine
            })
        } else {
            std::iter::once(self.detect(image, min_score))
                .chain(crops.iter().map(detect_tile))
                .collect()
        };
        let mut faces = Vec::new();
        for part in parts {
            faces.extend(part?);
        }
        Ok(if crops.is_empty() {
            faces
        } else {
            non_max_suppression(faces, NMS_IOU)
        })
    }

    /// Faces in `region` (a crop around where a face of `face_height` frame pixels is
    /// expected), the region scaled so that face is [`NEAR_FACE_SIZE`] pixels.
    pub fn find_near(
        &self,
        region: &FrameRef<'_>,
        face_height: f32,
        min_score: f32,
    ) -> Result<Vec<YunetFace>, BackendError> {
        let scale = NEAR_FACE_SIZE / face_height.max(1.0);
        self.detect_scaled(region, scale, min_score)
    }
}

impl FaceFinder for Yunet {
    fn find(
        &self,
        image: &FrameRef<'_>,
        min_score: f64,
        upsample: u32,
        threads: usize,
    ) -> Result<Vec<(FaceBox, f32)>, BackendError> {
        let faces = self.detect_all(image, yunet_score(min_score), upsample, threads)?;
        Ok(faces.iter().map(to_hog_scale).collect())
    }

    fn find_near(
        &self,
        region: &FrameRef<'_>,
        face_height: i32,
        min_score: f64,
    ) -> Result<Vec<(FaceBox, f32)>, BackendError> {
        let faces = Yunet::find_near(self, region, face_height as f32, yunet_score(min_score))?;
        Ok(faces.iter().map(to_hog_scale).collect())
    }
}

/// A face's box and score in HOG's convention and scale.
fn to_hog_scale(face: &YunetFace) -> (FaceBox, f32) {
    (to_hog_box(face), hog_scale_score(face.score))
}

fn run_session(
    session: &mut Session,
    planes: Vec<f32>,
    min_score: f32,
) -> Result<Vec<YunetFace>, String> {
    let tensor = Tensor::from_array(([1usize, 3, INPUT_SIZE, INPUT_SIZE], planes))
        .map_err(|e| e.to_string())?;
    let outputs = session
        .run(ort::inputs![tensor])
        .map_err(|e| e.to_string())?;
    let get = |name: &str| -> Result<&[f32], String> {
        let value = outputs
            .get(name)
            .ok_or_else(|| format!("no output {name}"))?;
        let (_, data) = value
            .try_extract_tensor::<f32>()
            .map_err(|e| e.to_string())?;
        Ok(data)
    };
    let mut faces = Vec::new();
    for (stride, [cls, obj, bbox, kps]) in STRIDES {
        let out = StrideOutputs {
            stride,
            cls: get(cls)?,
            obj: get(obj)?,
            bbox: get(bbox)?,
            kps: get(kps)?,
        };
        faces.extend(decode(&out, INPUT_SIZE, min_score));
    }
    Ok(non_max_suppression(faces, NMS_IOU))
}

/// Packed RGB (`w x h`) as the network's input: planar B, G, R, 0-255, at the top-left of a
/// black 640x640 image.
pub fn bgr_planes(rgb: &[u8], w: usize, h: usize) -> Vec<f32> {
    let plane = INPUT_SIZE * INPUT_SIZE;
    let mut planes = vec![0f32; 3 * plane];
    for y in 0..h.min(INPUT_SIZE) {
        for x in 0..w.min(INPUT_SIZE) {
            let px = &rgb[(y * w + x) * 3..(y * w + x) * 3 + 3];
            let at = y * INPUT_SIZE + x;
            planes[at] = f32::from(px[2]);
            planes[plane + at] = f32::from(px[1]);
            planes[2 * plane + at] = f32::from(px[0]);
        }
    }
    planes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_in_weights_are_the_listed_ones() {
        assert_eq!(YUNET_ONNX.len(), 232_589);
        let sha = faceid_core::weight_files::sha256_bytes(YUNET_ONNX);
        assert_eq!(sha, YUNET_SHA256);
    }

    /// One cell of a 2x2 grid of stride 8 (input 16 px wide).
    fn one_face_outputs() -> (Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>) {
        let cls = vec![0.0, 0.0, 0.0, 0.81];
        let obj = vec![0.0, 0.0, 0.0, 1.2];
        let mut bbox = vec![0.0; 16];
        // Cell (row 1, col 1): centre at (1.5, 1.25) cells, 2 x 4 cells.
        bbox[12..16].copy_from_slice(&[0.5, 0.25, 2f32.ln(), 4f32.ln()]);
        let mut kps = vec![0.0; 40];
        kps[30..40].copy_from_slice(&[0.0, 0.0, 1.0, 0.0, 0.5, 0.5, 0.0, 1.0, 1.0, 1.0]);
        (cls, obj, bbox, kps)
    }

    #[test]
    fn a_cell_decodes_to_its_box_landmarks_and_score() {
        let (cls, obj, bbox, kps) = one_face_outputs();
        let out = StrideOutputs {
            stride: 8,
            cls: &cls,
            obj: &obj,
            bbox: &bbox,
            kps: &kps,
        };
        let faces = decode(&out, 16, 0.5);
        assert_eq!(faces.len(), 1);
        let f = faces[0];
        // Objectness is clamped to 1: sqrt(0.81 * 1) = 0.9.
        assert!((f.score - 0.9).abs() < 1e-6);
        // Centre (12, 10), 16 x 32.
        assert_eq!(f.rect, [4.0, -6.0, 16.0, 32.0]);
        assert_eq!(f.landmarks[0], [8.0, 8.0]);
        assert_eq!(f.landmarks[1], [16.0, 8.0]);
        assert_eq!(f.landmarks[2], [12.0, 12.0]);
        assert_eq!(f.landmarks[4], [16.0, 16.0]);
        assert!(decode(&out, 16, 0.95).is_empty());
    }

    #[test]
    fn overlapping_boxes_keep_the_best() {
        let face = |x: f32, score: f32| YunetFace {
            rect: [x, 0.0, 10.0, 10.0],
            landmarks: [[0.0; 2]; 5],
            score,
        };
        let kept = non_max_suppression(vec![face(0.0, 0.7), face(1.0, 0.9), face(30.0, 0.8)], 0.3);
        assert_eq!(kept, vec![face(1.0, 0.9), face(30.0, 0.8)]);
    }

    #[test]
    fn boxes_map_onto_hogs_square() {
        let face = YunetFace {
            rect: [100.0, 50.0, 100.0, 128.0],
            landmarks: [[0.0; 2]; 5],
            score: 0.9,
        };
        let b = to_hog_box(&face);
        assert_eq!((b.width, b.height), (109, 109));
        // Centre (150 - 2.4, 114 + 4.3).
        assert_eq!(b.x, (147.6f32 - 54.25).round() as i32);
        assert_eq!(b.y, (118.3f32 - 54.25).round() as i32);
    }

    #[test]
    fn scores_map_onto_hogs_scale_and_back() {
        assert_eq!(hog_scale_score(SCORE_AT_CUT), 0.0);
        assert!((hog_scale_score(SCORE_AT_MINUS_ONE) + 1.0).abs() < 1e-6);
        assert!((yunet_score(-0.5) - 0.6).abs() < 1e-6);
        assert!((hog_scale_score(yunet_score(0.7)) - 0.7).abs() < 1e-5);
    }

    #[test]
    fn tiles_cover_the_image_overlapping() {
        // 720p at the short side's scale: two 720-pixel squares, 560 apart.
        assert_eq!(
            tiles(1280, 720, 640.0 / 720.0),
            vec![(0, 0, 720), (560, 0, 720)]
        );
        // Twice that scale: 360-pixel squares, at most 315 apart, 4 across and 3 down.
        let fine = tiles(1280, 720, 1280.0 / 720.0);
        assert_eq!(fine.len(), 12);
        assert!(
            fine.iter()
                .all(|&(x, y, side)| side == 360 && x + side <= 1280 && y + side <= 720)
        );
        assert_eq!(fine[3], (920, 0, 360));
        assert_eq!(fine[4], (0, 180, 360));
        assert_eq!(fine[11], (920, 360, 360));
        // A vertical frame tiles downwards; an image smaller than a tile is one tile.
        assert_eq!(
            tiles(270, 480, 640.0 / 270.0),
            vec![(0, 0, 270), (0, 210, 270)]
        );
        assert_eq!(tiles(300, 200, 1.0), vec![(0, 0, 300)]);
        assert!(tiles(0, 0, 1.0).is_empty());
    }

    #[test]
    fn bilinear_enlarging_keeps_edges_and_interpolates_between() {
        // Two pixels, black and white, to four: the centres line up as OpenCV's.
        let rgb = [0u8, 0, 0, 200, 200, 200];
        let out = bilinear(&rgb, (2, 1), (4, 1));
        let reds: Vec<u8> = out.chunks(3).map(|p| p[0]).collect();
        assert_eq!(reds, vec![0, 50, 150, 200]);
    }

    #[test]
    fn input_is_bgr_planes_at_the_top_left() {
        let rgb = [10u8, 20, 30, 40, 50, 60];
        let planes = bgr_planes(&rgb, 2, 1);
        let plane = INPUT_SIZE * INPUT_SIZE;
        assert_eq!(&planes[0..2], &[30.0, 60.0]);
        assert_eq!(&planes[plane..plane + 2], &[20.0, 50.0]);
        assert_eq!(&planes[2 * plane..2 * plane + 2], &[10.0, 40.0]);
        assert_eq!(planes[INPUT_SIZE], 0.0);
    }
}
