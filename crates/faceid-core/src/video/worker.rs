//! The live mode's worker thread: full-frame searches and encodings, off the streaming
//! thread, one job at a time. The analyzer hands it a copy of the frame and asks again on
//! later frames whether it is done; it never waits for it.
//!
//! A full search runs coarse to fine ([`passes`]): first at a small width (the big faces of a
//! close-up, in a tenth of the time), then at the detection width; each pass's new faces are
//! encoded and sent back at once, so after a cut the big faces are named a few frames later.
//! The upsampled pass for small faces takes four times as long as both: it runs on a second
//! worker (the *fine* lane), so that a cut never waits for it.
//!
//! The threads run at a lower priority than the caller (Linux: nice +5 for the quick lane,
//! +10 for the fine one), so on a busy machine the frames keep coming and the names come
//! later, not the other way round. A panic
//! in a job is caught and comes back as that job's error; if the thread is gone, every later
//! poll says so.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};

use crate::detection::{DetectionConfig, DetectorKind};
use crate::encoding::Encoding;
use crate::frame::OwnedFrame;
use crate::geometry::FaceBox;
use crate::model::Classifier;
use crate::video::backend::{BackendError, BackendFactory, FaceBackend};
use crate::video::motion::MotionMap;
use crate::video::search::{Found, Motion, Search, overlaps_any};
use crate::video::tracker::TrackId;

/// Work for the thread.
pub struct Job {
    /// The frame, copied (once, for both lanes).
    pub frame: Arc<OwnedFrame>,
    /// Which frame it is (the analyzer's count) and which shot (cuts counted): results of an
    /// earlier shot are dropped.
    pub frame_number: u64,
    pub shot: u64,
    /// The full search's passes, if one is asked for (see [`passes`]); weak detections are
    /// looked for in the last one, with the frame's and the previous frame's grey maps when
    /// the previous one is of the same shot.
    pub passes: Vec<DetectionConfig>,
    pub motion: Option<(Arc<MotionMap>, Arc<MotionMap>)>,
    /// Weak detections of an earlier search that had no motion to check them with (a cut's,
    /// the first frame's), where they are now: looked for again near there at the weak
    /// score and confirmed with this frame's motion (`motion` is set), like a search's.
    pub recheck_weak: Vec<FaceBox>,
    /// Faces of tracks to encode.
    pub encode: Vec<(TrackId, FaceBox)>,
    /// Faces the streaming thread already found on this frame: the passes neither encode nor
    /// send them again.
    pub found_before: Vec<FaceBox>,
    pub classifier: Arc<Classifier>,
    pub threads: usize,
    pub weak_score: f64,
}

/// Width of a full search's first, coarse pass (HOG finds faces from 80 px at this width: 160
/// px and up in a 1280-wide frame, the faces of close-ups).
pub const COARSE_WIDTH: usize = 640;

/// A job's results, sent as they come: one message per search pass, the last one with the
/// tracks' encodings.
pub struct Done {
    pub frame_number: u64,
    pub shot: u64,
    /// Faces of the full search not sent before, every one of them encoded.
    pub found: Option<Found>,
    /// The tracks' encodings (with the boxes they were made from), in the job's order.
    pub encodings: Vec<(TrackId, FaceBox, Encoding)>,
    /// The job's last message: the worker is free.
    pub last: bool,
}

/// The thread and its two channels.
pub struct Worker {
    /// The analyzer's current shot: a job of an earlier one stops after its current pass.
    shot: Arc<AtomicU64>,
    /// `None` once dropped (the thread then ends).
    jobs: Option<Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
    done: Receiver<Result<Done, BackendError>>,
    busy: bool,
}

impl Worker {
    /// Starts the thread, which makes its own backend with `make_backend` (detectors are not
    /// shared between threads).
    pub fn start(make_backend: BackendFactory, nice: i32) -> Result<Worker, BackendError> {
        let (jobs, job_rx) = mpsc::channel::<Job>();
        let (done_tx, done) = mpsc::channel();
        let shot = Arc::new(AtomicU64::new(0));
        let current_shot = shot.clone();
        let thread = std::thread::Builder::new()
            .name("faceid-worker".into())
            .spawn(move || {
                lower_priority(nice);
                let backend = make_backend();
                for job in job_rx {
                    let send = |d: Done| done_tx.send(Ok(d)).is_ok();
                    let still_wanted = |shot| current_shot.load(Ordering::Relaxed) == shot;
                    let result = catch_unwind(AssertUnwindSafe(|| {
                        run(backend.as_ref(), job, &send, &still_wanted)
                    }))
                    .unwrap_or_else(|panic| {
                        let why = panic
                            .downcast_ref::<&str>()
                            .map(|s| s.to_string())
                            .or_else(|| panic.downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "unknown panic".into());
                        Err(BackendError(format!(
                            "the face worker thread panicked: {why}"
                        )))
                    });
                    if let Err(e) = result
                        && done_tx.send(Err(e)).is_err()
                    {
                        break;
                    }
                }
            })
            .map_err(|e| BackendError(format!("could not start the face worker thread: {e}")))?;
        Ok(Worker {
            shot,
            jobs: Some(jobs),
            thread: Some(thread),
            done,
            busy: false,
        })
    }

    /// The analyzer moved on to shot `shot` (a cut, a reset): the running job's later passes
    /// are not worth doing.
    pub fn set_shot(&self, shot: u64) {
        self.shot.store(shot, Ordering::Relaxed);
    }

    /// Whether a job is running.
    pub fn busy(&self) -> bool {
        self.busy
    }

    /// Hands over a job; the caller checks [`Self::busy`] first (a second job would queue).
    pub fn submit(&mut self, job: Job) -> Result<(), BackendError> {
        self.jobs
            .as_ref()
            .ok_or_else(stopped)?
            .send(job)
            .map_err(|_| BackendError("the face worker thread has stopped".into()))?;
        self.busy = true;
        Ok(())
    }

    /// The next message of the running job, if one came; never waits.
    pub fn poll(&mut self) -> Option<Result<Done, BackendError>> {
        if !self.busy {
            return None;
        }
        let message = match self.done.try_recv() {
            Ok(message) => message,
            Err(TryRecvError::Empty) => return None,
            Err(TryRecvError::Disconnected) => Err(stopped()),
        };
        self.busy = message.as_ref().is_ok_and(|d| !d.last);
        Some(message)
    }

    /// Waits for the running job's next message (tests).
    pub fn wait(&mut self) -> Option<Result<Done, BackendError>> {
        if !self.busy {
            return None;
        }
        let message = self.done.recv().unwrap_or_else(|_| Err(stopped()));
        self.busy = message.as_ref().is_ok_and(|d| !d.last);
        Some(message)
    }
}

impl Drop for Worker {
    /// Stops the thread and waits for it: the running job gives up after its current pass
    /// (at most one detection pass, a fraction of a second). A thread left running would use
    /// dlib while the process exits and tears dlib down (a crash at exit, seen in tests).
    fn drop(&mut self) {
        self.shot.store(u64::MAX, Ordering::Relaxed);
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn stopped() -> BackendError {
    BackendError("the face worker thread has stopped".into())
}

/// The passes of a full search with `detection` in a frame `frame_width` wide, coarse to
/// fine: the quick lane's (for HOG the coarse width first; then the detection without
/// upsampling: YuNet's whole frame in one run) and the fine lane's (upsampled: HOG's finer
/// pass, YuNet's tiles; when asked for). Only passes that differ; the CNN detector in one
/// quick pass.
pub fn passes(
    detection: DetectionConfig,
    frame_width: usize,
) -> (Vec<DetectionConfig>, Option<DetectionConfig>) {
    if detection.detector == DetectorKind::Cnn {
        return (vec![detection], None);
    }
    let mut out = Vec::new();
    let width = match detection.detection_width {
        0 => frame_width,
        w => w.min(frame_width),
    };
    if detection.detector == DetectorKind::Hog && width > COARSE_WIDTH {
        out.push(DetectionConfig {
            detection_width: COARSE_WIDTH,
            ..detection.without_upsampling()
        });
    }
    out.push(detection.without_upsampling());
    (out, (detection.upsample > 0).then_some(detection))
}

/// Runs `job`, sending each pass's new faces with `send` (false: nobody listens any more);
/// stops between passes when its shot is no longer `still_wanted`.
fn run(
    backend: &dyn FaceBackend,
    job: Job,
    send: &dyn Fn(Done) -> bool,
    still_wanted: &dyn Fn(u64) -> bool,
) -> Result<(), BackendError> {
    let frame = job.frame.view();
    let search = Search {
        backend,
        classifier: &job.classifier,
        threads: job.threads,
        weak_score: job.weak_score,
    };
    let message = |found, encodings, last| Done {
        frame_number: job.frame_number,
        shot: job.shot,
        found,
        encodings,
        last,
    };
    if let (false, Some((now, before))) = (job.recheck_weak.is_empty(), &job.motion)
        && still_wanted(job.shot)
    {
        let (now, before) = (now.as_ref(), before.as_ref());
        let motion = Motion { now, before };
        let weak = search.find_weak_again(&frame, &job.recheck_weak);
        let mut found = Found::default();
        search.confirm_weak(&frame, weak, motion, &mut found.boxes, &mut found.encodings)?;
        if !found.boxes.is_empty() && !send(message(Some(found), Vec::new(), false)) {
            return Ok(());
        }
    }
    {
        let passes = &job.passes;
        let motion = &job.motion;
        let mut sent: Vec<FaceBox> = job.found_before.clone();
        for (i, pass) in passes.iter().enumerate() {
            if !still_wanted(job.shot) {
                break;
            }
            let last_pass = i + 1 == passes.len();
            // Weak detections (confirmed by recognition, with motion) only in the last pass.
            let pass_search = Search {
                weak_score: if last_pass { search.weak_score } else { 0.0 },
                ..search
            };
            let motion = motion
                .as_ref()
                .filter(|_| last_pass)
                .map(|(now, before)| Motion {
                    now: now.as_ref(),
                    before: before.as_ref(),
                });
            let mut found = pass_search.full(&frame, *pass, motion)?;
            // Weak detections with no motion to check them (a cut's, the first frame's) go
            // back to the analyzer, which hands them to a later job (`recheck_weak`).
            found.boxes.retain(|b| !overlaps_any(b, &sent));
            let encodings = search.encode_reusing(&frame, &found.boxes, &found.encodings)?;
            found.encodings = found.boxes.iter().copied().zip(encodings).collect();
            sent.extend(found.boxes.iter().copied());
            let worth_sending = !found.boxes.is_empty() || !found.pending_weak.is_empty();
            if worth_sending && !send(message(Some(found), Vec::new(), false)) {
                return Ok(());
            }
        }
    }
    let boxes: Vec<FaceBox> = if still_wanted(job.shot) {
        job.encode.iter().map(|(_, b)| *b).collect()
    } else {
        Vec::new()
    };
    let encodings = search.encode(&frame, &boxes)?;
    let encodings = job
        .encode
        .iter()
        .zip(encodings)
        .map(|((id, b), e)| (*id, *b, e))
        .collect();
    send(message(None, encodings, true));
    Ok(())
}

/// Linux: `nice` for this thread and the threads it starts (detection strips, encoders).
fn lower_priority(nice: i32) {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority with PRIO_PROCESS and 0 changes the calling thread's nice value
    // only (Linux threads are scheduled on their own); it touches no memory.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, nice);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = nice;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_search_goes_coarse_to_fine_with_the_small_faces_on_the_fine_lane() {
        let d = DetectionConfig {
            upsample: 1,
            detection_width: 1024,
            ..DetectionConfig::default()
        };
        let (quick, fine) = passes(d, 1280);
        let widths: Vec<(usize, u32)> = quick
            .iter()
            .map(|p| (p.detection_width, p.upsample))
            .collect();
        assert_eq!(widths, vec![(COARSE_WIDTH, 0), (1024, 0)]);
        assert_eq!(fine, Some(d));
        // A small frame needs no coarse pass; without upsampling there is no fine lane.
        let (quick, fine) = passes(DetectionConfig { upsample: 0, ..d }, 640);
        assert_eq!(quick.len(), 1);
        assert_eq!(fine, None);
        let cnn = DetectionConfig {
            detector: DetectorKind::Cnn,
            ..d
        };
        assert_eq!(passes(cnn, 1280), (vec![cnn], None));
    }

    #[test]
    fn a_yunet_search_looks_at_the_whole_frame_first_and_its_tiles_on_the_fine_lane() {
        let d = DetectionConfig {
            detector: DetectorKind::Yunet,
            upsample: 1,
            ..DetectionConfig::default()
        };
        let whole = DetectionConfig { upsample: 0, ..d };
        assert_eq!(passes(d, 1280), (vec![whole], Some(d)));
        assert_eq!(passes(whole, 1280), (vec![whole], None));
    }
}
