//! The one place that names the face encoders: which files each needs, how it is loaded, and
//! the pipeline (for training) or analyzer backend (for video) it makes. Everything else asks
//! for an [`EncoderKind`], which training chooses and the model file records.
//!
//! Both encoders detect faces with dlib (HOG) and place dlib's 5 landmarks; `dlib` encodes
//! them with dlib's ResNet, `sface` with SFace through ONNX Runtime ([`faceid_onnx`]), aligned
//! from the same landmarks.

use std::sync::Arc;

use faceid_core::detection::DetectorKind;
use faceid_core::encoding::{EncoderId, EncoderKind};
use faceid_core::model::Model;
use faceid_core::video::backend::{FaceFinder, LandmarkEncoder};
use faceid_dlib::{DlibBackend, FacePipeline, Weights, WeightsConfig};
use faceid_onnx::{OnnxConfig, Sface, Yunet};

/// The encoder training uses when none is named: still dlib's. SFace, measured in the same
/// run on the dev clips (docs/design-choices.md), keeps strangers of a group's own kind unnamed far
/// better but names fewer faces right on bbt, bts15 and in the live mode, gives wrong names on
/// small faces and takes 1.6 times dlib's time a face here: it is a choice, not yet the default.
pub const DEFAULT_ENCODER: EncoderKind = EncoderKind::DlibResnet;

/// Where an encoder's files are.
#[derive(Clone, Debug, PartialEq)]
pub struct BackendConfig {
    /// Which encoder.
    pub encoder: EncoderKind,
    /// Which detector (YuNet needs ONNX Runtime; its weights are compiled in).
    pub detector: DetectorKind,
    /// dlib's files (detector, landmarks, and the ResNet for [`EncoderKind::DlibResnet`]).
    pub weights: WeightsConfig,
    /// ONNX Runtime and SFace's weights.
    pub onnx: OnnxConfig,
}

impl BackendConfig {
    /// `encoder` with dlib's files as `weights` says and the ONNX files where they are found
    /// without being told.
    pub fn new(encoder: EncoderKind, mut weights: WeightsConfig) -> BackendConfig {
        weights.resnet = encoder == EncoderKind::DlibResnet;
        BackendConfig {
            encoder,
            detector: DetectorKind::Hog,
            weights,
            onnx: OnnxConfig::resolved(),
        }
    }

    /// This configuration with `detector` finding the faces.
    pub fn with_detector(self, detector: DetectorKind) -> BackendConfig {
        BackendConfig { detector, ..self }
    }

    /// Checks that every file is there without reading any (a millisecond): an element refuses
    /// to start at once and reads them on a thread of its own.
    pub fn check_files(&self) -> Result<(), String> {
        self.weights.check_files().map_err(|e| e.to_string())?;
        if self.detector == DetectorKind::Yunet {
            self.onnx.check_runtime().map_err(|e| e.to_string())?;
        }
        match self.encoder {
            EncoderKind::DlibResnet => Ok(()),
            EncoderKind::Sface => self
                .onnx
                .check_files(faceid_onnx::sface::SFACE_FILE)
                .map_err(|e| e.to_string()),
        }
    }

    /// Where the files are, for logs.
    pub fn describe(&self) -> String {
        let files = match self.encoder {
            EncoderKind::DlibResnet => format!("dlib weights from {}", self.weights.dir.display()),
            EncoderKind::Sface => format!(
                "dlib weights from {}, ONNX Runtime and SFace from {}",
                self.weights.dir.display(),
                self.onnx.dir.display()
            ),
        };
        match self.detector {
            DetectorKind::Yunet => format!(
                "{files}; YuNet run by ONNX Runtime from {}",
                self.onnx.dir.display()
            ),
            _ => files,
        }
    }
}

/// An encoder's loaded files, shared by the process (each part loads once).
#[derive(Clone)]
pub struct FaceModels {
    weights: Arc<Weights>,
    encoder: Option<Arc<dyn LandmarkEncoder>>,
    finder: Option<Arc<dyn FaceFinder>>,
    id: EncoderId,
}

impl FaceModels {
    /// Loads (or shares) the files `config` names. The message says what to install.
    pub fn load(config: &BackendConfig) -> Result<FaceModels, String> {
        let weights = Weights::load(&config.weights).map_err(|e| e.to_string())?;
        let finder: Option<Arc<dyn FaceFinder>> = match config.detector {
            DetectorKind::Yunet => Some(Yunet::load(&config.onnx).map_err(|e| e.to_string())?),
            DetectorKind::Hog | DetectorKind::Cnn => None,
        };
        match config.encoder {
            EncoderKind::DlibResnet => {
                let id = weights
                    .encoder_id()
                    .cloned()
                    .ok_or("dlib's ResNet weights were not loaded")?;
                Ok(FaceModels {
                    weights,
                    encoder: None,
                    finder,
                    id,
                })
            }
            EncoderKind::Sface => {
                let sface = Sface::load(&config.onnx).map_err(|e| e.to_string())?;
                let id = sface.id().clone();
                Ok(FaceModels {
                    weights,
                    encoder: Some(sface),
                    finder,
                    id,
                })
            }
        }
    }

    /// The encoder's identity, as model files record it.
    pub fn encoder_id(&self) -> &EncoderId {
        &self.id
    }

    /// A pipeline (detection and encoding) for one thread.
    pub fn pipeline(&self) -> FacePipeline {
        FacePipeline::with_encoder(self.weights.clone(), self.encoder.clone())
            .with_finder(self.finder.clone())
    }

    /// The analyzer's backend.
    pub fn backend(&self) -> DlibBackend {
        DlibBackend::with_pipeline(self.pipeline())
    }
}

/// The encoder a model file's encodings came from, or why this build cannot use it.
pub fn encoder_of(model: &Model) -> Result<EncoderKind, String> {
    model.encoder.kind().ok_or_else(|| {
        format!(
            "the model was made with the encoder {:?}, which this gst-faceid does not have \
             (it has {}): upgrade gst-faceid, or train the model again",
            model.encoder.name,
            EncoderKind::ALL.map(EncoderKind::name).join(" and ")
        )
    })
}

/// The names the `encoder` property and `--encoder` take, for help texts.
pub fn encoder_names() -> String {
    EncoderKind::ALL.map(EncoderKind::name).join(", ")
}
