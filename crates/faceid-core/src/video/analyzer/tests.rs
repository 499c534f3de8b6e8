//! The analyzer over a scripted face backend: the schedule, the live mode's worker and the
//! naming, without dlib. Frames carry their number in their first pixel; the script says which
//! faces (box, detector score, encoding) each frame has.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::*;
use crate::detection::DetectionConfig;
use crate::encoding::ENCODING_DIM;
use crate::frame::PixelLayout;
use crate::model::{Model, Sample, TrainOptions};

const W: usize = 160;
const H: usize = 120;

#[derive(Clone, Copy)]
struct FakeFace {
    rect: FaceBox,
    score: f32,
    encoding: Encoding,
}

type Script = dyn Fn(u32) -> Vec<FakeFace> + Send + Sync;

/// What the fake records and how it misbehaves.
#[derive(Default)]
struct Log {
    full_detections: Vec<(u32, String)>,
    encodings: usize,
    /// Full detections wait until this is true (live tests); None: never wait.
    gate: Option<bool>,
    panic_on_encode: bool,
    short_encodings: bool,
    /// Full detections find only faces at least as tall as the detection's smallest
    /// (`smallest_detectable`), like HOG; off, every scripted face.
    size_limited: bool,
    /// The upsample of each full detection, in order.
    upsamples: Vec<u32>,
}

#[derive(Clone)]
struct FakeBackend {
    script: Arc<Script>,
    log: Arc<(Mutex<Log>, Condvar)>,
}

fn frame_number(frame: &FrameRef<'_>) -> u32 {
    let d = frame.data();
    u32::from(d[0]) | u32::from(d[1]) << 8 | u32::from(d[2]) << 16
}

impl FakeBackend {
    fn new(script: impl Fn(u32) -> Vec<FakeFace> + Send + Sync + 'static) -> Self {
        FakeBackend {
            script: Arc::new(script),
            log: Arc::new((Mutex::new(Log::default()), Condvar::new())),
        }
    }

    fn log(&self) -> std::sync::MutexGuard<'_, Log> {
        self.log.0.lock().unwrap()
    }

    fn open_gate(&self) {
        self.log().gate = Some(true);
        self.log.1.notify_all();
    }

    fn face_at(&self, frame: &FrameRef<'_>, b: &FaceBox) -> Option<FakeFace> {
        (self.script)(frame_number(frame))
            .into_iter()
            .filter(|f| f.rect.iou(b) > 0.1)
            .max_by(|a, c| a.rect.iou(b).total_cmp(&c.rect.iou(b)))
    }
}

impl FaceBackend for FakeBackend {
    fn detect(&self, frame: &FrameRef<'_>, config: &DetectionConfig) -> Vec<(FaceBox, f32)> {
        let n = frame_number(frame);
        let thread = std::thread::current().name().unwrap_or("").to_string();
        let (lock, wake) = &*self.log;
        let mut log = lock.lock().unwrap();
        log.full_detections.push((n, thread));
        log.upsamples.push(config.upsample);
        let smallest = if log.size_limited {
            smallest_detectable(config, frame.width(), frame.height())
        } else {
            0.0
        };
        while log.gate == Some(false) {
            let (l, timeout) = wake.wait_timeout(log, Duration::from_secs(20)).unwrap();
            log = l;
            assert!(!timeout.timed_out(), "the test never opened the gate");
        }
        drop(log);
        (self.script)(n)
            .into_iter()
            .filter(|f| f64::from(f.score) >= config.adjust_threshold)
            .filter(|f| f64::from(f.rect.height) >= smallest)
            .map(|f| (f.rect, f.score))
            .collect()
    }

    fn detect_near(&self, frame: &FrameRef<'_>, around: FaceBox, adj: f64) -> Vec<(FaceBox, f32)> {
        (self.script)(frame_number(frame))
            .into_iter()
            .filter(|f| f.rect.iou(&around) > 0.1 && f64::from(f.score) >= adj)
            .map(|f| (f.rect, f.score))
            .collect()
    }

    fn encode(
        &self,
        frame: &FrameRef<'_>,
        boxes: &[FaceBox],
        _threads: usize,
    ) -> Result<Vec<Encoding>, BackendError> {
        let (panic, short) = {
            let mut log = self.log();
            log.encodings += boxes.len();
            (log.panic_on_encode, log.short_encodings)
        };
        assert!(!panic, "scripted encoder failure");
        let mut out: Vec<Encoding> = boxes
            .iter()
            .map(|b| {
                self.face_at(frame, b)
                    .map(|f| f.encoding)
                    .unwrap_or([0.0; ENCODING_DIM])
            })
            .collect();
        if short {
            out.pop();
        }
        Ok(out)
    }

    fn for_worker(&self) -> crate::video::backend::BackendFactory {
        let me = self.clone();
        Box::new(move || Box::new(me))
    }
}

use crate::test_support::person_photo as person;

const AMY: usize = 3;
const RAJ: usize = 40;

fn classifier() -> Classifier {
    let mut samples = Vec::new();
    for (label, axis) in [(0, AMY), (1, RAJ), (2, 90)] {
        for k in 0..4 {
            samples.push(Sample {
                label,
                encoding: person(k as f32 + label as f32 * 10.0, axis),
                source: format!("{label}-{k}"),
                motion_blurred: None,
            });
        }
    }
    let encoder = crate::test_support::encoder("fake.dat");
    let model = Model::train(
        vec!["amy".into(), "raj".into(), "lee".into()],
        samples,
        encoder,
        &TrainOptions::default(),
    )
    .unwrap();
    Classifier::new(&model)
}

/// Frame `n` of a shot filled with grey `shot_grey`.
fn frame_data(n: u32, shot_grey: u8) -> Vec<u8> {
    let mut data = vec![shot_grey; W * H * 4];
    data[0] = n as u8;
    data[1] = (n >> 8) as u8;
    data[2] = (n >> 16) as u8;
    data
}

fn face(x: i32, axis: usize) -> FakeFace {
    FakeFace {
        rect: FaceBox::new(x, 30, 40, 40),
        score: 1.0,
        encoding: person(77.0 + x as f32, axis),
    }
}

fn analyzer(backend: &FakeBackend, latency_budget_ms: u32) -> Analyzer {
    let config = AnalyzerConfig {
        latency_budget_ms,
        ..AnalyzerConfig::default()
    };
    Analyzer::new(Box::new(backend.clone()), classifier(), config)
}

fn run(a: &mut Analyzer, n: u32, grey: u8) -> Result<Vec<FaceResult>, BackendError> {
    analyze_data(a, &frame_data(n, grey))
}

/// Analyses `data`, a `W` x `H` BGRx frame.
fn analyze_data(a: &mut Analyzer, data: &[u8]) -> Result<Vec<FaceResult>, BackendError> {
    let frame = FrameRef::new(data, W, H, W * 4, PixelLayout::Bgrx).unwrap();
    a.analyze(&frame)
}

fn names(results: &[FaceResult]) -> Vec<Option<String>> {
    results.iter().map(|r| r.label.clone()).collect()
}

#[test]
fn new_thresholds_keep_the_tracks_and_name_with_them_at_once() {
    let backend = FakeBackend::new(|n| vec![face(20 + n as i32, AMY)]);
    let mut a = analyzer(&backend, 0);
    let before = run(&mut a, 0, 90).unwrap();
    assert_eq!(names(&before), vec![Some("amy".to_string())]);
    // An unknown distance shorter than any face's: unknown from the next frame, same track.
    a.set_decision_thresholds(0.0001, a.classifier().margin());
    let after = run(&mut a, 1, 90).unwrap();
    assert_eq!(names(&after), vec![None]);
    assert_eq!(after[0].track, before[0].track);
    // A new classifier (a new model) starts the tracks over.
    a.set_classifier(classifier());
    let renewed = run(&mut a, 2, 90).unwrap();
    assert_ne!(renewed[0].track, before[0].track);
}

/// What the overlay's end-of-stream warning asks: synchronous, the first frame is searched
/// whole; live, not until a worker's search has come back and been used.
#[test]
fn a_whole_frame_is_searched_on_the_first_frame_only_when_synchronous() {
    let backend = FakeBackend::new(|_| vec![face(20, AMY)]);
    let mut sync = analyzer(&backend, 0);
    assert!(!sync.whole_frame_searched());
    run(&mut sync, 0, 90).unwrap();
    assert!(sync.whole_frame_searched());

    let (live, named) = live_analyzer_after_a_held_search(&backend, 1, |n| frame_data(n, 90));
    assert!(live.whole_frame_searched(), "{named:?}");
    backend.log().gate = Some(false);
    let mut held = analyzer(&backend, 33);
    run(&mut held, 0, 90).unwrap();
    assert!(
        !held.whole_frame_searched(),
        "the search is still on the worker"
    );
    backend.open_gate();
}

#[test]
fn a_face_is_named_on_the_first_frame_and_followed_under_one_track() {
    let backend = FakeBackend::new(|n| vec![face(20 + n as i32, AMY)]);
    let mut a = analyzer(&backend, 0);
    let mut tracks = Vec::new();
    for n in 0..20 {
        let r = run(&mut a, n, 90).unwrap();
        assert_eq!(names(&r), vec![Some("amy".to_string())], "frame {n}");
        tracks.push(r[0].track);
    }
    tracks.dedup();
    assert_eq!(tracks.len(), 1, "one track: {tracks:?}");
    // Full detections on the first frame and 15 frames later only (the schedule), in the
    // calling thread.
    let log = backend.log();
    let frames: Vec<u32> = log.full_detections.iter().map(|(n, _)| *n).collect();
    assert_eq!(frames, vec![0, 15]);
    let me = std::thread::current().name().unwrap_or("").to_string();
    assert!(log.full_detections.iter().all(|(_, t)| *t == me));
}

#[test]
fn two_faces_of_a_frame_get_two_names_left_to_right() {
    let backend = FakeBackend::new(|_| vec![face(100, AMY), face(10, RAJ)]);
    let mut a = analyzer(&backend, 0);
    let r = run(&mut a, 0, 90).unwrap();
    assert_eq!(names(&r), vec![Some("raj".into()), Some("amy".into())]);
    assert!(r[0].rect.x < r[1].rect.x);
}

#[test]
fn a_cut_ends_the_tracks_and_the_new_shot_is_searched_at_once() {
    let backend = FakeBackend::new(|n| {
        if n < 5 {
            vec![face(20, AMY)]
        } else {
            vec![face(90, RAJ)]
        }
    });
    let mut a = analyzer(&backend, 0);
    let first = run(&mut a, 0, 40).unwrap();
    for n in 1..5 {
        run(&mut a, n, 40).unwrap();
    }
    let after = run(&mut a, 5, 220).unwrap();
    assert_eq!(names(&after), vec![Some("raj".into())]);
    assert_ne!(after[0].track, first[0].track);
}

#[test]
fn an_encoder_that_returns_too_few_encodings_fails_the_frame_instead_of_shifting_names() {
    let backend = FakeBackend::new(|_| vec![face(10, RAJ), face(100, AMY)]);
    backend.log().short_encodings = true;
    let mut a = analyzer(&backend, 0);
    let err = run(&mut a, 0, 90).unwrap_err();
    assert!(err.0.contains("1 encodings for 2 faces"), "{err}");
    backend.log().short_encodings = false;
    // The tracks started over: the next frame is a first frame again.
    let r = run(&mut a, 1, 90).unwrap();
    assert_eq!(names(&r), vec![Some("raj".into()), Some("amy".into())]);
}

/// The live mode with the worker stuck in the detector for frames `0..held` (they still come
/// back, without faces yet), then let go and waited for: the results of frame `held`.
fn live_after_a_held_search(backend: &FakeBackend, held: u32) -> Vec<FaceResult> {
    live_after_a_held_search_in(backend, held, |n| frame_data(n, 90))
}

/// [`live_after_a_held_search`] over frames made by `frame`.
fn live_after_a_held_search_in(
    backend: &FakeBackend,
    held: u32,
    frame: impl Fn(u32) -> Vec<u8>,
) -> Vec<FaceResult> {
    live_analyzer_after_a_held_search(backend, held, frame).1
}

/// [`live_after_a_held_search_in`], and the analyzer, to go on with the next frames.
fn live_analyzer_after_a_held_search(
    backend: &FakeBackend,
    held: u32,
    frame: impl Fn(u32) -> Vec<u8>,
) -> (Analyzer, Vec<FaceResult>) {
    backend.log().gate = Some(false);
    let mut a = analyzer(backend, 33);
    for n in 0..held {
        let r = analyze_data(&mut a, &frame(n)).unwrap();
        assert!(r.is_empty(), "frame {n}");
    }
    backend.open_gate();
    a.wait_for_worker().unwrap();
    let r = analyze_data(&mut a, &frame(held)).unwrap();
    (a, r)
}

/// amy's face, 40 px, at x = 20 + `step` * n on frame n: where it is, and a backend that
/// finds it there.
fn amy_moving(step: i32) -> (impl Fn(u32) -> FaceBox + Copy, FakeBackend) {
    let at = move |n: u32| FaceBox::new(20 + step * n as i32, 30, 40, 40);
    let backend = FakeBackend::new(move |n| {
        vec![FakeFace {
            rect: at(n),
            ..face(0, AMY)
        }]
    });
    (at, backend)
}

/// Frame `n` on grey with a textured square at `rect`: a face the motion maps can follow.
fn frame_with_square(n: u32, rect: FaceBox) -> Vec<u8> {
    let mut data = frame_data(n, 90);
    for y in rect.y.max(0)..(rect.y + rect.height).min(H as i32) {
        for x in rect.x.max(0)..(rect.x + rect.width).min(W as i32) {
            let (i, j) = ((x - rect.x) as usize, (y - rect.y) as usize);
            let v = 40 + ((i * 7 + j * 13) % 23) as u8 * 9;
            let p = (y as usize * W + x as usize) * 4;
            data[p..p + 3].copy_from_slice(&[v, v, v]);
        }
    }
    data
}

#[test]
fn live_mode_never_waits_for_the_full_detection_and_runs_it_on_the_worker() {
    let backend = FakeBackend::new(|n| vec![face(20 + 2 * n as i32, AMY)]);
    // The face was detected on frame 0 at x=20; it is now at x=32 and is shown there, named.
    let r = live_after_a_held_search(&backend, 6);
    assert_eq!(names(&r), vec![Some("amy".into())]);
    assert_eq!(r[0].rect.x, 32);
    let log = backend.log();
    assert!(
        log.full_detections
            .iter()
            .all(|(_, thread)| thread == "faceid-worker"),
        "{:?}",
        log.full_detections
    );
}

#[test]
fn live_mode_with_yunet_finds_a_cuts_faces_on_its_own_frame_and_names_them_when_encoded() {
    let backend = FakeBackend::new(|n| {
        if n < 10 {
            vec![face(20, AMY)]
        } else {
            vec![face(20, RAJ), face(120, AMY)]
        }
    });
    let config = AnalyzerConfig {
        latency_budget_ms: 33,
        detection: DetectionConfig {
            detector: DetectorKind::Yunet,
            ..DetectionConfig::default()
        },
        ..AnalyzerConfig::default()
    };
    let mut a = Analyzer::new(Box::new(backend.clone()), classifier(), config);
    for n in 0..10 {
        run(&mut a, n, 40).unwrap();
        a.wait_for_worker().unwrap();
    }
    // The cut: its whole frame is searched here, in the calling thread, with no upsampling
    // (the tiles go to a worker); the faces are shown once their encodings are back.
    backend.log().full_detections.clear();
    backend.log().upsamples.clear();
    assert!(run(&mut a, 10, 200).unwrap().is_empty());
    let here = std::thread::current().name().unwrap_or("").to_string();
    {
        let log = backend.log();
        assert_eq!(log.full_detections[0], (10, here));
        assert_eq!(log.upsamples[0], 0);
    }
    a.wait_for_worker().unwrap();
    let r = run(&mut a, 11, 200).unwrap();
    assert_eq!(names(&r), vec![Some("raj".into()), Some("amy".into())]);
}

/// A face sharp on frame 0 (the worker's search) and smeared from frame 1 on, `dx` px right of
/// where it was: under dlib's cut, above the weak-detection score.
fn soft_after_the_search(n: u32, dx: i32) -> Vec<FakeFace> {
    let mut f = face(20 + n as i32, AMY);
    if n > 0 {
        f.rect.x += dx;
        f.score = -0.5;
    }
    vec![f]
}

#[test]
fn live_mode_finds_a_searched_face_again_when_it_has_gone_soft_since() {
    let backend = FakeBackend::new(|n| soft_after_the_search(n, 0));
    let r = live_after_a_held_search(&backend, 4);
    assert_eq!(names(&r), vec![Some("amy".into())]);
    assert_eq!(r[0].rect.x, 24);
}

#[test]
fn live_mode_follows_a_searched_face_that_moved_off_its_box_while_the_search_ran() {
    // 8 px a frame: on frame 6, when the search comes back, the face no longer touches the
    // box it was found at on frame 0.
    let (at, backend) = amy_moving(8);
    let r = live_after_a_held_search_in(&backend, 6, |n| frame_with_square(n, at(n)));
    assert_eq!(names(&r), vec![Some("amy".into())]);
    assert_eq!(r[0].rect, at(6));
}

#[test]
fn live_mode_starts_a_searched_face_at_the_speed_it_moved_while_the_search_ran() {
    // 6 px a frame. Found on frame 0, the search comes back on frame 6 and the face is found
    // again there: 36 px on. The frames after, until the next detection round, only move
    // the tracks by their speed: the new track's is the 6 px a frame it came, not zero (a
    // soft face the local detection then missed stayed named on the wall it had passed).
    let (at, backend) = amy_moving(6);
    let frame = |n: u32| frame_with_square(n, at(n));
    let (mut a, r) = live_analyzer_after_a_held_search(&backend, 6, frame);
    assert_eq!(r[0].rect, at(6));
    for n in 7..9 {
        let r = analyze_data(&mut a, &frame(n)).unwrap();
        assert_eq!(names(&r), vec![Some("amy".into())], "frame {n}");
        assert!(
            (r[0].rect.x - at(n).x).abs() <= 1,
            "frame {n}: {:?}",
            r[0].rect
        );
    }
}

/// The synchronous mode on a face that HOG finds only weakly (-0.5) in every frame, moving 4
/// px a frame (so the picture changes where it is), with `encoding`: the names of frames
/// 0 to 5.
fn names_of_a_weak_moving_face(encoding: Encoding) -> Vec<Vec<Option<String>>> {
    let at = |n: u32| FaceBox::new(20 + 4 * n as i32, 30, 40, 40);
    let backend = FakeBackend::new(move |n| {
        vec![FakeFace {
            rect: at(n),
            score: -0.5,
            encoding,
        }]
    });
    let mut a = analyzer(&backend, 0);
    (0..6)
        .map(|n| names(&analyze_data(&mut a, &frame_with_square(n, at(n))).unwrap()))
        .collect()
}

#[test]
fn a_weak_detection_as_close_to_a_persons_photo_as_one_footages_frames_is_taken() {
    // The test model has no motion-blurred copies, so no weak detection looks smeared.
    // amy's own first photo: distance 0, taken once the next frame shows motion there.
    let named = names_of_a_weak_moving_face(person(0.0, AMY));
    assert_eq!(named[0], Vec::<Option<String>>::new());
    assert!(
        named[1..]
            .iter()
            .any(|n| *n == vec![Some("amy".to_string())]),
        "{named:?}"
    );
    // A face that is amy (named on a sharp detection) but not that close is left.
    let mut farther = person(0.0, AMY);
    farther[100] += 0.35;
    let p = classifier().classify(&farther);
    assert!(p.known && p.distance > crate::video::search::SAME_FOOTAGE_DISTANCE);
    let named = names_of_a_weak_moving_face(farther);
    assert!(named.iter().all(|n| n.is_empty()), "{named:?}");
}

#[test]
fn live_mode_follows_a_face_by_its_look_where_the_motion_maps_agree() {
    // Found by the held search on frame 0, again when it comes back (frame 6) and on the next
    // local round (frame 9); from frame 10 on the detector misses it (a turned head), and it
    // moves on at 4 px a frame: its look and the motion maps agree, so it stays followed.
    let at = |n: u32| FaceBox::new(20 + 4 * n as i32, 30, 40, 40);
    let backend = FakeBackend::new(move |n| {
        vec![FakeFace {
            rect: at(n),
            score: if n >= 10 { -5.0 } else { 1.0 },
            ..face(0, AMY)
        }]
    });
    let frame = |n: u32| frame_with_square(n, at(n));
    let (mut a, first) = live_analyzer_after_a_held_search(&backend, 6, frame);
    let later = (7..24).map(|n| (n, analyze_data(&mut a, &frame(n)).unwrap()));
    for (n, r) in std::iter::once((6, first)).chain(later) {
        assert_eq!(names(&r), vec![Some("amy".into())], "frame {n}");
        assert!(r[0].rect.iou(&at(n)) > 0.5, "frame {n}: {:?}", r[0].rect);
    }
}

#[test]
fn live_mode_checks_the_first_frames_weak_detections_on_a_later_frame_with_motion() {
    // Weak (-0.5) in every frame, moving 4 px a frame, as close to amy's photo as a crop of
    // the same video. The first frame's search has no motion to check it with; it goes back
    // to the worker with a later frame's and is named long before the next full search (15).
    let at = |n: u32| FaceBox::new(20 + 4 * n as i32, 30, 40, 40);
    let backend = FakeBackend::new(move |n| {
        vec![FakeFace {
            rect: at(n),
            score: -0.5,
            encoding: person(0.0, AMY),
        }]
    });
    let mut a = analyzer(&backend, 33);
    let first_named = (0..15).find(|&n| {
        let r = analyze_data(&mut a, &frame_with_square(n, at(n))).unwrap();
        a.wait_for_worker().unwrap();
        names(&r) == vec![Some("amy".to_string())]
    });
    assert!(
        first_named.is_some_and(|n| n <= 6),
        "first named on {first_named:?}"
    );
}

#[test]
fn live_mode_does_not_take_a_weak_box_beside_a_searched_face_for_it() {
    // From frame 1 on the only detection is a weak one 25 px to the side (overlap 0.2).
    let backend = FakeBackend::new(|n| soft_after_the_search(n, 25));
    assert!(live_after_a_held_search(&backend, 4).is_empty());
}

#[test]
fn live_mode_does_not_take_a_weak_box_touching_a_face_for_another_face() {
    // Two boxes that touch (overlap 0.07): on frame 0 both are sharp; from frame 1 on the
    // right one is found only weakly.
    let backend = FakeBackend::new(|n| {
        let mut right = face(55, RAJ);
        if n > 0 {
            right.score = -0.5;
        }
        vec![face(20, AMY), right]
    });
    let r = live_after_a_held_search(&backend, 4);
    assert_eq!(names(&r), vec![Some("amy".into())]);
}

#[test]
fn live_mode_encodes_new_faces_of_followed_shots_on_the_worker_too() {
    let backend = FakeBackend::new(|n| vec![face(20 + n as i32, RAJ)]);
    let mut a = analyzer(&backend, 33);
    run(&mut a, 0, 90).unwrap();
    a.wait_for_worker().unwrap();
    for n in 1..40 {
        let r = run(&mut a, n, 90).unwrap();
        assert_eq!(names(&r), vec![Some("raj".into())], "frame {n}");
        a.wait_for_worker().unwrap();
    }
    // Re-encoded now and then (reencode_interval), not on every frame.
    let encodings = backend.log().encodings;
    assert!((2..=12).contains(&encodings), "{encodings} encodings");
}

#[test]
fn live_mode_drops_a_result_that_arrives_after_a_cut() {
    let backend = FakeBackend::new(|n| if n < 3 { vec![face(20, AMY)] } else { vec![] });
    backend.log().gate = Some(false);
    let mut a = analyzer(&backend, 33);
    run(&mut a, 0, 40).unwrap();
    run(&mut a, 1, 40).unwrap();
    // A cut to an empty shot while the worker still looks at frame 0.
    run(&mut a, 3, 220).unwrap();
    backend.open_gate();
    a.wait_for_worker().unwrap();
    for n in 4..10 {
        assert!(run(&mut a, n, 220).unwrap().is_empty(), "frame {n}");
        a.wait_for_worker().unwrap();
    }
}

#[test]
fn a_panic_on_the_worker_becomes_the_frames_error_and_the_analysis_goes_on() {
    let backend = FakeBackend::new(|_| vec![face(20, AMY)]);
    backend.log().panic_on_encode = true;
    let mut a = analyzer(&backend, 33);
    run(&mut a, 0, 90).unwrap();
    let err = a.wait_for_worker().unwrap_err();
    assert!(err.0.contains("panicked"), "{err}");
    assert!(err.0.contains("scripted encoder failure"), "{err}");
    // Both lanes had a job on that frame: the second one fails too.
    while a.wait_for_worker().is_err() {}
    backend.log().panic_on_encode = false;
    a.reset();
    run(&mut a, 1, 90).unwrap();
    a.wait_for_worker().unwrap();
    assert_eq!(
        names(&run(&mut a, 2, 90).unwrap()),
        vec![Some("amy".into())]
    );
}

#[test]
fn a_worker_error_reaches_the_caller_on_a_later_frame() {
    let backend = FakeBackend::new(|_| vec![face(20, AMY)]);
    backend.log().panic_on_encode = true;
    let mut a = analyzer(&backend, 33);
    run(&mut a, 0, 90).unwrap();
    let mut failed = false;
    for n in 1..200 {
        if run(&mut a, n, 90).is_err() {
            failed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(failed, "the worker's panic never reached analyze");
}

#[test]
fn a_wide_shot_whose_faces_are_too_small_for_the_first_pass_gets_a_finer_one() {
    // 20 px faces in a 160-wide frame: the usual pass (one upsample) finds faces from 40 px.
    let small = |x: i32| FakeFace {
        rect: FaceBox::new(x, 40, 20, 20),
        score: 0.5,
        encoding: person(77.0 + x as f32, AMY),
    };
    let backend = FakeBackend::new(move |_| vec![small(20), small(100)]);
    backend.log().size_limited = true;
    let mut a = analyzer(&backend, 0);
    let first = run(&mut a, 0, 90).unwrap();
    assert_eq!(first.len(), 2, "both found at the shot's start: {first:?}");
    assert_eq!(backend.log().upsamples, vec![1, 2]);
    for n in 1..15 {
        assert_eq!(
            run(&mut a, n, 90).unwrap().len(),
            2,
            "followed on frame {n}"
        );
    }
    // Off: nothing is found.
    let backend = FakeBackend::new(move |_| vec![small(20), small(100)]);
    backend.log().size_limited = true;
    let mut a = Analyzer::new(
        Box::new(backend.clone()),
        classifier(),
        AnalyzerConfig {
            find_small_faces: false,
            ..AnalyzerConfig::default()
        },
    );
    assert!(run(&mut a, 0, 90).unwrap().is_empty());
    assert_eq!(backend.log().upsamples, vec![1]);
}

#[test]
fn a_shot_of_ordinary_faces_gets_no_finer_pass() {
    let backend = FakeBackend::new(|n| vec![face(20 + n as i32, AMY)]);
    backend.log().size_limited = true;
    let mut a = analyzer(&backend, 0);
    for n in 0..60 {
        run(&mut a, n, 90).unwrap();
    }
    assert!(
        backend.log().upsamples.iter().all(|&u| u <= 1),
        "{:?}",
        backend.log().upsamples
    );
}

#[test]
fn the_smallest_face_a_detection_finds_follows_its_width_and_upsampling() {
    let mut config = DetectionConfig {
        detection_width: 1024,
        upsample: 1,
        ..DetectionConfig::default()
    };
    assert!((smallest_detectable(&config, 1280, 720) - 50.0).abs() < 1e-9);
    assert!((smallest_detectable(&fine_detection(&config), 1280, 720) - 25.0).abs() < 1e-9);
    config.upsample = 0;
    assert!((smallest_detectable(&config, 640, 360) - 80.0).abs() < 1e-9);
    let big = FaceBox::new(0, 0, 60, 60);
    let tiny = FaceBox::new(0, 0, 30, 30);
    config.upsample = 1;
    assert!(suggests_smaller_faces(&[], &[], &config, (1280, 720), true));
    assert!(!suggests_smaller_faces(
        &[],
        &[],
        &config,
        (1280, 720),
        false
    ));
    assert!(!suggests_smaller_faces(
        &[big],
        &[big],
        &config,
        (1280, 720),
        true
    ));
    assert!(suggests_smaller_faces(
        &[big],
        &[tiny],
        &config,
        (1280, 720),
        false
    ));
}

#[test]
fn yunet_finds_faces_down_to_its_smallest_at_its_tiles_scale() {
    let yunet = DetectionConfig {
        detector: DetectorKind::Yunet,
        upsample: 0,
        ..DetectionConfig::default()
    };
    // 720p fitted into 640: a 32-pixel face in the input is 64 in the frame.
    assert!((smallest_detectable(&yunet, 1280, 720) - 64.0).abs() < 1e-9);
    // Tiles at the short side's scale (640 / 720), then twice that.
    let tiles = DetectionConfig {
        upsample: 1,
        ..yunet
    };
    assert!((smallest_detectable(&tiles, 1280, 720) - 36.0).abs() < 1e-9);
    assert!((smallest_detectable(&fine_detection(&tiles), 1280, 720) - 18.0).abs() < 1e-9);
}
