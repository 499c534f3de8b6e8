//! Multi-face tracker for video frames where face detection runs only every
//! few frames.
//!
//! # Algorithm
//!
//! * **Motion model** – every track has a constant-velocity model of its box
//!   centre (pixels per frame). On a frame without detection
//!   ([`Tracker::predict`]) each box is moved by its velocity. When a
//!   detection is matched, the velocity measured since the previous matched
//!   detection (displacement divided by the frames elapsed) is blended into
//!   the velocity with an exponential moving average
//!   ([`TrackerConfig::velocity_smoothing`]); the very first measurement is
//!   taken as is. The box size is not predicted, it is taken from the last
//!   detection.
//! * **Association** – on a frame with detection ([`Tracker::update`]) all
//!   tracks are first predicted, then every (track, detection) pair whose IoU
//!   against the *predicted* box is `>= min_iou` is a candidate. Candidates are
//!   accepted greedily from the highest IoU down, each track and each
//!   detection being used at most once. Unmatched detections start new tracks
//!   (up to [`TrackerConfig::max_tracks`]); unmatched tracks count a missed
//!   detection round and end once they have missed more than
//!   [`TrackerConfig::max_missed_detections`] consecutive rounds.
//! * **Hard cuts** – the caller calls [`Tracker::reset`] at a scene cut, which
//!   ends every track so that a track never jumps to another person.
//! * **Identity** – the caller classifies a track's face from time to time
//!   and records it with [`Tracker::observe`]. Each track keeps the last
//!   [`TrackerConfig::vote_window`] observations (bounded memory) and decides
//!   its identity by a confidence-weighted vote with hysteresis, see
//!   [`Track::identity`]. Only past observations are used.
//!
//! Track ids are unique and increasing within a [`Tracker`], never reused,
//! including across [`Tracker::reset`]. Memory is bounded by
//! `max_tracks * vote_window` observations.
//!
//! No function panics on any input; non-finite numbers are sanitised or
//! rejected (a detection with a non-finite or non-positive size is ignored).

use std::collections::VecDeque;

use crate::geometry::FaceBox;

/// Minimum weight of one vote, so that unknown votes with a low (or zero)
/// confidence still count.
pub const MIN_VOTE_WEIGHT: f32 = 0.1;

/// Two vote weights closer than this are considered a tie.
const TIE_EPSILON: f32 = 1e-5;

/// A track's box while it is followed: like [`FaceBox`], but in fractional pixels, so that a
/// face moving a fraction of a pixel a frame is predicted where it goes. Only the tracker (and
/// its tests) see it; the rest of the code gets [`Track::face_box`].
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub(crate) struct Rect {
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Width.
    pub w: f32,
    /// Height.
    pub h: f32,
}

impl Rect {
    /// A face box's pixels.
    pub(crate) fn from_box(b: &FaceBox) -> Rect {
        Rect::new(b.x as f32, b.y as f32, b.width as f32, b.height as f32)
    }

    /// The whole pixels the box covers (corners rounded); `None` when it is not valid.
    pub(crate) fn to_box(self) -> Option<FaceBox> {
        if !self.is_valid() {
            return None;
        }
        let x0 = self.x.round() as i64;
        let y0 = self.y.round() as i64;
        let x1 = (self.x + self.w).round() as i64;
        let y1 = (self.y + self.h).round() as i64;
        let fits = |v: i64| i32::try_from(v).ok();
        Some(FaceBox::new(
            fits(x0)?,
            fits(y0)?,
            fits(x1 - x0)?,
            fits(y1 - y0)?,
        ))
    }

    /// Creates a box from its top-left corner and size.
    pub fn new(x: f32, y: f32, w: f32, h: f32) -> Self {
        Self { x, y, w, h }
    }

    /// True when all fields are finite and the width and height are positive.
    pub fn is_valid(&self) -> bool {
        self.x.is_finite()
            && self.y.is_finite()
            && self.w.is_finite()
            && self.h.is_finite()
            && self.w > 0.0
            && self.h > 0.0
    }

    /// Intersection over union with `other`, in `0..=1`. Returns 0 when either
    /// box is invalid (see [`Rect::is_valid`]) or on numeric overflow.
    pub fn iou(&self, other: &Rect) -> f32 {
        if !self.is_valid() || !other.is_valid() {
            return 0.0;
        }
        let ix = ((self.x + self.w).min(other.x + other.w) - self.x.max(other.x)).max(0.0);
        let iy = ((self.y + self.h).min(other.y + other.h) - self.y.max(other.y)).max(0.0);
        let inter = ix * iy;
        let union = self.area() + other.area() - inter;
        if !inter.is_finite() || !union.is_finite() || union <= 0.0 {
            return 0.0;
        }
        let v = inter / union;
        if v.is_finite() {
            v.clamp(0.0, 1.0)
        } else {
            0.0
        }
    }

    /// Centre of the box `(x, y)`. Non-finite fields propagate.
    pub fn center(&self) -> (f32, f32) {
        (self.x + self.w * 0.5, self.y + self.h * 0.5)
    }

    /// Area `w * h`; 0 when the size is not positive or not finite.
    pub fn area(&self) -> f32 {
        if self.w > 0.0 && self.h > 0.0 {
            let a = self.w * self.h;
            if a.is_finite() { a } else { 0.0 }
        } else {
            0.0
        }
    }
}

/// Unique track identifier, increasing, never reused within a [`Tracker`].
pub type TrackId = u64;

/// Tracker parameters. Out-of-range values are sanitised by [`Tracker::new`].
#[derive(Clone, Debug, PartialEq)]
pub struct TrackerConfig {
    /// Minimum IoU between a detection and a track's motion-predicted box to
    /// associate them (default 0.2). A zero IoU never matches.
    pub min_iou: f32,
    /// A track ends when it has missed more than this many consecutive
    /// detection rounds (default 2: it survives two rounds without a match
    /// and ends at the third).
    pub max_missed_detections: u32,
    /// Number of recent identity observations a track keeps (default 8, at
    /// least 1).
    pub vote_window: usize,
    /// Hard bound on the number of live tracks (default 64); detections that
    /// would start a track beyond it are not tracked.
    pub max_tracks: usize,
    /// Weight of a new velocity measurement in the exponential moving
    /// average, in `0..=1` (default 0.5; 1 = use only the latest
    /// measurement).
    pub velocity_smoothing: f32,
    /// Hysteresis: a track that has decided an identity switches to another
    /// label only when the challenger's vote weight exceeds the current
    /// label's weight times this factor (default 1.25, at least 1).
    pub switch_margin: f32,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        Self {
            min_iou: 0.2,
            max_missed_detections: 2,
            vote_window: 8,
            max_tracks: 64,
            velocity_smoothing: 0.5,
            switch_margin: 1.25,
        }
    }
}

impl TrackerConfig {
    /// Returns a copy with non-finite or out-of-range values replaced.
    fn sanitized(&self) -> Self {
        let d = Self::default();
        Self {
            min_iou: if self.min_iou.is_finite() {
                self.min_iou.clamp(0.0, 1.0)
            } else {
                d.min_iou
            },
            max_missed_detections: self.max_missed_detections,
            vote_window: self.vote_window.max(1),
            max_tracks: self.max_tracks,
            velocity_smoothing: if self.velocity_smoothing.is_finite() {
                self.velocity_smoothing.clamp(0.0, 1.0)
            } else {
                d.velocity_smoothing
            },
            switch_margin: if self.switch_margin.is_finite() {
                self.switch_margin.max(1.0)
            } else {
                d.switch_margin
            },
        }
    }
}

mod votes;
use votes::decide;
pub use votes::{Identity, Observation};

/// A followed face.
#[derive(Clone, Debug)]
pub struct Track {
    /// Unique id.
    pub id: TrackId,
    /// Current box: the last detection, moved by the motion prediction on
    /// frames since then.
    pub(crate) rect: Rect,
    velocity: (f32, f32),
    has_velocity: bool,
    last_detection: Rect,
    age: u32,
    frames_since_detection: u32,
    frames_since_observation: u32,
    missed_detections: u32,
    rounds_followed_by_appearance: u32,
    observations: VecDeque<Observation>,
    decision: Option<Identity>,
}

impl Track {
    fn new(id: TrackId, rect: Rect, vote_window: usize) -> Self {
        Self {
            id,
            rect,
            velocity: (0.0, 0.0),
            has_velocity: false,
            last_detection: rect,
            age: 0,
            frames_since_detection: 0,
            frames_since_observation: 0,
            missed_detections: 0,
            rounds_followed_by_appearance: 0,
            observations: VecDeque::with_capacity(vote_window.min(64)),
            decision: None,
        }
    }

    /// Current box in whole pixels: the last detection, moved by the motion prediction on
    /// frames since then.
    pub fn face_box(&self) -> FaceBox {
        self.rect.to_box().unwrap_or_default()
    }

    /// The identity decided by the votes of the recent observations, `None`
    /// until at least one observation has been recorded.
    ///
    /// Each observation votes for its label (`None` = unknown is a label of
    /// its own) with weight `max(confidence, 0.1)`. The winner is the label
    /// with the highest total weight, ties going to the label voted most
    /// recently. Hysteresis: if a previous decision exists and its label
    /// still has votes in the window, the winner replaces it only when its
    /// weight exceeds `switch_margin` times the previous label's weight.
    /// The decision is computed at each [`Tracker::observe`].
    pub fn identity(&self) -> Option<Identity> {
        self.decision
    }

    /// Frames since the last recorded observation (since the track started
    /// if none was recorded). Lets the caller decide when to re-encode.
    pub fn frames_since_observation(&self) -> u32 {
        self.frames_since_observation
    }

    /// Frames since the track started (0 on the frame it was created).
    pub fn age(&self) -> u32 {
        self.age
    }

    /// Frames since the last matched detection.
    pub fn frames_since_detection(&self) -> u32 {
        self.frames_since_detection
    }

    /// The box of the last matched detection (or of the last match by appearance,
    /// [`Tracker::follow`]), `frames_since_detection` frames ago.
    pub fn last_detection_box(&self) -> FaceBox {
        self.last_detection.to_box().unwrap_or_default()
    }

    /// Consecutive detection rounds without a matching detection.
    pub fn missed_detections(&self) -> u32 {
        self.missed_detections
    }

    /// Consecutive detection rounds in which the detector missed the face and it was found by
    /// its appearance instead (see [`Tracker::follow`]); 0 after a real detection.
    pub fn rounds_followed_by_appearance(&self) -> u32 {
        self.rounds_followed_by_appearance
    }

    /// Estimated velocity of the box in pixels per frame `(dx, dy)`.
    pub fn velocity(&self) -> (f32, f32) {
        self.velocity
    }

    /// Number of observations currently in the vote window.
    pub fn observation_count(&self) -> usize {
        self.observations.len()
    }

    /// The observations in the vote window, oldest first.
    pub fn observations(&self) -> impl Iterator<Item = &Observation> {
        self.observations.iter()
    }

    /// One frame passes: move by the velocity and increment counters.
    fn advance_frame(&mut self) {
        let moved = Rect {
            x: self.rect.x + self.velocity.0,
            y: self.rect.y + self.velocity.1,
            ..self.rect
        };
        if moved.is_valid() {
            self.rect = moved;
        } else {
            self.velocity = (0.0, 0.0);
        }
        self.age = self.age.saturating_add(1);
        self.frames_since_detection = self.frames_since_detection.saturating_add(1);
        self.frames_since_observation = self.frames_since_observation.saturating_add(1);
    }

    /// A detection was matched to this track.
    fn apply_detection(&mut self, detection: Rect, smoothing: f32) {
        let elapsed = self.frames_since_detection.max(1) as f32;
        let (cx, cy) = detection.center();
        let (lx, ly) = self.last_detection.center();
        let mut measured = ((cx - lx) / elapsed, (cy - ly) / elapsed);
        if !measured.0.is_finite() || !measured.1.is_finite() {
            measured = (0.0, 0.0);
        }
        self.velocity = if self.has_velocity {
            (
                smoothing * measured.0 + (1.0 - smoothing) * self.velocity.0,
                smoothing * measured.1 + (1.0 - smoothing) * self.velocity.1,
            )
        } else {
            measured
        };
        self.has_velocity = true;
        self.rect = detection;
        self.last_detection = detection;
        self.frames_since_detection = 0;
        self.missed_detections = 0;
        self.rounds_followed_by_appearance = 0;
    }

    fn push_observation(&mut self, obs: Observation, window: usize, margin: f32) {
        self.observations.push_back(obs.sanitized());
        while self.observations.len() > window {
            self.observations.pop_front();
        }
        self.frames_since_observation = 0;
        self.decision = decide(&self.observations, self.decision.as_ref(), margin);
    }
}

/// Greedy IoU multi-object tracker with constant-velocity prediction and
/// per-track identity voting. See the module documentation.
#[derive(Clone, Debug)]
pub struct Tracker {
    config: TrackerConfig,
    tracks: Vec<Track>,
    next_id: TrackId,
}

impl Tracker {
    /// Creates an empty tracker. Invalid configuration values are sanitised
    /// (non-finite values fall back to the defaults, ranges are clamped,
    /// `vote_window` is at least 1).
    pub fn new(config: TrackerConfig) -> Self {
        Self {
            config: config.sanitized(),
            tracks: Vec::new(),
            next_id: 1,
        }
    }

    /// The (sanitised) configuration in use.
    pub fn config(&self) -> &TrackerConfig {
        &self.config
    }

    /// A frame without detection: moves every track by its velocity and
    /// increments its frame counters.
    pub fn predict(&mut self) {
        for t in &mut self.tracks {
            t.advance_frame();
        }
    }

    /// A frame with detection. Predicts first (this counts as the frame),
    /// then associates detections with tracks greedily by highest IoU against
    /// the predicted box (`>= min_iou`, one detection per track), updates the
    /// matched tracks, ends tracks that missed more than
    /// `max_missed_detections` consecutive rounds, and starts new tracks for
    /// unmatched detections while fewer than `max_tracks` are live.
    ///
    /// Returns, for each detection in order, its track id; `None` for a
    /// detection that is not tracked (invalid box, or `max_tracks` reached).
    pub fn update(&mut self, detections: &[FaceBox]) -> Vec<Option<TrackId>> {
        let rects: Vec<Rect> = detections.iter().map(Rect::from_box).collect();
        self.update_rects(&rects)
    }

    /// [`Tracker::update`] with fractional boxes.
    pub(crate) fn update_rects(&mut self, detections: &[Rect]) -> Vec<Option<TrackId>> {
        self.predict();

        let mut candidates: Vec<(f32, usize, usize)> = Vec::new();
        for (ti, track) in self.tracks.iter().enumerate() {
            for (di, det) in detections.iter().enumerate() {
                let iou = track.rect.iou(det);
                if iou > 0.0 && iou >= self.config.min_iou {
                    candidates.push((iou, ti, di));
                }
            }
        }
        candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));

        let mut track_match: Vec<Option<usize>> = vec![None; self.tracks.len()];
        let mut assigned: Vec<Option<TrackId>> = vec![None; detections.len()];
        for &(_, ti, di) in &candidates {
            let (Some(tm), Some(slot), Some(track)) = (
                track_match.get_mut(ti),
                assigned.get_mut(di),
                self.tracks.get(ti),
            ) else {
                continue;
            };
            if tm.is_none() && slot.is_none() {
                *tm = Some(di);
                *slot = Some(track.id);
            }
        }

        let smoothing = self.config.velocity_smoothing;
        for (track, m) in self.tracks.iter_mut().zip(&track_match) {
            match m.and_then(|di| detections.get(di)) {
                Some(det) => track.apply_detection(*det, smoothing),
                None => track.missed_detections = track.missed_detections.saturating_add(1),
            }
        }
        let max_missed = self.config.max_missed_detections;
        self.tracks.retain(|t| t.missed_detections <= max_missed);

        for (det, slot) in detections.iter().zip(assigned.iter_mut()) {
            if slot.is_some() || !det.is_valid() || self.tracks.len() >= self.config.max_tracks {
                continue;
            }
            let id = self.next_id;
            self.next_id = self.next_id.saturating_add(1);
            self.tracks
                .push(Track::new(id, *det, self.config.vote_window));
            *slot = Some(id);
        }
        assigned
    }

    /// Hard cut: ends every track. Ids are not reused afterwards.
    pub fn reset(&mut self) {
        self.tracks.clear();
    }

    /// The live tracks, oldest first.
    pub fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    /// The live track with this id, if any.
    pub fn track(&self, id: TrackId) -> Option<&Track> {
        self.tracks.iter().find(|t| t.id == id)
    }

    /// Records a classification for the track and re-decides its identity
    /// (resets its `frames_since_observation`). Unknown id: ignored.
    pub fn observe(&mut self, id: TrackId, obs: Observation) {
        let window = self.config.vote_window;
        let margin = self.config.switch_margin;
        if let Some(t) = self.tracks.iter_mut().find(|t| t.id == id) {
            t.push_observation(obs, window, margin);
        }
    }

    /// Gives a track that has no measured velocity yet (a new one) `velocity`, in pixels per
    /// frame: how a face found on an earlier frame moved until it was found again. A track
    /// with a velocity keeps its own. Returns whether the velocity was taken.
    pub(crate) fn seed_velocity(&mut self, id: TrackId, velocity: (f32, f32)) -> bool {
        match self.tracks.iter_mut().find(|t| t.id == id) {
            Some(t) if !t.has_velocity && velocity.0.is_finite() && velocity.1.is_finite() => {
                t.velocity = velocity;
                t.has_velocity = true;
                true
            }
            _ => false,
        }
    }

    /// The detector missed this track's face in the round just passed to [`Tracker::update`],
    /// but the face was found at `rect` by its appearance: the track moves there, its velocity
    /// follows, and the miss is forgiven. Counted in
    /// [`Track::rounds_followed_by_appearance`] so the caller can bound how long a track lives
    /// without the detector. Returns false for an unknown id or an invalid box.
    pub fn follow(&mut self, id: TrackId, rect: FaceBox) -> bool {
        self.follow_rect(id, Rect::from_box(&rect))
    }

    /// [`Tracker::follow`] with a fractional box.
    pub(crate) fn follow_rect(&mut self, id: TrackId, rect: Rect) -> bool {
        if !rect.is_valid() {
            return false;
        }
        let smoothing = self.config.velocity_smoothing;
        match self.tracks.iter_mut().find(|t| t.id == id) {
            Some(t) => {
                let followed = t.rounds_followed_by_appearance.saturating_add(1);
                t.apply_detection(rect, smoothing);
                t.rounds_followed_by_appearance = followed;
                true
            }
            None => false,
        }
    }

    /// Replaces a track's current (predicted) box, e.g. with a box refined by
    /// template matching. It is not counted as a detection: velocity and
    /// counters are unchanged. Returns false (and does nothing) for an
    /// unknown id or an invalid box.
    #[cfg(test)]
    pub(crate) fn set_rect(&mut self, id: TrackId, rect: Rect) -> bool {
        if !rect.is_valid() {
            return false;
        }
        match self.tracks.iter_mut().find(|t| t.id == id) {
            Some(t) => {
                t.rect = rect;
                true
            }
            None => false,
        }
    }
}

impl Default for Tracker {
    fn default() -> Self {
        Self::new(TrackerConfig::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(x: f32, y: f32) -> Rect {
        Rect::new(x, y, 60.0, 60.0)
    }

    fn obs(label: Option<usize>, confidence: f32) -> Observation {
        Observation {
            label,
            confidence,
            distance: 0.5,
        }
    }

    fn single_track_with(tr: &mut Tracker) -> TrackId {
        tr.update_rects(&[face(100.0, 100.0)])[0].unwrap()
    }

    #[test]
    fn rect_basics() {
        let a = Rect::new(0.0, 0.0, 10.0, 10.0);
        let b = Rect::new(5.0, 0.0, 10.0, 10.0);
        assert!((a.iou(&b) - 50.0 / 150.0).abs() < 1e-6);
        assert_eq!(a.iou(&a), 1.0);
        assert_eq!(a.iou(&Rect::new(20.0, 20.0, 5.0, 5.0)), 0.0);
        assert_eq!(a.center(), (5.0, 5.0));
        assert_eq!(a.area(), 100.0);
        assert_eq!(Rect::new(0.0, 0.0, -1.0, 5.0).area(), 0.0);
        assert_eq!(Rect::new(0.0, 0.0, f32::NAN, 5.0).area(), 0.0);
        assert_eq!(a.iou(&Rect::new(f32::NAN, 0.0, 10.0, 10.0)), 0.0);
        let huge = Rect::new(f32::MAX, f32::MAX, f32::MAX, f32::MAX);
        assert_eq!(huge.iou(&huge), 0.0);
    }

    #[test]
    fn moving_face_keeps_id_and_prediction_is_close() {
        let mut tr = Tracker::default();
        let speed = 5.0;
        let mut id = None;
        for frame in 0..60u32 {
            let truth_x = 50.0 + speed * frame as f32;
            if frame % 3 == 0 {
                // +-0.5 px detection jitter.
                let jitter = if frame % 2 == 0 { 0.5 } else { -0.5 };
                let ids = tr.update_rects(&[face(truth_x + jitter, 200.0)]);
                assert_eq!(ids.len(), 1);
                match id {
                    None => id = ids[0],
                    Some(_) => assert_eq!(ids[0], id, "id changed at frame {frame}"),
                }
            } else {
                tr.predict();
            }
            assert_eq!(tr.tracks().len(), 1);
            let t = &tr.tracks()[0];
            if frame >= 4 {
                let err = (t.rect.x - truth_x).abs() + (t.rect.y - 200.0).abs();
                assert!(err < 3.0, "frame {frame}: error {err}");
            }
        }
        let t = tr.track(id.unwrap()).unwrap();
        assert_eq!(t.age(), 59);
        assert!((t.velocity().0 - speed).abs() < 0.5);
    }

    #[test]
    fn crossing_faces_keep_ids() {
        let mut tr = Tracker::default();
        let mut ids_a = Vec::new();
        let mut ids_b = Vec::new();
        for frame in 0..40u32 {
            let f = frame as f32;
            // A moves right, B moves left; they cross with a vertical offset
            // of 30 px (half a face), i.e. they overlap heavily mid-way.
            let a = face(0.0 + 6.0 * f, 100.0);
            let b = face(240.0 - 6.0 * f, 130.0);
            if frame % 2 == 0 {
                let ids = tr.update_rects(&[b, a]);
                ids_b.push(ids[0].unwrap());
                ids_a.push(ids[1].unwrap());
            } else {
                tr.predict();
            }
        }
        assert!(ids_a.iter().all(|&i| i == ids_a[0]));
        assert!(ids_b.iter().all(|&i| i == ids_b[0]));
        assert_ne!(ids_a[0], ids_b[0]);
        assert_eq!(tr.tracks().len(), 2);
    }

    #[test]
    fn adjacent_faces_keep_ids() {
        let mut tr = Tracker::default();
        let first = tr.update_rects(&[face(100.0, 100.0), face(162.0, 100.0)]);
        for i in 0..20 {
            let d = if i % 2 == 0 { 1.5 } else { -1.5 };
            // Alternate the detection order as well.
            let ids = if i % 3 == 0 {
                let r = tr.update_rects(&[face(162.0 - d, 100.0), face(100.0 + d, 100.0 + d)]);
                vec![r[1], r[0]]
            } else {
                tr.update_rects(&[face(100.0 + d, 100.0 + d), face(162.0 - d, 100.0)])
            };
            assert_eq!(ids, first);
        }
    }

    #[test]
    fn disappearing_face_ends_after_max_missed() {
        let mut tr = Tracker::default();
        tr.update_rects(&[face(0.0, 0.0)]);
        tr.update_rects(&[]);
        tr.predict();
        tr.update_rects(&[]);
        assert_eq!(
            tr.tracks().len(),
            1,
            "survives max_missed_detections rounds"
        );
        assert_eq!(tr.tracks()[0].missed_detections(), 2);
        tr.update_rects(&[]);
        assert!(tr.tracks().is_empty());

        let mut tr = Tracker::new(TrackerConfig {
            max_missed_detections: 0,
            ..Default::default()
        });
        tr.update_rects(&[face(0.0, 0.0)]);
        tr.update_rects(&[]);
        assert!(tr.tracks().is_empty());
    }

    #[test]
    fn missed_round_then_found_again_keeps_id() {
        let mut tr = Tracker::default();
        let id = tr.update_rects(&[face(0.0, 0.0)])[0];
        tr.update_rects(&[]);
        assert_eq!(tr.update_rects(&[face(2.0, 0.0)])[0], id);
        assert_eq!(tr.tracks()[0].missed_detections(), 0);
    }

    #[test]
    fn new_face_gets_new_id_and_ids_never_reused() {
        let mut tr = Tracker::default();
        let a = tr.update_rects(&[face(0.0, 0.0)])[0].unwrap();
        let r = tr.update_rects(&[face(0.0, 0.0), face(400.0, 0.0)]);
        assert_eq!(r[0], Some(a));
        let b = r[1].unwrap();
        assert!(b > a);
        tr.reset();
        assert!(tr.tracks().is_empty());
        let c = tr.update_rects(&[face(0.0, 0.0)])[0].unwrap();
        assert!(c > b);
        // Let it expire, then the same place gives yet another id.
        for _ in 0..3 {
            tr.update_rects(&[]);
        }
        assert!(tr.tracks().is_empty());
        let d = tr.update_rects(&[face(0.0, 0.0)])[0].unwrap();
        assert!(d > c);
    }

    #[test]
    fn reset_ends_all() {
        let mut tr = Tracker::default();
        tr.update_rects(&[face(0.0, 0.0), face(100.0, 0.0), face(200.0, 0.0)]);
        assert_eq!(tr.tracks().len(), 3);
        tr.reset();
        assert!(tr.tracks().is_empty());
        tr.predict();
        assert!(tr.update_rects(&[]).is_empty());
    }

    #[test]
    fn max_tracks_bound() {
        let mut tr = Tracker::new(TrackerConfig {
            max_tracks: 3,
            ..Default::default()
        });
        let dets: Vec<Rect> = (0..5).map(|i| face(100.0 * i as f32, 0.0)).collect();
        let ids = tr.update_rects(&dets);
        assert_eq!(tr.tracks().len(), 3);
        assert!(ids[..3].iter().all(Option::is_some));
        assert!(ids[3..].iter().all(Option::is_none));
        for _ in 0..10 {
            tr.update_rects(&dets);
            assert_eq!(tr.tracks().len(), 3);
        }
        let tr0 = Tracker::new(TrackerConfig {
            max_tracks: 0,
            ..Default::default()
        });
        let mut tr0 = tr0;
        assert_eq!(tr0.update_rects(&dets), vec![None; 5]);
    }

    #[test]
    fn vote_majority() {
        let mut tr = Tracker::default();
        let id = single_track_with(&mut tr);
        assert_eq!(tr.track(id).unwrap().identity(), None);
        for _ in 0..5 {
            tr.observe(id, obs(Some(1), 0.6));
        }
        tr.observe(id, obs(Some(2), 0.9));
        let ident = tr.track(id).unwrap().identity().unwrap();
        assert_eq!(ident.label, Some(1));
        assert_eq!(ident.votes, 5);
        assert!((ident.confidence - 0.6).abs() < 1e-6);
        assert_eq!(ident.distance, 0.5);
        assert_eq!(tr.track(id).unwrap().frames_since_observation(), 0);
    }

    #[test]
    fn vote_fields() {
        let mut tr = Tracker::default();
        let id = single_track_with(&mut tr);
        tr.observe(
            id,
            Observation {
                label: Some(3),
                confidence: 0.4,
                distance: 0.7,
            },
        );
        tr.observe(
            id,
            Observation {
                label: Some(3),
                confidence: 0.8,
                distance: 0.3,
            },
        );
        let ident = tr.track(id).unwrap().identity().unwrap();
        assert_eq!(ident.label, Some(3));
        assert_eq!(ident.votes, 2);
        assert!((ident.confidence - 0.6).abs() < 1e-6);
        assert!((ident.distance - 0.3).abs() < 1e-6);
    }

    #[test]
    fn tie_goes_to_most_recent_without_previous_decision() {
        // Tie rule of the plain vote (no hysteresis involved).
        let mut q = VecDeque::new();
        q.push_back(obs(Some(1), 0.5).sanitized());
        q.push_back(obs(Some(2), 0.5).sanitized());
        assert_eq!(decide(&q, None, 1.25).unwrap().label, Some(2));
        q.push_back(obs(Some(1), 0.5).sanitized());
        q.push_back(obs(Some(2), 0.5).sanitized());
        q.push_back(obs(Some(1), 0.5).sanitized());
        assert_eq!(decide(&q, None, 1.25).unwrap().label, Some(1));
    }

    #[test]
    fn hysteresis_single_contrary_vote_does_not_flip() {
        let mut tr = Tracker::default();
        let id = single_track_with(&mut tr);
        tr.observe(id, obs(Some(1), 0.6));
        // Heavier than the single label-1 vote but not by 1.25x.
        tr.observe(id, obs(Some(2), 0.7));
        assert_eq!(tr.track(id).unwrap().identity().unwrap().label, Some(1));

        // Equal split 4/4 in a window of 8: stays with the incumbent.
        let mut tr = Tracker::default();
        let id = single_track_with(&mut tr);
        for _ in 0..4 {
            tr.observe(id, obs(Some(1), 0.7));
        }
        for _ in 0..4 {
            tr.observe(id, obs(Some(2), 0.7));
            assert_eq!(tr.track(id).unwrap().identity().unwrap().label, Some(1));
        }
        // 5 vs 3: exceeds the margin, switches.
        tr.observe(id, obs(Some(2), 0.7));
        let ident = tr.track(id).unwrap().identity().unwrap();
        assert_eq!(ident.label, Some(2));
        assert_eq!(ident.votes, 5);
    }

    #[test]
    fn stranger_stays_unknown() {
        let mut tr = Tracker::default();
        let id = single_track_with(&mut tr);
        for i in 0..20 {
            tr.observe(id, obs(None, 0.5));
            if i % 5 == 0 {
                tr.observe(id, obs(Some(4), 0.4));
            }
            let ident = tr.track(id).unwrap().identity().unwrap();
            assert_eq!(ident.label, None, "iteration {i}");
        }
        // Zero-confidence unknown votes still count (weight 0.1 each).
        let mut tr = Tracker::default();
        let id = single_track_with(&mut tr);
        for _ in 0..5 {
            tr.observe(id, obs(None, 0.0));
        }
        tr.observe(id, obs(Some(4), 0.3));
        let ident = tr.track(id).unwrap().identity().unwrap();
        assert_eq!(ident.label, None);
        assert_eq!(ident.votes, 5);
    }

    #[test]
    fn window_is_bounded() {
        let mut tr = Tracker::default();
        let id = single_track_with(&mut tr);
        for i in 0..10_000usize {
            tr.observe(id, obs(Some(i % 3), (i % 10) as f32 / 10.0));
            let t = tr.track(id).unwrap();
            assert!(t.observations.len() <= 8);
            assert!(t.observation_count() <= 8);
        }
        assert_eq!(tr.track(id).unwrap().observations().count(), 8);
    }

    #[test]
    fn observe_unknown_id_is_ignored() {
        let mut tr = Tracker::default();
        tr.observe(42, obs(Some(1), 1.0));
        let id = single_track_with(&mut tr);
        tr.observe(id + 100, obs(Some(1), 1.0));
        assert_eq!(tr.track(id).unwrap().identity(), None);
    }

    #[test]
    fn counters() {
        let mut tr = Tracker::default();
        let id = single_track_with(&mut tr);
        tr.predict();
        tr.predict();
        let t = tr.track(id).unwrap();
        assert_eq!(t.age(), 2);
        assert_eq!(t.frames_since_detection(), 2);
        assert_eq!(t.frames_since_observation(), 2);
        tr.observe(id, obs(Some(0), 0.9));
        tr.update_rects(&[face(100.0, 100.0)]);
        let t = tr.track(id).unwrap();
        assert_eq!(t.age(), 3);
        assert_eq!(t.frames_since_detection(), 0);
        assert_eq!(t.frames_since_observation(), 1);
    }

    #[test]
    fn set_rect() {
        let mut tr = Tracker::default();
        let id = single_track_with(&mut tr);
        assert!(tr.set_rect(id, face(110.0, 100.0)));
        assert_eq!(tr.track(id).unwrap().rect, face(110.0, 100.0));
        assert!(!tr.set_rect(id, Rect::new(f32::NAN, 0.0, 1.0, 1.0)));
        assert!(!tr.set_rect(id + 1, face(0.0, 0.0)));
    }

    #[test]
    fn a_face_followed_by_appearance_survives_missed_rounds() {
        let mut tr = Tracker::default();
        let id = tr.update_rects(&[face(100.0, 100.0)])[0].unwrap();
        // The detector misses the face for many rounds; each time it is found by its look,
        // 10 px further right, so the track lives on, moves and learns the velocity.
        for round in 1..=5 {
            assert_eq!(tr.update_rects(&[]), Vec::<Option<TrackId>>::new());
            assert_eq!(tr.track(id).unwrap().missed_detections(), 1);
            assert!(tr.follow_rect(id, face(100.0 + 10.0 * round as f32, 100.0)));
            let t = tr.track(id).unwrap();
            assert_eq!(t.missed_detections(), 0);
            assert_eq!(t.rounds_followed_by_appearance(), round);
        }
        assert!((tr.track(id).unwrap().velocity().0 - 10.0).abs() < 1.0);
        // A real detection resets the count.
        tr.update_rects(&[face(160.0, 100.0)]);
        assert_eq!(tr.track(id).unwrap().rounds_followed_by_appearance(), 0);
        // Not followed, the track ends after max_missed_detections rounds as before.
        for _ in 0..3 {
            tr.update_rects(&[]);
        }
        assert!(tr.track(id).is_none());
        assert!(!tr.follow_rect(id, face(0.0, 0.0)));
    }

    #[test]
    fn non_finite_inputs_do_not_panic() {
        let bad = [
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MAX,
            -f32::MAX,
            0.0,
            -1.0,
        ];
        let mut tr = Tracker::new(TrackerConfig {
            min_iou: f32::NAN,
            max_missed_detections: u32::MAX,
            vote_window: 0,
            max_tracks: 1000,
            velocity_smoothing: f32::INFINITY,
            switch_margin: f32::NAN,
        });
        assert_eq!(tr.config().vote_window, 1);
        assert_eq!(tr.config().min_iou, 0.2);
        let mut dets = Vec::new();
        for &a in &bad {
            for &b in &bad {
                dets.push(Rect::new(a, b, 10.0, 10.0));
                dets.push(Rect::new(0.0, 0.0, a, b));
            }
        }
        dets.push(face(0.0, 0.0));
        for _ in 0..5 {
            let ids = tr.update_rects(&dets);
            assert_eq!(ids.len(), dets.len());
            tr.predict();
        }
        for t in tr.tracks() {
            assert!(t.rect.is_valid());
        }
        // Huge but finite boxes moving to overflow.
        let mut tr = Tracker::default();
        tr.update_rects(&[Rect::new(-f32::MAX, 0.0, 1.0, 1.0)]);
        tr.update_rects(&[Rect::new(f32::MAX, 0.0, f32::MAX, 1.0)]);
        for _ in 0..10 {
            tr.predict();
            tr.update_rects(&[Rect::new(f32::MAX * 0.5, 0.0, 1e30, 1.0)]);
        }
        for t in tr.tracks() {
            assert!(t.rect.is_valid());
            assert!(t.velocity().0.is_finite());
        }
        let id = tr.update_rects(&[face(0.0, 0.0)])[0].unwrap();
        for &v in &bad {
            tr.observe(
                id,
                Observation {
                    label: Some(usize::MAX),
                    confidence: v,
                    distance: v,
                },
            );
            tr.observe(
                id,
                Observation {
                    label: None,
                    confidence: v,
                    distance: f32::NAN,
                },
            );
        }
        let ident = tr.track(id).unwrap().identity().unwrap();
        assert!(ident.confidence.is_finite());
        assert!(!ident.distance.is_nan());
    }
}
