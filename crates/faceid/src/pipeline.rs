//! What every `faceid` command does with GStreamer: make elements with messages that say what
//! to install, decode a photo upright, configure faceidoverlay from `--set`, and run a pipeline
//! to its end with progress.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use gst::prelude::*;

use crate::progress::Progress;

/// An element of `factory`, or an error naming it and what to install.
pub fn make(factory: &str) -> Result<gst::Element, String> {
    gst::ElementFactory::make(factory).build().map_err(|_| {
        format!(
            "GStreamer element {factory} is missing: install the GStreamer plugins (see README)"
        )
    })
}

/// The text of the first error message on `bus`, waiting up to `wait` for one; other
/// messages on the way are dropped. (`timed_pop_filtered` with a zero wait gave up after the
/// first other message, so an error behind a state change was never seen.)
pub fn bus_error(bus: &gst::Bus, wait: gst::ClockTime) -> Option<String> {
    let deadline = std::time::Instant::now() + Duration::from_nanos(wait.nseconds());
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let message = bus.timed_pop(gst::ClockTime::from_nseconds(left.as_nanos() as u64))?;
        if let gst::MessageView::Error(e) = message.view() {
            return Some(e.error().to_string());
        }
    }
}

/// Progress of a running pipeline: units done so far (read from another thread's counter) of
/// a total (0: unknown).
pub struct Watch<'a> {
    /// The progress output.
    pub progress: &'a mut Progress,
    /// Units done so far.
    pub done: &'a dyn Fn() -> u64,
    /// Units in all (0: unknown).
    pub total: u64,
    /// What a unit is ("frames").
    pub unit: &'a str,
}

/// What a first Ctrl-C does to a run of [`run_to_eos`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CtrlC {
    /// The process ends at once (the system's default): nothing half done is kept.
    Ends,
    /// The stream ends here, as if the input ended (ffmpeg's `q`): what was written so far is
    /// finished properly. A second Ctrl-C stops the run with an error.
    FinishesEarly,
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunEnd {
    /// At the end of the input.
    Complete,
    /// Early, by a Ctrl-C ([`CtrlC::FinishesEarly`]).
    Interrupted,
}

/// Ctrl-Cs received while a run that finishes early on one is playing.
static INTERRUPTS: AtomicU32 = AtomicU32::new(0);

extern "C" fn count_interrupt(_signal: libc::c_int) {
    // Only an atomic add: async-signal-safe.
    INTERRUPTS.fetch_add(1, Ordering::SeqCst);
}

/// Plays `pipeline` until EOS, handing every element message to `on_element` and updating
/// `watch` twice a second. An error message ends the run with its text (and debug details);
/// the pipeline is left playing for the caller to stop. `ctrl_c` says what a Ctrl-C does.
pub fn run_to_eos(
    pipeline: &gst::Pipeline,
    mut watch: Option<Watch<'_>>,
    on_element: &mut dyn FnMut(&gst::StructureRef),
    ctrl_c: CtrlC,
) -> Result<RunEnd, String> {
    let bus = pipeline.bus().ok_or("no bus")?;
    INTERRUPTS.store(0, Ordering::SeqCst);
    let previous = (ctrl_c == CtrlC::FinishesEarly).then(|| {
        let handler: extern "C" fn(libc::c_int) = count_interrupt;
        // SAFETY: the handler only adds to an atomic; the previous disposition is put back
        // below, before this function returns.
        unsafe { libc::signal(libc::SIGINT, handler as libc::sighandler_t) }
    });
    let result = play(pipeline, &bus, &mut watch, on_element, &INTERRUPTS);
    if let Some(previous) = previous {
        // SAFETY: restores what `signal` returned above.
        unsafe { libc::signal(libc::SIGINT, previous) };
    }
    result
}

fn play(
    pipeline: &gst::Pipeline,
    bus: &gst::Bus,
    watch: &mut Option<Watch<'_>>,
    on_element: &mut dyn FnMut(&gst::StructureRef),
    interrupts: &AtomicU32,
) -> Result<RunEnd, String> {
    pipeline.set_state(gst::State::Playing).map_err(|_| {
        bus_error(bus, gst::ClockTime::from_seconds(1)).unwrap_or_else(|| "could not start".into())
    })?;
    let mut end = RunEnd::Complete;
    loop {
        let msg = bus.timed_pop_filtered(
            gst::ClockTime::from_mseconds(500),
            &[
                gst::MessageType::Eos,
                gst::MessageType::Error,
                gst::MessageType::Element,
            ],
        );
        match interrupts.load(Ordering::SeqCst) {
            0 => {}
            1 if end == RunEnd::Complete => {
                end = RunEnd::Interrupted;
                eprintln!(
                    "\nCtrl-C: finishing here, as if the video ended (Ctrl-C again to stop \
                     without writing anything)"
                );
                pipeline.send_event(gst::event::Eos::new());
            }
            1 => {}
            _ => return Err("stopped by a second Ctrl-C".into()),
        }
        match msg.as_ref().map(|m| m.view()) {
            Some(gst::MessageView::Eos(_)) => break,
            Some(gst::MessageView::Error(e)) => {
                let debug = e.debug().map(|d| format!(" ({d})")).unwrap_or_default();
                return Err(format!("{}{debug}", e.error()));
            }
            Some(gst::MessageView::Element(e)) => {
                if let Some(s) = e.structure() {
                    on_element(s);
                }
            }
            _ => {}
        }
        if let Some(w) = watch.as_mut() {
            let done = (w.done)();
            w.progress
                .update(done, w.total.max(done), w.unit, Duration::from_secs(2));
        }
    }
    if let Some(w) = watch.as_mut() {
        let done = (w.done)();
        w.progress.update(done, done, w.unit, Duration::ZERO);
        w.progress.finish();
    }
    Ok(end)
}

/// An appsink for BGRx frames, taking them as fast as they come (no clock).
pub fn bgrx_sink(max_buffers: u32) -> gst_app::AppSink {
    let caps = gst_video::VideoCapsBuilder::new()
        .format(gst_video::VideoFormat::Bgrx)
        .build();
    gst_app::AppSink::builder()
        .caps(&caps)
        .sync(false)
        .max_buffers(max_buffers)
        .build()
}

/// Whether `path` starts like a JPEG file (FF D8 FF).
fn is_jpeg(path: &Path) -> bool {
    let mut magic = [0u8; 3];
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .is_ok_and(|()| magic == [0xff, 0xd8, 0xff])
}

/// Decodes one image file into an upright BGRx sample (keeps its own size). A phone photo
/// stores its pixels sideways with an EXIF orientation that viewers apply: `jpegparse` turns it
/// into GStreamer's `image-orientation` tag (decodebin does not plug a parser for JPEG) and
/// `videoflip video-direction=auto` applies it, so the face is upright for the detector.
pub fn decode_image(path: &Path) -> Result<gst::Sample, String> {
    let pipeline = gst::Pipeline::new();
    let src = gst::ElementFactory::make("filesrc")
        .property("location", path)
        .build()
        .map_err(|e| e.to_string())?;
    let decode = make("decodebin")?;
    let convert = make("videoconvert")?;
    let flip = gst::ElementFactory::make("videoflip")
        .property_from_str("video-direction", "auto")
        .build()
        .map_err(|e| format!("videoflip: {e}"))?;
    let convert_out = make("videoconvert")?;
    let sink = bgrx_sink(0);
    pipeline
        .add_many([
            &src,
            &decode,
            &convert,
            &flip,
            &convert_out,
            sink.upcast_ref(),
        ])
        .map_err(|e| e.to_string())?;
    if is_jpeg(path) {
        let parse = make("jpegparse")?;
        pipeline.add(&parse).map_err(|e| e.to_string())?;
        gst::Element::link_many([&src, &parse, &decode]).map_err(|e| e.to_string())?;
    } else {
        src.link(&decode).map_err(|e| e.to_string())?;
    }
    gst::Element::link_many([&convert, &flip, &convert_out, sink.upcast_ref()])
        .map_err(|e| e.to_string())?;
    link_new_pads_to(&decode, &convert, "video/");
    let result = (|| {
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|_| "not an image GStreamer can decode".to_string())?;
        let bus = pipeline.bus().ok_or("no bus")?;
        // A file GStreamer can not decode fails at once (an error, or a failed state change):
        // do not wait the full time for a picture that will never come.
        let started = std::time::Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_mseconds(20)) {
                return Ok(sample);
            }
            if let Some(why) = bus_error(&bus, gst::ClockTime::ZERO) {
                return Err(format!("not an image GStreamer can decode ({why})"));
            }
            if sink.is_eos() || pipeline.state(gst::ClockTime::ZERO).0.is_err() {
                break;
            }
        }
        Err("not an image GStreamer can decode (no picture in it)".to_string())
    })();
    let _ = pipeline.set_state(gst::State::Null);
    result
}

/// Links the first pad `from` adds (a decoder's, a demuxer's) whose caps name starts with
/// `media` (`"video/"`, `"audio/"`) to `to`'s sink pad. The flag turns true once one is linked:
/// a stream with none (an audio file where video was wanted) can then be told apart.
pub fn link_new_pads_to(
    from: &gst::Element,
    to: &gst::Element,
    media: &'static str,
) -> Arc<AtomicBool> {
    let linked = Arc::new(AtomicBool::new(false));
    let flag = linked.clone();
    let to = to.downgrade();
    from.connect_pad_added(move |_, pad| {
        if carries(pad, media)
            && let Some(to) = to.upgrade()
            && let Some(sink_pad) = to.static_pad("sink")
            && !sink_pad.is_linked()
            && pad.link(&sink_pad).is_ok()
        {
            flag.store(true, Ordering::SeqCst);
        }
    });
    linked
}

/// Whether `pad`'s caps name starts with `media` (`"video/"`, `"audio/"`).
pub fn carries(pad: &gst::Pad, media: &str) -> bool {
    pad.current_caps()
        .unwrap_or_else(|| pad.query_caps(None))
        .structure(0)
        .is_some_and(|s| s.name().starts_with(media))
}

/// A faceidoverlay for `model`, its weights from `models_dir` (unset: the default), with the
/// `--set PROPERTY=VALUE` settings applied.
pub fn overlay(
    model: &Path,
    models_dir: Option<&Path>,
    settings: &[String],
) -> Result<gst::Element, String> {
    let mut overlay = gst::ElementFactory::make("faceidoverlay").property("model", model);
    if let Some(dir) = models_dir {
        overlay = overlay.property("models-dir", dir);
    }
    let overlay = overlay.build().map_err(|e| e.to_string())?;
    apply_settings(&overlay, settings)?;
    Ok(overlay)
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
