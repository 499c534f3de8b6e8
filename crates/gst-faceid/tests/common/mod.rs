//! Helpers shared by the plugin's integration tests (and, by path, the `faceid` command's):
//! real photos from `samples/`, decoded by GStreamer, and real pipelines around the elements.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Once, OnceLock};

use faceid_core::face_result::parse_lines;
use gst::prelude::*;
use gstfaceid::meta::{FaceMeta, FrameFaces, NamedFace, UNKNOWN};

static INIT: Once = Once::new();

pub fn init() {
    INIT.call_once(|| {
        gst::init().expect("GStreamer initialises");
        gstfaceid::plugin_register_static().expect("plugin registers");
    });
}

/// The checkout this crate is in (every crate is two folders down).
pub fn checkout() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/<crate> inside a checkout")
        .to_path_buf()
}

/// The repository's sample data (copied from the project's shared data, see samples/README.md).
pub fn samples() -> PathBuf {
    checkout().join("samples")
}

/// The bbt people, in the order used everywhere.
pub const BBT: [&str; 8] = [
    "amy",
    "bernadette",
    "howard",
    "leonard",
    "penny",
    "raj",
    "sheldon",
    "stuart",
];

/// `samples/bbt/<person>/<person>N.png` for N in `numbers`.
pub fn bbt_photos(person: &str, numbers: impl IntoIterator<Item = u32>) -> Vec<PathBuf> {
    numbers
        .into_iter()
        .map(|n| {
            samples()
                .join("bbt")
                .join(person)
                .join(format!("{person}{n}.png"))
        })
        .collect()
}

/// First frame of an image or video file as a BGRx sample.
pub fn decode(path: &Path) -> gst::Sample {
    video_frame(path, 0)
}

/// Frame `index` (counting from 0) of a video file as a BGRx sample.
pub fn video_frame(path: &Path, index: usize) -> gst::Sample {
    video_frames(path, index, index).pop().unwrap()
}

/// Frames `first..=last` (counting from 0) of a video file as BGRx samples.
pub fn video_frames(path: &Path, first: usize, last: usize) -> Vec<gst::Sample> {
    init();
    let pipeline = gst::parse::launch(&format!(
        "filesrc location=\"{}\" ! decodebin ! videoconvert ! video/x-raw,format=BGRx ! appsink name=sink sync=false",
        path.display()
    ))
    .expect("decode pipeline")
    .downcast::<gst::Pipeline>()
    .expect("a pipeline");
    let sink = pipeline
        .by_name("sink")
        .and_then(|s| s.downcast::<gst_app::AppSink>().ok())
        .expect("appsink");
    pipeline.set_state(gst::State::Playing).expect("plays");
    let mut frames = Vec::new();
    for index in 0..=last {
        let sample = sink
            .try_pull_sample(gst::ClockTime::from_seconds(30))
            .unwrap_or_else(|| panic!("{} has a frame {index}", path.display()));
        if index >= first {
            frames.push(sample);
        }
    }
    pipeline.set_state(gst::State::Null).expect("stops");
    frames
}

/// The ground-truth face boxes of one frame of `samples/clips/bbt_mv_720p.mp4`:
/// (label, track, [x, y, w, h]).
pub fn clip_ground_truth(frame: usize) -> Vec<(String, u64, [i32; 4])> {
    ground_truth(&samples().join("clips/bbt_mv_720p.gt.jsonl"), frame)
}

/// One face of a `.gt.jsonl` line: (label, track, [x, y, w, h]).
pub type TruthFace = (String, u64, [i32; 4]);

/// A detections (`--detections`) or ground-truth file, read through the type that writes it:
/// faces by frame number.
pub fn face_lines(path: &Path) -> BTreeMap<u64, Vec<NamedFace>> {
    let text = std::fs::read_to_string(path).unwrap();
    parse_lines(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every frame's ground-truth faces in a `.gt.jsonl` file, indexed by frame number (read and
/// parsed once, for tests that look at many frames); a stranger's label is "unknown".
pub fn ground_truth_frames(path: &Path) -> Vec<Vec<TruthFace>> {
    let mut frames: Vec<Vec<TruthFace>> = Vec::new();
    for (frame, faces) in face_lines(path) {
        let frame = frame as usize;
        if frames.len() <= frame {
            frames.resize(frame + 1, Vec::new());
        }
        frames[frame] = faces
            .into_iter()
            .map(|f| {
                let r = f.rect;
                (
                    f.label.unwrap_or_else(|| UNKNOWN.to_string()),
                    f.track.expect("ground truth has tracks"),
                    [r.x, r.y, r.width, r.height],
                )
            })
            .collect();
    }
    frames
}

/// The ground-truth face boxes of one frame in a `.gt.jsonl` file: (label, track, [x, y, w, h]).
pub fn ground_truth(path: &Path, frame: usize) -> Vec<TruthFace> {
    ground_truth_frames(path)
        .into_iter()
        .nth(frame)
        .unwrap_or_else(|| panic!("frame {frame} in the ground truth"))
}

/// A BGRx sample's pixels (mapped by the caller) as a frame for the face pipeline.
pub fn bgrx_view<'a>(sample: &gst::Sample, data: &'a [u8]) -> faceid_core::frame::FrameRef<'a> {
    let info = gst_video::VideoInfo::from_caps(sample.caps().unwrap()).unwrap();
    faceid_core::frame::FrameRef::new(
        data,
        info.width() as usize,
        info.height() as usize,
        info.stride()[0] as usize,
        faceid_core::frame::PixelLayout::Bgrx,
    )
    .unwrap()
}

/// Trains a model of the 8 bbt people on the sample clip's training photos (3 each) into
/// `path`, with or without motion-blurred copies.
pub fn train_clip_model(path: &Path, motion_blur_copies: bool) {
    for person in BBT {
        let mut photos: Vec<_> =
            std::fs::read_dir(samples().join("clips/bbt_mv_720p-train").join(person))
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .collect();
        photos.sort();
        let result = train(
            &photos,
            &[
                ("label", &person),
                ("location", &path.to_str().unwrap()),
                ("motion-blur-copies", &motion_blur_copies),
            ],
        );
        assert!(result.error.is_none(), "{}", result.error_text());
    }
}

/// A pipeline from a `gst-launch-1.0` description (GStreamer initialised, the plugin registered).
pub fn launch(description: &str) -> gst::Pipeline {
    init();
    gst::parse::launch(description)
        .unwrap_or_else(|e| panic!("{description}: {e}"))
        .downcast::<gst::Pipeline>()
        .expect("a pipeline")
}

/// What a pipeline ended with.
#[derive(Debug, Default)]
pub struct RunResult {
    /// Element messages, in order.
    pub messages: Vec<gst::Structure>,
    /// The error message text and debug string, if the pipeline failed.
    pub error: Option<(String, String)>,
    /// Warning message texts, in order.
    pub warnings: Vec<String>,
}

impl RunResult {
    pub fn message(&self, name: &str) -> Option<&gst::Structure> {
        self.messages.iter().find(|s| s.name() == name)
    }

    pub fn error_text(&self) -> String {
        self.error
            .as_ref()
            .map(|(m, d)| format!("{m} | {d}"))
            .unwrap_or_default()
    }
}

/// Runs `pipeline` to EOS or error (60 s at most), collecting element messages.
pub fn run(pipeline: &gst::Pipeline) -> RunResult {
    let bus = pipeline.bus().expect("bus");
    let mut result = RunResult::default();
    if pipeline.set_state(gst::State::Playing).is_err() {
        // The error message is on the bus.
    }
    for msg in bus.iter_timed(gst::ClockTime::from_seconds(600)) {
        match msg.view() {
            gst::MessageView::Element(e) => {
                if let Some(s) = e.structure() {
                    result.messages.push(s.to_owned());
                }
            }
            gst::MessageView::Error(e) => {
                result.error = Some((
                    e.error().to_string(),
                    e.debug().map(|d| d.to_string()).unwrap_or_default(),
                ));
                break;
            }
            gst::MessageView::Warning(w) => result.warnings.push(w.error().to_string()),
            gst::MessageView::Eos(_) => break,
            _ => {}
        }
    }
    pipeline.set_state(gst::State::Null).expect("stops");
    result
}

/// Pushes the first frame of each file through `appsrc ! videoconvert ! faceidtrain` with
/// the given properties. The encoder is dlib's unless the properties say (`encoder`): these
/// tests' figures are dlib's; SFace, the default, has its own (`sface.rs`, `lookalikes.rs`).
pub fn train(files: &[PathBuf], properties: &[(&str, &dyn ToValue)]) -> RunResult {
    init();
    let pipeline = gst::Pipeline::new();
    let src = gst_app::AppSrc::builder().format(gst::Format::Time).build();
    let convert = gst::ElementFactory::make("videoconvert").build().unwrap();
    let train = gst::ElementFactory::make("faceidtrain").build().unwrap();
    train.set_property("encoder", "dlib");
    for (name, value) in properties {
        train.set_property(name, value.to_value());
    }
    pipeline
        .add_many([src.upcast_ref(), &convert, &train])
        .unwrap();
    gst::Element::link_many([src.upcast_ref(), &convert, &train]).unwrap();
    let samples: Vec<gst::Sample> = files.iter().map(|f| decode(f)).collect();
    let src_clone = src.clone();
    std::thread::spawn(move || {
        for (i, sample) in samples.into_iter().enumerate() {
            let mut buffer = sample.buffer().unwrap().copy();
            buffer
                .make_mut()
                .set_pts(gst::ClockTime::from_seconds(i as u64));
            let sample = gst::Sample::builder()
                .buffer(&buffer)
                .caps(&sample.caps_owned().unwrap())
                .build();
            if src_clone.push_sample(&sample).is_err() {
                return;
            }
        }
        let _ = src_clone.end_of_stream();
    });
    run(&pipeline)
}

/// A model of the 8 bbt people trained on all 5 photos each, built once per test binary.
pub fn bbt_model() -> &'static Path {
    static MODEL: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &MODEL
        .get_or_init(|| {
            init();
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("bbt.faceid");
            for person in BBT {
                let result = train(
                    &bbt_photos(person, 1..=5),
                    &[("label", &person), ("location", &path.to_str().unwrap())],
                );
                assert!(
                    result.error.is_none(),
                    "training {person}: {}",
                    result.error_text()
                );
            }
            (dir, path)
        })
        .1
}

/// The faces faceidoverlay reported in a buffer's ROI metas: (x, y, w, h, label or None).
pub fn roi_faces(buffer: &gst::BufferRef) -> Vec<(u32, u32, u32, u32, Option<String>)> {
    NamedFace::all_in_buffer(buffer)
        .into_iter()
        .map(|f| {
            let r = f.rect;
            (
                r.x as u32,
                r.y as u32,
                r.width as u32,
                r.height as u32,
                f.label,
            )
        })
        .collect()
}

/// The faces of every `faceid` message of a run, frame by frame.
pub fn frames_of(result: &RunResult) -> Vec<FrameFaces> {
    result
        .messages
        .iter()
        .filter_map(|s| FrameFaces::from_structure(s))
        .collect()
}

/// A `faceidoverlay` to build for a Harness, in the synchronous mode: a Harness answers the
/// latency query as live, and the tests of naming are of the synchronous mode, deterministic
/// (the live mode has tests of its own).
pub fn synchronous_overlay<'a>() -> gst::element_factory::ElementBuilder<'a> {
    gst::ElementFactory::make("faceidoverlay").property("latency-budget", 0i32)
}
