//! What the analyzer needs from a face detector and encoder. faceid-dlib implements it over
//! dlib; tests implement it with scripted boxes and encodings, so the analyzer's schedule,
//! weak-detection confirmation and naming are tested without dlib.

use std::fmt;

use crate::detection::DetectionConfig;
use crate::encoding::{EncoderId, Encoding};
use crate::frame::FrameRef;
use crate::geometry::{FaceBox, FivePoints};

/// A backend failed on a frame (a worker thread panicked, or the encoder broke): the frame's
/// results would be wrong, so the analysis of the frame fails with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendError(pub String);

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BackendError {}

/// Makes a backend (on the thread that will use it).
pub type BackendFactory = Box<dyn FnOnce() -> Box<dyn FaceBackend> + Send>;

/// Finds and encodes faces.
pub trait FaceBackend: Send {
    /// The faces of the whole frame with their detector scores (at least
    /// `config.adjust_threshold`), left to right.
    fn detect(&self, frame: &FrameRef<'_>, config: &DetectionConfig) -> Vec<(FaceBox, f32)>;

    /// The faces near `around` (a cheap local search where a face is expected), with their
    /// scores at the detector's threshold moved by `adjust_threshold`, best first.
    fn detect_near(
        &self,
        frame: &FrameRef<'_>,
        around: FaceBox,
        adjust_threshold: f64,
    ) -> Vec<(FaceBox, f32)>;

    /// The encodings of the faces at `boxes`, in `boxes` order, on up to `threads` threads;
    /// all or an error, never a shorter list.
    fn encode(
        &self,
        frame: &FrameRef<'_>,
        boxes: &[FaceBox],
        threads: usize,
    ) -> Result<Vec<Encoding>, BackendError>;

    /// How to make another backend of the same kind for a worker thread (sharing what can be
    /// shared, such as loaded weights); called on that thread, so what takes time to build
    /// (dlib's detectors: a second or so) does not hold up the caller.
    fn for_worker(&self) -> BackendFactory;
}

/// An encoder that works from a face's five landmarks (dlib's order, frame pixels) rather than
/// from dlib's own face chip: SFace. Shared by every thread of the process.
pub trait LandmarkEncoder: Send + Sync {
    /// The encoder's identity, as model files record it.
    fn id(&self) -> &EncoderId;

    /// The encoding of the face with `landmarks` in `frame`.
    fn encode(
        &self,
        frame: &FrameRef<'_>,
        landmarks: &FivePoints,
    ) -> Result<Encoding, BackendError>;
}

/// A face detector other than dlib's that works on any part of a frame (YuNet). Boxes are in
/// the convention of dlib's HOG detector (what the landmark model, ground truth, metas and JSON
/// use) and scores on HOG's scale (0: the detector's own cut; -1: the weakest a caller asks
/// for). Shared by every thread of the process.
pub trait FaceFinder: Send + Sync {
    /// The faces in `image` scoring at least `min_score` (HOG's scale), in `image`'s pixels,
    /// best score first; `upsample` as [`DetectionConfig::upsample`] says for YuNet, on up to
    /// `threads` threads.
    fn find(
        &self,
        image: &FrameRef<'_>,
        min_score: f64,
        upsample: u32,
        threads: usize,
    ) -> Result<Vec<(FaceBox, f32)>, BackendError>;

    /// The faces in `region`, a crop around where a face `face_height` pixels high is
    /// expected, scoring at least `min_score`: a local search, best score first.
    fn find_near(
        &self,
        region: &FrameRef<'_>,
        face_height: i32,
        min_score: f64,
    ) -> Result<Vec<(FaceBox, f32)>, BackendError>;
}
