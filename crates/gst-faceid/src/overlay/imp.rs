//! GStreamer glue of `faceidoverlay`: caps, buffer mapping, metas and messages. The properties
//! are [`super::settings`], the analysis [`faceid_core::video::analyzer`], the drawing
//! [`crate::draw`], what it reports [`crate::meta`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::TryRecvError;
use std::sync::{LazyLock, Mutex};

use faceid_core::frame::{FrameRef, PixelLayout};
use faceid_core::model::Model;

use crate::backends::encoder_of;
use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::subclass::prelude::*;
use gst_video::prelude::*;
use gst_video::subclass::prelude::*;

use super::settings::{self, MAX_SCORES_DRAWN, Settings, Stream};
use super::state::{Loading, Phase, Post, State, classifier_for};
use crate::draw::{self, FaceLabel};
use crate::element::{always_pad, lock};
use crate::meta::{FaceMeta, FrameFaces, NamedFace, UNKNOWN};

pub(super) static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "faceidoverlay",
        gst::DebugColorFlags::empty(),
        Some("Face identification overlay"),
    )
});

#[derive(Default)]
pub struct FaceIdOverlay {
    settings: Mutex<Settings>,
    state: Mutex<Option<Phase>>,
    /// Downstream reported a late frame (QoS): a sink syncing to the clock is waiting.
    sink_late: AtomicBool,
}

impl FaceIdOverlay {
    /// Applies property changes made while playing: a new model file (read on a thread of its
    /// own, used from the frame after it is ready), thresholds, detection.
    fn apply_settings(&self, state: &mut State, settings: &Settings, out: &mut Vec<Post>) {
        state.take_loaded_model(settings, out);
        let live_source = *state.stream.get_or_insert_with(|| self.upstream_is_live());
        let stream = self.stream(live_source, state.info.as_ref());
        let was_live = state.analyzer.is_live();
        if state.apply(settings, stream) && state.analyzer.is_live() != was_live {
            gst::info!(
                CAT,
                imp = self,
                "{} ({stream:?}, latency-budget {})",
                if state.analyzer.is_live() {
                    "Live mode: full-frame detections on a worker thread"
                } else {
                    "Synchronous mode"
                },
                settings.latency_budget
            );
        }
    }

    /// What decides the live mode by itself (`latency-budget=-1`).
    fn stream(&self, live_source: bool, info: Option<&gst_video::VideoInfo>) -> Stream {
        let mut stream = Stream {
            live_source,
            sink_late: self.sink_late.load(Ordering::Relaxed),
            ..Stream::default()
        };
        if let Some(info) = info {
            let fps = info.fps();
            stream.variable_framerate = fps.numer() == 0;
            stream.frame_ms = (fps.numer() > 0)
                .then(|| (1000 * fps.denom() as u64 / fps.numer() as u64).clamp(1, 1000) as u32);
        }
        stream
    }

    /// The analyzer once the weights are read: `None` while a live stream's frames pass
    /// through; a synchronous stream waits for them.
    fn take_started(
        &self,
        loading: &mut Loading,
        settings: &Settings,
        pts: Option<gst::ClockTime>,
        out: &mut Vec<Post>,
    ) -> Result<Option<State>, gst::FlowError> {
        let live = *loading.live.get_or_insert_with(|| {
            let stream = self.stream(self.upstream_is_live(), loading.info.as_ref());
            settings.tracking && settings.latency_budget_ms(&stream) > 0
        });
        // A stream from a file, played live (latency-budget set), waits for the weights while
        // it prerolls: its clock has not started, so no frame is late yet, and its first
        // frames are named. A live source's frames come only once playing, and still pass.
        // (The state first: once playing, no latency query is made for each frame.)
        let prerolling = || {
            self.obj().current_state() < gst::State::Playing && {
                let stream = self.stream(self.upstream_is_live(), loading.info.as_ref());
                !stream.live_source && !stream.variable_framerate
            }
        };
        let stopped = || {
            Err(gst::error_msg!(
                gst::CoreError::Failed,
                ("The thread reading the dlib weights stopped")
            ))
        };
        let result = if live && !prerolling() {
            match loading.ready.try_recv() {
                Ok(result) => result,
                Err(TryRecvError::Empty) => {
                    if settings.post_messages {
                        out.push(Post::Faces(FrameFaces {
                            frame: loading.frames,
                            timestamp: pts,
                            faces: Vec::new(),
                        }));
                    }
                    loading.frames += 1;
                    return Ok(None);
                }
                Err(TryRecvError::Disconnected) => stopped(),
            }
        } else {
            loading.ready.recv().unwrap_or_else(|_| stopped())
        };
        match result {
            Ok(mut state) => {
                if loading.frames > 0 {
                    gst::info!(
                        CAT,
                        imp = self,
                        "dlib weights read; {} live frames passed through undrawn meanwhile",
                        loading.frames
                    );
                }
                state.info = loading.info.take();
                state.frames = loading.frames;
                Ok(Some(state))
            }
            Err(msg) => {
                out.push(Post::Error(msg));
                Err(gst::FlowError::Error)
            }
        }
    }

    /// At the end of a live stream whose frames all passed before a whole frame was searched
    /// (while the weights were read, or before the live mode's first search came back), says
    /// so and what to do: a still image from `jpegdec` or `pngdec` says `framerate=0/1`, as
    /// OBS does, and is taken for a live stream.
    fn warn_if_nothing_was_analysed(&self) {
        let passed = match lock(&self.state).as_ref() {
            Some(Phase::Loading(loading)) => loading.frames,
            Some(Phase::Running(state))
                if state.analyzer.is_live() && !state.analyzer.whole_frame_searched() =>
            {
                state.frames
            }
            _ => 0,
        };
        if passed == 0 {
            return;
        }
        gst::element_imp_warning!(
            self,
            gst::StreamError::Failed,
            ("The stream ended before faceidoverlay had searched a whole frame for faces: its {passed} frame(s) passed unnamed. The stream was analysed live (frames are not held while the weights load or a search runs) because its source is live or its caps say framerate=0/1, as a still image from jpegdec or pngdec does. For photos, set latency-budget=0.")
        );
    }

    /// Whether upstream answers the latency query as live.
    fn upstream_is_live(&self) -> bool {
        let mut query = gst::query::Latency::new();
        self.obj().sink_pad().peer_query(&mut query) && query.result().0
    }

    /// The frame's analysis under the state's lock: its faces, its number and the stream's
    /// video info; `None` while a live stream's weights are read. What is to be posted goes to
    /// `out`, posted by the caller once the lock is released.
    fn analyze_locked(
        &self,
        buffer: &mut gst::BufferRef,
        settings: &Settings,
        out: &mut Vec<Post>,
    ) -> Result<Option<(Vec<NamedFace>, u64, gst_video::VideoInfo)>, gst::FlowError> {
        let mut state_guard = lock(&self.state);
        let Some(phase) = state_guard.as_mut() else {
            out.push(Post::Error(gst::error_msg!(
                gst::CoreError::Failed,
                ("Not started")
            )));
            return Err(gst::FlowError::Error);
        };
        if let Phase::Loading(loading) = phase {
            let Some(state) = self.take_started(loading, settings, buffer.pts(), out)? else {
                return Ok(None);
            };
            *phase = Phase::Running(Box::new(state));
        }
        let Phase::Running(state) = phase else {
            return Err(gst::FlowError::Error);
        };
        let Some(info) = state.info.clone() else {
            out.push(Post::Error(gst::error_msg!(
                gst::CoreError::Negotiation,
                ("No caps before the first buffer")
            )));
            return Err(gst::FlowError::NotNegotiated);
        };
        #[cfg(feature = "test-hooks")]
        if state.panic_for_test {
            drop(state_guard);
            panic!("faceidoverlay: panic provoked by FACEID_TEST_PANIC");
        }
        self.apply_settings(state, settings, out);
        let faces = self.analyze(state, settings, buffer, &info, out)?;
        let frame_number = state.frames;
        state.frames += 1;
        Ok(Some((faces, frame_number, info)))
    }

    /// Posts what [`Self::analyze_locked`] left to post, in order.
    fn send(&self, out: Vec<Post>) {
        for post in out {
            match post {
                Post::Faces(frame) => self.post_results(frame),
                Post::Warning(msg) => {
                    gst::element_imp_warning!(self, gst::ResourceError::OpenRead, ("{msg}"))
                }
                Post::Error(msg) => self.post_error_message(msg),
            }
        }
    }

    fn post_results(&self, frame: FrameFaces) {
        let _ = self.obj().post_message(
            gst::message::Element::builder(frame.to_structure())
                .src(&*self.obj())
                .build(),
        );
    }

    /// Finds, names and draws the faces of the frame in `buffer`; `confident` is decided here,
    /// once, for the drawing, the metas and the messages.
    fn analyze(
        &self,
        state: &mut State,
        settings: &Settings,
        buffer: &mut gst::BufferRef,
        info: &gst_video::VideoInfo,
        out: &mut Vec<Post>,
    ) -> Result<Vec<NamedFace>, gst::FlowError> {
        let size = buffer.size();
        let mut frame =
            gst_video::VideoFrameRef::from_buffer_ref_writable(buffer, info).map_err(|_| {
                out.push(Post::Error(unmappable(size, info)));
                gst::FlowError::Error
            })?;
        let (width, height) = (frame.width() as usize, frame.height() as usize);
        let stride = frame.plane_stride()[0] as usize;
        let layout = if info.format() == gst_video::VideoFormat::Bgra {
            PixelLayout::Bgra
        } else {
            PixelLayout::Bgrx
        };
        let data = frame.plane_data_mut(0).map_err(|_| gst::FlowError::Error)?;
        let results = match FrameRef::new(data, width, height, stride, layout) {
            Ok(view) => state.analyzer.analyze(&view).map_err(|e| {
                out.push(Post::Error(gst::error_msg!(
                    gst::LibraryError::Failed,
                    ("Face analysis failed: {e}")
                )));
                gst::FlowError::Error
            })?,
            Err(e) => {
                gst::warning!(CAT, imp = self, "Skipping frame: {e}");
                Vec::new()
            }
        };
        let faces: Vec<NamedFace> = results
            .iter()
            .map(|r| NamedFace::from_result(r, settings.threshold as f32))
            .collect();
        if settings.draw_labels && !faces.is_empty() {
            let labels: Vec<FaceLabel> = faces
                .iter()
                .zip(&results)
                .map(|(face, r)| {
                    let shown = if settings.show_confidences {
                        MAX_SCORES_DRAWN
                    } else {
                        0
                    };
                    FaceLabel::for_face(face, r.scores.iter().take(shown).cloned().collect())
                })
                .collect();
            if let Err(e) = draw::draw_labels(
                data,
                width as u32,
                height as u32,
                stride as u32,
                layout,
                &labels,
                &settings.draw_style(),
            ) {
                gst::warning!(CAT, imp = self, "Could not draw labels: {e}");
            }
        }
        Ok(faces)
    }
}

/// Why a buffer of `size` bytes could not be mapped as a frame of `info`.
fn unmappable(size: usize, info: &gst_video::VideoInfo) -> gst::ErrorMessage {
    if size < info.size() {
        gst::error_msg!(
            gst::StreamError::Format,
            (
                "A buffer of {size} bytes is too small for a {}x{} {} frame ({} bytes): the element before faceidoverlay sent a broken buffer",
                info.width(),
                info.height(),
                info.format().to_str(),
                info.size()
            )
        )
    } else {
        gst::error_msg!(
            gst::CoreError::Failed,
            ("Could not map the video frame writable")
        )
    }
}

#[glib::object_subclass]
impl ObjectSubclass for FaceIdOverlay {
    const NAME: &'static str = "GstFaceIdOverlay";
    type Type = super::FaceIdOverlay;
    type ParentType = gst_video::VideoFilter;
}

impl ObjectImpl for FaceIdOverlay {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(settings::param_specs);
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        lock(&self.settings).set(pspec.name(), value);
        gst::debug!(CAT, imp = self, "Set {} to {:?}", pspec.name(), value);
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        if pspec.name() == "live" {
            return match lock(&self.state).as_ref() {
                Some(Phase::Running(state)) => state.analyzer.is_live(),
                Some(Phase::Loading(loading)) => loading.live == Some(true),
                None => false,
            }
            .to_value();
        }
        lock(&self.settings).get(pspec.name())
    }
}

impl GstObjectImpl for FaceIdOverlay {}

impl ElementImpl for FaceIdOverlay {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static ELEMENT_METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Face identification overlay",
                "Filter/Effect/Video/Analyzer",
                "Finds faces with dlib, names them with a model from faceidtrain, draws a box, the \
                 name and every person's confidence, attaches a GstVideoRegionOfInterestMeta of type \
                 \"face\" (param \"faceid\") per face and posts a \"faceid\" element message per \
                 frame. Example: gst-launch-1.0 filesrc location=mv.mp4 ! decodebin ! videoconvert ! \
                 faceidoverlay model=group.faceid ! videoconvert ! autovideosink",
                "gst-faceid developers",
            )
        });
        Some(&*ELEMENT_METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static PAD_TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            // Cairo draws on native-endian 32-bit pixels; on little-endian hosts those are BGRx
            // (Rgb24) and BGRA (ARgb32). The face pipeline reads the same layouts.
            let caps = gst_video::VideoCapsBuilder::new()
                .format_list([gst_video::VideoFormat::Bgrx, gst_video::VideoFormat::Bgra])
                .build();
            vec![
                always_pad("src", gst::PadDirection::Src, &caps),
                always_pad("sink", gst::PadDirection::Sink, &caps),
            ]
        });
        PAD_TEMPLATES.as_ref()
    }
}

impl BaseTransformImpl for FaceIdOverlay {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let settings = lock(&self.settings).clone();
        let Some(model_path) = settings.model.clone() else {
            return Err(gst::error_msg!(
                gst::ResourceError::NotFound,
                ("No model set: set the model property to a file made by faceidtrain or `faceid train`")
            ));
        };
        // What can be checked in a millisecond is checked here, so a wrong path fails the state
        // change; the weights are read on a thread (see `Loading`).
        let model = Model::load(&model_path).map_err(|e| {
            gst::error_msg!(
                gst::ResourceError::OpenRead,
                ("Could not load model {}: {e}", model_path.display())
            )
        })?;
        // The encoder is the one the model was trained with: the user never names it here.
        let encoder = encoder_of(&model).map_err(|e| {
            gst::error_msg!(
                gst::ResourceError::OpenRead,
                ("Model {}: {e}", model_path.display())
            )
        })?;
        let backend_config = settings.backend_config(encoder);
        gst::info!(CAT, imp = self, "{}", backend_config.describe());
        backend_config.check_files().map_err(|e| {
            gst::error_msg!(
                gst::ResourceError::NotFound,
                (
                    "Model {} needs the {} encoder: {e}",
                    model_path.display(),
                    encoder.name()
                )
            )
        })?;
        let (tx, ready) = std::sync::mpsc::channel();
        let classifier = classifier_for(&model, &settings);
        std::thread::Builder::new()
            .name("faceid-weights".into())
            .spawn(move || {
                let _ = tx.send(State::new(
                    model_path,
                    model,
                    classifier,
                    settings,
                    backend_config,
                ));
            })
            .map_err(|e| gst::error_msg!(gst::CoreError::Failed, ("No thread: {e}")))?;
        *lock(&self.state) = Some(Phase::Loading(Loading {
            ready,
            info: None,
            live: None,
            frames: 0,
        }));
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        *lock(&self.state) = None;
        Ok(())
    }

    fn src_event(&self, event: gst::Event) -> bool {
        if let gst::EventView::Qos(qos) = event.view() {
            let (kind, _proportion, diff, _timestamp) = qos.get();
            if kind == gst::QOSType::Underflow
                && diff > 0
                && !self.sink_late.swap(true, Ordering::Relaxed)
            {
                gst::info!(
                    CAT,
                    imp = self,
                    "Downstream reports late frames ({} ms late)",
                    diff / 1_000_000
                );
            }
        }
        self.parent_src_event(event)
    }

    fn sink_event(&self, event: gst::Event) -> bool {
        if let gst::EventView::Eos(_) = event.view() {
            self.warn_if_nothing_was_analysed();
        }
        if matches!(
            event.view(),
            gst::EventView::FlushStop(_)
                | gst::EventView::StreamStart(_)
                | gst::EventView::Segment(_)
        ) && let Some(Phase::Running(state)) = lock(&self.state).as_mut()
        {
            // A seek (flushing, or a segment seek that loops without a flush) or a new stream:
            // tracks do not continue across it.
            state.analyzer.reset();
        }
        self.parent_sink_event(event)
    }

    fn transform_ip(
        &self,
        buffer: &mut gst::BufferRef,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let settings = lock(&self.settings).clone();
        let pts = buffer.pts();
        // Messages are posted after the state's lock is released: a bus handler that runs
        // synchronously and reads a property (which takes that lock) must not deadlock.
        let mut out = Vec::new();
        let analysed = self.analyze_locked(buffer, &settings, &mut out);
        self.send(out);
        let Some((faces, frame_number, info)) = analysed? else {
            return Ok(gst::FlowSuccess::Ok);
        };
        if CAT.above_threshold(gst::DebugLevel::Log) {
            for f in &faces {
                gst::log!(
                    CAT,
                    imp = self,
                    "Frame {frame_number}: {} at {},{} {}x{}, best match {} confidence {:.3} distance {:.3}, track {:?}",
                    f.name().unwrap_or(UNKNOWN),
                    f.rect.x,
                    f.rect.y,
                    f.rect.width,
                    f.rect.height,
                    f.best_match,
                    f.confidence,
                    f.distance,
                    f.track
                );
            }
        }
        for face in &faces {
            face.add_to_buffer(buffer, info.width(), info.height());
        }
        if settings.post_messages {
            self.post_results(FrameFaces {
                frame: frame_number,
                timestamp: pts,
                faces,
            });
        }
        Ok(gst::FlowSuccess::Ok)
    }
}

impl VideoFilterImpl for FaceIdOverlay {
    fn set_info(
        &self,
        _incaps: &gst::Caps,
        in_info: &gst_video::VideoInfo,
        _outcaps: &gst::Caps,
        _out_info: &gst_video::VideoInfo,
    ) -> Result<(), gst::LoggableError> {
        gst::debug!(
            CAT,
            imp = self,
            "Caps {}x{} {:?}",
            in_info.width(),
            in_info.height(),
            in_info.format()
        );
        match lock(&self.state).as_mut() {
            Some(Phase::Running(state)) => {
                // New caps (size change): boxes of the old size mean nothing.
                state.analyzer.reset();
                state.info = Some(in_info.clone());
                Ok(())
            }
            Some(Phase::Loading(loading)) => {
                loading.info = Some(in_info.clone());
                Ok(())
            }
            None => Err(gst::loggable_error!(CAT, "Caps set before start")),
        }
    }
}
