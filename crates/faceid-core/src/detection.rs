//! How faces are looked for: plain settings the face backend reads.

/// Which detector finds faces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum DetectorKind {
    /// dlib's HOG + linear SVM frontal detector: fast on a CPU, needs faces of about 80 px
    /// (40 px with one upsample).
    #[default]
    Hog,
    /// dlib's CNN (MMOD) detector: finds turned and smaller faces, about 10x slower on a CPU.
    Cnn,
    /// YuNet (a small neural network run by ONNX Runtime): frontal, three-quarter and small
    /// faces, faster than HOG. Its boxes and scores are given in HOG's convention and scale.
    Yunet,
}

/// The width video frames are detected at by default (faceidoverlay's `detection-width`,
/// `faceid discover`): 720p and 1080p frames are scaled down to it, smaller ones kept.
pub const VIDEO_DETECTION_WIDTH: usize = 1024;

/// Detection settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DetectionConfig {
    /// Which detector.
    pub detector: DetectorKind,
    /// Times the image is doubled in size before HOG detection (finds smaller faces, 4x slower
    /// each time). Ignored by the CNN detector. YuNet: 0 looks at the whole frame fitted into
    /// its input; 1 or more also at tiles of the frame at a larger scale (small faces).
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
