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

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::detection::{DetectionConfig, DetectorKind, YUNET_SMALLEST_FACE, yunet_scale};
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
use crate::video::search::{Found, Motion, Search, overlaps_any};
use crate::video::tracker::{Observation, TrackId, Tracker, TrackerConfig};

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
    /// Live mode: the worker threads (started on the first frame that needs them), and a full
    /// search they finished, waiting for the next detection round.
    lanes: Option<live::Lanes>,
    /// Live mode: the track the next local round starts with.
    local_search_start: usize,
    arrived: Option<(u64, Found)>,
    /// Live mode: the motion maps of this shot's last frames, by frame number, so that the
    /// faces of a search that arrives late are followed to where they are now.
    recent_motion: VecDeque<(u64, Arc<MotionMap>)>,
    /// Live mode: weak detections of a worker's search that had no motion to check them (a
    /// cut's, the first frame's), with the frame they were found on.
    weak_to_recheck: Vec<(u64, FaceBox)>,
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
            lanes: None,
            local_search_start: 0,
            arrived: None,
            recent_motion: VecDeque::new(),
            weak_to_recheck: Vec::new(),
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
            self.lanes = None;
            self.arrived = None;
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
        self.arrived = None;
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
    fn recheck_pending_weak(
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
            self.local_search_start % n
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
        self.local_search_start = start + searched;
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
        let worker_free = self.lanes.as_ref().is_none_or(live::Lanes::quick_free);
        let following = !self.tracker.tracks().is_empty()
            || !self.pending_weak.is_empty()
            || self.arrived.is_some();
        let round = self.schedule.next_with(Frame {
            cut,
            following,
            full_possible: !live || worker_free,
            search_arrived: self.arrived.is_some(),
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
                self.pending_weak.clear();
                let mut found = self.search().full(frame, detection, self.motion_pair())?;
                let shot_start = cut || self.schedule.frames() == 1;
                let followed: Vec<FaceBox> =
                    self.tracker.tracks().iter().map(|t| t.face_box()).collect();
                let fine_allowed = shot_start
                    || self.last_fine_pass.is_none_or(|last| {
                        self.frames_analysed - last >= MIN_FRAMES_BETWEEN_FINE_PASSES
                    });
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
                Some(RoundFaces {
                    boxes: found.boxes,
                    encodings: found.encodings,
                    ..RoundFaces::default()
                })
            }
            // Live with nothing to follow: the full search goes to the worker, and this frame
            // is only predicted.
            (_, Some(_)) if self.tracker.tracks().is_empty() && self.arrived.is_none() => {
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
        let mut encode_later = Vec::new();
        if let Some(mut faces) = faces {
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
                encode_later = missing;
            } else {
                let boxes: Vec<FaceBox> = missing.iter().map(|(_, b)| *b).collect();
                let encodings = self.search().encode(frame, &boxes)?;
                for ((id, b), e) in missing.iter().zip(encodings) {
                    self.observe(*id, *b, e);
                }
            }
        }
        if live {
            self.submit(frame, search, encode_later)?;
        }
        let live_ids: Vec<TrackId> = self.tracker.tracks().iter().map(|t| t.id).collect();
        self.track_info.retain(|id, _| live_ids.contains(id));
        Ok(self.report(frame))
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

mod live;
#[cfg(test)]
mod tests;
