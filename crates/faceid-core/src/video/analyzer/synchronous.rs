//! The synchronous mode's own work: the full search in the frame that needs it, the finer
//! pass for faces smaller than the detector's limit, and the second look at a cut's weak
//! detections.

use super::{Analyzer, RoundFaces};
use crate::detection::{DetectionConfig, DetectorKind, YUNET_SMALLEST_FACE, yunet_scale};
use crate::frame::FrameRef;
use crate::geometry::FaceBox;
use crate::video::backend::BackendError;
use crate::video::schedule::Round;
use crate::video::search::{Found, overlaps_any};

/// The HOG detector's window: the smallest face it finds in the image it scans, pixels.
const HOG_WINDOW: f64 = 80.0;

/// The smallest face height, in frame pixels, a detection with `config` finds in a frame
/// `width x height`.
pub fn smallest_detectable(config: &DetectionConfig, width: usize, height: usize) -> f64 {
    if config.detector == DetectorKind::Yunet {
        return YUNET_SMALLEST_FACE / yunet_scale(width, height, config.upsample);
    }
    let scale = if config.detection_width > 0 && config.detection_width < width {
        config.detection_width as f64 / width as f64
    } else {
        1.0
    };
    HOG_WINDOW / (scale * f64::from(1u32 << config.upsample.min(4)))
}

/// Whether a thorough full detection (with `config`) that found `found`, in a shot whose
/// followed faces are at `followed`, suggests faces smaller than it can find: at a shot's
/// start nothing at all (a wide shot whose faces are all too small), or a followed face
/// smaller than it can find (so the finer pass found it before, and there may be more).
///
/// A face found near the limit (up to 1.25 times) is no reason: three of the bbt clip's 11
/// shots start so, and looking finer there cost 20% of its frames per second for no face.
pub fn suggests_smaller_faces(
    found: &[FaceBox],
    followed: &[FaceBox],
    config: &DetectionConfig,
    (width, height): (usize, usize),
    shot_start: bool,
) -> bool {
    let limit = smallest_detectable(config, width, height);
    (shot_start && found.is_empty()) || followed.iter().any(|b| f64::from(b.height) < limit)
}

/// Frames between two finer passes within a shot, at least (a shot's start always gets one
/// when it opens on no face): bounds the cost (about 1 s each at 720p on 2 cores) of a long
/// shot that keeps following small faces.
pub const MIN_FRAMES_BETWEEN_FINE_PASSES: u64 = 60;

/// The finer detection keeps windows scoring at least this (dlib's usual cut is 0): small
/// faces score lower. Measured on a BTS clip of 24-60 px faces: faces under 40 px found 0.66
/// at 0, 0.75 at -0.3, 0.75 at -0.5; boxes on no face 4 in all three, none on the bbt clip.
pub const FINE_PASS_THRESHOLD: f64 = -0.3;

/// The finer detection: `config` doubled once more (faceid-dlib caps the image it scans at
/// 4096 x 2304 pixels, which a 1024-wide detection doubled twice just fits).
pub fn fine_detection(config: &DetectionConfig) -> DetectionConfig {
    DetectionConfig {
        upsample: config.upsample + 1,
        ..*config
    }
}

impl Analyzer {
    /// The synchronous mode's full search, here and now, with the finer pass where the shot
    /// suggests smaller faces than `detection` finds.
    pub(super) fn full_search_here(
        &mut self,
        frame: &FrameRef<'_>,
        detection: DetectionConfig,
        round: Round,
        cut: bool,
    ) -> Result<RoundFaces, BackendError> {
        self.pending_weak.clear();
        let mut found = self.search().full(frame, detection, self.motion_pair())?;
        let shot_start = cut || self.schedule.frames() == 1;
        let followed: Vec<FaceBox> = self.tracker.tracks().iter().map(|t| t.face_box()).collect();
        let fine_allowed = shot_start
            || self
                .last_fine_pass
                .is_none_or(|last| self.frames_analysed - last >= MIN_FRAMES_BETWEEN_FINE_PASSES);
        if self.config.find_small_faces
            && fine_allowed
            && round == (Round::Full { small_faces: true })
            && detection.detector != DetectorKind::Cnn
            && suggests_smaller_faces(
                &found.boxes,
                &followed,
                &detection,
                (frame.width(), frame.height()),
                shot_start,
            )
        {
            self.last_fine_pass = Some(self.frames_analysed);
            self.add_small_faces(frame, &detection, &mut found)?;
        }
        self.pending_weak = found.pending_weak;
        Ok(RoundFaces {
            boxes: found.boxes,
            encodings: found.encodings,
            ..RoundFaces::default()
        })
    }

    /// The finer detection's faces that the first one did not find, added to `found`.
    fn add_small_faces(
        &self,
        frame: &FrameRef<'_>,
        detection: &DetectionConfig,
        found: &mut Found,
    ) -> Result<(), BackendError> {
        let fine = DetectionConfig {
            adjust_threshold: FINE_PASS_THRESHOLD,
            ..fine_detection(detection)
        };
        let extra = self.backend.detect(frame, &fine);
        for (b, _) in extra {
            if !overlaps_any(&b, &found.boxes) {
                found.boxes.push(b);
            }
        }
        found.boxes.sort_by_key(|b| (b.x, b.y));
        Ok(())
    }

    /// Looks again, locally, for the weak detections a cut's (or the first frame's) detection
    /// could not check for motion; confirmed ones join `faces`.
    pub(super) fn recheck_pending_weak(
        &mut self,
        frame: &FrameRef<'_>,
        faces: &mut RoundFaces,
    ) -> Result<(), BackendError> {
        // The first frame's weak detections wait for the second: no motion to check yet.
        if self.pending_weak.is_empty() || self.motion_pair().is_none() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending_weak);
        let Some(motion) = self.motion_pair() else {
            return Ok(());
        };
        let mut weak = self.search().find_weak_again(frame, &pending);
        weak.retain(|(b, _)| !overlaps_any(b, &faces.boxes));
        self.search()
            .confirm_weak(frame, weak, motion, &mut faces.boxes, &mut faces.encodings)?;
        faces.boxes.sort_by_key(|b| (b.x, b.y));
        Ok(())
    }
}
