//! The full-frame search for faces, with weak detections confirmed by recognition: what the
//! analyzer runs in its own thread (synchronous mode) or on its worker (live mode).

use std::collections::HashMap;

use crate::detection::DetectionConfig;
use crate::encoding::Encoding;
use crate::frame::FrameRef;
use crate::geometry::FaceBox;
use crate::model::Classifier;
use crate::video::backend::{BackendError, FaceBackend};
use crate::video::motion::MotionMap;

/// Weak detections encoded per full-frame detection, best scores first: bounds the extra work
/// on busy frames.
const MAX_WEAK_CANDIDATES: usize = 4;

/// A weak detection is only considered where the picture changed at least this much (mean
/// absolute grey difference, 0-255) since the previous frame: motion blur needs motion, and
/// a still face scoring that low is soft or turned (see [`crate::video::motion`]).
const MIN_WEAK_DETECTION_CHANGE: f32 = 4.0;

/// A weak detection that does not look smeared is still taken when it lies this close (plain
/// dlib distance) to one of the person's sharp photos: as close as crops of one video lie to
/// each other (31-79% of same-person pairs of the discover folders of the dev clips), closer
/// than any two different people's photos on the dev data (the nearest BTS pair, look-alikes,
/// is 0.336 apart) and than any photo from elsewhere came to a face of a dev clip. This is the
/// model trained from `faceid discover` folders: its photos are the video's own faces, sharp,
/// so a smeared face of the video lies nearer them than their motion-blurred copies.
pub const SAME_FOOTAGE_DISTANCE: f32 = 0.3;

/// The grey maps of a frame and of the one before it (same shot).
#[derive(Clone, Copy)]
pub struct Motion<'a> {
    pub now: &'a MotionMap,
    pub before: &'a MotionMap,
}

/// What a full search found.
#[derive(Clone, Debug, Default)]
pub struct Found {
    /// The faces, left to right.
    pub boxes: Vec<FaceBox>,
    /// Encodings already made for some of `boxes` (the confirmed weak ones, or all of them when
    /// asked for).
    pub encodings: HashMap<FaceBox, Encoding>,
    /// Weak detections that could not be checked for motion (no previous frame of the shot):
    /// to look at again on the next round.
    pub pending_weak: Vec<FaceBox>,
}

/// The search's parts: the backend, the people to confirm weak detections against, threads.
#[derive(Clone, Copy)]
pub struct Search<'a> {
    pub backend: &'a dyn FaceBackend,
    pub classifier: &'a Classifier,
    pub threads: usize,
    /// See [`crate::video::analyzer::AnalyzerConfig::weak_detection_score`].
    pub weak_score: f64,
}

impl Search<'_> {
    /// Encodes `boxes`; results in `boxes` order.
    pub fn encode(
        &self,
        frame: &FrameRef<'_>,
        boxes: &[FaceBox],
    ) -> Result<Vec<Encoding>, BackendError> {
        if boxes.is_empty() {
            return Ok(Vec::new());
        }
        let encodings = self.backend.encode(frame, boxes, self.threads.max(1))?;
        if encodings.len() != boxes.len() {
            return Err(BackendError(format!(
                "the encoder returned {} encodings for {} faces",
                encodings.len(),
                boxes.len()
            )));
        }
        Ok(encodings)
    }

    /// Encodes `boxes`, reusing the encodings already made for some of them.
    pub fn encode_reusing(
        &self,
        frame: &FrameRef<'_>,
        boxes: &[FaceBox],
        known: &HashMap<FaceBox, Encoding>,
    ) -> Result<Vec<Encoding>, BackendError> {
        let missing: Vec<FaceBox> = boxes
            .iter()
            .filter(|b| !known.contains_key(b))
            .copied()
            .collect();
        let mut fresh = self.encode(frame, &missing)?.into_iter();
        Ok(boxes
            .iter()
            .filter_map(|b| known.get(b).copied().or_else(|| fresh.next()))
            .collect())
    }

    /// Full-frame detection: the boxes dlib reports (score >= 0), plus the weak ones (down to
    /// `weak_score`) that do not overlap them, lie where the picture moved since the previous
    /// frame, and whose face is a known person. Without `motion` (first frame of a shot) the
    /// weak ones are returned as pending.
    pub fn full(
        &self,
        frame: &FrameRef<'_>,
        detection: DetectionConfig,
        motion: Option<Motion<'_>>,
    ) -> Result<Found, BackendError> {
        let config = DetectionConfig {
            adjust_threshold: self.weak_score.min(0.0),
            ..detection
        };
        let scored = self.backend.detect(frame, &config);
        let (strong, mut weak): (Vec<_>, Vec<_>) = scored.into_iter().partition(|(_, s)| *s >= 0.0);
        let mut found = Found {
            boxes: strong.into_iter().map(|(b, _)| b).collect(),
            ..Found::default()
        };
        weak.retain(|(w, _)| !overlaps_any(w, &found.boxes));
        weak.sort_by(|a, b| b.1.total_cmp(&a.1));
        weak.truncate(MAX_WEAK_CANDIDATES);
        match motion {
            None => found.pending_weak = weak.into_iter().map(|(b, _)| b).collect(),
            Some(motion) => {
                self.confirm_weak(frame, weak, motion, &mut found.boxes, &mut found.encodings)?
            }
        }
        found.boxes.sort_by_key(|b| (b.x, b.y));
        Ok(found)
    }

    /// Each of `pending` (weak detections of an earlier frame that had no motion to check them
    /// with, where they are expected now) looked for again near there, down to the weak
    /// score: the best-scoring local detection overlapping it, if any.
    pub fn find_weak_again(
        &self,
        frame: &FrameRef<'_>,
        pending: &[FaceBox],
    ) -> Vec<(FaceBox, f32)> {
        let score = self.weak_score.min(0.0);
        pending
            .iter()
            .filter_map(|p| {
                self.backend
                    .detect_near(frame, *p, score)
                    .into_iter()
                    .filter(|(b, _)| b.iou(p) > 0.1)
                    .max_by(|a, b| a.1.total_cmp(&b.1))
            })
            .collect()
    }

    /// Keeps the weak detections where the picture moved since the previous frame (motion blur
    /// needs motion) and whose face is a known person, nearer one of their motion-blurred copies
    /// than their sharp photos; adds them to `boxes` with their encodings.
    pub fn confirm_weak(
        &self,
        frame: &FrameRef<'_>,
        weak: Vec<(FaceBox, f32)>,
        motion: Motion<'_>,
        boxes: &mut Vec<FaceBox>,
        confirmed: &mut HashMap<FaceBox, Encoding>,
    ) -> Result<(), BackendError> {
        let candidates: Vec<FaceBox> = weak
            .into_iter()
            .map(|(b, _)| b)
            .filter(|b| {
                motion
                    .now
                    .change_in(motion.before, b)
                    .is_some_and(|c| c >= MIN_WEAK_DETECTION_CHANGE)
            })
            .collect();
        if candidates.is_empty() {
            return Ok(());
        }
        let encodings = self.encode(frame, &candidates)?;
        for (b, e) in candidates.iter().zip(encodings) {
            let p = self.classifier.classify(&e);
            // A weak detection is for a smeared face: it must look like a person's
            // motion-blurred copy, not merely like their sharp photos (a soft or turned
            // stranger can; see `MIN_WEAK_DETECTION_CHANGE`), unless it is as close to one of
            // them as frames of one footage are (`SAME_FOOTAGE_DISTANCE`).
            let like_them = p.like_motion_blur || p.distance <= SAME_FOOTAGE_DISTANCE;
            if p.known && like_them && !boxes.iter().any(|k| k.iou(b) > 0.3) {
                boxes.push(*b);
                confirmed.insert(*b, e);
            }
        }
        Ok(())
    }
}

/// Whether `b` overlaps one of `boxes` (IoU above 0.3, or one's centre inside the other).
pub fn overlaps_any(b: &FaceBox, boxes: &[FaceBox]) -> bool {
    boxes
        .iter()
        .any(|k| k.iou(b) > 0.3 || b.center_inside(k) || k.center_inside(b))
}
