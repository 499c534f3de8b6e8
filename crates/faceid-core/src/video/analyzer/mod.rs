//! Frame analysis: which faces are in this frame and who they are. Plain Rust over a
//! [`FaceBackend`] (dlib's in faceid-dlib, a scripted one in tests), [`crate::model`],
//! [`crate::video::tracker`] and [`crate::video::scene_cut`]; the GStreamer element only maps
//! buffers and calls [`Analyzer::analyze`].
//!
//! Two modes:
//! - **per frame** (`tracking: false`): detect, encode and classify every face of every frame,
//!   each frame on its own, like the hobby script this project replaces;
//! - **tracked** (default): detect in the whole frame at every hard cut and every
//!   `full_detection_interval` frames, look again near the followed faces every
//!   `detection_interval` frames, predict them in between ([`crate::video::schedule`] says
//!   which frame gets what), encode a track when it starts and again every `reencode_interval`
//!   frames, and name it from its recent encodings. Only past frames are used, so the output is
//!   still one frame in, one frame out, with no latency.
//!
//! Tracked analysis runs in one of two ways:
//! - **synchronous** (`latency_budget_ms: 0`): everything in the calling thread; the output is
//!   a function of the frames alone (deterministic), and a frame with a full detection takes
//!   as long as the detection (100-400 ms at 720p on 2 cores);
//! - **live** (`latency_budget_ms > 0`): full detections and every encoding run on a
//!   [`crate::video::worker`] thread; the calling thread only detects near the followed faces
//!   (stopping when half the budget is spent: the tracks not looked at keep their predicted
//!   place), follows, and reports. A full detection's faces are found again near where they
//!   are *now* when its result arrives, a few frames later; names appear that much later
//!   after a cut, and which frame they appear on depends on the machine's speed.
//!
//! Encodings of several faces run on several threads (`threads`); the order of results never
//! depends on thread timing.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::detection::DetectorKind;
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
use crate::video::schedule::{Frame, Round, Schedule};
use crate::video::search::{Motion, Search};
use crate::video::tracker::{Observation, TrackId, Tracker, TrackerConfig};

pub use config::{AnalyzerConfig, DEFAULT_WEAK_DETECTION_SCORE};
pub use synchronous::{
    FINE_PASS_THRESHOLD, MIN_FRAMES_BETWEEN_FINE_PASSES, fine_detection, smallest_detectable,
    suggests_smaller_faces,
};

/// A followed face stays on screen (at its predicted place) through this many detection
/// rounds that missed it: one blurry frame should not make a name blink.
const MAX_MISSES_SHOWN: u32 = 1;

/// A track the detector keeps missing is followed by its appearance (see [`crate::video::appearance`])
/// for at most this many frames (1.5 s at 30 frames/s), then lets go until the detector finds
/// the face again.
const MAX_FRAMES_FOLLOWED_BY_APPEARANCE: u32 = 45;

/// Encodings an unknown-looking track gets on consecutive detection rounds before it is
/// re-encoded only every `reencode_interval` frames.
const QUICK_VOTES: usize = 3;

/// Vote weight of an "unknown" classification relative to a match (see `observe`).
const UNKNOWN_VOTE_WEIGHT: f32 = 0.5;

/// Per-track data the tracker does not keep: its recent encodings (the evidence its name is
/// decided from), and the face's look at its last detection.
#[derive(Clone, Debug, Default)]
struct TrackInfo {
    evidence: Evidence,
    template: Option<AppearanceTemplate>,
}

/// The faces a frame's detection round found, with encodings already made for some.
#[derive(Default)]
struct RoundFaces {
    boxes: Vec<FaceBox>,
    encodings: HashMap<FaceBox, Encoding>,
    /// Live mode: the speed (pixels a frame) of faces of an arrived search, from where the
    /// search found them to where they were found again; a new track starts with it.
    velocities: HashMap<FaceBox, (f32, f32)>,
    /// Boxes of tracks not looked for (the budget ran out): their predicted place, neither
    /// encoded nor captured.
    unsearched: Vec<FaceBox>,
}

/// A track's encoding made on the last analysed frame, and the box it was made from: what
/// [`crate::video::discovery`] groups tracks into people with.
#[derive(Clone, Debug, PartialEq)]
pub struct TrackEncoding {
    /// The track.
    pub track: TrackId,
    /// The face's box in the frame the encoding was made from (in the live mode an earlier
    /// frame than the last one).
    pub rect: FaceBox,
    /// The encoding.
    pub encoding: Encoding,
}

/// Runs the face pipeline and the classifier on frames.
pub struct Analyzer {
    backend: Box<dyn FaceBackend>,
    classifier: Arc<Classifier>,
    config: AnalyzerConfig,
    tracker: Tracker,
    cuts: SceneCutDetector,
    schedule: Schedule,
    track_info: HashMap<TrackId, TrackInfo>,
    /// Shots counted (cuts and resets): a worker's result for an earlier shot is dropped.
    shot: u64,
    /// The current and the previous frame's motion maps (for weak detections), shared with
    /// the live mode's history and jobs rather than copied.
    motion: Option<Arc<MotionMap>>,
    previous_motion: Option<Arc<MotionMap>>,
    /// Weak detections of a cut's (or the first frame's) full detection, which had no
    /// previous frame of the same shot to show motion: looked at again, locally, on the next
    /// detection round (synchronous mode).
    pending_weak: Vec<FaceBox>,
    /// The live mode's own state (empty in the synchronous mode).
    live: live::LiveState,
    /// The encodings added to tracks' evidence during the last `analyze`.
    encoded: Vec<TrackEncoding>,
    /// Frames analysed, and the one the last finer pass ran on.
    frames_analysed: u64,
    last_fine_pass: Option<u64>,
    /// Whether a whole frame has been searched and its result used (synchronous: from the first
    /// frame; live: once a worker's full search came back).
    whole_frame_searched: bool,
}

impl Analyzer {
    /// An analyzer over a face pipeline and a classifier.
    pub fn new(
        backend: Box<dyn FaceBackend>,
        classifier: Classifier,
        config: AnalyzerConfig,
    ) -> Self {
        Analyzer {
            backend,
            classifier: Arc::new(classifier),
            tracker: Tracker::new(TrackerConfig::default()),
            cuts: SceneCutDetector::new(config.cut_threshold),
            schedule: Schedule::new(config.detection_interval, config.full_detection_interval),
            config,
            track_info: HashMap::new(),
            shot: 0,
            motion: None,
            previous_motion: None,
            pending_weak: Vec::new(),
            live: live::LiveState::default(),
            encoded: Vec::new(),
            frames_analysed: 0,
            last_fine_pass: None,
            whole_frame_searched: false,
        }
    }

    /// Replaces the settings (takes effect on the next frame).
    pub fn set_config(&mut self, config: AnalyzerConfig) {
        if config.cut_threshold != self.config.cut_threshold {
            self.cuts = SceneCutDetector::new(config.cut_threshold);
        }
        if config.latency_budget_ms == 0 {
            self.live.lanes = None;
            self.live.arrived = None;
        }
        self.schedule
            .set_intervals(config.detection_interval, config.full_detection_interval);
        self.config = config;
    }

    /// Replaces the classifier (a new model loaded while playing); tracks start over, since
    /// their votes were for the old model's people.
    pub fn set_classifier(&mut self, classifier: Classifier) {
        self.classifier = Arc::new(classifier);
        self.reset();
    }

    /// New decision thresholds for the same people (the `unknown-distance` and `margin`
    /// properties changed while playing): the tracks and their encodings stay, and are named
    /// with the new thresholds from the next report on.
    pub fn set_decision_thresholds(&mut self, unknown_distance: f32, margin: f32) {
        let classifier = Arc::make_mut(&mut self.classifier);
        classifier.set_unknown_distance(unknown_distance);
        classifier.set_margin(margin);
    }

    /// The classifier in use.
    pub fn classifier(&self) -> &Classifier {
        &self.classifier
    }

    /// Whether a frame is analysed in the live mode.
    pub fn is_live(&self) -> bool {
        self.config.tracking && self.config.latency_budget_ms > 0
    }

    /// Whether any whole frame has been searched for faces and its result used. In the live
    /// mode the first search comes back a few frames (about a second, while the workers make
    /// their detectors) after the first frame: a stream shorter than that (a still image
    /// taken for a live stream) ends with none.
    pub fn whole_frame_searched(&self) -> bool {
        self.whole_frame_searched
    }

    /// Forgets every track (a flush, a seek, a caps change). A job still running on the
    /// worker finishes, and its result is dropped.
    pub fn reset(&mut self) {
        self.tracker.reset();
        self.track_info.clear();
        self.cuts.reset();
        self.schedule.reset();
        self.next_shot();
        self.motion = None;
        self.previous_motion = None;
        self.pending_weak.clear();
        self.live.arrived = None;
    }

    /// Every face of the frame, left to right; an error when the backend failed on it (the
    /// tracks start over on the next frame).
    pub fn analyze(&mut self, frame: &FrameRef<'_>) -> Result<Vec<FaceResult>, BackendError> {
        let started = Instant::now();
        self.encoded.clear();
        self.frames_analysed += 1;
        if self.config.weak_detection_score < 0.0 || self.is_live() {
            self.previous_motion = self.motion.take();
            self.motion = Some(Arc::new(MotionMap::new(frame)));
        }
        let results = if self.config.tracking {
            self.analyze_tracked(frame, started)
        } else {
            self.analyze_alone(frame)
        };
        self.whole_frame_searched |= results.is_ok() && !self.is_live();
        if results.is_err() {
            self.reset();
        }
        results
    }

    fn search(&self) -> Search<'_> {
        Search {
            backend: self.backend.as_ref(),
            classifier: &self.classifier,
            threads: self.config.threads,
            weak_score: self.config.weak_detection_score,
        }
    }

    fn motion_pair(&self) -> Option<Motion<'_>> {
        Some(Motion {
            now: self.motion.as_deref()?,
            before: self.previous_motion.as_deref()?,
        })
    }

    fn result(&self, rect: FaceBox, p: &Prediction, track: Option<u64>) -> FaceResult {
        let labels = self.classifier.labels();
        let mut scores: Vec<(String, f32)> = labels
            .iter()
            .cloned()
            .zip(p.scores.iter().copied())
            .collect();
        scores.sort_by(|a, b| b.1.total_cmp(&a.1));
        FaceResult {
            rect,
            label: p.label().and_then(|l| labels.get(l).cloned()),
            best_match: labels.get(p.best).cloned().unwrap_or_default(),
            confidence: p.confidence,
            distance: p.distance,
            scores,
            track,
        }
    }

    fn analyze_alone(&mut self, frame: &FrameRef<'_>) -> Result<Vec<FaceResult>, BackendError> {
        let found = self
            .search()
            .full(frame, self.config.detection, self.motion_pair())?;
        let encodings = self
            .search()
            .encode_reusing(frame, &found.boxes, &found.encodings)?;
        let predictions = identity::name_jointly(&self.classifier, &encodings, &[]);
        Ok(found
            .boxes
            .iter()
            .zip(&predictions)
            .map(|(rect, p)| self.result(*rect, p, None))
            .collect())
    }

    /// Where the face is in `frame` near `around`: the local detection overlapping it most.
    fn find_near(&self, frame: &FrameRef<'_>, around: FaceBox) -> Option<FaceBox> {
        let around = around.clipped(frame.width(), frame.height())?;
        let found = self.backend.detect_near(frame, around, 0.0);
        overlapping_most(found.into_iter().map(|(b, _)| b), &around)
    }

    /// Local detection around each track's predicted box; at most one face per track,
    /// duplicates across tracks dropped. With a `deadline` (live mode), tracks not reached by
    /// then keep their predicted box, and the next round starts where this one stopped, so
    /// every track gets its turn.
    fn detect_near_tracks(
        &mut self,
        frame: &FrameRef<'_>,
        deadline: Option<Instant>,
    ) -> RoundFaces {
        let mut faces = RoundFaces::default();
        let tracks = self.tracker.tracks();
        let n = tracks.len();
        let start = if deadline.is_some() && n > 0 {
            self.live.local_search_start % n
        } else {
            0
        };
        let mut searched = 0;
        for track in tracks[start..].iter().chain(&tracks[..start]) {
            let predicted = track.face_box();
            if deadline.is_some_and(|d| Instant::now() >= d) {
                faces.unsearched.push(predicted);
                continue;
            }
            searched += 1;
            if let Some(b) = self.find_near(frame, predicted)
                && !faces.boxes.iter().any(|f| f.iou(&b) > 0.5)
            {
                faces.boxes.push(b);
            }
        }
        self.live.local_search_start = start + searched;
        faces
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
                let agrees = !self.is_live() || self.agrees_with_motion(t, &m.rect);
                (m.score >= appearance::MIN_MATCH_SCORE && agrees).then_some((t.id, m.rect))
            })
            .collect();
        for (id, rect) in found {
            self.tracker.follow(id, rect);
        }
    }

    /// A hard cut ends every track: a track must never jump to another person.
    fn detect_cut(&mut self, frame: &FrameRef<'_>) -> bool {
        if self.config.cut_threshold <= 0.0 {
            return false;
        }
        let thumb = scene_cut::thumbnail(
            frame,
            scene_cut::DEFAULT_THUMB_WIDTH,
            scene_cut::DEFAULT_THUMB_HEIGHT,
        );
        if thumb.is_empty() || !self.cuts.is_cut(&thumb) {
            return false;
        }
        self.tracker.reset();
        self.next_shot();
        // The previous frame is another shot: no motion to compare with.
        self.previous_motion = None;
        true
    }

    /// The encodings the last [`Analyzer::analyze`] added to its tracks (tracked mode only),
    /// with the boxes they were made from.
    pub fn encoded_last_frame(&self) -> &[TrackEncoding] {
        &self.encoded
    }

    /// Adds an encoding (made from the face at `rect`) to a track's evidence and votes with
    /// the evidence's mean.
    fn observe(&mut self, id: TrackId, rect: FaceBox, encoding: Encoding) {
        self.encoded.push(TrackEncoding {
            track: id,
            rect,
            encoding,
        });
        // A track is one person: it is named from the mean of its recent encodings.
        let evidence = &mut self.track_info.entry(id).or_default().evidence;
        evidence.add(encoding);
        let Some(mean) = evidence.mean() else {
            return;
        };
        let p = self.classifier.classify_mean_of(&mean, evidence.len());
        // "Unknown" is weaker evidence than a match: a stranger still wins the vote on
        // repeated unknowns, a member is not lost to one.
        let weight = if p.known { 1.0 } else { UNKNOWN_VOTE_WEIGHT };
        self.tracker.observe(
            id,
            Observation {
                label: p.label(),
                confidence: p.confidence * weight,
                distance: p.distance,
            },
        );
    }

    /// The tracks to encode: new ones, young ones still unknown, and those not encoded for
    /// `reencode_interval` frames.
    fn due_for_encoding(
        &self,
        ids: &[Option<TrackId>],
        faces: &RoundFaces,
    ) -> Vec<(TrackId, FaceBox)> {
        ids.iter()
            .zip(&faces.boxes)
            .filter_map(|(id, b)| {
                let id = (*id)?;
                let track = self.tracker.track(id)?;
                // A young track still called unknown is looked at again on every detection
                // round until it has a few votes (its first look may be blurred or turned);
                // otherwise every reencode_interval frames.
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
            .collect()
    }

    fn analyze_tracked(
        &mut self,
        frame: &FrameRef<'_>,
        started: Instant,
    ) -> Result<Vec<FaceResult>, BackendError> {
        let live = self.is_live();
        let cut = self.detect_cut(frame);
        self.take_in_finished()?;
        let worker_free = self.live.lanes.as_ref().is_none_or(live::Lanes::quick_free);
        let following = !self.tracker.tracks().is_empty()
            || !self.pending_weak.is_empty()
            || self.live.arrived.is_some();
        let in_stream = live && self.searches_in_stream();
        let round = self.schedule.next_with(Frame {
            cut,
            following,
            full_possible: !live || worker_free || in_stream,
            search_arrived: self.live.arrived.is_some(),
        });
        if live {
            self.remember_motion();
        }
        let search = match round {
            Round::Full { small_faces } => {
                let mut detection = self.config.detection;
                // HOG's upsampled pass costs four times the plain one, so periodic rounds skip
                // it; YuNet's tiles cost two more runs of ~10 ms on the second core, and without
                // them faces under 80 px at 720p are seldom found: every round has them.
                if !small_faces && detection.detector == DetectorKind::Hog {
                    detection.upsample = 0;
                }
                Some(detection)
            }
            _ => None,
        };
        let deadline = live.then(|| {
            started + Duration::from_millis(u64::from(self.config.latency_budget_ms) * 3 / 10)
        });
        let mut faces = match (round, search) {
            (Round::Predict, _) => {
                self.tracker.predict();
                None
            }
            // Synchronous: the full search here and now.
            (_, Some(detection)) if !live => {
                Some(self.full_search_here(frame, detection, round, cut)?)
            }
            // Live with YuNet and nothing followed (a cut, the start): here too.
            (_, Some(detection)) if in_stream => {
                Some(self.full_search_in_stream(frame, detection)?)
            }
            // Live with nothing to follow: the full search goes to the worker, and this frame
            // is only predicted.
            (_, Some(_)) if self.follows_nothing() => {
                self.tracker.predict();
                None
            }
            _ => Some(self.detect_near_tracks(frame, deadline)),
        };
        if let Some(faces) = faces.as_mut() {
            if live {
                self.merge_arrived(frame, faces, deadline);
            } else if !cut {
                self.recheck_pending_weak(frame, faces)?;
            }
        }
        let found_here = faces
            .as_ref()
            .filter(|_| in_stream)
            .map(|f| f.boxes.clone());
        let encode_later = match faces {
            Some(faces) => self.follow_and_encode(frame, faces, live)?,
            None => Vec::new(),
        };
        if live {
            self.submit(frame, search, found_here, encode_later)?;
        }
        let live_ids: Vec<TrackId> = self.tracker.tracks().iter().map(|t| t.id).collect();
        self.track_info.retain(|id, _| live_ids.contains(id));
        Ok(self.report(frame))
    }

    /// The round's faces become tracks (updated, captured, given a speed); the tracks due an
    /// encoding get one, from the round when it made one, else here (synchronous) or, returned,
    /// on the worker (live).
    fn follow_and_encode(
        &mut self,
        frame: &FrameRef<'_>,
        mut faces: RoundFaces,
        live: bool,
    ) -> Result<Vec<(TrackId, FaceBox)>, BackendError> {
        let searched = faces.boxes.len();
        faces.boxes.extend(faces.unsearched.iter().copied());
        let ids = self.tracker.update(&faces.boxes);
        faces.boxes.truncate(searched);
        self.follow_missed_by_appearance(frame);
        for (id, rect) in ids.iter().zip(&faces.boxes) {
            if let Some(id) = id {
                self.track_info.entry(*id).or_default().template =
                    AppearanceTemplate::capture(frame, rect);
                if let Some(v) = faces.velocities.get(rect) {
                    self.tracker.seed_velocity(*id, *v);
                }
            }
        }
        let due = self.due_for_encoding(&ids, &faces);
        let (ready, missing): (Vec<_>, Vec<_>) = due
            .into_iter()
            .partition(|(_, b)| faces.encodings.contains_key(b));
        for (id, b) in ready {
            self.observe(id, b, faces.encodings[&b]);
        }
        if live {
            return Ok(missing);
        }
        let boxes: Vec<FaceBox> = missing.iter().map(|(_, b)| *b).collect();
        let encodings = self.search().encode(frame, &boxes)?;
        for ((id, b), e) in missing.iter().zip(encodings) {
            self.observe(*id, *b, e);
        }
        Ok(Vec::new())
    }

    /// The faces seen at the last detection that have been encoded, named together: two faces
    /// of one frame are two people.
    fn report(&self, frame: &FrameRef<'_>) -> Vec<FaceResult> {
        // Each shown track with its evidence's mean and how many encodings that averages.
        let shown: Vec<(TrackId, FaceBox, Encoding, usize)> = self
            .tracker
            .tracks()
            .iter()
            .filter(|t| t.missed_detections() <= MAX_MISSES_SHOWN)
            .filter_map(|t| {
                let evidence = &self.track_info.get(&t.id)?.evidence;
                let rect = t.face_box().clipped(frame.width(), frame.height())?;
                Some((t.id, rect, evidence.mean()?, evidence.len()))
            })
            .collect();
        let means: Vec<Encoding> = shown.iter().map(|s| s.2).collect();
        let averaged: Vec<usize> = shown.iter().map(|s| s.3).collect();
        let predictions = identity::name_jointly(&self.classifier, &means, &averaged);
        let mut results: Vec<FaceResult> = shown
            .iter()
            .zip(&predictions)
            .map(|((id, rect, _, _), p)| self.result(*rect, p, Some(*id)))
            .collect();
        results.sort_by_key(|r| (r.rect.x, r.rect.y));
        results
    }
}

/// Of `found`, the box overlapping `around` most, if any overlaps it by more than 0.1.
fn overlapping_most(found: impl Iterator<Item = FaceBox>, around: &FaceBox) -> Option<FaceBox> {
    found
        .filter(|b| b.iou(around) > 0.1)
        .max_by(|a, b| a.iou(around).total_cmp(&b.iou(around)))
}

mod config;
mod live;
mod synchronous;
#[cfg(test)]
mod tests;
