//! The live mode's side of the analyzer: handing work to the worker threads and taking their
//! results in (see the [module documentation](super)). Two lanes: the *quick* one takes each
//! full search's passes without upsampling and the tracks' encodings; the *fine* one the
//! upsampled pass for small faces, which takes four times as long, so a cut never waits for it.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use crate::detection::{DetectionConfig, DetectorKind};
use crate::frame::{FrameRef, OwnedFrame};
use crate::geometry::FaceBox;
use crate::video::backend::BackendError;
use crate::video::motion::MotionMap;
use crate::video::search::Found;
use crate::video::tracker::{Rect, Track, TrackId};
use crate::video::worker::{self, Done, Job, Worker};

use super::{Analyzer, RoundFaces, overlapping_most};

/// The worker threads' priorities (Linux nice values): below the streaming thread, the
/// small-face search below the rest.
const QUICK_NICE: i32 = 5;
const FINE_NICE: i32 = 12;

/// How much a weak detection must overlap a face of an arrived search to be taken for it (see
/// [`Analyzer::find_arrived_again`]).
const MIN_WEAK_ARRIVED_OVERLAP: f32 = 0.5;

/// How many frames' motion maps the live mode keeps to follow arrived faces with (2 s at 30
/// frames/s; a search takes well under that).
const MOTION_HISTORY: usize = 60;

/// The live mode's own state: the worker threads (started on the first frame that needs
/// them), and what of their work waits for the streaming thread.
#[derive(Default)]
pub(super) struct LiveState {
    /// The worker threads, started on the first frame that needs them.
    pub(super) lanes: Option<Lanes>,
    /// The track the next local round starts with.
    pub(super) local_search_start: usize,
    /// A full search the workers finished, waiting for the next detection round, with the
    /// frame it was made on.
    pub(super) arrived: Option<(u64, Found)>,
    /// The motion maps of this shot's last frames, by frame number, so that the
    /// faces of a search that arrives late are followed to where they are now.
    pub(super) recent_motion: VecDeque<(u64, Arc<MotionMap>)>,
    /// Weak detections of a worker's search that had no motion to check them (a
    /// cut's, the first frame's), with the frame they were found on.
    pub(super) weak_to_recheck: Vec<(u64, FaceBox)>,
}

/// The two worker threads.
pub(super) struct Lanes {
    quick: Worker,
    fine: Worker,
}

impl Lanes {
    fn each(&mut self) -> [&mut Worker; 2] {
        [&mut self.quick, &mut self.fine]
    }

    /// Whether the quick lane can take a full search now.
    pub(super) fn quick_free(&self) -> bool {
        !self.quick.busy()
    }
}

impl Analyzer {
    /// Waits for the workers' running jobs, if any, and takes their results in (tests: makes
    /// the live mode's next frame see them).
    pub fn wait_for_worker(&mut self) -> Result<(), BackendError> {
        loop {
            let Some(lanes) = self.live.lanes.as_mut() else {
                return Ok(());
            };
            let Some(done) = lanes.each().into_iter().find_map(Worker::wait) else {
                return Ok(());
            };
            self.take_in(done?);
        }
    }

    /// Starts the live mode's worker threads now rather than on the first frame that needs
    /// them (making their detectors takes about a second, on their threads).
    pub fn start_worker(&mut self) -> Result<(), BackendError> {
        if self.live.lanes.is_none() {
            let lanes = Lanes {
                quick: Worker::start(self.backend.for_worker(), QUICK_NICE)?,
                fine: Worker::start(self.backend.for_worker(), FINE_NICE)?,
            };
            lanes.quick.set_shot(self.shot);
            lanes.fine.set_shot(self.shot);
            self.live.lanes = Some(lanes);
        }
        Ok(())
    }

    /// A cut or a reset: results of the shot before are dropped, and the workers stop
    /// working for it.
    pub(super) fn next_shot(&mut self) {
        self.shot += 1;
        self.live.arrived = None;
        self.live.recent_motion.clear();
        self.live.weak_to_recheck.clear();
        if let Some(lanes) = &self.live.lanes {
            lanes.quick.set_shot(self.shot);
            lanes.fine.set_shot(self.shot);
        }
    }

    /// Keeps this frame's motion map (see [`Analyzer::followed_since`]).
    pub(super) fn remember_motion(&mut self) {
        let Some(map) = &self.motion else {
            return;
        };
        if self.live.recent_motion.len() == MOTION_HISTORY {
            self.live.recent_motion.pop_front();
        }
        self.live
            .recent_motion
            .push_back((self.schedule.frames(), map.clone()));
    }

    /// Where a face at `face` on frame `frame_number` of this shot is now: followed through
    /// the motion maps of every frame since ([`MotionMap::follow`](crate::video::motion::MotionMap::follow));
    /// `None` when those frames are not all kept.
    pub(super) fn followed_since(&self, frame_number: u64, face: FaceBox) -> Option<FaceBox> {
        let mut since = self
            .live
            .recent_motion
            .iter()
            .skip_while(|(n, _)| *n < frame_number);
        let (first, before) = since.next()?;
        let mut before = before;
        if *first != frame_number {
            return None;
        }
        let mut now = face;
        for (_, next) in since {
            now = before.follow(next, &now).unwrap_or(now);
            before = next;
        }
        Some(now)
    }

    /// Live mode: whether a track's match by appearance agrees with where the motion maps
    /// carried its last detection (their centres at most an eighth of the face, and 8 px,
    /// apart). The look of a small soft face is mostly its surroundings: a 57 px penny's track
    /// stayed on the wall behind her for 43 frames, named, after she walked on. Without the
    /// maps of those frames, it agrees.
    pub(super) fn agrees_with_motion(&self, track: &Track, matched: &FaceBox) -> bool {
        let since = self
            .schedule
            .frames()
            .saturating_sub(u64::from(track.frames_since_detection()));
        let Some(expected) = self.followed_since(since, track.last_detection_box()) else {
            return true;
        };
        let center = |b: &FaceBox| Rect::from_box(b).center();
        let ((ex, ey), (mx, my)) = (center(&expected), center(matched));
        let apart = (ex - mx).hypot(ey - my);
        apart <= (matched.width as f32 / 8.0).max(8.0)
    }

    /// Takes in what the workers have sent since the last frame.
    pub(super) fn take_in_finished(&mut self) -> Result<(), BackendError> {
        loop {
            let Some(lanes) = self.live.lanes.as_mut() else {
                return Ok(());
            };
            let Some(done) = lanes.each().into_iter().find_map(Worker::poll) else {
                return Ok(());
            };
            self.take_in(done?);
        }
    }

    /// Whether this frame's full search runs in the calling thread: with YuNet (one run of
    /// ~12 ms on the whole frame at 720p, measured in the running element on this project's
    /// 2-core machine) when no face is followed (a cut, the start), so no local search shares
    /// the frame's budget. A cut's faces are then found on the cut's own frame, and only their
    /// encodings and the tiles (small faces) go to the workers.
    pub(super) fn searches_in_stream(&self) -> bool {
        self.config.detection.detector == DetectorKind::Yunet && self.follows_nothing()
    }

    /// Whether no face is followed: no track, and no worker's search waiting to be taken in.
    pub(super) fn follows_nothing(&self) -> bool {
        self.tracker.tracks().is_empty() && self.live.arrived.is_none()
    }

    /// The full search in the calling thread (see [`Analyzer::searches_in_stream`]): YuNet on
    /// the whole frame fitted into its input. Its weak detections are checked for motion by a
    /// later worker job, as a worker's search's are: recognising them here would take an
    /// encoding's time.
    pub(super) fn full_search_in_stream(
        &mut self,
        frame: &FrameRef<'_>,
        detection: DetectionConfig,
    ) -> Result<RoundFaces, BackendError> {
        let found = self
            .search()
            .full(frame, detection.without_upsampling(), None)?;
        self.whole_frame_searched = true;
        let n = self.schedule.frames();
        self.live
            .weak_to_recheck
            .extend(found.pending_weak.iter().map(|b| (n, *b)));
        Ok(RoundFaces {
            boxes: found.boxes,
            encodings: found.encodings,
            ..RoundFaces::default()
        })
    }

    /// A worker's result: encodings go to their tracks at once; a full search waits for the
    /// next detection round. Results of an earlier shot are dropped.
    pub(super) fn take_in(&mut self, done: Done) {
        if done.shot != self.shot {
            return;
        }
        for (id, rect, encoding) in done.encodings {
            if self.tracker.track(id).is_some() {
                self.observe(id, rect, encoding);
            }
        }
        if let Some(mut found) = done.found {
            self.whole_frame_searched = true;
            let weak = std::mem::take(&mut found.pending_weak);
            self.live
                .weak_to_recheck
                .extend(weak.into_iter().map(|b| (done.frame_number, b)));
            if found.boxes.is_empty() {
                return;
            }
            match &mut self.live.arrived {
                Some((_, waiting)) => {
                    waiting.boxes.extend(found.boxes);
                    waiting.encodings.extend(found.encodings);
                }
                None => self.live.arrived = Some((done.frame_number, found)),
            }
        }
    }

    /// The faces of an arrived full search, found again in this frame (they were detected a
    /// few frames ago: [`Analyzer::find_arrived_again`]), added to `faces` where no followed
    /// face is already (overlapping it by more than 0.3; a face found again only weakly, by
    /// any overlap at all: a weak box touching a face is a chin or a neck more often than
    /// another face). Once `deadline` has passed, the faces not yet looked for wait for the
    /// next frame.
    pub(super) fn merge_arrived(
        &mut self,
        frame: &FrameRef<'_>,
        faces: &mut RoundFaces,
        deadline: Option<Instant>,
    ) {
        let Some((frame_number, mut found)) = self.live.arrived.take() else {
            return;
        };
        let frames_since = self.schedule.frames().saturating_sub(frame_number);
        let same_frame = frames_since == 0;
        let mut boxes = std::mem::take(&mut found.boxes).into_iter();
        for b in boxes.by_ref() {
            let now = if same_frame {
                Some((b, false))
            } else {
                let now = self.followed_since(frame_number, b).unwrap_or(b);
                // A face this round already has (the quick pass's, followed since) needs no
                // local search: with YuNet each costs a run of the network.
                let had = |f: &FaceBox| f.iou(&now) > 0.5;
                if faces.boxes.iter().any(had) || faces.unsearched.iter().any(had) {
                    continue;
                }
                self.find_arrived_again(frame, now)
            };
            if let Some((now, weak)) = now {
                let max_overlap = if weak { 0.0 } else { 0.3 };
                let taken = |f: &FaceBox| f.iou(&now) > max_overlap;
                if !faces.boxes.iter().any(taken) && !faces.unsearched.iter().any(taken) {
                    if let Some(e) = found.encodings.get(&b) {
                        faces.encodings.insert(now, *e);
                    }
                    if let Some(v) = speed_between(b, now, frames_since) {
                        faces.velocities.insert(now, v);
                    }
                    faces.boxes.push(now);
                }
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
        }
        found.boxes = boxes.collect();
        if !found.boxes.is_empty() {
            self.live.arrived = Some((frame_number, found));
        }
        faces.boxes.sort_by_key(|b| (b.x, b.y));
    }

    /// Where a face of an arrived search is now: the local detection at dlib's cut overlapping
    /// it most; failing that, a weak one (down to the weak-detection score) that still
    /// overlaps it by more than half. The face was found and encoded a few frames ago, and a
    /// face that is smeared or soft now (a pan, a turn) scores under the cut: the leonard of
    /// the bbt clip's fast pan was never named live without this. A weak box that has moved
    /// off the arrived one is left (on the bts clip one lay on a member's neck).
    /// `true` with a weak one. One local detection at the weak score serves both: dlib keeps
    /// the windows at its cut whatever lower ones it also reports.
    fn find_arrived_again(
        &self,
        frame: &FrameRef<'_>,
        arrived: FaceBox,
    ) -> Option<(FaceBox, bool)> {
        let around = arrived.clipped(frame.width(), frame.height())?;
        let weak_score = self.config.weak_detection_score.min(0.0);
        let found = self.backend.detect_near(frame, around, weak_score);
        let scoring = |strong: bool| {
            let boxes = found.iter().filter(move |(_, s)| (*s >= 0.0) == strong);
            overlapping_most(boxes.map(|(b, _)| *b), &around)
        };
        if let Some(b) = scoring(true) {
            return Some((b, false));
        }
        scoring(false)
            .filter(|b| b.iou(&arrived) > MIN_WEAK_ARRIVED_OVERLAP)
            .map(|b| (b, true))
    }

    /// Weak detections waiting for motion go with the next quick job of the same shot that
    /// has motion to check them with, where they are now.
    fn weak_to_recheck_now(&mut self) -> Vec<FaceBox> {
        let can_recheck = self.previous_motion.is_some()
            && self.live.lanes.as_ref().is_some_and(Lanes::quick_free);
        if !can_recheck {
            return Vec::new();
        }
        std::mem::take(&mut self.live.weak_to_recheck)
            .into_iter()
            .filter_map(|(n, b)| self.followed_since(n, b))
            .collect()
    }

    /// Live mode: hands the quick lane this frame's full search (when there is one, and the
    /// streaming thread did not search the frame: `found_here`) and the encodings due, and the
    /// fine lane the search's upsampled pass when it is free. While the
    /// quick lane is searching, encodings alone go to a free fine lane, so a young track's next
    /// looks do not wait for the search. What each lane takes is decided before the frame is
    /// copied, and the copy is made once.
    pub(super) fn submit(
        &mut self,
        frame: &FrameRef<'_>,
        search: Option<DetectionConfig>,
        found_here: Option<Vec<FaceBox>>,
        mut encode: Vec<(TrackId, FaceBox)>,
    ) -> Result<(), BackendError> {
        let recheck_weak = self.weak_to_recheck_now();
        if search.is_none() && encode.is_empty() && recheck_weak.is_empty() {
            return Ok(());
        }
        self.start_worker()?;
        let Some(lanes) = &self.live.lanes else {
            return Ok(());
        };
        let (quick_free, fine_free) = (!lanes.quick.busy(), !lanes.fine.busy());
        let searched_here = found_here.is_some();
        let (quick, fine) = match search {
            // The whole frame was searched here: its tiles (the small faces) go to the fine
            // lane, unless the faces found need it for their encodings (the quick lane busy).
            Some(d) if searched_here && (quick_free || encode.is_empty()) => {
                (Vec::new(), worker::passes(d, frame.width()).1)
            }
            Some(_) if searched_here => (Vec::new(), None),
            Some(d) => worker::passes(d, frame.width()),
            None => (Vec::new(), None),
        };
        let weak_score = self.config.weak_detection_score;
        let to_fine = match fine.filter(|_| fine_free) {
            Some(upsampled) => Some((vec![upsampled], Vec::new(), 0.0, Vec::new())),
            None if !quick_free && fine_free && quick.is_empty() => Some((
                Vec::new(),
                std::mem::take(&mut encode),
                weak_score,
                Vec::new(),
            )),
            None => None,
        };
        let to_quick = quick_free.then_some((quick, encode, weak_score, recheck_weak));
        if to_quick.is_none() && to_fine.is_none() {
            return Ok(());
        }
        let copy = Arc::new(OwnedFrame::copy_of(frame));
        let job = |(passes, encode, weak_score, recheck_weak): (
            Vec<DetectionConfig>,
            _,
            f64,
            Vec<FaceBox>,
        )| {
            // The grey maps only serve weak detections.
            let weak_wanted = (!passes.is_empty() || !recheck_weak.is_empty()) && weak_score < 0.0;
            let motion = match (&self.motion, &self.previous_motion) {
                (Some(now), Some(before)) if weak_wanted => Some((now.clone(), before.clone())),
                _ => None,
            };
            Job {
                frame: copy.clone(),
                frame_number: self.schedule.frames(),
                shot: self.shot,
                passes,
                motion,
                recheck_weak,
                encode,
                found_before: found_here.clone().unwrap_or_default(),
                classifier: self.classifier.clone(),
                threads: self.config.threads,
                weak_score,
            }
        };
        let (quick_job, fine_job) = (to_quick.map(job), to_fine.map(job));
        let Some(lanes) = self.live.lanes.as_mut() else {
            return Ok(());
        };
        if let Some(job) = fine_job {
            lanes.fine.submit(job)?;
        }
        if let Some(job) = quick_job {
            lanes.quick.submit(job)?;
        }
        Ok(())
    }
}

/// The speed, in pixels a frame, of a face found at `then` and `frames` frames later at `now`
/// (their centres); `None` under 2 frames, where a detection's jitter of a few pixels would
/// read as speed.
fn speed_between(then: FaceBox, now: FaceBox, frames: u64) -> Option<(f32, f32)> {
    if frames < 2 {
        return None;
    }
    let ((x0, y0), (x1, y1)) = (
        Rect::from_box(&then).center(),
        Rect::from_box(&now).center(),
    );
    let frames = frames as f32;
    Some(((x1 - x0) / frames, (y1 - y0) / frames))
}
