//! `faceid annotate INPUT -m MODEL -o OUTPUT`: decode, `faceidoverlay`, encode, and mux with
//! the original audio stream copied untouched (re-encoded only when the container cannot take
//! it), and with `--embed-subtitles` a subtitle track naming who is on screen. Written to a
//! temporary name and renamed at the end.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gst::prelude::*;

use gstfaceid::subtitles::{self, CueBuilder, FrameFace, TrackSample, TrackWriter};

use crate::progress::Progress;
use crate::{WeightsArgs, bus_error};

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
    /// Scale the video to WIDTHxHEIGHT before the overlay (e.g. 1920x1080).
    #[arg(long, value_name = "WxH")]
    resize: Option<String>,
    /// Also write one JSON line per frame: {"frame", "faces": [{"box", "label", "confidence", "best_match", "distance", "track"}]}.
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

fn make(factory: &str) -> Result<gst::Element, String> {
    gst::ElementFactory::make(factory).build().map_err(|_| {
        format!(
            "GStreamer element {factory} is missing: install the GStreamer plugins (see README)"
        )
    })
}

/// Muxer for the output's extension.
fn muxer_for(output: &Path) -> Result<gst::Element, String> {
    let ext = output
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "mp4" | "m4v" | "mov" => make("mp4mux"),
        "mkv" => make("matroskamux"),
        "webm" => make("webmmux"),
        _ => Err(format!(
            "cannot tell the container from {}: use .mp4, .mkv or .webm",
            output.display()
        )),
    }
}

/// Sets `PROPERTY=VALUE` strings (`--set`) on faceidoverlay; a bad name or value is an error
/// that says what is wrong, never a panic.
pub fn apply_settings(overlay: &gst::Element, settings: &[String]) -> Result<(), String> {
    use gst::prelude::GstValueExt;
    for setting in settings {
        let (name, value) = setting
            .split_once('=')
            .ok_or_else(|| format!("--set {setting}: expected PROPERTY=VALUE"))?;
        let pspec = overlay.find_property(name).ok_or_else(|| {
            format!("faceidoverlay has no property {name:?} (see gst-inspect-1.0 faceidoverlay)")
        })?;
        let parsed = gst::glib::Value::deserialize_with_pspec(value, &pspec)
            .ok()
            .filter(|v| in_range(&pspec, v))
            .ok_or_else(|| {
                format!("--set {setting}: {value:?} is not a valid value for {name} (see gst-inspect-1.0 faceidoverlay)")
            })?;
        overlay.set_property_from_value(name, &parsed);
    }
    Ok(())
}

/// Whether a numeric value lies within the property's range (other kinds: always).
fn in_range(pspec: &gst::glib::ParamSpec, value: &gst::glib::Value) -> bool {
    use gst::glib::{ParamSpecDouble, ParamSpecUInt};
    if let Some(p) = pspec.downcast_ref::<ParamSpecDouble>() {
        value
            .get::<f64>()
            .is_ok_and(|v| v >= p.minimum() && v <= p.maximum())
    } else if let Some(p) = pspec.downcast_ref::<ParamSpecUInt>() {
        value
            .get::<u32>()
            .is_ok_and(|v| v >= p.minimum() && v <= p.maximum())
    } else {
        true
    }
}

fn is_webm(mux: &gst::Element) -> bool {
    mux.factory().is_some_and(|f| f.name() == "webmmux")
}

fn is_mp4(mux: &gst::Element) -> bool {
    mux.factory().is_some_and(|f| f.name() == "mp4mux")
}

/// Longest piece of the embedded subtitle track: a name on screen for longer is written in
/// pieces of this length, so that the muxer never waits more than about this for the track.
const MAX_TRACK_SAMPLE_NS: u64 = 5_000_000_000;

/// The subtitle track muxed into the output: an appsrc fed, from faceidoverlay's streaming
/// thread, with the samples the cues settle into.
struct EmbeddedTrack {
    writer: TrackWriter,
    src: gst_app::AppSrc,
    /// MP4 (tx3g): "nobody" is an empty sample (mp4mux drops a gap before the first sample);
    /// Matroska: a gap event.
    empty_samples: bool,
}

impl EmbeddedTrack {
    /// Adds an appsrc for the track to the pipeline, linked into the muxer's subtitle pad.
    fn new(pipeline: &gst::Pipeline, mux: &gst::Element) -> Result<Self, String> {
        if is_webm(mux) {
            return Err("WebM cannot carry a subtitle track: use .mkv or .mp4 with \
                 --embed-subtitles, or write the names next to the video with --subtitles FILE.vtt"
                .into());
        }
        let src = gst_app::AppSrc::builder()
            .caps(
                &gst::Caps::builder("text/x-raw")
                    .field("format", "utf8")
                    .build(),
            )
            .format(gst::Format::Time)
            // Bounded by design: at most one sample per MAX_TRACK_SAMPLE_NS of video.
            .max_bytes(0)
            .build();
        pipeline.add(&src).map_err(|e| e.to_string())?;
        src.link_pads(None, mux, Some("subtitle_%u"))
            .map_err(|e| format!("cannot put the subtitle track into the output: {e}"))?;
        Ok(EmbeddedTrack {
            writer: TrackWriter::new(MAX_TRACK_SAMPLE_NS),
            src,
            empty_samples: is_mp4(mux),
        })
    }

    /// Pushes what the cues settled into since the last frame (all of it at `eos`, then EOS).
    /// The cues are in running time, which the muxer interleaves by.
    fn advance(&mut self, builder: &CueBuilder, eos: bool) {
        for TrackSample {
            start_ns,
            end_ns,
            text,
        } in self.writer.advance(builder, eos)
        {
            let start = gst::ClockTime::from_nseconds(start_ns);
            let duration = gst::ClockTime::from_nseconds(end_ns.saturating_sub(start_ns));
            if text.is_empty() && !self.empty_samples {
                self.src
                    .send_event(gst::event::Gap::builder(start).duration(duration).build());
                continue;
            }
            let mut buffer = gst::Buffer::from_mut_slice(text.into_bytes());
            if let Some(b) = buffer.get_mut() {
                b.set_pts(start);
                b.set_duration(duration);
            }
            // Fails only when the pipeline is stopping.
            let _ = self.src.push_buffer(buffer);
        }
        if eos {
            let _ = self.src.end_of_stream();
        }
    }
}

/// The video encoder for the container: H.264 (x264) for MP4 and Matroska, VP8 for WebM.
/// `quality` is a constant-quality level, lower is better (x264 quantizer, VP8 cq-level).
fn video_encoder(mux: &gst::Element, quality: u32) -> Result<gst::Element, String> {
    if is_webm(mux) {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as i32;
        gst::ElementFactory::make("vp8enc")
            .property_from_str("end-usage", "cq")
            .property("cq-level", quality.min(63) as i32)
            .property("deadline", 1i64)
            .property("cpu-used", 4i32)
            .property("threads", threads)
            .build()
            .map_err(|_| {
                "GStreamer element vp8enc is missing: install gstreamer1.0-plugins-good".into()
            })
    } else {
        gst::ElementFactory::make("x264enc")
            .property_from_str("pass", "quant")
            .property("quantizer", quality.min(50))
            .property_from_str("speed-preset", "veryfast")
            .build()
            .map_err(|_| {
                "GStreamer element x264enc is missing: install gstreamer1.0-plugins-ugly".into()
            })
    }
}

/// One JSON line for a frame, from the ROI metas faceidoverlay attached.
fn detections_line(frame: u64, buffer: &gst::BufferRef) -> String {
    let faces: Vec<serde_json::Value> = buffer
        .iter_meta::<gst_video::VideoRegionOfInterestMeta>()
        .filter(|m| m.roi_type() == "face")
        .map(|m| {
            let (x, y, w, h) = m.rect();
            let param = m.param("faceid");
            let known = param
                .and_then(|p| p.get::<bool>("known").ok())
                .unwrap_or(false);
            let label = param
                .and_then(|p| p.get::<String>("label").ok())
                .filter(|_| known);
            let confidence = param.and_then(|p| p.get::<f64>("confidence").ok());
            let distance = param.and_then(|p| p.get::<f64>("distance").ok());
            let best_match = param.and_then(|p| p.get::<String>("best-match").ok());
            let track = param
                .and_then(|p| p.get::<i64>("track").ok())
                .filter(|t| *t >= 0);
            let mut face = serde_json::json!({
                "box": [x, y, w, h],
                "label": label,
                "confidence": confidence,
                "best_match": best_match,
                "distance": distance,
            });
            if let Some(t) = track {
                face["track"] = t.into();
            }
            face
        })
        .collect();
    serde_json::json!({ "frame": frame, "faces": faces }).to_string()
}

/// The output video's final and temporary names.
struct OutputFile {
    path: PathBuf,
    partial: PathBuf,
}

pub fn run(args: &AnnotateArgs) -> Result<(), String> {
    if !args.input.is_file() {
        return Err(format!("{} is not a file", args.input.display()));
    }
    let output = match (&args.output, args.no_video) {
        (Some(path), false) => {
            if let (Ok(a), Ok(b)) = (args.input.canonicalize(), path.canonicalize())
                && a == b
            {
                return Err(
                    "the output would overwrite the input: choose another output name".into(),
                );
            }
            let file_name = path
                .file_name()
                .ok_or_else(|| format!("{} is not a file name", path.display()))?;
            Some(OutputFile {
                path: path.clone(),
                partial: path.with_file_name(format!(".{}.partial", file_name.to_string_lossy())),
            })
        }
        _ => None,
    };

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
    let mux = match &output {
        Some(out) => {
            let mux = muxer_for(&out.path)?;
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
        (Some(mux), true) => Some(EmbeddedTrack::new(&pipeline, mux)?),
        _ => None,
    };

    // The video branch, built now so that errors (missing model, weights) come early.
    let video_queue = make("queue")?;
    let decode = make("decodebin")?;
    let overlay_queue = make("queue")?;
    let convert_in = make("videoconvert")?;
    let mut overlay = gst::ElementFactory::make("faceidoverlay").property("model", &args.model);
    if let Some(dir) = &args.weights.models_dir {
        overlay = overlay.property("models-dir", dir);
    }
    let overlay = overlay.build().map_err(|e| e.to_string())?;
    apply_settings(&overlay, &args.overlay_properties)?;
    let mut chain = vec![overlay_queue.clone()];
    if let Some(size) = &args.resize {
        let (w, h) = size
            .split_once('x')
            .and_then(|(w, h)| Some((w.parse::<i32>().ok()?, h.parse::<i32>().ok()?)))
            .ok_or_else(|| format!("--resize {size}: expected WIDTHxHEIGHT"))?;
        chain.push(make("videoscale")?);
        chain.push(
            gst::ElementFactory::make("capsfilter")
                .property(
                    "caps",
                    gst_video::VideoCapsBuilder::new()
                        .width(w)
                        .height(h)
                        .build(),
                )
                .build()
                .map_err(|e| e.to_string())?,
        );
    }
    chain.push(convert_in);
    chain.push(overlay.clone());
    match &mux {
        Some(mux) => {
            let encoder = video_encoder(mux, args.quality)?;
            chain.push(make("videoconvert")?);
            chain.push(encoder);
            let encode_queue = make("queue")?;
            if track.is_some() {
                // The muxer waits for the subtitle track, which lags the frames by up to a few
                // seconds (MAX_TRACK_SAMPLE_NS and the cue thresholds): let the (small) encoded
                // frames wait meanwhile instead of stalling the overlay that feeds the track.
                encode_queue.set_property("max-size-buffers", 0u32);
                encode_queue.set_property("max-size-time", 0u64);
                encode_queue.set_property("max-size-bytes", 64u32 * 1024 * 1024);
            }
            chain.push(encode_queue.clone());
            pipeline.add_many(&chain).map_err(|e| e.to_string())?;
            gst::Element::link_many(&chain).map_err(|e| e.to_string())?;
            encode_queue
                .link_pads(None, mux, Some("video_%u"))
                .map_err(|e| format!("cannot put the encoded video into the output: {e}"))?;
        }
        None => {
            chain.push(
                gst::ElementFactory::make("fakesink")
                    .property("sync", false)
                    .build()
                    .map_err(|e| e.to_string())?,
            );
            pipeline.add_many(&chain).map_err(|e| e.to_string())?;
            gst::Element::link_many(&chain).map_err(|e| e.to_string())?;
        }
    }
    pipeline
        .add_many([&video_queue, &decode])
        .map_err(|e| e.to_string())?;
    video_queue.link(&decode).map_err(|e| e.to_string())?;
    {
        let overlay_queue = overlay_queue.downgrade();
        decode.connect_pad_added(move |_, pad| {
            let is_video = pad
                .current_caps()
                .and_then(|c| c.structure(0).map(|s| s.name().starts_with("video/")))
                .unwrap_or(false);
            if let Some(q) = overlay_queue.upgrade()
                && let Some(sink_pad) = q.static_pad("sink")
                && is_video
                && !sink_pad.is_linked()
            {
                let _ = pad.link(&sink_pad);
            }
        });
    }

    // Streams out of parsebin: the first video goes to the decoder; audio is copied into the
    // container when it takes it, else decoded and re-encoded to AAC; anything else is dropped.
    let video_linked = Arc::new(Mutex::new(false));
    {
        let pipeline_weak = pipeline.downgrade();
        let mux = mux.as_ref().map(|m| m.downgrade());
        let video_queue = video_queue.downgrade();
        parse.connect_pad_added(move |_, pad| {
            let (Some(pipeline), Some(video_queue)) =
                (pipeline_weak.upgrade(), video_queue.upgrade())
            else {
                return;
            };
            let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
            let Some(name) = caps.structure(0).map(|s| s.name().to_string()) else {
                return;
            };
            if name.starts_with("video/") {
                let mut linked = video_linked.lock().unwrap_or_else(|e| e.into_inner());
                if !*linked && let Some(sink_pad) = video_queue.static_pad("sink") {
                    *linked = pad.link(&sink_pad).is_ok();
                }
            } else if name.starts_with("audio/")
                && let Some(mux) = mux.as_ref().and_then(|m| m.upgrade())
            {
                let _ = link_audio(&pipeline, &mux, pad);
            }
        });
    }

    // Detections and frame counting, from the metas on faceidoverlay's output.
    let frames = Arc::new(AtomicU64::new(0));
    let writer: Option<Arc<Mutex<BufWriter<File>>>> = match &args.detections {
        Some(path) => Some(Arc::new(Mutex::new(BufWriter::new(
            File::create(path).map_err(|e| format!("cannot write {}: {e}", path.display()))?,
        )))),
        None => None,
    };
    let cues: Arc<Mutex<Option<CueBuilder>>> = Arc::new(Mutex::new(None));
    {
        let frames = frames.clone();
        let writer = writer.clone();
        let cues = cues.clone();
        let track = Mutex::new(track);
        overlay
            .static_pad("src")
            .ok_or("faceidoverlay has no src pad")?
            .add_probe(
                gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM,
                move |pad, info| {
                    let eos = match info.event() {
                        Some(event) => event.type_() == gst::EventType::Eos,
                        None => false,
                    };
                    if let Some(buffer) = info.buffer() {
                        let frame = frames.fetch_add(1, Ordering::Relaxed);
                        if let Some(w) = &writer {
                            let line = detections_line(frame, buffer);
                            let mut w = w.lock().unwrap_or_else(|e| e.into_inner());
                            let _ = writeln!(w, "{line}");
                        }
                        add_cue_frame(&cues, pad, buffer);
                    } else if !eos {
                        return gst::PadProbeReturn::Ok;
                    }
                    let mut track = track.lock().unwrap_or_else(|e| e.into_inner());
                    if let Some(track) = track.as_mut() {
                        let cues = cues.lock().unwrap_or_else(|e| e.into_inner());
                        match cues.as_ref() {
                            Some(builder) => track.advance(builder, eos),
                            None if eos => {
                                let _ = track.src.end_of_stream();
                            }
                            None => {}
                        }
                    }
                    gst::PadProbeReturn::Ok
                },
            );
    }

    let total_frames = count_frames_hint(&args.input);
    let bus = pipeline.bus().ok_or("no bus")?;
    let started = std::time::Instant::now();
    let result = (|| {
        pipeline.set_state(gst::State::Playing).map_err(|_| {
            bus_error(&bus, gst::ClockTime::from_seconds(1))
                .unwrap_or_else(|| "could not start".into())
        })?;
        let mut progress = Progress::new("annotate");
        loop {
            let msg = bus.timed_pop_filtered(
                gst::ClockTime::from_mseconds(500),
                &[gst::MessageType::Eos, gst::MessageType::Error],
            );
            match msg.as_ref().map(|m| m.view()) {
                Some(gst::MessageView::Eos(_)) => break,
                Some(gst::MessageView::Error(e)) => {
                    let debug = e.debug().map(|d| format!(" ({d})")).unwrap_or_default();
                    return Err(format!("{}{debug}", e.error()));
                }
                _ => {
                    let done = frames.load(Ordering::Relaxed);
                    progress.update(
                        done,
                        total_frames.max(done),
                        "frames",
                        Duration::from_secs(2),
                    );
                }
            }
        }
        let done = frames.load(Ordering::Relaxed);
        progress.update(done, done, "frames", Duration::ZERO);
        progress.finish();
        Ok(())
    })();
    let seconds = started.elapsed().as_secs_f64();
    let _ = pipeline.set_state(gst::State::Null);
    if let Some(w) = &writer {
        let _ = w.lock().unwrap_or_else(|e| e.into_inner()).flush();
    }
    let frames = frames.load(Ordering::Relaxed);
    if result.is_ok() {
        let cues = cues
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .map(CueBuilder::finish)
            .unwrap_or_default();
        if let Some(path) = &args.subtitles {
            let text = subtitles::render(&cues, subtitles::Format::from_path(path));
            gstfaceid::model::write_atomically(path, text.as_bytes())
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
    }
    match (result, &output) {
        (Ok(()), Some(out)) => {
            std::fs::rename(&out.partial, &out.path)
                .map_err(|e| format!("cannot write {}: {e}", out.path.display()))?;
            println!("wrote {} ({frames} frames)", out.path.display());
        }
        (Ok(()), None) => {}
        (Err(e), out) => {
            if let Some(out) = out {
                let _ = std::fs::remove_file(&out.partial);
            }
            return Err(e);
        }
    }
    println!(
        "{frames} frames in {seconds:.1} s: {:.1} frames/s, peak memory {} MiB",
        frames as f64 / seconds.max(1e-9),
        peak_memory_kib() / 1024
    );
    Ok(())
}

/// Peak resident memory of this process (VmHWM), in KiB.
fn peak_memory_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// Feeds one frame's named faces (from the ROI metas) to the subtitle cue builder.
fn add_cue_frame(cues: &Mutex<Option<CueBuilder>>, pad: &gst::Pad, buffer: &gst::BufferRef) {
    let mut cues = cues.lock().unwrap_or_else(|e| e.into_inner());
    if cues.is_none() {
        let Some(info) = pad
            .current_caps()
            .and_then(|c| gst_video::VideoInfo::from_caps(&c).ok())
        else {
            return;
        };
        // Names shown for less than 0.3 s are flicker; gaps under 0.25 s do not split a cue.
        *cues = Some(CueBuilder::new(
            info.width(),
            info.height(),
            300_000_000,
            250_000_000,
        ));
    }
    let Some(builder) = cues.as_mut() else {
        return;
    };
    let faces: Vec<FrameFace> = buffer
        .iter_meta::<gst_video::VideoRegionOfInterestMeta>()
        .filter(|m| m.roi_type() == "face")
        .filter_map(|m| {
            let param = m.param("faceid")?;
            if !param.get::<bool>("known").ok()? {
                return None;
            }
            let (x, y, w, h) = m.rect();
            Some(FrameFace {
                label: param.get::<String>("label").ok()?,
                x: x as f32,
                y: y as f32,
                w: w as f32,
                h: h as f32,
            })
        })
        .collect();
    // Running time: where the frame is in the output (an MP4 edit list can start the video
    // later than its first timestamp), and what the muxer interleaves the embedded track by.
    let pts = buffer.pts().unwrap_or(gst::ClockTime::ZERO);
    let running = pad
        .sticky_event::<gst::event::Segment>(0)
        .and_then(|e| {
            e.segment()
                .downcast_ref::<gst::ClockTime>()
                .and_then(|s| s.to_running_time(pts))
        })
        .unwrap_or(pts);
    let duration = buffer.duration().map(|t| t.nseconds()).unwrap_or(0);
    builder.push_frame(running.nseconds(), duration, &faces);
}

/// Links a parsed audio stream into the muxer, copying it when the muxer accepts its caps.
fn link_audio(pipeline: &gst::Pipeline, mux: &gst::Element, pad: &gst::Pad) -> Result<(), String> {
    let queue = gst::ElementFactory::make("queue")
        // The video branch is slow; let audio wait in memory instead of stalling the demuxer.
        .property("max-size-buffers", 0u32)
        .property("max-size-time", 0u64)
        .property("max-size-bytes", 64u32 * 1024 * 1024)
        .build()
        .map_err(|e| e.to_string())?;
    pipeline.add(&queue).map_err(|e| e.to_string())?;
    let _ = queue.sync_state_with_parent();
    let queue_sink = queue.static_pad("sink").ok_or("queue without sink")?;
    pad.link(&queue_sink).map_err(|e| e.to_string())?;
    let queue_src = queue.static_pad("src").ok_or("queue without src")?;
    let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
    if let Some(mux_pad) = mux.request_pad_simple("audio_%u") {
        if mux_pad.query_accept_caps(&caps) && queue_src.link(&mux_pad).is_ok() {
            return Ok(());
        }
        mux.release_request_pad(&mux_pad);
    }
    // Re-encode what the container cannot take.
    let decode = make("decodebin")?;
    let convert = make("audioconvert")?;
    let resample = make("audioresample")?;
    let encode = make(if is_webm(mux) { "opusenc" } else { "avenc_aac" })?;
    pipeline
        .add_many([&decode, &convert, &resample, &encode])
        .map_err(|e| e.to_string())?;
    gst::Element::link_many([&convert, &resample, &encode]).map_err(|e| e.to_string())?;
    encode
        .link_pads(None, mux, Some("audio_%u"))
        .map_err(|e| e.to_string())?;
    let convert_weak = convert.downgrade();
    decode.connect_pad_added(move |_, p| {
        if let Some(c) = convert_weak.upgrade()
            && let Some(sink) = c.static_pad("sink")
            && !sink.is_linked()
        {
            let _ = p.link(&sink);
        }
    });
    for e in [&decode, &convert, &resample, &encode] {
        let _ = e.sync_state_with_parent();
    }
    queue.link(&decode).map_err(|e| e.to_string())
}

/// Frame count estimate for the progress bar (duration x frame rate), 0 when unknown.
fn count_frames_hint(path: &Path) -> u64 {
    let Ok(uri) =
        gst::glib::filename_to_uri(path.canonicalize().unwrap_or(path.to_path_buf()), None)
    else {
        return 0;
    };
    let Ok(discoverer) = gst_pbutils::Discoverer::new(gst::ClockTime::from_seconds(10)) else {
        return 0;
    };
    let Ok(info) = discoverer.discover_uri(&uri) else {
        return 0;
    };
    let duration = info.duration().map(|d| d.nseconds()).unwrap_or(0);
    info.video_streams()
        .first()
        .map(|v| {
            let fps = v.framerate();
            if fps.denom() > 0 && fps.numer() > 0 {
                (duration as f64 * fps.numer() as f64 / fps.denom() as f64 / 1e9).round() as u64
            } else {
                0
            }
        })
        .unwrap_or(0)
}
