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
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, Weak};

use dlib_face_recognition::{
    FaceDetectorCnn, FaceEncoderNetwork, FaceEncoderTrait, FaceLandmarks, ImageMatrix,
    LandmarkPredictor, LandmarkPredictorTrait,
};
use faceid_core::encoding::{ENCODING_DIM, EncoderId, EncoderKind, Encoding};
use faceid_core::frame::FrameRef;
use faceid_core::geometry::{FaceBox, FivePoints};
use faceid_core::weight_files;

use crate::convert::{image_matrix, to_dlib};

/// dlib's 5-point landmark predictor.
pub const LANDMARKS_FILE: &str = "shape_predictor_5_face_landmarks.dat";
/// dlib's ResNet face encoder (the default; see [`WeightsConfig::encoder_file`]).
pub const ENCODER_FILE: &str = "dlib_face_recognition_resnet_model_v1.dat";
/// dlib's CNN (MMOD) face detector.
pub const CNN_DETECTOR_FILE: &str = "mmod_human_face_detector.dat";
/// Environment variable naming the folder with the weight files.
pub const MODELS_DIR_ENV: &str = "FACEID_MODELS_DIR";

/// Where the weight files are looked for when neither the `models-dir` property nor
/// `FACEID_MODELS_DIR` says: the install location chosen at build time (meson sets
/// `FACEID_MODELS_INSTALL_DIR`), else the source tree's `models/dlib`.
pub fn builtin_models_dir() -> PathBuf {
    weight_files::builtin_dir(
        option_env!("FACEID_MODELS_INSTALL_DIR"),
        env!("CARGO_MANIFEST_DIR"),
        "dlib",
    )
}

/// The folder to load weights from: the explicit setting, then `FACEID_MODELS_DIR`, then
/// [`builtin_models_dir`].
pub fn resolve_models_dir(explicit: Option<&Path>) -> PathBuf {
    weight_files::resolve_dir(explicit, MODELS_DIR_ENV, builtin_models_dir)
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
    /// Load dlib's ResNet encoder (not when another encoder, such as SFace, encodes: then the
    /// landmarks alone are needed).
    pub resnet: bool,
}

impl WeightsConfig {
    /// Default files in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        WeightsConfig {
            dir: dir.into(),
            encoder_file: PathBuf::from(ENCODER_FILE),
            cnn: false,
            resnet: true,
        }
    }

    fn path_of(&self, file: &Path) -> PathBuf {
        self.dir.join(file)
    }

    /// Checks that every weight file these settings need is there, without reading them (a
    /// millisecond, where [`Weights::load`] takes 0.1-0.3 s): an element can refuse to start at
    /// once and read the files on a thread of its own.
    pub fn check_files(&self) -> Result<(), WeightsError> {
        check_exists(&self.path_of(Path::new(LANDMARKS_FILE)))?;
        if self.resnet {
            check_exists(&self.path_of(&self.encoder_file))?;
        }
        if self.cnn {
            check_exists(&self.path_of(Path::new(CNN_DETECTOR_FILE)))?;
        }
        Ok(())
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
    /// dlib's ResNet, when loaded ([`WeightsConfig::resnet`]).
    resnet: Option<Resnet>,
    pub(crate) cnn: Option<Mutex<FaceDetectorCnn>>,
}

/// dlib's ResNet encoder and its identity.
struct Resnet {
    /// One network to clone more from; never run directly.
    master: Mutex<FaceEncoderNetwork>,
    /// Networks not in use right now. A thread takes one (or clones the master) and gives it back.
    pool: Mutex<Vec<FaceEncoderNetwork>>,
    id: EncoderId,
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

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
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

fn sha256_file(path: &Path) -> Result<String, WeightsError> {
    weight_files::sha256_file(path)
        .map_err(|e| WeightsError::Unreadable(path.to_path_buf(), e.to_string()))
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
        config.check_files()?;
        let landmarks_path = config.path_of(Path::new(LANDMARKS_FILE));
        let landmarks = LandmarkPredictor::open(&landmarks_path)
            .map_err(|e| WeightsError::Unreadable(landmarks_path.clone(), e))?;
        let resnet = if config.resnet {
            Some(Resnet::load(&config.path_of(&config.encoder_file))?)
        } else {
            None
        };
        let cnn = if config.cnn {
            let cnn_path = config.path_of(Path::new(CNN_DETECTOR_FILE));
            Some(Mutex::new(FaceDetectorCnn::open(&cnn_path).map_err(
                |e| WeightsError::Unreadable(cnn_path.clone(), e),
            )?))
        } else {
            None
        };
        Ok(Weights {
            landmarks,
            resnet,
            cnn,
        })
    }

    /// Identity of dlib's ResNet weights, when they are loaded.
    pub fn encoder_id(&self) -> Option<&EncoderId> {
        self.resnet.as_ref().map(|r| &r.id)
    }

    /// Whether the CNN detector is loaded.
    pub fn has_cnn(&self) -> bool {
        self.cnn.is_some()
    }

    /// The region around `boxes` (the faces plus the margin landmarks and chips need: dlib's
    /// chip uses 25% padding) as a dlib image, with its offset in the frame.
    fn region(frame: &FrameRef<'_>, boxes: &[FaceBox]) -> Option<(ImageMatrix, usize, usize)> {
        let (mut x0, mut y0, mut x1, mut y1) = (i64::MAX, i64::MAX, i64::MIN, i64::MIN);
        for b in boxes {
            let m = (b.width.max(b.height) as i64) / 2 + 8;
            x0 = x0.min(b.x as i64 - m);
            y0 = y0.min(b.y as i64 - m);
            x1 = x1.max((b.x + b.width) as i64 + m);
            y1 = y1.max((b.y + b.height) as i64 + m);
        }
        let x0 = x0.clamp(0, frame.width() as i64 - 1) as usize;
        let y0 = y0.clamp(0, frame.height() as i64 - 1) as usize;
        let x1 = (x1.clamp(1, frame.width() as i64) as usize).max(x0 + 1);
        let y1 = (y1.clamp(1, frame.height() as i64) as usize).max(y0 + 1);
        let crop = frame.crop(x0, y0, x1, y1)?;
        let rgb = crop.to_rgb(crop.width(), crop.height());
        Some((image_matrix(&rgb, crop.width(), crop.height()), x0, y0))
    }

    fn shape_in(
        matrix: &ImageMatrix,
        predictor: &LandmarkPredictor,
        b: &FaceBox,
        x0: usize,
        y0: usize,
    ) -> FaceLandmarks {
        let shifted = FaceBox {
            x: b.x - x0 as i32,
            y: b.y - y0 as i32,
            ..*b
        };
        predictor.face_landmarks(matrix, &to_dlib(shifted))
    }

    /// dlib's 5 landmarks of the faces at `boxes`, in frame pixels.
    pub fn landmarks(&self, frame: &FrameRef<'_>, boxes: &[FaceBox]) -> Vec<FivePoints> {
        if boxes.is_empty() {
            return Vec::new();
        }
        let Some((matrix, x0, y0)) = Self::region(frame, boxes) else {
            return Vec::new();
        };
        boxes
            .iter()
            .map(|b| {
                let shape = Self::shape_in(&matrix, &self.landmarks, b, x0, y0);
                let mut points = [(0f32, 0f32); 5];
                for (p, q) in points.iter_mut().zip(shape.iter()) {
                    *p = ((q.x() + x0 as i64) as f32, (q.y() + y0 as i64) as f32);
                }
                points
            })
            .collect()
    }

    /// Encodes the faces at `boxes` from the full-resolution frame with dlib's ResNet (none
    /// when it is not loaded). Safe to call from several threads at once: each call borrows its
    /// own copy of the network. `jitters` > 1 averages that many randomly jittered copies of
    /// each face (slower, steadier; dlib's `num_jitters`).
    pub fn encode(&self, frame: &FrameRef<'_>, boxes: &[FaceBox], jitters: u32) -> Vec<Encoding> {
        let Some(resnet) = &self.resnet else {
            return Vec::new();
        };
        if boxes.is_empty() {
            return Vec::new();
        }
        let Some((matrix, x0, y0)) = Self::region(frame, boxes) else {
            return Vec::new();
        };
        let landmarks: Vec<_> = boxes
            .iter()
            .map(|b| Self::shape_in(&matrix, &self.landmarks, b, x0, y0))
            .collect();
        let encodings =
            resnet.with_encoder(|net| net.get_face_encodings(&matrix, &landmarks, jitters.max(1)));
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
}

impl Resnet {
    fn load(path: &Path) -> Result<Resnet, WeightsError> {
        let network = FaceEncoderNetwork::open(path)
            .map_err(|e| WeightsError::Unreadable(path.to_path_buf(), e))?;
        let id = EncoderId {
            file_name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            ..EncoderKind::DlibResnet.id(sha256_file(path)?)
        };
        Ok(Resnet {
            master: Mutex::new(network),
            pool: Mutex::new(Vec::new()),
            id,
        })
    }

    fn with_encoder<R>(&self, f: impl FnOnce(&FaceEncoderNetwork) -> R) -> R {
        let net = lock(&self.pool)
            .pop()
            .unwrap_or_else(|| lock(&self.master).clone());
        let result = f(&net);
        lock(&self.pool).push(net);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
