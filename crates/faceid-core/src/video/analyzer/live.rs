//! The live mode's side of the analyzer: handing work to the worker threads and taking their
//! results in (see the [module documentation](super)). Two lanes: the *quick* one takes each
//! full search's passes without upsampling and the tracks' encodings; the *fine* one the
//! upsampled pass for small faces, which takes four times as long, so a cut never waits for it.

use std::time::Instant;

use crate::detection::DetectionConfig;
use crate::frame::{FrameRef, OwnedFrame};
use crate::geometry::FaceBox;
use crate::video::backend::BackendError;
use crate::video::tracker::TrackId;
use crate::video::worker::{self, Done, Job, Worker};

use super::{Analyzer, RoundFaces};

/// The worker threads' priorities (Linux nice values): below the streaming thread, the
/// small-face search below the rest.
const QUICK_NICE: i32 = 5;
const FINE_NICE: i32 = 12;

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
            let Some(lanes) = self.lanes.as_mut() else {
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
        if self.lanes.is_none() {
            let lanes = Lanes {
                quick: Worker::start(self.backend.for_worker(), QUICK_NICE)?,
                fine: Worker::start(self.backend.for_worker(), FINE_NICE)?,
            };
            lanes.quick.set_shot(self.shot);
            lanes.fine.set_shot(self.shot);
            self.lanes = Some(lanes);
        }
        Ok(())
    }

    /// A cut or a reset: results of the shot before are dropped, and the workers stop
    /// working for it.
    pub(super) fn next_shot(&mut self) {
        self.shot += 1;
        self.arrived = None;
        if let Some(lanes) = &self.lanes {
            lanes.quick.set_shot(self.shot);
            lanes.fine.set_shot(self.shot);
        }
    }

    /// Takes in what the workers have sent since the last frame.
    pub(super) fn take_in_finished(&mut self) -> Result<(), BackendError> {
        loop {
            let Some(lanes) = self.lanes.as_mut() else {
                return Ok(());
            };
            let Some(done) = lanes.each().into_iter().find_map(Worker::poll) else {
                return Ok(());
            };
            self.take_in(done?);
        }
    }

    /// A worker's result: encodings go to their tracks at once; a full search waits for the
    /// next detection round. Results of an earlier shot are dropped.
    pub(super) fn take_in(&mut self, done: Done) {
        if done.shot != self.shot {
            return;
        }
        for (id, encoding) in done.encodings {
            if self.tracker.track(id).is_some() {
                self.observe(id, encoding);
            }
        }
        if let Some(found) = done.found {
            match &mut self.arrived {
                Some((_, waiting)) => {
                    waiting.boxes.extend(found.boxes);
                    waiting.encodings.extend(found.encodings);
                }
                None => self.arrived = Some((done.frame_number, found)),
            }
        }
    }

    /// The faces of an arrived full search, found again in this frame (they were detected a
    /// few frames ago), added to `faces` where no followed face is already. Once `deadline`
    /// has passed, the faces not yet looked for wait for the next frame.
    pub(super) fn merge_arrived(
        &mut self,
        frame: &FrameRef<'_>,
        faces: &mut RoundFaces,
        deadline: Option<Instant>,
    ) {
        let Some((frame_number, mut found)) = self.arrived.take() else {
            return;
        };
        let same_frame = frame_number == self.schedule.frames();
        let mut boxes = std::mem::take(&mut found.boxes).into_iter();
        for b in boxes.by_ref() {
            let now = if same_frame {
                Some(b)
            } else {
                self.find_near(frame, b)
            };
            if let Some(now) = now {
                let taken = |f: &FaceBox| f.iou(&now) > 0.3;
                if !faces.boxes.iter().any(taken) && !faces.unsearched.iter().any(taken) {
                    if let Some(e) = found.encodings.get(&b) {
                        faces.encodings.insert(now, *e);
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
            self.arrived = Some((frame_number, found));
        }
        faces.boxes.sort_by_key(|b| (b.x, b.y));
    }

    /// Live mode: hands the quick lane this frame's full search (when there is one) and the
    /// encodings due, and the fine lane the search's upsampled pass when it is free.
    pub(super) fn submit(
        &mut self,
        frame: &FrameRef<'_>,
        search: Option<DetectionConfig>,
        encode: Vec<(TrackId, FaceBox)>,
    ) -> Result<(), BackendError> {
        if search.is_none() && encode.is_empty() {
            return Ok(());
        }
        self.start_worker()?;
        let (quick, fine) = match search {
            Some(d) => worker::passes(d, frame.width()),
            None => (Vec::new(), None),
        };
        let motion = match (&self.motion, &self.previous_motion) {
            (Some(now), Some(before)) => Some((now.clone(), before.clone())),
            _ => None,
        };
        let copy = OwnedFrame::copy_of(frame);
        let job = |passes, encode, weak_score, frame| Job {
            frame,
            frame_number: self.schedule.frames(),
            shot: self.shot,
            passes,
            motion: motion.clone(),
            encode,
            classifier: self.classifier.clone(),
            threads: self.config.threads,
            weak_score,
        };
        let fine_job = fine.map(|d| job(vec![d], Vec::new(), 0.0, copy.clone()));
        let quick_job = job(quick, encode, self.config.weak_detection_score, copy);
        let Some(lanes) = self.lanes.as_mut() else {
            return Ok(());
        };
        if let Some(fine_job) = fine_job
            && !lanes.fine.busy()
        {
            lanes.fine.submit(fine_job)?;
        }
        if !lanes.quick.busy() {
            lanes.quick.submit(quick_job)?;
        } else if quick_job.passes.is_empty() && !lanes.fine.busy() {
            // Encodings only, and the quick lane is searching: the fine lane takes them, so a
            // young track's next looks do not wait for the search.
            lanes.fine.submit(quick_job)?;
        }
        Ok(())
    }
}
