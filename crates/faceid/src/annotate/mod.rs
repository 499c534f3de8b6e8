//! `faceid annotate INPUT -m MODEL -o OUTPUT`: decode, `faceidoverlay`, encode, and mux with
//! the original audio stream copied untouched (re-encoded only when the container cannot take
//! it), and with `--embed-subtitles` a subtitle track naming who is on screen. Written to a
//! temporary name and renamed at the end. The pipeline is [`graph`]; what is done with each
//! frame, [`consumers`].

pub mod consumers;
mod frame_times;
pub mod graph;

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use faceid_core::model::write_atomically;
use faceid_core::report::subtitles;
use gst::prelude::*;

use crate::WeightsArgs;
use crate::pipeline::{CtrlC, RunEnd, Watch, make, overlay, run_to_eos};
use crate::progress::Progress;
use consumers::{Cues, DetectionsFile, FrameConsumer, lock};
use frame_times::FrameTimes;

#[derive(clap::Args)]
pub struct AnnotateArgs {
    /// Video to annotate (any file GStreamer can play).
    input: PathBuf,
    /// Model file from `faceid train` or faceidtrain.
    #[arg(short, long, value_name = "MODEL")]
    model: PathBuf,
    /// Output video; the container follows the extension: .mp4 and .mkv (H.264), .webm (VP8;
    /// audio re-encoded to Opus when it is not already Vorbis or Opus).
    #[arg(
        short,
        long,
        value_name = "OUTPUT",
        required_unless_present = "no_video"
    )]
    output: Option<PathBuf>,
    /// Also write who is on screen as timed subtitles, placed near the face: WebVTT, or SRT
    /// when the name ends in .srt. Plays in any player next to the video, no re-encoding.
    #[arg(long, value_name = "FILE.vtt")]
    subtitles: Option<PathBuf>,
    /// Also put who is on screen into the output video as a subtitle track (MP4: tx3g, MKV:
    /// UTF-8 text; WebM cannot carry one), timed like --subtitles, without positions. Players
    /// show it when subtitles are switched on.
    #[arg(long, conflicts_with = "no_video")]
    embed_subtitles: bool,
    /// Only analyse (no encoding, no output video): for --detections, and to measure speed.
    #[arg(long)]
    no_video: bool,
    /// Play the video at its own speed, as a player or a live host would (frames handed to a
    /// sink that waits for each one's time), instead of as fast as the analysis goes: with
    /// --no-video, to see the live mode as a live host gets it.
    #[arg(long, requires = "no_video")]
    realtime: bool,
    /// Scale the video to WIDTHxHEIGHT before the overlay (e.g. 1920x1080).
    #[arg(long, value_name = "WxH")]
    resize: Option<String>,
    /// Also write one JSON line per frame: {"frame", "faces": [{"box", "label", "confident", "confidence", "best_match", "distance", "track"}]}.
    #[arg(long, value_name = "FILE.jsonl")]
    detections: Option<PathBuf>,
    /// Video quality: constant-quality level, lower is better and bigger (x264 quantizer, 18-28
    /// is usual; VP8 cq-level for .webm).
    #[arg(long, default_value_t = 20)]
    quality: u32,
    /// Extra faceidoverlay properties, e.g. --set threshold=0.7 --set show-confidences=false
    /// --set known-color=0xff00ffff (colours are 0xAARRGGBB).
    #[arg(long = "set", value_name = "PROPERTY=VALUE")]
    overlay_properties: Vec<String>,
    #[command(flatten)]
    weights: WeightsArgs,
}

/// The output video's final and temporary names.
struct OutputFile {
    path: PathBuf,
    partial: PathBuf,
}

impl OutputFile {
    /// Where `args` writes, or `None` for `--no-video`; refuses to overwrite the input.
    fn of(args: &AnnotateArgs) -> Result<Option<OutputFile>, String> {
        let (Some(path), false) = (&args.output, args.no_video) else {
            return Ok(None);
        };
        if let (Ok(a), Ok(b)) = (args.input.canonicalize(), path.canonicalize())
            && a == b
        {
            return Err("the output would overwrite the input: choose another output name".into());
        }
        let file_name = path
            .file_name()
            .ok_or_else(|| format!("{} is not a file name", path.display()))?;
        Ok(Some(OutputFile {
            path: path.clone(),
            partial: path.with_file_name(format!(".{}.partial", file_name.to_string_lossy())),
        }))
    }
}

/// The pipeline of `args`: its overlay, the muxer (when writing a video) and the consumers of
/// each frame.
struct Annotation {
    pipeline: gst::Pipeline,
    overlay: gst::Element,
    detections: Option<Arc<Mutex<DetectionsFile>>>,
    cues: Arc<Mutex<Cues>>,
}

impl Annotation {
    fn build(args: &AnnotateArgs, output: Option<&OutputFile>) -> Result<Annotation, String> {
        let pipeline = gst::Pipeline::new();
        let src = gst::ElementFactory::make("filesrc")
            .property("location", &args.input)
            .build()
            .map_err(|e| e.to_string())?;
        let parse = make("parsebin")?;
        pipeline
            .add_many([&src, &parse])
            .map_err(|e| e.to_string())?;
        src.link(&parse).map_err(|e| e.to_string())?;
        let mux = match output {
            Some(out) => {
                let mux = graph::muxer_for(&out.path)?;
                let sink = gst::ElementFactory::make("filesink")
                    .property("location", &out.partial)
                    .build()
                    .map_err(|e| e.to_string())?;
                pipeline
                    .add_many([&mux, &sink])
                    .map_err(|e| e.to_string())?;
                mux.link(&sink).map_err(|e| e.to_string())?;
                Some(mux)
            }
            None => None,
        };
        let track = match (&mux, args.embed_subtitles) {
            (Some(mux), true) => Some(graph::subtitle_track(&pipeline, mux)?),
            _ => None,
        };
        // The video branch, built now so that errors (missing model, weights) come early.
        let overlay = overlay(
            &args.model,
            args.weights.models_dir.as_deref(),
            &args.overlay_properties,
        )?;
        let overlay_queue = make("queue")?;
        let mut head = vec![overlay_queue.clone()];
        if let Some(size) = &args.resize {
            head.extend(graph::resize(size)?);
        }
        head.push(make("videoconvert")?);
        head.push(overlay.clone());
        graph::video_chain(
            &pipeline,
            head,
            mux.as_ref(),
            args.quality,
            track.is_some(),
            args.realtime,
        )?;
        graph::route_streams(&pipeline, &parse, mux.as_ref(), &overlay_queue)?;
        let detections = match &args.detections {
            Some(path) => Some(Arc::new(Mutex::new(DetectionsFile::create(path)?))),
            None => None,
        };
        Ok(Annotation {
            pipeline,
            overlay,
            detections,
            cues: Arc::new(Mutex::new(Cues::new(track))),
        })
    }
}

pub fn run(args: &AnnotateArgs) -> Result<(), String> {
    if !args.input.is_file() {
        return Err(format!("{} is not a file", args.input.display()));
    }
    let output = OutputFile::of(args)?;
    let annotation = Annotation::build(args, output.as_ref())?;
    let mut consumers: Vec<Arc<Mutex<dyn FrameConsumer>>> = vec![annotation.cues.clone()];
    if let Some(d) = &annotation.detections {
        consumers.push(d.clone());
    }
    let frames = consumers::feed_from(&annotation.overlay, consumers)?;
    let frame_times = FrameTimes::attach(&annotation.overlay)?;
    let started = std::time::Instant::now();
    let mut progress = Progress::new("annotate");
    let done = || frames.load(Ordering::Relaxed);
    let watch = Watch {
        progress: &mut progress,
        done: &done,
        total: graph::count_frames_hint(&args.input),
        unit: "frames",
    };
    let result = run_to_eos(
        &annotation.pipeline,
        Some(watch),
        &mut |_| {},
        CtrlC::FinishesEarly,
    );
    let seconds = started.elapsed().as_secs_f64();
    let _ = annotation.pipeline.set_state(gst::State::Null);
    if let Some(d) = &annotation.detections {
        lock(d).flush();
    }
    let frames = frames.load(Ordering::Relaxed);
    let end = match result {
        Ok(end) => end,
        Err(e) => {
            if let Some(out) = &output {
                let _ = std::fs::remove_file(&out.partial);
            }
            return Err(match output.as_ref() {
                Some(out) => format!("{e}; {} was not written", out.path.display()),
                None => e,
            });
        }
    };
    if end == RunEnd::Interrupted {
        println!("stopped by Ctrl-C after {frames} frames: what follows covers those frames");
    }
    let cues = lock(&annotation.cues).finish();
    if let Some(path) = &args.subtitles {
        let text = subtitles::render(&cues, subtitles::Format::from_path(path));
        write_atomically(path, text.as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        println!("wrote {} ({} cues)", path.display(), cues.len());
    }
    let on_screen = subtitles::screen_time(&cues);
    if !on_screen.is_empty() {
        println!("{:<24} {:>9}", "on screen", "seconds");
        for (label, ns) in on_screen {
            println!("{label:<24} {:>9.1}", ns as f64 / 1e9);
        }
    }
    if let Some(out) = &output {
        std::fs::rename(&out.partial, &out.path)
            .map_err(|e| format!("cannot write {}: {e}", out.path.display()))?;
        println!("wrote {} ({frames} frames)", out.path.display());
    }
    if let Some(line) = lock(&frame_times).summary(graph::frame_duration(&args.input)) {
        println!("{line}");
    }
    println!(
        "{frames} frames in {seconds:.1} s: {:.1} frames/s, peak memory {} MiB",
        frames as f64 / seconds.max(1e-9),
        graph::peak_memory_kib() / 1024
    );
    Ok(())
}
