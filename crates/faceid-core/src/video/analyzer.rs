//! Frame analysis: which faces are in this frame and who they are. Plain Rust over a
//! [`FaceBackend`] (dlib's in faceid-dlib, a scripted one in tests), [`crate::model`],
//! [`crate::video::tracker`] and [`crate::video::scene_cut`]; the GStreamer element only maps
//! buffers and calls [`Analyzer::analyze`].
//!
//! Two modes:
//! - **per frame** (`tracking: false`): detect, encode and classify every face of every frame,
//!   each frame on its own, like the hobby script this project replaces;
//! - **tracked** (default): detect every `detection_interval` frames (and at every hard cut),
//!   follow faces in between by motion prediction, encode a track when it starts and again every
//!   `reencode_interval` frames, and name it from the votes of its recent encodings. Only past
//!   frames are used, so the output is still one frame in, one frame out, with no latency.
//!
//! Encodings of several faces run on several threads (`threads`), each with its own copy of
//! the network; the order of results never depends on thread timing.

use std::collections::HashMap;

use crate::detection::DetectionConfig;
use crate::encoding::Encoding;
pub use crate::face_result::FaceResult;
use crate::frame::FrameRef;
use crate::geometry::FaceBox;
use crate::model::{Classifier, Prediction};
use crate::video::appearance::{self, AppearanceTemplate};
use crate::video::backend::{BackendError, FaceBackend};
use crate::video::identity::{self, Evidence};
use crate::video::motion::MotionMap;
use crate::video::scene_cut::{self, SceneCutDetector};
use crate::video::tracker::{Observation, TrackId, Tracker, TrackerConfig};

/// A followed face stays on screen (at its predicted place) through this many detection
/// rounds that missed it: one blurry frame should not make a name blink.
const MAX_MISSES_SHOWN: u32 = 1;

/// A track the detector keeps missing is followed by its appearance (see [`crate::video::appearance`])
/// for at most this many frames (1.5 s at 30 frames/s), then lets go until the detector finds
/// the face again.
const MAX_FRAMES_FOLLOWED_BY_APPEARANCE: u32 = 45;

/// Periodic full-frame detections (between cuts) look for new faces at the frame's own size
/// (faces from 80 px, a quarter of the work), and only every this many times also upsampled for
/// small faces. Cuts, the first frame and the first periodic detection after them always get
/// the full search.
const SMALL_FACE_SEARCH_EVERY: u32 = 3;

/// Encodings an unknown-looking track gets on consecutive detection rounds before it is
/// re-encoded only every `reencode_interval` frames.
const QUICK_VOTES: usize = 3;

/// Vote weight of an "unknown" classification relative to a match (see `analyze_tracked`).
const UNKNOWN_VOTE_WEIGHT: f32 = 0.5;

/// Default lowest HOG score of a *weak* detection (see [`AnalyzerConfig::weak_detection_score`]).
/// dlib's own cut is 0; faces smeared by a fast pan score between -1 and 0 (measured on the
/// sample clip: -0.44 to -0.97 for its fast leonard), while the background clutter that also
/// scores there is never within the unknown distance of a known person.
pub const DEFAULT_WEAK_DETECTION_SCORE: f64 = -1.0;

/// Weak detections encoded per full-frame detection, best scores first: bounds the extra work
/// on busy frames.
const MAX_WEAK_CANDIDATES: usize = 4;

/// A weak detection is only considered where the picture changed at least this much (mean
/// absolute grey difference, 0-255) since the previous frame: motion blur needs motion, and
/// a still face scoring that low is soft or turned (see [`crate::video::motion`]).
const MIN_WEAK_DETECTION_CHANGE: f32 = 4.0;

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
        }
    }
}

/// Per-track data the tracker does not keep: its recent encodings (the evidence its name is
/// decided from), and the face's look at its last detection.
#[derive(Clone, Debug, Default)]
struct TrackInfo {
    evidence: Evidence,
    template: Option<AppearanceTemplate>,
}

/// Runs the face pipeline and the classifier on frames.
pub struct Analyzer {
    backend: Box<dyn FaceBackend>,
    classifier: Classifier,
    config: AnalyzerConfig,
    tracker: Tracker,
    cuts: SceneCutDetector,
    track_info: HashMap<TrackId, TrackInfo>,
    frames_since_detection: u32,
    frames_since_full_detection: u32,
    periodic_full_detections: u32,
    frames: u64,
    /// The current and the previous frame's motion maps (for weak detections).
    motion: Option<MotionMap>,
    previous_motion: Option<MotionMap>,
    /// Weak detections of a cut's (or the first frame's) full detection, which had no
    /// previous frame of the same shot to show motion: looked at again, locally, on the next
    /// detection round.
    pending_weak: Vec<FaceBox>,
}

impl Analyzer {
    /// An analyzer over a face pipeline and a classifier.
    pub fn new(
        backend: Box<dyn FaceBackend>,
        classifier: Classifier,
        config: AnalyzerConfig,
    ) -> Self {
        let cuts = SceneCutDetector::new(config.cut_threshold);
        Analyzer {
            backend,
            classifier,
            config,
            tracker: Tracker::new(TrackerConfig::default()),
            cuts,
            track_info: HashMap::new(),
            frames_since_detection: 0,
            frames_since_full_detection: 0,
            periodic_full_detections: 0,
            frames: 0,
            motion: None,
            previous_motion: None,
            pending_weak: Vec::new(),
        }
    }

    /// Replaces the settings (takes effect on the next frame).
    pub fn set_config(&mut self, config: AnalyzerConfig) {
        if config.cut_threshold != self.config.cut_threshold {
            self.cuts = SceneCutDetector::new(config.cut_threshold);
        }
        self.config = config;
    }

    /// Replaces the classifier (a new model loaded while playing); tracks start over, since
    /// their votes were for the old model's people.
    pub fn set_classifier(&mut self, classifier: Classifier) {
        self.classifier = classifier;
        self.reset();
    }

    /// The classifier in use.
    pub fn classifier(&self) -> &Classifier {
        &self.classifier
    }

    /// Forgets every track (a flush, a seek, a caps change).
    pub fn reset(&mut self) {
        self.tracker.reset();
        self.track_info.clear();
        self.cuts.reset();
        self.frames_since_detection = 0;
        self.frames_since_full_detection = 0;
        self.periodic_full_detections = 0;
        self.frames = 0;
        self.motion = None;
        self.previous_motion = None;
        self.pending_weak.clear();
    }

    /// Every face of the frame, left to right; an error when the backend failed on it (the
    /// tracks start over on the next frame).
    pub fn analyze(&mut self, frame: &FrameRef<'_>) -> Result<Vec<FaceResult>, BackendError> {
        self.frames += 1;
        if self.config.weak_detection_score < 0.0 {
            self.previous_motion = self.motion.take();
            self.motion = Some(MotionMap::new(frame));
        }
        let results = if self.config.tracking {
            self.analyze_tracked(frame)
        } else {
            self.analyze_alone(frame)
        };
        if results.is_err() {
            self.reset();
        }
        results
    }

    fn result(&self, rect: FaceBox, p: &Prediction, track: Option<u64>) -> FaceResult {
        self.result_from(
            rect,
            p.label(),
            p.best,
            p.confidence,
            p.distance,
            &p.scores,
            track,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn result_from(
        &self,
        rect: FaceBox,
        label: Option<usize>,
        best: usize,
        confidence: f32,
        distance: f32,
        scores: &[f32],
        track: Option<u64>,
    ) -> FaceResult {
        let labels = self.classifier.labels();
        let mut sorted: Vec<(String, f32)> =
            labels.iter().cloned().zip(scores.iter().copied()).collect();
        sorted.sort_by(|a, b| b.1.total_cmp(&a.1));
        FaceResult {
            rect,
            label: label.and_then(|l| labels.get(l).cloned()),
            best_match: labels.get(best).cloned().unwrap_or_default(),
            confidence,
            distance,
            scores: sorted,
            track,
        }
    }

    /// Encodes `boxes` on the configured threads; results in `boxes` order.
    fn encode(
        &self,
        frame: &FrameRef<'_>,
        boxes: &[FaceBox],
    ) -> Result<Vec<Encoding>, BackendError> {
        if boxes.is_empty() {
            return Ok(Vec::new());
        }
        self.backend
            .encode(frame, boxes, self.config.threads.max(1))
    }

    /// Full-frame detection with weak detections confirmed by recognition: the boxes dlib
    /// reports (score >= 0), plus the weak ones (down to `weak_detection_score`) that do not
    /// overlap them, lie where the picture moved since the previous frame, and whose face is a
    /// known person. Returns the boxes, left to right, and the encodings already made for the
    /// weak ones that were kept. Without a previous frame of the same shot (first frame, cut),
    /// the weak ones wait in `pending_weak` for the next detection round.
    fn detect_confirmed(
        &mut self,
        frame: &FrameRef<'_>,
        detection: DetectionConfig,
    ) -> Result<(Vec<FaceBox>, HashMap<FaceBox, Encoding>), BackendError> {
        let config = DetectionConfig {
            adjust_threshold: self.config.weak_detection_score.min(0.0),
            ..detection
        };
        // A full detection supersedes the weak detections still waiting for a look.
        self.pending_weak.clear();
        let scored = self.backend.detect(frame, &config);
        let (strong, mut weak): (Vec<_>, Vec<_>) = scored.into_iter().partition(|(_, s)| *s >= 0.0);
        let mut boxes: Vec<FaceBox> = strong.into_iter().map(|(b, _)| b).collect();
        let mut confirmed = HashMap::new();
        weak.retain(|(w, _)| !overlaps_any(w, &boxes));
        weak.sort_by(|a, b| b.1.total_cmp(&a.1));
        weak.truncate(MAX_WEAK_CANDIDATES);
        if self.previous_motion.is_none() {
            self.pending_weak = weak.into_iter().map(|(b, _)| b).collect();
        } else {
            self.confirm_weak(frame, weak, &mut boxes, &mut confirmed)?;
        }
        boxes.sort_by_key(|b| (b.x, b.y));
        Ok((boxes, confirmed))
    }

    /// Looks again, locally, for the weak detections a cut's detection could not check for
    /// motion; confirmed ones join `boxes`.
    fn recheck_pending_weak(
        &mut self,
        frame: &FrameRef<'_>,
        boxes: &mut Vec<FaceBox>,
        confirmed: &mut HashMap<FaceBox, Encoding>,
    ) -> Result<(), BackendError> {
        let pending = std::mem::take(&mut self.pending_weak);
        if pending.is_empty() || self.previous_motion.is_none() {
            return Ok(());
        }
        let score = self.config.weak_detection_score.min(0.0);
        let weak: Vec<(FaceBox, f32)> = pending
            .iter()
            .filter_map(|p| {
                self.backend
                    .detect_near(frame, *p, score)
                    .into_iter()
                    .filter(|(b, _)| b.iou(p) > 0.1)
                    .max_by(|a, b| a.1.total_cmp(&b.1))
            })
            .filter(|(b, _)| !overlaps_any(b, boxes))
            .collect();
        self.confirm_weak(frame, weak, boxes, confirmed)?;
        boxes.sort_by_key(|b| (b.x, b.y));
        Ok(())
    }

    /// Keeps the weak detections where the picture moved since the previous frame (motion blur
    /// needs motion) and whose face is a known person, nearer one of their motion-blurred copies
    /// than their sharp photos; adds them to `boxes` with their encodings.
    fn confirm_weak(
        &self,
        frame: &FrameRef<'_>,
        weak: Vec<(FaceBox, f32)>,
        boxes: &mut Vec<FaceBox>,
        confirmed: &mut HashMap<FaceBox, Encoding>,
    ) -> Result<(), BackendError> {
        let (Some(now), Some(before)) = (self.motion.as_ref(), self.previous_motion.as_ref())
        else {
            return Ok(());
        };
        let candidates: Vec<FaceBox> = weak
            .into_iter()
            .map(|(b, _)| b)
            .filter(|b| {
                now.change_in(before, b)
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
            // stranger can; see `MIN_WEAK_DETECTION_CHANGE`).
            if p.known && p.like_motion_blur && !boxes.iter().any(|k| k.iou(b) > 0.3) {
                boxes.push(*b);
                confirmed.insert(*b, e);
            }
        }
        Ok(())
    }

    /// Encodes `boxes`, reusing the encodings already made for some of them.
    fn encode_reusing(
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

    fn analyze_alone(&mut self, frame: &FrameRef<'_>) -> Result<Vec<FaceResult>, BackendError> {
        let (boxes, confirmed) = self.detect_confirmed(frame, self.config.detection)?;
        let encodings = self.encode_reusing(frame, &boxes, &confirmed)?;
        let predictions = identity::name_jointly(&self.classifier, &encodings);
        Ok(boxes
            .iter()
            .zip(&predictions)
            .map(|(rect, p)| self.result(*rect, p, None))
            .collect())
    }

    /// Local detection around each track's predicted box; at most one face per track (the one
    /// overlapping the prediction most), duplicates across tracks dropped.
    fn detect_near_tracks(&self, frame: &FrameRef<'_>) -> Vec<FaceBox> {
        let mut found: Vec<FaceBox> = Vec::new();
        for track in self.tracker.tracks() {
            let Some(predicted) = track.face_box().clipped(frame.width(), frame.height()) else {
                continue;
            };
            let best = self
                .backend
                .detect_near(frame, predicted, 0.0)
                .into_iter()
                .map(|(b, _)| b)
                .max_by(|a, b| a.iou(&predicted).total_cmp(&b.iou(&predicted)));
            if let Some(b) = best
                && b.iou(&predicted) > 0.1
                && !found.iter().any(|f| f.iou(&b) > 0.5)
            {
                found.push(b);
            }
        }
        found
    }

    /// Tracks the detector missed in this round (a miss counted by the last update) are looked
    /// for by their appearance around their predicted box; found, they stay on the face.
    fn follow_missed_by_appearance(&mut self, frame: &FrameRef<'_>) {
        let max_rounds =
            (MAX_FRAMES_FOLLOWED_BY_APPEARANCE / self.config.detection_interval.max(1)).max(1);
        let found: Vec<(TrackId, FaceBox)> = self
            .tracker
            .tracks()
            .iter()
            .filter(|t| t.missed_detections() > 0 && t.rounds_followed_by_appearance() < max_rounds)
            .filter_map(|t| {
                let template = self.track_info.get(&t.id)?.template.as_ref()?;
                let m = template.find(frame, &t.face_box())?;
                (m.score >= appearance::MIN_MATCH_SCORE).then_some((t.id, m.rect))
            })
            .collect();
        for (id, rect) in found {
            self.tracker.follow(id, rect);
        }
    }

    fn analyze_tracked(&mut self, frame: &FrameRef<'_>) -> Result<Vec<FaceResult>, BackendError> {
        // A hard cut ends every track: a track must never jump to another person.
        let mut cut = false;
        if self.config.cut_threshold > 0.0 {
            let thumb = scene_cut::thumbnail(
                frame,
                scene_cut::DEFAULT_THUMB_WIDTH,
                scene_cut::DEFAULT_THUMB_HEIGHT,
            );
            if !thumb.is_empty() && self.cuts.is_cut(&thumb) {
                cut = true;
                self.tracker.reset();
                // The previous frame is another shot: no motion to compare with.
                self.previous_motion = None;
            }
        }
        let full = cut
            || self.frames == 1
            || self.frames_since_full_detection + 1 >= self.config.full_detection_interval.max(1);
        let local = !full
            && self.frames_since_detection + 1 >= self.config.detection_interval.max(1)
            && (!self.tracker.tracks().is_empty() || !self.pending_weak.is_empty());
        if !full && !local {
            self.frames_since_detection += 1;
            self.frames_since_full_detection += 1;
            self.tracker.predict();
        } else {
            self.frames_since_detection = 0;
            if full {
                self.frames_since_full_detection = 0;
            } else {
                self.frames_since_full_detection += 1;
            }
            let (mut boxes, mut confirmed) = if full {
                let mut detection = self.config.detection;
                if cut || self.frames == 1 {
                    self.periodic_full_detections = 0;
                } else {
                    self.periodic_full_detections += 1;
                    // The first look after a cut is thorough too: a shot often opens on a
                    // blurred pan or a face fading in.
                    let n = self.periodic_full_detections;
                    if n > 1 && !n.is_multiple_of(SMALL_FACE_SEARCH_EVERY) {
                        detection.upsample = 0;
                    }
                }
                self.detect_confirmed(frame, detection)?
            } else {
                (self.detect_near_tracks(frame), HashMap::new())
            };
            if !cut {
                self.recheck_pending_weak(frame, &mut boxes, &mut confirmed)?;
            }
            let ids = self.tracker.update(&boxes);
            self.follow_missed_by_appearance(frame);
            for (id, rect) in ids.iter().zip(&boxes) {
                if let Some(id) = id {
                    self.track_info.entry(*id).or_default().template =
                        AppearanceTemplate::capture(frame, rect);
                }
            }
            // Encode the detected faces whose track is new or due for another look.
            let due: Vec<(TrackId, FaceBox)> = ids
                .iter()
                .zip(&boxes)
                .filter_map(|(id, b)| {
                    let id = (*id)?;
                    let track = self.tracker.track(id)?;
                    // A young track still called unknown is looked at again on every detection
                    // round until it has a few votes (its first look may be blurred or
                    // turned); otherwise every reencode_interval frames.
                    let unsure = track.identity().is_none_or(|i| i.label.is_none());
                    let interval = if unsure && track.observation_count() < QUICK_VOTES {
                        1
                    } else {
                        self.config.reencode_interval
                    };
                    let needs =
                        track.identity().is_none() || track.frames_since_observation() >= interval;
                    needs.then_some((id, *b))
                })
                .collect();
            let due_boxes: Vec<FaceBox> = due.iter().map(|(_, b)| *b).collect();
            let encodings = self.encode_reusing(frame, &due_boxes, &confirmed)?;
            for ((id, _), encoding) in due.iter().zip(&encodings) {
                // A track is one person: it is named from the mean of its recent encodings.
                let evidence = &mut self.track_info.entry(*id).or_default().evidence;
                evidence.add(*encoding);
                let Some(mean) = evidence.mean() else {
                    continue;
                };
                let p = self.classifier.classify(&mean);
                // "Unknown" is weaker evidence than a match: a stranger still wins the vote on
                // repeated unknowns, a member is not lost to one.
                let weight = if p.known { 1.0 } else { UNKNOWN_VOTE_WEIGHT };
                self.tracker.observe(
                    *id,
                    Observation {
                        label: p.label(),
                        confidence: p.confidence * weight,
                        distance: p.distance,
                    },
                );
            }
        }
        let live: Vec<TrackId> = self.tracker.tracks().iter().map(|t| t.id).collect();
        self.track_info.retain(|id, _| live.contains(id));

        // Report the faces seen at the last detection that have been encoded, named together:
        // two faces of one frame are two people.
        let shown: Vec<(TrackId, FaceBox, Encoding)> = self
            .tracker
            .tracks()
            .iter()
            .filter(|t| t.missed_detections() <= MAX_MISSES_SHOWN)
            .filter_map(|t| {
                let mean = self.track_info.get(&t.id)?.evidence.mean()?;
                let rect = t.face_box().clipped(frame.width(), frame.height())?;
                Some((t.id, rect, mean))
            })
            .collect();
        let means: Vec<Encoding> = shown.iter().map(|(_, _, m)| *m).collect();
        let predictions = identity::name_jointly(&self.classifier, &means);
        let mut results: Vec<FaceResult> = shown
            .iter()
            .zip(&predictions)
            .map(|((id, rect, _), p)| self.result(*rect, p, Some(*id)))
            .collect();
        results.sort_by_key(|r| (r.rect.x, r.rect.y));
        Ok(results)
    }
}

/// Whether `b` overlaps one of `boxes` (IoU above 0.3, or one's centre inside the other).
fn overlaps_any(b: &FaceBox, boxes: &[FaceBox]) -> bool {
    boxes
        .iter()
        .any(|k| k.iou(b) > 0.3 || b.center_inside(k) || k.center_inside(b))
}
