//! faceid-dlib: the face backend of gst-faceid over dlib.
//!
//! - [`weights`]: finding and loading dlib's weight files once per process, the encoder pool
//!   (a dlib network must not run on two threads at once) and encoding.
//! - [`pipeline`]: detection: dlib's HOG with scores and an adjustable threshold ([`hog`],
//!   through a C++ shim), in two strips on two cores, at a working width, or the CNN.
//! - [`augment`]: motion-blurred copies of training faces.
//! - [`DlibBackend`]: all of it as the analyzer's [`faceid_core::video::backend::FaceBackend`].

pub mod augment;
mod convert;
pub mod hog;
pub mod pipeline;
pub mod weights;

use std::sync::Arc;

use faceid_core::detection::DetectionConfig;
use faceid_core::encoding::Encoding;
use faceid_core::frame::FrameRef;
use faceid_core::geometry::FaceBox;
use faceid_core::video::backend::{
    BackendError, BackendFactory, FaceBackend, FaceFinder, LandmarkEncoder,
};

pub use pipeline::FacePipeline;
pub use weights::{Weights, WeightsConfig, WeightsError, resolve_models_dir};

/// dlib's detectors and encoder as the analyzer's face backend: one per element (it owns HOG
/// detectors, which are not thread-safe); the weights are shared by the process.
pub struct DlibBackend {
    pipeline: FacePipeline,
}

impl DlibBackend {
    /// A backend over loaded weights, encoding with dlib's ResNet.
    pub fn new(weights: Arc<Weights>) -> DlibBackend {
        DlibBackend::with_encoder(weights, None)
    }

    /// A backend whose faces are encoded by `encoder` from dlib's landmarks (`None`: dlib's
    /// ResNet).
    pub fn with_encoder(
        weights: Arc<Weights>,
        encoder: Option<Arc<dyn LandmarkEncoder>>,
    ) -> DlibBackend {
        DlibBackend {
            pipeline: FacePipeline::with_encoder(weights, encoder),
        }
    }

    /// A backend over a pipeline (its encoder and detector).
    pub fn with_pipeline(pipeline: FacePipeline) -> DlibBackend {
        DlibBackend { pipeline }
    }
}

impl FaceBackend for DlibBackend {
    fn detect(&self, frame: &FrameRef<'_>, config: &DetectionConfig) -> Vec<(FaceBox, f32)> {
        self.pipeline.detect_scored(frame, config)
    }

    fn detect_near(
        &self,
        frame: &FrameRef<'_>,
        around: FaceBox,
        adjust_threshold: f64,
    ) -> Vec<(FaceBox, f32)> {
        self.pipeline
            .detect_near_scored(frame, around, adjust_threshold)
    }

    fn encode(
        &self,
        frame: &FrameRef<'_>,
        boxes: &[FaceBox],
        threads: usize,
    ) -> Result<Vec<Encoding>, BackendError> {
        self.pipeline.encode_parallel(frame, boxes, threads)
    }

    fn for_worker(&self) -> BackendFactory {
        let weights = self.pipeline.weights().clone();
        let encoder = self.pipeline.plugged_encoder().cloned();
        let finder: Option<Arc<dyn FaceFinder>> = self.pipeline.plugged_finder().cloned();
        Box::new(move || {
            let pipeline = FacePipeline::with_encoder(weights, encoder).with_finder(finder);
            Box::new(DlibBackend::with_pipeline(pipeline))
        })
    }
}
