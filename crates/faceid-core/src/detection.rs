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

/// YuNet's input side, in pixels (its network takes 640x640 images).
pub const YUNET_INPUT_SIZE: usize = 640;

/// The smallest face YuNet finds reliably in its input, in pixels: real faces from about 10,
/// tight crops with no hair or chin around them (the bbt clip's) from about 60.
pub const YUNET_SMALLEST_FACE: f64 = 32.0;

/// The scale YuNet looks at a `width x height` frame with `upsample`: 0, the whole frame
/// fitted into its input; 1, tiles at the scale that fits the short side; each more, twice
/// that.
pub fn yunet_scale(width: usize, height: usize, upsample: u32) -> f64 {
    let input = YUNET_INPUT_SIZE as f64;
    match upsample {
        0 => input / width.max(height).max(1) as f64,
        u => input / width.min(height).max(1) as f64 * f64::from(1u32 << (u - 1).min(3)),
    }
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
    /// its input; 1 or more also at tiles of the frame at [`yunet_scale`] (small faces).
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

impl DetectionConfig {
    /// The same detection without upsampling: HOG's plain pass; YuNet's whole frame fitted
    /// into its input, in one run, without the tiles.
    pub fn without_upsampling(self) -> DetectionConfig {
        DetectionConfig {
            upsample: 0,
            ..self
        }
    }
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
