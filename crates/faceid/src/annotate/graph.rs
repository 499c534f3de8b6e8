//! The pipeline `faceid annotate` runs: the input parsed, the first video stream decoded
//! through faceidoverlay and re-encoded (or dropped with `--no-video`), the audio copied into
//! the container when it takes it, and an optional subtitle track.

use std::path::Path;

use gst::prelude::*;

use super::consumers::EmbeddedTrack;
use crate::pipeline::{carries, link_new_pads_to, make};

/// Muxer for the output's extension.
pub fn muxer_for(output: &Path) -> Result<gst::Element, String> {
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

fn is_webm(mux: &gst::Element) -> bool {
    mux.factory().is_some_and(|f| f.name() == "webmmux")
}

fn is_mp4(mux: &gst::Element) -> bool {
    mux.factory().is_some_and(|f| f.name() == "mp4mux")
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

/// An appsrc for the embedded subtitle track, linked into the muxer's subtitle pad.
pub fn subtitle_track(
    pipeline: &gst::Pipeline,
    mux: &gst::Element,
) -> Result<EmbeddedTrack, String> {
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
        // Bounded by design: at most one sample per few seconds of video.
        .max_bytes(0)
        .build();
    pipeline.add(&src).map_err(|e| e.to_string())?;
    src.link_pads(None, mux, Some("subtitle_%u"))
        .map_err(|e| format!("cannot put the subtitle track into the output: {e}"))?;
    Ok(EmbeddedTrack::new(src, is_mp4(mux)))
}

/// `--resize WxH` as a videoscale and a capsfilter.
pub fn resize(size: &str) -> Result<[gst::Element; 2], String> {
    let (w, h) = size
        .split_once('x')
        .and_then(|(w, h)| Some((w.parse::<i32>().ok()?, h.parse::<i32>().ok()?)))
        .ok_or_else(|| format!("--resize {size}: expected WIDTHxHEIGHT"))?;
    let caps = gst::ElementFactory::make("capsfilter")
        .property(
            "caps",
            gst_video::VideoCapsBuilder::new()
                .width(w)
                .height(h)
                .build(),
        )
        .build()
        .map_err(|e| e.to_string())?;
    Ok([make("videoscale")?, caps])
}

/// Links the video chain (queue, optional resize, convert, overlay, then the encoding queue or
/// a fakesink) into `pipeline`; with `mux`, the encoded video goes into it. `queue_for_track`:
/// the muxer also waits for a subtitle track that lags the frames by a few seconds, so the
/// encoded frames may wait in memory meanwhile instead of stalling the overlay that feeds it.
pub fn video_chain(
    pipeline: &gst::Pipeline,
    head: Vec<gst::Element>,
    mux: Option<&gst::Element>,
    quality: u32,
    queue_for_track: bool,
    realtime: bool,
) -> Result<(), String> {
    let mut chain = head;
    match mux {
        Some(mux) => {
            chain.push(make("videoconvert")?);
            chain.push(video_encoder(mux, quality)?);
            let encode_queue = make("queue")?;
            if queue_for_track {
                encode_queue.set_property("max-size-buffers", 0u32);
                encode_queue.set_property("max-size-time", 0u64);
                encode_queue.set_property("max-size-bytes", 64u32 * 1024 * 1024);
            }
            chain.push(encode_queue.clone());
            pipeline.add_many(&chain).map_err(|e| e.to_string())?;
            gst::Element::link_many(&chain).map_err(|e| e.to_string())?;
            encode_queue
                .link_pads(None, mux, Some("video_%u"))
                .map_err(|e| format!("cannot put the encoded video into the output: {e}"))
        }
        None => {
            chain.push(
                gst::ElementFactory::make("fakesink")
                    .property("sync", realtime)
                    .property("qos", realtime)
                    .build()
                    .map_err(|e| e.to_string())?,
            );
            pipeline.add_many(&chain).map_err(|e| e.to_string())?;
            gst::Element::link_many(&chain).map_err(|e| e.to_string())
        }
    }
}

/// Streams out of `parse` (a parsebin): the first video stream goes to `video_queue` and on to
/// a decoder whose video output feeds `overlay_queue`; audio is copied into `mux` when it
/// takes it, else decoded and re-encoded; anything else is dropped.
pub fn route_streams(
    pipeline: &gst::Pipeline,
    parse: &gst::Element,
    mux: Option<&gst::Element>,
    overlay_queue: &gst::Element,
) -> Result<(), String> {
    let video_queue = make("queue")?;
    let decode = make("decodebin")?;
    pipeline
        .add_many([&video_queue, &decode])
        .map_err(|e| e.to_string())?;
    video_queue.link(&decode).map_err(|e| e.to_string())?;
    link_new_pads_to(&decode, overlay_queue, "video/");
    link_new_pads_to(parse, &video_queue, "video/");
    let pipeline_weak = pipeline.downgrade();
    let mux = mux.map(|m| m.downgrade());
    parse.connect_pad_added(move |_, pad| {
        if carries(pad, "audio/")
            && let Some(pipeline) = pipeline_weak.upgrade()
            && let Some(mux) = mux.as_ref().and_then(|m| m.upgrade())
        {
            let _ = link_audio(&pipeline, &mux, pad);
        }
    });
    Ok(())
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
    link_new_pads_to(&decode, &convert, "audio/");
    for e in [&decode, &convert, &resample, &encode] {
        let _ = e.sync_state_with_parent();
    }
    queue.link(&decode).map_err(|e| e.to_string())
}

/// The video's duration (ns) and frame rate (numerator, denominator), from the discoverer.
fn discover(path: &Path) -> Option<(u64, i32, i32)> {
    let uri =
        gst::glib::filename_to_uri(path.canonicalize().unwrap_or(path.to_path_buf()), None).ok()?;
    let discoverer = gst_pbutils::Discoverer::new(gst::ClockTime::from_seconds(10)).ok()?;
    let info = discoverer.discover_uri(&uri).ok()?;
    let duration = info.duration().map(|d| d.nseconds()).unwrap_or(0);
    let fps = info.video_streams().first()?.framerate();
    (fps.denom() > 0 && fps.numer() > 0).then_some((duration, fps.numer(), fps.denom()))
}

/// Frame count estimate for the progress bar (duration x frame rate), 0 when unknown.
pub fn count_frames_hint(path: &Path) -> u64 {
    discover(path).map_or(0, |(duration, n, d)| {
        (duration as f64 * f64::from(n) / f64::from(d) / 1e9).round() as u64
    })
}

/// How long a frame of the video lasts; 1/30 s when unknown.
pub fn frame_duration(path: &Path) -> std::time::Duration {
    let fps = discover(path).map_or(30.0, |(_, n, d)| f64::from(n) / f64::from(d));
    std::time::Duration::from_secs_f64(1.0 / fps.max(1.0))
}

/// Peak resident memory of this process (VmHWM), in KiB.
pub fn peak_memory_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}
