//! What `faceid annotate` (and `discover`) do with each frame faceidoverlay lets through: one
//! pad probe reads the frame's faces once ([`NamedFace`]) and hands them to every consumer.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

use faceid_core::face_result::FrameLine;
use faceid_core::report::subtitles::{CueBuilder, TrackSample, TrackWriter};
use gst::prelude::*;
use gstfaceid::meta::{FaceMeta, NamedFace};

/// One frame of faceidoverlay's output.
pub struct OutputFrame<'a> {
    /// Frame number, from 0.
    pub index: u64,
    /// Its faces.
    pub faces: &'a [NamedFace],
    /// Where it is in the output: running time (an MP4 edit list can start the video later
    /// than its first timestamp; muxers interleave by it).
    pub running_ns: u64,
    /// Its duration (0 when unknown).
    pub duration_ns: u64,
    /// The frame itself and its format, for consumers that read pixels.
    pub buffer: &'a gst::BufferRef,
    /// The negotiated video format.
    pub info: &'a gst_video::VideoInfo,
}

/// Something done with every frame.
pub trait FrameConsumer: Send {
    /// One frame, in order.
    fn frame(&mut self, frame: &OutputFrame<'_>);
    /// The stream ended (after the last frame).
    fn eos(&mut self) {}
}

/// Locks a consumer, going on with what a panicking holder left.
pub fn lock<T: ?Sized>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Feeds every frame leaving `overlay` to `consumers`; returns the frame counter.
pub fn feed_from(
    overlay: &gst::Element,
    consumers: Vec<Arc<Mutex<dyn FrameConsumer>>>,
) -> Result<Arc<std::sync::atomic::AtomicU64>, String> {
    use std::sync::atomic::{AtomicU64, Ordering};
    let frames = Arc::new(AtomicU64::new(0));
    let counter = frames.clone();
    overlay
        .static_pad("src")
        .ok_or("faceidoverlay has no src pad")?
        .add_probe(
            gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM,
            move |pad, probe| {
                if let Some(buffer) = probe.buffer() {
                    let Some(info) = pad
                        .current_caps()
                        .and_then(|c| gst_video::VideoInfo::from_caps(&c).ok())
                    else {
                        return gst::PadProbeReturn::Ok;
                    };
                    let faces = NamedFace::all_in_buffer(buffer);
                    let frame = OutputFrame {
                        index: counter.fetch_add(1, Ordering::Relaxed),
                        faces: &faces,
                        running_ns: running_time(pad, buffer),
                        duration_ns: buffer.duration().map_or(0, |d| d.nseconds()),
                        buffer,
                        info: &info,
                    };
                    for c in &consumers {
                        lock(c).frame(&frame);
                    }
                } else if probe
                    .event()
                    .is_some_and(|e| e.type_() == gst::EventType::Eos)
                {
                    for c in &consumers {
                        lock(c).eos();
                    }
                }
                gst::PadProbeReturn::Ok
            },
        );
    Ok(frames)
}

/// The running time of `buffer` on `pad` (its timestamp when there is no time segment).
fn running_time(pad: &gst::Pad, buffer: &gst::BufferRef) -> u64 {
    let pts = buffer.pts().unwrap_or(gst::ClockTime::ZERO);
    pad.sticky_event::<gst::event::Segment>(0)
        .and_then(|e| {
            e.segment()
                .downcast_ref::<gst::ClockTime>()
                .and_then(|s| s.to_running_time(pts))
        })
        .unwrap_or(pts)
        .nseconds()
}

/// `--detections`: one JSON line a frame, a [`FrameLine`].
pub struct DetectionsFile {
    out: BufWriter<File>,
}

impl DetectionsFile {
    /// Creates (truncates) `path`.
    pub fn create(path: &Path) -> Result<DetectionsFile, String> {
        let file =
            File::create(path).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(DetectionsFile {
            out: BufWriter::new(file),
        })
    }

    /// Writes what is buffered.
    pub fn flush(&mut self) {
        let _ = self.out.flush();
    }
}

impl FrameConsumer for DetectionsFile {
    fn frame(&mut self, frame: &OutputFrame<'_>) {
        let line = FrameLine {
            faces: frame.faces.to_vec(),
            frame: frame.index,
        };
        let _ = writeln!(self.out, "{}", line.to_json());
    }

    fn eos(&mut self) {
        self.flush();
    }
}

/// Who is on screen, as subtitle cues (`--subtitles`, screen time) and, with an embedded
/// track, pushed into the output as the cues settle.
pub struct Cues {
    builder: Option<CueBuilder>,
    track: Option<EmbeddedTrack>,
}

impl Cues {
    /// Cues, optionally also written to `track` as they settle.
    pub fn new(track: Option<EmbeddedTrack>) -> Cues {
        Cues {
            builder: None,
            track,
        }
    }

    /// The cues of the whole run (empty before the first frame).
    pub fn finish(&mut self) -> Vec<faceid_core::report::subtitles::Cue> {
        self.builder
            .take()
            .map(CueBuilder::finish)
            .unwrap_or_default()
    }
}

impl FrameConsumer for Cues {
    fn frame(&mut self, frame: &OutputFrame<'_>) {
        // Names shown for less than 0.3 s are flicker; gaps under 0.25 s do not split a cue.
        let builder = self.builder.get_or_insert_with(|| {
            CueBuilder::new(
                frame.info.width(),
                frame.info.height(),
                300_000_000,
                250_000_000,
            )
        });
        builder.push_frame(frame.running_ns, frame.duration_ns, frame.faces);
        if let Some(track) = self.track.as_mut() {
            track.advance(builder, false);
        }
    }

    fn eos(&mut self) {
        match (self.track.as_mut(), self.builder.as_ref()) {
            (Some(track), Some(builder)) => track.advance(builder, true),
            (Some(track), None) => {
                let _ = track.src.end_of_stream();
            }
            _ => {}
        }
    }
}

/// Longest piece of the embedded subtitle track: a name on screen for longer is written in
/// pieces of this length, so that the muxer never waits more than about this for the track.
const MAX_TRACK_SAMPLE_NS: u64 = 5_000_000_000;

/// The subtitle track muxed into the output: an appsrc fed, from faceidoverlay's streaming
/// thread, with the samples the cues settle into.
pub struct EmbeddedTrack {
    writer: TrackWriter,
    src: gst_app::AppSrc,
    /// MP4 (tx3g): "nobody" is an empty sample (mp4mux drops a gap before the first sample);
    /// Matroska: a gap event.
    empty_samples: bool,
}

impl EmbeddedTrack {
    /// A track pushed into `src` (linked to the muxer by the caller); `empty_samples` for MP4.
    pub fn new(src: gst_app::AppSrc, empty_samples: bool) -> EmbeddedTrack {
        EmbeddedTrack {
            writer: TrackWriter::new(MAX_TRACK_SAMPLE_NS),
            src,
            empty_samples,
        }
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
