//! The face pipeline, plain Rust over dlib: a frame (any stride, 32-bit or 24-bit pixels) in,
//! face boxes and 128-number encodings out.
//!
//! - Detection: dlib's HOG frontal face detector (optionally on an upsampled image, like
//!   face_recognition's `number_of_times_to_upsample`), with its scores and an adjustable
//!   threshold ([`crate::hog`]), or dlib's CNN (MMOD) detector.
//! - Landmarks: dlib's 5-point shape predictor, on the full-resolution frame.
//! - Encoding: dlib's ResNet (`dlib_face_recognition_resnet_model_v1.dat`), 128 numbers a face.
//!
//! The weight files are loaded once per process and shared ([`Weights::load`]); each thread that
//! encodes borrows its own copy of the network from a small pool, because a dlib network keeps
//! its layer outputs inside and must not run on two threads at once.

use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, Weak};

use dlib_face_recognition::{
    FaceDetectorCnn, FaceDetectorTrait, FaceEncoderNetwork, FaceEncoderTrait, ImageMatrix,
    LandmarkPredictor, LandmarkPredictorTrait, Rectangle,
};
use sha2::{Digest, Sha256};

pub use crate::encoding::{ENCODING_DIM, EncoderId, Encoding, distance};
use crate::hog::HogDetector;

/// dlib's 5-point landmark predictor.
pub const LANDMARKS_FILE: &str = "shape_predictor_5_face_landmarks.dat";
/// dlib's ResNet face encoder (the default; see [`WeightsConfig::encoder_file`]).
pub const ENCODER_FILE: &str = "dlib_face_recognition_resnet_model_v1.dat";
/// dlib's CNN (MMOD) face detector.
pub const CNN_DETECTOR_FILE: &str = "mmod_human_face_detector.dat";
/// Environment variable naming the folder with the weight files.
pub const MODELS_DIR_ENV: &str = "FACEID_MODELS_DIR";

/// Largest image the detector is given, in pixels (after upsampling). Bigger frames are
/// detected on a downscaled copy: an 8K frame upsampled twice would need gigabytes.
pub const MAX_DETECTION_PIXELS: usize = 4096 * 2304;
/// Frames larger than this on either side are refused (GStreamer's own limit is far above what
/// dlib can sensibly process).
pub const MAX_FRAME_SIDE: usize = 16384;

/// Where the weight files are looked for when neither the `models-dir` property nor
/// `FACEID_MODELS_DIR` says: the install location chosen at build time (meson sets
/// `FACEID_MODELS_INSTALL_DIR`), else the source tree's `models/dlib`.
pub fn builtin_models_dir() -> PathBuf {
    match option_env!("FACEID_MODELS_INSTALL_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("models")
            .join("dlib"),
    }
}

/// The folder to load weights from: the explicit setting, then `FACEID_MODELS_DIR`, then
/// [`builtin_models_dir`].
pub fn resolve_models_dir(explicit: Option<&Path>) -> PathBuf {
    if let Some(dir) = explicit.filter(|d| !d.as_os_str().is_empty()) {
        return dir.to_path_buf();
    }
    if let Some(dir) = std::env::var_os(MODELS_DIR_ENV).filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    builtin_models_dir()
}

/// Which detector finds faces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum DetectorKind {
    /// dlib's HOG + linear SVM frontal detector: fast on a CPU, needs faces of about 80 px
    /// (40 px with one upsample).
    #[default]
    Hog,
    /// dlib's CNN (MMOD) detector: finds turned and smaller faces, about 10x slower on a CPU.
    Cnn,
}

/// Which weight files to load.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WeightsConfig {
    /// Folder holding the weight files.
    pub dir: PathBuf,
    /// Encoder weights: a file name inside `dir`, or an absolute path to another dlib ResNet model.
    pub encoder_file: PathBuf,
    /// Also load the CNN detector.
    pub cnn: bool,
}

impl WeightsConfig {
    /// Default files in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        WeightsConfig {
            dir: dir.into(),
            encoder_file: PathBuf::from(ENCODER_FILE),
            cnn: false,
        }
    }

    fn path_of(&self, file: &Path) -> PathBuf {
        self.dir.join(file)
    }
}

/// Why weights could not be loaded. The message says what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WeightsError {
    /// The file does not exist.
    Missing(PathBuf),
    /// The file exists but dlib could not read it as the expected model.
    Unreadable(PathBuf, String),
}

impl fmt::Display for WeightsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WeightsError::Missing(path) => write!(
                f,
                "dlib weight file {} is missing. Fetch the weights with `models/fetch-weights.sh {}` \
                 (from the gst-faceid source tree), or point the models-dir property or the {} \
                 environment variable at the folder that holds them",
                path.display(),
                path.parent()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                MODELS_DIR_ENV
            ),
            WeightsError::Unreadable(path, why) => write!(
                f,
                "{} is not a usable dlib model file ({why}). Fetch dlib's weights again with \
                 `models/fetch-weights.sh`",
                path.display()
            ),
        }
    }
}

impl std::error::Error for WeightsError {}

/// The loaded dlib models, shared by every element of the process that uses the same files.
pub struct Weights {
    landmarks: LandmarkPredictor,
    /// One network to clone more from; never run directly.
    encoder_master: Mutex<FaceEncoderNetwork>,
    /// Networks not in use right now. A thread takes one (or clones the master) and gives it back.
    encoder_pool: Mutex<Vec<FaceEncoderNetwork>>,
    cnn: Option<Mutex<FaceDetectorCnn>>,
    encoder_id: EncoderId,
}

unsafe extern "C" {
    /// From libopenblas, which dlib-face-recognition links (feature `openblas`).
    fn openblas_set_num_threads(num_threads: std::os::raw::c_int);
}

/// Keeps OpenBLAS to one thread: the analyzer already encodes faces on several threads, and
/// OpenBLAS's own idle threads spin (measured: a third of the CPU time went to `sched_yield`).
fn limit_blas_threads() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("OPENBLAS_NUM_THREADS").is_none() {
            // SAFETY: a plain setter in OpenBLAS, called before any BLAS work of ours starts.
            unsafe { openblas_set_num_threads(1) };
        }
    });
}

/// How many times weight files were read from disk in this process (see [`Weights::times_loaded`]).
static LOADS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

static WEIGHTS_CACHE: LazyLock<Mutex<HashMap<WeightsConfig, Weak<Weights>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves plain data behind; keep going.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn check_exists(path: &Path) -> Result<(), WeightsError> {
    if path.is_file() {
        Ok(())
    } else {
        Err(WeightsError::Missing(path.to_path_buf()))
    }
}

/// Reads the head of a file and checks it looks like a dlib serialized object, so an unrelated
/// file is refused before dlib parses it.
fn sha256_file(path: &Path) -> Result<String, WeightsError> {
    let mut file = std::fs::File::open(path)
        .map_err(|e| WeightsError::Unreadable(path.to_path_buf(), e.to_string()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| WeightsError::Unreadable(path.to_path_buf(), e.to_string()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

impl Weights {
    /// Loads (or reuses, if another element of this process already holds them) the weights.
    pub fn load(config: &WeightsConfig) -> Result<Arc<Weights>, WeightsError> {
        let mut cache = lock(&WEIGHTS_CACHE);
        if let Some(weights) = cache.get(config).and_then(Weak::upgrade) {
            return Ok(weights);
        }
        cache.retain(|_, w| w.strong_count() > 0);
        let weights = Arc::new(Self::load_uncached(config)?);
        LOADS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        cache.insert(config.clone(), Arc::downgrade(&weights));
        Ok(weights)
    }

    /// How many times this process has read weight files from disk. While one element holds
    /// the weights, every other element with the same files shares them, so this stays at 1 however
    /// many pipelines run at once (benchmarks and tests check it).
    pub fn times_loaded() -> usize {
        LOADS.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn load_uncached(config: &WeightsConfig) -> Result<Weights, WeightsError> {
        limit_blas_threads();
        let landmarks_path = config.path_of(Path::new(LANDMARKS_FILE));
        let encoder_path = config.path_of(&config.encoder_file);
        check_exists(&landmarks_path)?;
        check_exists(&encoder_path)?;
        let landmarks = LandmarkPredictor::open(&landmarks_path)
            .map_err(|e| WeightsError::Unreadable(landmarks_path.clone(), e))?;
        let encoder = FaceEncoderNetwork::open(&encoder_path)
            .map_err(|e| WeightsError::Unreadable(encoder_path.clone(), e))?;
        let cnn = if config.cnn {
            let cnn_path = config.path_of(Path::new(CNN_DETECTOR_FILE));
            check_exists(&cnn_path)?;
            Some(Mutex::new(FaceDetectorCnn::open(&cnn_path).map_err(
                |e| WeightsError::Unreadable(cnn_path.clone(), e),
            )?))
        } else {
            None
        };
        let encoder_id = EncoderId {
            file_name: encoder_path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            sha256: sha256_file(&encoder_path)?,
        };
        Ok(Weights {
            landmarks,
            encoder_master: Mutex::new(encoder),
            encoder_pool: Mutex::new(Vec::new()),
            cnn,
            encoder_id,
        })
    }

    /// Identity of the encoder weights.
    pub fn encoder_id(&self) -> &EncoderId {
        &self.encoder_id
    }

    /// Whether the CNN detector is loaded.
    pub fn has_cnn(&self) -> bool {
        self.cnn.is_some()
    }

    /// Encodes the faces at `boxes` from the full-resolution frame. Safe to call from several
    /// threads at once: each call borrows its own copy of the network. `jitters` > 1 averages that
    /// many randomly jittered copies of each face (slower, steadier; dlib's `num_jitters`).
    pub fn encode(&self, frame: &FrameRef<'_>, boxes: &[FaceBox], jitters: u32) -> Vec<Encoding> {
        if boxes.is_empty() {
            return Vec::new();
        }
        // Only the region around the faces is converted: landmarks and chips need the face plus
        // a margin (dlib's chip uses 25% padding).
        let (mut x0, mut y0, mut x1, mut y1) = (i64::MAX, i64::MAX, i64::MIN, i64::MIN);
        for b in boxes {
            let m = (b.width.max(b.height) as i64) / 2 + 8;
            x0 = x0.min(b.x as i64 - m);
            y0 = y0.min(b.y as i64 - m);
            x1 = x1.max((b.x + b.width) as i64 + m);
            y1 = y1.max((b.y + b.height) as i64 + m);
        }
        let x0 = x0.clamp(0, frame.width as i64 - 1) as usize;
        let y0 = y0.clamp(0, frame.height as i64 - 1) as usize;
        let x1 = (x1.clamp(1, frame.width as i64) as usize).max(x0 + 1);
        let y1 = (y1.clamp(1, frame.height as i64) as usize).max(y0 + 1);
        let crop = frame.crop(x0, y0, x1, y1);
        let rgb = crop.to_rgb(crop.width, crop.height);
        let matrix = image_matrix(&rgb, crop.width, crop.height);
        let landmarks: Vec<_> = boxes
            .iter()
            .map(|b| {
                let shifted = FaceBox {
                    x: b.x - x0 as i32,
                    y: b.y - y0 as i32,
                    ..*b
                };
                self.landmarks.face_landmarks(&matrix, &shifted.to_dlib())
            })
            .collect();
        let encodings =
            self.with_encoder(|net| net.get_face_encodings(&matrix, &landmarks, jitters.max(1)));
        encodings
            .iter()
            .map(|e| {
                let mut out = [0f32; ENCODING_DIM];
                for (o, v) in out.iter_mut().zip(e.as_ref()) {
                    *o = *v as f32;
                }
                out
            })
            .collect()
    }

    fn with_encoder<R>(&self, f: impl FnOnce(&FaceEncoderNetwork) -> R) -> R {
        let net = lock(&self.encoder_pool)
            .pop()
            .unwrap_or_else(|| lock(&self.encoder_master).clone());
        let result = f(&net);
        lock(&self.encoder_pool).push(net);
        result
    }
}

/// Pixel layout of the frame given to the pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PixelLayout {
    /// 4 bytes a pixel: blue, green, red, padding or alpha (GStreamer BGRx, BGRA).
    Bgrx,
    /// 4 bytes a pixel: red, green, blue, padding or alpha (GStreamer RGBx, RGBA).
    Rgbx,
    /// 3 bytes a pixel: red, green, blue.
    Rgb,
}

impl PixelLayout {
    pub(crate) fn bytes_per_pixel(self) -> usize {
        match self {
            PixelLayout::Bgrx | PixelLayout::Rgbx => 4,
            PixelLayout::Rgb => 3,
        }
    }

    /// Byte offsets of red, green and blue within a pixel.
    pub(crate) fn rgb_offsets(self) -> (usize, usize, usize) {
        match self {
            PixelLayout::Bgrx => (2, 1, 0),
            PixelLayout::Rgbx | PixelLayout::Rgb => (0, 1, 2),
        }
    }
}

/// A borrowed video frame.
#[derive(Clone, Copy)]
pub struct FrameRef<'a> {
    /// Pixel rows, `stride` bytes apart.
    pub data: &'a [u8],
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Bytes from one row to the next.
    pub stride: usize,
    /// Pixel layout.
    pub layout: PixelLayout,
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

    /// The region `x0..x1` x `y0..y1`, without copying. The caller keeps
    /// `x0 < x1 <= width` and `y0 < y1 <= height`.
    fn crop(&self, x0: usize, y0: usize, x1: usize, y1: usize) -> FrameRef<'a> {
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
    fn to_rgb(self, out_w: usize, out_h: usize) -> Vec<u8> {
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

fn image_matrix(rgb: &[u8], width: usize, height: usize) -> ImageMatrix {
    assert!(rgb.len() >= width * height * 3, "rgb buffer too small");
    // SAFETY: the buffer holds width * height packed RGB pixels (checked above); dlib copies it.
    unsafe { ImageMatrix::new(width, height, rgb.as_ptr()) }
}

/// A face box in frame pixels, top-left corner and size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
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
    fn from_dlib(r: &Rectangle, scale: f64) -> FaceBox {
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

    fn to_dlib(self) -> Rectangle {
        Rectangle {
            left: self.x as _,
            top: self.y as _,
            right: (self.x + self.width - 1) as _,
            bottom: (self.y + self.height - 1) as _,
        }
    }

    /// Overlap (intersection over union) with another box.
    pub fn iou(&self, other: &FaceBox) -> f32 {
        let x0 = self.x.max(other.x);
        let y0 = self.y.max(other.y);
        let x1 = (self.x + self.width).min(other.x + other.width);
        let y1 = (self.y + self.height).min(other.y + other.height);
        let inter = ((x1 - x0).max(0) as i64 * (y1 - y0).max(0) as i64) as f32;
        let union = (self.width as i64 * self.height as i64
            + other.width as i64 * other.height as i64) as f32
            - inter;
        if union > 0.0 { inter / union } else { 0.0 }
    }

    /// Whether the centre of `self` lies inside `other`.
    pub fn center_inside(&self, other: &FaceBox) -> bool {
        let cx = self.x + self.width / 2;
        let cy = self.y + self.height / 2;
        cx >= other.x && cx < other.x + other.width && cy >= other.y && cy < other.y + other.height
    }
}

/// Detection settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DetectionConfig {
    /// Which detector.
    pub detector: DetectorKind,
    /// Times the image is doubled in size before HOG detection (finds smaller faces, 4x slower
    /// each time). Ignored by the CNN detector.
    pub upsample: u32,
    /// Detect on a copy scaled to this width (0 = frame width); boxes are mapped back to the frame.
    pub detection_width: usize,
    /// Threads for a full-frame HOG pass (1 or 2).
    pub threads: usize,
    /// Added to the HOG detector's threshold (dlib's `adjust_threshold`; default 0.0, dlib's
    /// usual detections). Negative values also return weaker windows, each scoring at least this
    /// much (see [`crate::hog::ScoredRect::score`]): faces blurred by motion often score between
    /// -1 and 0, and so do more false detections. Ignored by the CNN detector.
    pub adjust_threshold: f64,
}

impl Default for DetectionConfig {
    fn default() -> Self {
        DetectionConfig {
            detector: DetectorKind::Hog,
            upsample: 1,
            detection_width: 0,
            threads: 1,
            adjust_threshold: 0.0,
        }
    }
}

/// Finds and encodes faces. One per element (or per worker thread): the HOG detector inside is
/// not thread-safe; the weights are shared.
pub struct FacePipeline {
    weights: Arc<Weights>,
    /// HOG detectors, one per detection thread (dlib's scanner is not thread-safe).
    hogs: [Mutex<HogDetector>; 2],
}

/// Score given to CNN detections, which carry no HOG score (see [`FacePipeline::detect_scored`]).
pub const CNN_SCORE: f32 = 1.0;

/// One HOG pass over columns `x0..x1` of the detection image, enlarged `factor` times.
struct StripJob {
    x0: usize,
    x1: usize,
    factor: usize,
}

impl StripJob {
    fn run(
        &self,
        hog: &HogDetector,
        rgb: &[u8],
        det_w: usize,
        det_h: usize,
        to_frame: f64,
        adjust_threshold: f64,
    ) -> Vec<(FaceBox, f32)> {
        let width = self.x1.saturating_sub(self.x0);
        if width == 0 || det_h == 0 {
            return Vec::new();
        }
        let strip: Vec<u8> = if width == det_w {
            rgb.to_vec()
        } else {
            (0..det_h)
                .flat_map(|y| &rgb[(y * det_w + self.x0) * 3..(y * det_w + self.x1) * 3])
                .copied()
                .collect()
        };
        let mut matrix = image_matrix(&strip, width, det_h);
        if self.factor > 1 {
            matrix = matrix.resize(width * self.factor, det_h * self.factor);
        }
        let scale = to_frame / self.factor.max(1) as f64;
        let offset = (self.x0 as f64 * to_frame).round() as i32;
        hog.detect(&matrix, adjust_threshold)
            .iter()
            .map(|d| {
                let b = FaceBox::from_dlib(&d.rect, scale);
                let b = FaceBox {
                    x: b.x + offset,
                    ..b
                };
                (b, d.score)
            })
            .collect()
    }
}

/// Merges `other` into `kept`, two detections of one face from different HOG passes of
/// [`FacePipeline::detect_hog_split`]: the face keeps the higher score. A box that dlib finds
/// at its usual threshold (score >= 0) keeps its place, as it did before detections had scores,
/// so threshold-0 results do not change; a weaker box (possible only with a negative
/// `adjust_threshold`, e.g. half a face cut by a strip border) gives way to a better-scoring
/// duplicate's box.
fn merge_duplicate(kept: &mut (FaceBox, f32), other: (FaceBox, f32)) {
    if kept.1 < 0.0 && other.1 > kept.1 {
        *kept = other;
    } else {
        kept.1 = kept.1.max(other.1);
    }
}

/// A HOG detector, or a panic: dlib builds it from weights compiled into the library, so only
/// running out of memory fails here.
fn new_hog() -> Mutex<HogDetector> {
    Mutex::new(HogDetector::new().expect("dlib builds its frontal face detector"))
}

impl FacePipeline {
    /// A pipeline over loaded weights.
    pub fn new(weights: Arc<Weights>) -> Self {
        FacePipeline {
            weights,
            hogs: [new_hog(), new_hog()],
        }
    }

    /// The shared weights.
    pub fn weights(&self) -> &Arc<Weights> {
        &self.weights
    }

    /// Looks for a face near where one is expected: the region `around` grown by half its size
    /// on each side, scaled so that a face of `around`'s size becomes about 100 pixels (the
    /// HOG detector's sweet spot), detected with HOG. Much cheaper than a full-frame pass; used
    /// to follow known faces between full detections. Boxes in frame pixels.
    pub fn detect_near(&self, frame: &FrameRef<'_>, around: FaceBox) -> Vec<FaceBox> {
        self.detect_near_scored(frame, around, 0.0)
            .into_iter()
            .map(|(b, _)| b)
            .collect()
    }

    /// [`detect_near`](Self::detect_near) with each box's HOG score (see
    /// [`crate::hog::ScoredRect::score`]), at dlib's threshold moved by `adjust_threshold`
    /// (0.0: what `detect_near` finds). Best score first.
    pub fn detect_near_scored(
        &self,
        frame: &FrameRef<'_>,
        around: FaceBox,
        adjust_threshold: f64,
    ) -> Vec<(FaceBox, f32)> {
        let margin_x = around.width / 2 + 4;
        let margin_y = around.height / 2 + 4;
        let x0 = (around.x - margin_x).clamp(0, frame.width as i32 - 1) as usize;
        let y0 = (around.y - margin_y).clamp(0, frame.height as i32 - 1) as usize;
        let x1 = ((around.x + around.width + margin_x).max(0) as usize).min(frame.width);
        let y1 = ((around.y + around.height + margin_y).max(0) as usize).min(frame.height);
        if x1 <= x0 + 8 || y1 <= y0 + 8 || around.height <= 0 {
            return Vec::new();
        }
        let crop = frame.crop(x0, y0, x1, y1);
        let scale = (100.0 / around.height as f64).clamp(0.25, 4.0);
        let out_w = ((crop.width as f64 * scale).round() as usize).max(1);
        let out_h = ((crop.height as f64 * scale).round() as usize).max(1);
        let matrix = if scale < 1.0 {
            image_matrix(&crop.to_rgb(out_w, out_h), out_w, out_h)
        } else {
            image_matrix(
                &crop.to_rgb(crop.width, crop.height),
                crop.width,
                crop.height,
            )
            .resize(out_w, out_h)
        };
        let back = crop.width as f64 / out_w as f64;
        lock(&self.hogs[0])
            .detect(&matrix, adjust_threshold)
            .iter()
            .map(|d| {
                let b = FaceBox::from_dlib(&d.rect, back);
                let b = FaceBox {
                    x: b.x + x0 as i32,
                    y: b.y + y0 as i32,
                    ..b
                };
                (b, d.score)
            })
            .filter(|(b, _)| b.width > 0 && b.height > 0)
            .collect()
    }

    /// Face boxes in frame pixels, sorted left to right.
    pub fn detect(&self, frame: &FrameRef<'_>, config: &DetectionConfig) -> Vec<FaceBox> {
        self.detect_scored(frame, config)
            .into_iter()
            .map(|(b, _)| b)
            .collect()
    }

    /// [`detect`](Self::detect) with each box's score, sorted left to right. HOG boxes carry
    /// dlib's score (see [`crate::hog::ScoredRect::score`]; at least
    /// `config.adjust_threshold`); CNN detections carry no HOG score and get [`CNN_SCORE`].
    pub fn detect_scored(
        &self,
        frame: &FrameRef<'_>,
        config: &DetectionConfig,
    ) -> Vec<(FaceBox, f32)> {
        // Size the detection image: the requested width, then upsampling, capped in pixels.
        let mut det_w = if config.detection_width > 0 && config.detection_width < frame.width {
            config.detection_width
        } else {
            frame.width
        };
        let mut det_h = ((frame.height * det_w) as f64 / frame.width as f64)
            .round()
            .max(1.0) as usize;
        let mut upsample = match config.detector {
            DetectorKind::Hog => config.upsample.min(4),
            DetectorKind::Cnn => 0,
        };
        while upsample > 0 && (det_w * det_h) << (2 * upsample) > MAX_DETECTION_PIXELS {
            upsample -= 1;
        }
        if det_w * det_h > MAX_DETECTION_PIXELS {
            let shrink = (MAX_DETECTION_PIXELS as f64 / (det_w * det_h) as f64).sqrt();
            det_w = ((det_w as f64 * shrink) as usize).max(1);
            det_h = ((det_h as f64 * shrink) as usize).max(1);
        }
        let rgb = frame.to_rgb(det_w, det_h);
        let factor = 1usize << upsample;
        let to_frame = frame.width as f64 / det_w as f64;
        let threshold = config.adjust_threshold;
        let mut boxes = if config.detector == DetectorKind::Cnn && self.weights.cnn.is_some() {
            let matrix = image_matrix(&rgb, det_w, det_h);
            let locations = self
                .weights
                .cnn
                .as_ref()
                .map(|cnn| lock(cnn).face_locations(&matrix));
            locations
                .iter()
                .flat_map(|l| {
                    l.iter()
                        .map(|r| (FaceBox::from_dlib(r, to_frame), CNN_SCORE))
                })
                .collect()
        } else if config.threads >= 2 && factor >= 2 && det_w >= 256 {
            self.detect_hog_split(&rgb, det_w, det_h, factor, to_frame, threshold)
        } else {
            let job = StripJob {
                x0: 0,
                x1: det_w,
                factor,
            };
            job.run(
                &lock(&self.hogs[0]),
                &rgb,
                det_w,
                det_h,
                to_frame,
                threshold,
            )
        };
        boxes.retain(|(b, _)| b.width > 0 && b.height > 0);
        boxes.sort_by_key(|(b, _)| (b.x, b.y));
        boxes
    }

    /// HOG detection on two cores: a left and a right strip that overlap by more than the
    /// largest face the strips must find whole, plus a pass at half the resolution over the
    /// whole image for the larger faces that a strip border could cut. The split is uneven so
    /// both threads do about the same work; duplicates are merged into one face with the higher
    /// of the two scores (see [`merge_duplicate`]).
    fn detect_hog_split(
        &self,
        rgb: &[u8],
        det_w: usize,
        det_h: usize,
        factor: usize,
        to_frame: f64,
        adjust_threshold: f64,
    ) -> Vec<(FaceBox, f32)> {
        // Faces up to OVERLAP upsampled pixels wide fit whole in one strip; the half-resolution
        // pass finds faces from 80 * 2 = 160 upsampled pixels up.
        const OVERLAP: usize = 200;
        let half_overlap = OVERLAP / 2 / factor + 1;
        let split = det_w * 5 / 8;
        let left = StripJob {
            x0: 0,
            x1: (split + half_overlap).min(det_w),
            factor,
        };
        let right = StripJob {
            x0: split.saturating_sub(half_overlap),
            x1: det_w,
            factor,
        };
        let coarse = StripJob {
            x0: 0,
            x1: det_w,
            factor: factor / 2,
        };
        let (mut boxes, more) = std::thread::scope(|scope| {
            let other = scope.spawn(|| {
                let hog = lock(&self.hogs[1]);
                let mut b = right.run(&hog, rgb, det_w, det_h, to_frame, adjust_threshold);
                b.extend(coarse.run(&hog, rgb, det_w, det_h, to_frame, adjust_threshold));
                b
            });
            let mine = left.run(
                &lock(&self.hogs[0]),
                rgb,
                det_w,
                det_h,
                to_frame,
                adjust_threshold,
            );
            (mine, other.join().unwrap_or_default())
        });
        for (b, score) in more {
            match boxes
                .iter_mut()
                .find(|(k, _)| k.iou(&b) > 0.4 || b.center_inside(k) && k.center_inside(&b))
            {
                Some(kept) => merge_duplicate(kept, (b, score)),
                None => boxes.push((b, score)),
            }
        }
        boxes
    }

    /// Encodes the faces at `boxes` from the full-resolution frame (see [`Weights::encode`]).
    pub fn encode(&self, frame: &FrameRef<'_>, boxes: &[FaceBox], jitters: u32) -> Vec<Encoding> {
        self.weights.encode(frame, boxes, jitters)
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
    fn iou_of_boxes() {
        let a = FaceBox {
            x: 0,
            y: 0,
            width: 10,
            height: 10,
        };
        let b = FaceBox { x: 5, ..a };
        assert!((a.iou(&b) - 50.0 / 150.0).abs() < 1e-6);
        assert_eq!(a.iou(&FaceBox { x: 20, ..a }), 0.0);
    }

    #[test]
    fn duplicates_keep_the_higher_score_and_a_box_found_at_threshold_zero() {
        let a = FaceBox {
            x: 0,
            y: 0,
            width: 10,
            height: 10,
        };
        let b = FaceBox { x: 2, ..a };
        // Both at dlib's usual threshold: the first box stays (as before scores), best score.
        let mut kept = (a, 0.5);
        merge_duplicate(&mut kept, (b, 1.5));
        assert_eq!(kept, (a, 1.5));
        merge_duplicate(&mut kept, (b, -0.5));
        assert_eq!(kept, (a, 1.5));
        // A box below 0 gives way to a better duplicate, box and score.
        let mut weak = (a, -0.8);
        merge_duplicate(&mut weak, (b, 0.7));
        assert_eq!(weak, (b, 0.7));
        let mut weak = (a, -0.3);
        merge_duplicate(&mut weak, (b, -0.9));
        assert_eq!(weak, (a, -0.3));
    }

    #[test]
    fn models_dir_prefers_explicit_setting() {
        assert_eq!(
            resolve_models_dir(Some(Path::new("/x"))),
            PathBuf::from("/x")
        );
    }

    #[test]
    fn missing_weights_name_the_file_and_the_fix() {
        let err = Weights::load(&WeightsConfig::new("/nonexistent-faceid"))
            .err()
            .unwrap();
        let msg = err.to_string();
        assert!(msg.contains(LANDMARKS_FILE), "{msg}");
        assert!(msg.contains("fetch-weights.sh"), "{msg}");
    }
}
