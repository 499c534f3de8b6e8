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

use faceid_core::frame::FrameRef;
use faceid_core::geometry::FaceBox;
use faceid_core::video::backend::{BackendError, FaceFinder};
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::Tensor;

use crate::runtime::{OnnxConfig, OnnxError, environment};

/// The weights, compiled in: YuNet 2023mar, byte-identical to OpenCV zoo's file and to
/// libfacedetection.train's `yunet_s_640_640.onnx`.
pub static YUNET_ONNX: &[u8] = include_bytes!("../weights/face_detection_yunet_2023mar.onnx");
/// The weights' file name (as OpenCV zoo names it).
pub const YUNET_FILE: &str = "face_detection_yunet_2023mar.onnx";
/// SHA-256 of [`YUNET_ONNX`].
pub const YUNET_SHA256: &str = "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4";

/// The network's input side, in pixels (its input is fixed at 640x640).
pub const INPUT_SIZE: usize = 640;
/// The grids the network predicts on: one cell every this many input pixels.
pub const STRIDES: [usize; 3] = [8, 16, 32];

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
/// 0.77 (`ARCHITECTURE.md`).
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
    environment: ort::environment::Environment,
    sessions: Mutex<Vec<Session>>,
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
            environment,
            sessions: Mutex::new(Vec::new()),
        };
        let session = yunet
            .new_session()
            .map_err(|why| OnnxError::Runtime(config.path_of(YUNET_FILE), why))?;
        yunet.give_back(session);
        let yunet = Arc::new(yunet);
        *loaded = Arc::downgrade(&yunet);
        Ok(yunet)
    }

    fn new_session(&self) -> Result<Session, String> {
        Session::builder(&self.environment)
            .and_then(|b| Ok(b.with_optimization_level(GraphOptimizationLevel::Level3)?))
            .and_then(|b| Ok(b.with_intra_threads(1)?))
            .and_then(|b| Ok(b.with_inter_threads(1)?))
            .and_then(|mut b| b.commit_from_memory(YUNET_ONNX))
            .map_err(|e| e.to_string())
    }

    fn give_back(&self, session: Session) {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(session);
    }

    /// Faces in `image` scoring at least `min_score` (0 to 1), best first, in `image`'s
    /// pixels. The image is scaled to fit the network's 640x640 input (up or down).
    pub fn detect(
        &self,
        image: &FrameRef<'_>,
        min_score: f32,
    ) -> Result<Vec<YunetFace>, BackendError> {
        let (w, h) = (image.width(), image.height());
        if w == 0 || h == 0 {
            return Ok(Vec::new());
        }
        let scale = INPUT_SIZE as f32 / w.max(h) as f32;
        let in_w = ((w as f32 * scale).round() as usize).clamp(1, INPUT_SIZE);
        let in_h = ((h as f32 * scale).round() as usize).clamp(1, INPUT_SIZE);
        let rgb = image.to_rgb(in_w, in_h);
        let planes = bgr_planes(&rgb, in_w, in_h);
        let faces = self.run(planes, min_score)?;
        let back = (w as f32 / in_w as f32, h as f32 / in_h as f32);
        Ok(faces.iter().map(|f| f.mapped(back, (0.0, 0.0))).collect())
    }

    /// The network on one 640x640 input (planar BGR, 0-255): decoded, suppressed faces in
    /// input pixels.
    pub fn run(&self, planes: Vec<f32>, min_score: f32) -> Result<Vec<YunetFace>, BackendError> {
        let taken = self
            .sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop();
        let mut session = match taken {
            Some(session) => session,
            None => self.new_session().map_err(BackendError)?,
        };
        let result = run_session(&mut session, planes, min_score);
        self.give_back(session);
        result.map_err(|why| BackendError(format!("YuNet failed: {why}")))
    }
}

/// Where the larger-scale tiles of an image `w x h` go: the scale that makes its short side
/// the network's input, and the left-top corners (in image pixels) of square tiles of
/// `INPUT_SIZE / scale` pixels covering it, overlapping evenly. None when that scale is not
/// at least a quarter larger than the whole-image pass's (the tiles would add little).
pub fn tiles(w: usize, h: usize) -> Option<(f32, Vec<(usize, usize)>)> {
    let (long, short) = (w.max(h), w.min(h));
    if short == 0 || long * 4 < short * 5 {
        return None;
    }
    let side = short;
    let n = long.div_ceil(side).max(2);
    let step = (long - side) as f32 / (n - 1) as f32;
    let corners = (0..n)
        .map(|i| {
            let at = (i as f32 * step).round() as usize;
            if w >= h { (at, 0) } else { (0, at) }
        })
        .collect();
    Some((INPUT_SIZE as f32 / side as f32, corners))
}

impl Yunet {
    /// [`Yunet::detect`], and with `small_faces` also on [`tiles`] of the image (on up to
    /// `threads` threads), merged: YuNet's faces in `image`'s pixels, best first.
    pub fn detect_all(
        &self,
        image: &FrameRef<'_>,
        min_score: f32,
        small_faces: bool,
        threads: usize,
    ) -> Result<Vec<YunetFace>, BackendError> {
        let (w, h) = (image.width(), image.height());
        let crops: Vec<(usize, usize, usize)> = match tiles(w, h).filter(|_| small_faces) {
            Some((_, corners)) => {
                let side = w.min(h);
                corners.into_iter().map(|(x, y)| (x, y, side)).collect()
            }
            None => Vec::new(),
        };
        let detect_crop = |&(x, y, side): &(usize, usize, usize)| {
            let tile = image
                .crop(x, y, (x + side).min(w), (y + side).min(h))
                .ok_or_else(|| BackendError("a YuNet tile outside the frame".into()))?;
            let found = self.detect(&tile, min_score)?;
            Ok::<_, BackendError>(
                found
                    .iter()
                    .map(|f| f.mapped((1.0, 1.0), (x as f32, y as f32)))
                    .collect::<Vec<_>>(),
            )
        };
        let mut faces = if threads >= 2 && !crops.is_empty() {
            let (whole, rest) = std::thread::scope(|scope| {
                let other = scope.spawn(|| crops.iter().map(detect_crop).collect::<Vec<_>>());
                let whole = self.detect(image, min_score);
                let rest = other
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                (whole, rest)
            });
            let mut faces = whole?;
            for part in rest {
                faces.extend(part?);
            }
            faces
        } else {
            let mut faces = self.detect(image, min_score)?;
            for crop in &crops {
                faces.extend(detect_crop(crop)?);
            }
            faces
        };
        if !crops.is_empty() {
            faces = non_max_suppression(faces, NMS_IOU);
        }
        Ok(faces)
    }
}

impl FaceFinder for Yunet {
    fn find(
        &self,
        image: &FrameRef<'_>,
        min_score: f64,
        small_faces: bool,
        threads: usize,
    ) -> Result<Vec<(FaceBox, f32)>, BackendError> {
        let faces = self.detect_all(image, yunet_score(min_score), small_faces, threads)?;
        Ok(faces
            .iter()
            .map(|f| (to_hog_box(f), hog_scale_score(f.score)))
            .collect())
    }
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
    for stride in STRIDES {
        let out = StrideOutputs {
            stride,
            cls: get(&format!("cls_{stride}"))?,
            obj: get(&format!("obj_{stride}"))?,
            bbox: get(&format!("bbox_{stride}"))?,
            kps: get(&format!("kps_{stride}"))?,
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
        assert!((yunet_score(-0.5) - 0.45).abs() < 1e-6);
        assert!((hog_scale_score(yunet_score(0.7)) - 0.7).abs() < 1e-5);
    }

    #[test]
    fn tiles_cover_the_long_side_at_the_short_sides_scale() {
        // 720p: two 720-pixel squares, 560 apart, at 640 / 720.
        let (scale, corners) = tiles(1280, 720).unwrap();
        assert!((scale - 640.0 / 720.0).abs() < 1e-6);
        assert_eq!(corners, vec![(0, 0), (560, 0)]);
        // A vertical frame tiles downwards; a 3:1 strip needs three.
        assert_eq!(tiles(270, 480).unwrap().1, vec![(0, 0), (0, 210)]);
        assert_eq!(tiles(900, 300).unwrap().1, vec![(0, 0), (300, 0), (600, 0)]);
        // Square-ish frames gain nothing from tiles.
        assert!(tiles(640, 600).is_none());
        assert!(tiles(0, 0).is_none());
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
