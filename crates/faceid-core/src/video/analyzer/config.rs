//! What the analyzer is told: [`AnalyzerConfig`].

use crate::detection::DetectionConfig;
use crate::video::scene_cut;

/// Default lowest HOG score of a *weak* detection (see [`AnalyzerConfig::weak_detection_score`]).
/// dlib's own cut is 0; faces smeared by a fast pan score between -1 and 0 (measured on the
/// sample clip: -0.44 to -0.97 for its fast leonard), while the background clutter that also
/// scores there is never within the unknown distance of a known person.
pub const DEFAULT_WEAK_DETECTION_SCORE: f64 = -1.0;

/// Analysis settings.
#[derive(Clone, Debug, PartialEq)]
pub struct AnalyzerConfig {
    /// Detection.
    pub detection: DetectionConfig,
    /// Follow faces over frames and name tracks by votes. Off: every frame alone.
    pub tracking: bool,
    /// With tracking: look for the followed faces again (near where they are expected, a
    /// cheap local detection) every this many frames (1 = every frame).
    pub detection_interval: u32,
    /// With tracking: run the full-frame detector (which finds new faces) every this many
    /// frames, and at every hard cut.
    pub full_detection_interval: u32,
    /// With tracking: encode a track again every this many frames.
    pub reencode_interval: u32,
    /// With tracking: scene-cut sensitivity (see [`crate::video::scene_cut`]); 0 disables cut detection.
    pub cut_threshold: f32,
    /// Threads for encoding (1 = in the calling thread).
    pub threads: usize,
    /// Full-frame detections scoring below dlib's usual cut (0) but at least this are *weak*:
    /// each is encoded, and kept only when it is recognised as a known person. Motion-blurred
    /// faces of known people are found this way; strangers and clutter at such scores are
    /// dropped. 0 turns it off.
    pub weak_detection_score: f64,
    /// With tracking: 0 for the synchronous mode; otherwise the live mode, in which a frame's
    /// own work aims to stay within this many milliseconds (see the module documentation).
    pub latency_budget_ms: u32,
    /// Synchronous mode: where a thorough full detection suggests faces smaller than it can
    /// find (see [`suggests_smaller_faces`]), look again once doubled ([`fine_detection`]).
    pub find_small_faces: bool,
}

impl Default for AnalyzerConfig {
    fn default() -> Self {
        AnalyzerConfig {
            detection: DetectionConfig::default(),
            tracking: true,
            detection_interval: 3,
            full_detection_interval: 15,
            reencode_interval: 20,
            cut_threshold: scene_cut::DEFAULT_CUT_THRESHOLD,
            threads: 2,
            weak_detection_score: DEFAULT_WEAK_DETECTION_SCORE,
            latency_budget_ms: 0,
            find_small_faces: true,
        }
    }
}
