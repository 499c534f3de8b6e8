//! SFace (OpenCV zoo's `face_recognition_sface_2021dec.onnx`, Apache-2.0): a face aligned onto
//! the ArcFace template ([`crate::align`]), RGB 0-255 in NCHW, 128 numbers out, L2-normalised,
//! then scaled by [`EncoderKind::Sface`]'s scale so that distances are on the scale every
//! threshold of the project is written in (see `faceid_core::encoding`).
//!
//! The weights are loaded once per process; each face is run on a session borrowed from a
//! pool (`Session::run` needs it to itself), one ONNX thread each: faces are spread over
//! threads by the caller, as dlib's are.

use std::sync::{Arc, LazyLock, Mutex, Weak};

use faceid_core::encoding::{EncoderId, EncoderKind, Encoding};
use faceid_core::frame::FrameRef;
use faceid_core::geometry::FivePoints;
use faceid_core::video::backend::{BackendError, LandmarkEncoder};
use ort::value::Tensor;

use crate::align::{ALIGNED_SIZE, alignment_for, warp_to_planes};
use crate::runtime::{OnnxConfig, OnnxError, SessionPool, environment, sha256_file};

/// The weights' file name.
pub const SFACE_FILE: &str = "face_recognition_sface_2021dec.onnx";
/// SHA-256 of the weights (byte-identical to OpenCV zoo's file).
pub const SFACE_SHA256: &str = "0ba9fbfa01b5270c96627c4ef784da859931e02f04419c829e83484087c34e79";

/// SFace's weights, loaded once per process while anyone holds them.
pub struct Sface {
    sessions: SessionPool,
    id: EncoderId,
}

static LOADED: LazyLock<Mutex<Weak<Sface>>> = LazyLock::new(|| Mutex::new(Weak::new()));

impl Sface {
    /// Loads the weights from `config`'s folder (or shares the ones already loaded), checking
    /// their hash.
    pub fn load(config: &OnnxConfig) -> Result<Arc<Sface>, OnnxError> {
        let mut loaded = LOADED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(sface) = loaded.upgrade() {
            return Ok(sface);
        }
        config.check_files(SFACE_FILE)?;
        let environment = environment(config)?;
        let path = config.path_of(SFACE_FILE);
        let sha256 = sha256_file(&path)?;
        if sha256 != SFACE_SHA256 {
            return Err(OnnxError::WrongWeights { path, sha256 });
        }
        let weights =
            std::fs::read(&path).map_err(|e| OnnxError::Runtime(path.clone(), e.to_string()))?;
        let sface = Sface {
            sessions: SessionPool::new(environment, weights)
                .map_err(|why| OnnxError::Runtime(path.clone(), why))?,
            id: EncoderKind::Sface.id(sha256),
        };
        let sface = Arc::new(sface);
        *loaded = Arc::downgrade(&sface);
        Ok(sface)
    }

    /// The encoder's identity, as model files record it.
    pub fn id(&self) -> &EncoderId {
        &self.id
    }

    /// The encoding of one face of `frame`, given its dlib landmarks.
    pub fn encode(
        &self,
        frame: &FrameRef<'_>,
        landmarks: &FivePoints,
    ) -> Result<Encoding, BackendError> {
        let mut input = vec![0f32; 3 * ALIGNED_SIZE * ALIGNED_SIZE];
        warp_to_planes(frame, &alignment_for(landmarks), &mut input);
        let output = self.run(input)?;
        Ok(EncoderKind::Sface.finish(&output))
    }

    /// The network's raw output for one aligned face (planar RGB, 0-255).
    pub fn run(&self, planes: Vec<f32>) -> Result<Vec<f32>, BackendError> {
        let shape = [1usize, 3, ALIGNED_SIZE, ALIGNED_SIZE];
        let result = self.sessions.with_session(|session| {
            let tensor = Tensor::from_array((shape, planes)).map_err(|e| e.to_string())?;
            let outputs = session
                .run(ort::inputs![tensor])
                .map_err(|e| e.to_string())?;
            let (_, values) = outputs[0]
                .try_extract_tensor::<f32>()
                .map_err(|e| e.to_string())?;
            Ok(values.to_vec())
        });
        result.map_err(|why| BackendError(format!("SFace failed: {why}")))
    }
}

impl LandmarkEncoder for Sface {
    fn id(&self) -> &EncoderId {
        &self.id
    }

    fn encode(
        &self,
        frame: &FrameRef<'_>,
        landmarks: &FivePoints,
    ) -> Result<Encoding, BackendError> {
        Sface::encode(self, frame, landmarks)
    }
}
