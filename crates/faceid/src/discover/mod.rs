//! `faceid discover VIDEO -o DIR [-m MODEL]`: who is in a video. The video is decoded
//! (`decodebin ! videoconvert ! appsink`, no encoding), every frame goes through the same
//! analyzer faceidoverlay runs (synchronous mode), [`faceid_core::video::discovery`] collects
//! tracks, encodings and crops and groups the tracks into people, and [`output`] writes one
//! folder of face crops per person, `index.jsonl` and `contact-sheet.jpg`.

mod output;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use faceid_core::detection::{DetectionConfig, DetectorKind, VIDEO_DETECTION_WIDTH};
use faceid_core::encoding::{EncoderId, EncoderKind};
use faceid_core::frame::{FrameRef, PixelLayout};
use faceid_core::model::{Classifier, Model};
use faceid_core::video::analyzer::{Analyzer, AnalyzerConfig};
use faceid_core::video::discovery::{Collector, Grouping, GroupingConfig, Person};
use faceid_dlib::{WeightsConfig, resolve_models_dir};
use gst::prelude::*;
use gstfaceid::backends::{BackendConfig, FaceModels, encoder_of};

use crate::WeightsArgs;
use crate::annotate::graph;
use crate::pipeline::{bgrx_sink, bus_error, link_new_pads_to, make};
use crate::progress::Progress;

#[derive(clap::Args)]
pub struct DiscoverArgs {
    /// Video to look at (any file GStreamer can play).
    input: PathBuf,
    /// Folder to write to: one sub-folder of face crops per person (`person-01`, ... or the
    /// model's names), `index.jsonl` and `contact-sheet.jpg`. Files already there are kept.
    #[arg(short, long, value_name = "DIR")]
    output: PathBuf,
    /// A model: people it knows get folders with their names, the others `person-NN`.
    #[arg(short, long, value_name = "MODEL")]
    model: Option<PathBuf>,
    /// Two groups of tracks are one person while the average distance between their mean
    /// encodings is below this (lower splits more). Default: measured on the video, from how
    /// close the faces on screen together come (at most 0.45).
    #[arg(long, value_name = "DISTANCE")]
    link_distance: Option<f32>,
    /// Leave out tracks shorter than this many seconds (glimpses, false detections).
    #[arg(long, default_value_t = 0.33)]
    min_seconds: f64,
    /// Write the tracks (frames and encodings) as JSON to this file, for analysis.
    #[arg(long, value_name = "FILE", hide = true)]
    dump_tracks: Option<PathBuf>,
    /// Face detector: hog (dlib's, frontal faces) or yunet (ONNX Runtime: also three-quarter
    /// and small faces, faster).
    #[arg(long, default_value = "hog", value_parser = ["hog", "yunet"])]
    detector: String,
    #[command(flatten)]
    weights: WeightsArgs,
}

/// How the analyzer looks at the video: faceidoverlay's defaults, synchronous. Without a
/// model, weak detections are off: they are kept only when recognised as a known person, so
/// with nobody known they would be encoded for nothing.
fn analyzer_config(with_model: bool, detector: DetectorKind) -> AnalyzerConfig {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let defaults = AnalyzerConfig::default();
    AnalyzerConfig {
        weak_detection_score: if with_model {
            defaults.weak_detection_score
        } else {
            0.0
        },
        detection: DetectionConfig {
            detector,
            detection_width: VIDEO_DETECTION_WIDTH,
            threads,
            ..DetectionConfig::default()
        },
        threads,
        latency_budget_ms: 0,
        ..defaults
    }
}

/// A model that knows nobody (every face unknown): discovery without `-m`.
fn empty_model(encoder: &EncoderId) -> Model {
    Model {
        labels: Vec::new(),
        samples: Vec::new(),
        left_out: Vec::new(),
        encoder: encoder.clone(),
        shrinkage: 1.0,
        margin: 0.0,
        unknown_distance: 0.0,
        blur_penalty: 0.0,
        strangers: Vec::new(),
    }
}

pub fn run(args: &DiscoverArgs) -> Result<(), String> {
    if !args.input.is_file() {
        return Err(format!("{} is not a file", args.input.display()));
    }
    let weights_config = WeightsConfig::new(resolve_models_dir(args.weights.models_dir.as_deref()));
    let model = match &args.model {
        Some(path) => Some(
            Model::load(path).map_err(|e| format!("cannot load model {}: {e}", path.display()))?,
        ),
        None => None,
    };
    // With a model, its encoder. Without, dlib's: the grouping's link distance was measured
    // on dlib's encodings, and on SFace's the same rule splits members into 2-4 folders each
    // (bts15: 16 folders for 7 members). The folders hold photos, which `faceid train`
    // encodes with whichever encoder it is told.
    let encoder = match &model {
        Some(model) => encoder_of(model)?,
        None => EncoderKind::DlibResnet,
    };
    let detector = match args.detector.as_str() {
        "yunet" => DetectorKind::Yunet,
        _ => DetectorKind::Hog,
    };
    let models =
        FaceModels::load(&BackendConfig::new(encoder, weights_config).with_detector(detector))?;
    let model = match model {
        Some(model) => {
            model
                .check_encoder(models.encoder_id())
                .map_err(|e| e.to_string())?;
            model
        }
        None => empty_model(models.encoder_id()),
    };
    let out = output::OutputDir::prepare(&args.output)?;
    let frame_time = graph::frame_duration(&args.input);
    let mut analyzer = Analyzer::new(
        Box::new(models.backend()),
        Classifier::new(&model),
        analyzer_config(args.model.is_some(), detector),
    );
    let started = Instant::now();
    let (collector, frames) = collect(args, &mut analyzer)?;
    let analysed = started.elapsed();
    if let Some(path) = &args.dump_tracks {
        output::dump_tracks(path, &collector)?;
    }
    let fps = 1.0 / frame_time.as_secs_f64().max(1e-9);
    let config = GroupingConfig {
        link_distance: args.link_distance,
        min_frames: (args.min_seconds * fps).round().max(1.0) as u64,
        ..GroupingConfig::default()
    };
    let tracks = collector.tracks().count();
    let (people, grouping) = collector.finish(&config);
    let written = out.write(&people, fps)?;
    report(&people, &written, fps, tracks, &grouping);
    println!(
        "{frames} frames in {:.1} s: {:.1} frames/s (the video plays in {:.1} s)",
        analysed.as_secs_f64(),
        frames as f64 / analysed.as_secs_f64().max(1e-9),
        frames as f64 * frame_time.as_secs_f64()
    );
    Ok(())
}

/// Decodes the video and runs every frame through the analyzer into a collector; returns it
/// and the number of frames.
fn collect(args: &DiscoverArgs, analyzer: &mut Analyzer) -> Result<(Collector, u64), String> {
    let pipeline = gst::Pipeline::new();
    let src = gst::ElementFactory::make("filesrc")
        .property("location", &args.input)
        .build()
        .map_err(|e| e.to_string())?;
    let decode = make("decodebin")?;
    let convert = make("videoconvert")?;
    let sink = bgrx_sink(4);
    pipeline
        .add_many([&src, &decode, &convert, sink.upcast_ref()])
        .map_err(|e| e.to_string())?;
    src.link(&decode).map_err(|e| e.to_string())?;
    convert.link(&sink).map_err(|e| e.to_string())?;
    // Set when decodebin has exposed every stream: with no video among them (a text file, an
    // audio file), nothing will ever reach the sink.
    let no_more_pads = Arc::new(AtomicBool::new(false));
    let all_exposed = no_more_pads.clone();
    decode.connect_no_more_pads(move |_| all_exposed.store(true, Ordering::SeqCst));
    let video_linked = link_new_pads_to(&decode, &convert, "video/");
    let bus = pipeline.bus().ok_or("no bus")?;
    let result = (|| {
        pipeline.set_state(gst::State::Playing).map_err(|_| {
            bus_error(&bus, gst::ClockTime::from_seconds(1))
                .map(|e| format!("cannot play {}: {e}", args.input.display()))
                .unwrap_or_else(|| format!("cannot play {}", args.input.display()))
        })?;
        let total = graph::count_frames_hint(&args.input);
        let mut progress = Progress::new("discover");
        let mut collector = Collector::new();
        let mut index = 0u64;
        loop {
            let no_video =
                no_more_pads.load(Ordering::SeqCst) && !video_linked.load(Ordering::SeqCst);
            if let Some(e) = bus_error(&bus, gst::ClockTime::ZERO) {
                // A file with streams but no video (audio only) fails as "not linked" first.
                if no_video {
                    return Err(no_video_stream(&args.input));
                }
                return Err(format!("cannot decode {}: {e}", args.input.display()));
            }
            if no_video {
                return Err(no_video_stream(&args.input));
            }
            let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_mseconds(200)) else {
                if sink.is_eos() {
                    break;
                }
                continue;
            };
            analyse_sample(&sample, index, analyzer, &mut collector)?;
            index += 1;
            let people = collector.tracks().count();
            progress.update(
                index,
                total.max(index),
                &format!("{people} tracks"),
                Duration::from_secs(2),
            );
        }
        progress.update(index, index, "", Duration::ZERO);
        progress.finish();
        if index == 0 {
            return Err(format!(
                "{} has no video frames GStreamer can decode",
                args.input.display()
            ));
        }
        Ok((collector, index))
    })();
    let _ = pipeline.set_state(gst::State::Null);
    result
}

fn no_video_stream(input: &Path) -> String {
    format!(
        "{} has no video stream GStreamer can decode (is it a video file? gst-discoverer-1.0 \
         tells what is in it)",
        input.display()
    )
}

fn analyse_sample(
    sample: &gst::Sample,
    index: u64,
    analyzer: &mut Analyzer,
    collector: &mut Collector,
) -> Result<(), String> {
    let caps = sample.caps().ok_or("a frame without caps")?;
    let info = gst_video::VideoInfo::from_caps(caps).map_err(|e| e.to_string())?;
    let buffer = sample.buffer().ok_or("a sample without a frame")?;
    let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, &info)
        .map_err(|e| format!("cannot read frame {index}: {e}"))?;
    let data = frame.plane_data(0).map_err(|e| e.to_string())?;
    let view = FrameRef::new(
        data,
        info.width() as usize,
        info.height() as usize,
        info.stride()[0] as usize,
        PixelLayout::Bgrx,
    )
    .map_err(|e| format!("frame {index}: {e}"))?;
    // A frame the face backend failed on is skipped (its tracks start over), as faceidoverlay
    // passes it on unlabelled.
    if let Ok(faces) = analyzer.analyze(&view) {
        collector.add_frame(index, &view, &faces, analyzer.encoded_last_frame());
    }
    Ok(())
}

/// What was found, person by person.
fn report(
    people: &[Person],
    written: &[output::Folder],
    fps: f64,
    tracks: usize,
    grouping: &Grouping,
) {
    println!(
        "{} people in {tracks} tracks ({} too short to tell); grouped below distance {:.3} \
         ({} pairs of faces on screen together)",
        people.len(),
        grouping.left_out.len(),
        grouping.link_distance,
        grouping.cannot_link_pairs
    );
    println!(
        "{:<24} {:>7} {:>7} {:>10}",
        "folder", "tracks", "crops", "seconds"
    );
    for (person, folder) in people.iter().zip(written) {
        println!(
            "{:<24} {:>7} {:>7} {:>10.1}",
            folder.name,
            person.tracks.len(),
            folder.crops_written,
            person.frames_shown as f64 / fps
        );
    }
}
