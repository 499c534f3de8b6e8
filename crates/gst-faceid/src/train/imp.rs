//! GStreamer glue of `faceidtrain`: properties, caps, label from property or `title` tag, one
//! photo per buffer, training and atomic model write at EOS.

use std::path::PathBuf;
use std::sync::{LazyLock, Mutex};

use faceid_core::detection::{DetectionConfig, DetectorKind};
use faceid_core::frame::{FrameRef, PixelLayout};
use faceid_core::geometry::FaceBox;
use faceid_core::model::{
    GroupFace, LeftOutKind, Model, ModelError, TrainOptions, TrainingSet, left_out_report,
    write_atomically,
};
use faceid_dlib::FacePipeline;
use faceid_dlib::augment::encode_motion_blurred;

use crate::backends::{BackendConfig, FaceModels, encoder_of};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::prelude::*;
use gst_video::prelude::*;

use super::settings::{self, Settings};
use crate::element::{always_pad, lock, weights_config};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "faceidtrain",
        gst::DebugColorFlags::empty(),
        Some("Face identification training"),
    )
});

/// A photo with no face at `upsample` is looked at again doubled, up to this many times doubled.
const MAX_RETRY_UPSAMPLE: u32 = 2;

/// Faces of a group photo that are encoded, largest first: which one is the person is decided
/// at EOS, against the person's other photos.
const MAX_GROUP_PHOTO_FACES: usize = 8;

/// What became of a photo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FrameOutcome {
    Used,
    NoFace,
    /// Several faces: decided at EOS which one is the person (or none).
    GroupPhoto,
    /// A photo of strangers (`strangers=true`): every face kept to stay unknown.
    Strangers,
}

impl FrameOutcome {
    fn as_str(self) -> &'static str {
        match self {
            FrameOutcome::Used => "used",
            FrameOutcome::NoFace => "no-face",
            FrameOutcome::GroupPhoto => "group-photo",
            FrameOutcome::Strangers => "strangers",
        }
    }
}

struct State {
    pipeline: FacePipeline,
    /// Which detector finds the photos' faces (its weights are in `pipeline`).
    detector: DetectorKind,
    training: TrainingSet,
    location: PathBuf,
    info: Option<gst_video::VideoInfo>,
    tag_label: Option<String>,
    frames: u64,
    skipped_no_face: u64,
    group_photos: u64,
    /// Strangers' faces added by this run (`strangers=true`).
    strangers: u64,
}

/// The pixel layout of a negotiated format (the pad template's formats).
fn layout_of(format: gst_video::VideoFormat) -> PixelLayout {
    match format {
        gst_video::VideoFormat::Bgrx => PixelLayout::Bgrx,
        gst_video::VideoFormat::Bgra => PixelLayout::Bgra,
        gst_video::VideoFormat::Rgb => PixelLayout::Rgb,
        _ => PixelLayout::Rgbx,
    }
}

impl State {
    /// The faces of a photo, largest first (at most [`MAX_GROUP_PHOTO_FACES`]). Downloaded
    /// photos are often thumbnails or crops with a small face: without one, the photo is looked
    /// at once more doubled (bounded by the detector's pixel budget).
    fn find_faces(&self, view: &FrameRef<'_>, upsample: u32) -> Vec<FaceBox> {
        let mut detection = DetectionConfig {
            detector: self.detector,
            upsample,
            ..DetectionConfig::default()
        };
        let mut boxes = self.pipeline.detect(view, &detection);
        if boxes.is_empty() && detection.upsample < MAX_RETRY_UPSAMPLE {
            detection.upsample += 1;
            boxes = self.pipeline.detect(view, &detection);
        }
        boxes.sort_by_key(|b| std::cmp::Reverse(b.area()));
        boxes.truncate(MAX_GROUP_PHOTO_FACES);
        boxes
    }

    /// Encodes every face of a strangers' photo into the training set's strangers.
    fn add_strangers_photo(
        &mut self,
        view: &FrameRef<'_>,
        settings: &Settings,
    ) -> (FrameOutcome, usize) {
        let boxes = self.find_faces(view, settings.upsample);
        let encodings = self.pipeline.encode(view, &boxes, settings.jitters);
        if encodings.len() != boxes.len() || boxes.is_empty() {
            self.skipped_no_face += 1;
            return (FrameOutcome::NoFace, boxes.len());
        }
        self.training.add_strangers(&encodings);
        self.strangers += encodings.len() as u64;
        (FrameOutcome::Strangers, boxes.len())
    }

    /// Encodes the photo's faces into the training set; what became of it and how many faces
    /// it has.
    fn add_photo(
        &mut self,
        view: &FrameRef<'_>,
        label: &str,
        index: u64,
        settings: &Settings,
    ) -> (FrameOutcome, usize) {
        let boxes = self.find_faces(view, settings.upsample);
        let encodings = self.pipeline.encode(view, &boxes, settings.jitters);
        let blurred = |b: FaceBox| {
            settings
                .motion_blur_copies
                .then(|| encode_motion_blurred(&self.pipeline, view, b, settings.jitters))
                .flatten()
        };
        let source = format!("frame {index}");
        let outcome = if encodings.len() != boxes.len() || boxes.is_empty() {
            self.skipped_no_face += 1;
            FrameOutcome::NoFace
        } else if boxes.len() == 1 {
            let motion_blurred = blurred(boxes[0]);
            self.training
                .add(label, encodings[0], motion_blurred, source);
            FrameOutcome::Used
        } else {
            let faces = boxes
                .iter()
                .zip(&encodings)
                .map(|(b, e)| GroupFace {
                    encoding: *e,
                    motion_blurred: blurred(*b),
                    area: b.area(),
                })
                .collect();
            self.training.add_group_photo(label, faces, source);
            self.group_photos += 1;
            FrameOutcome::GroupPhoto
        };
        (outcome, boxes.len())
    }
}

#[derive(Default)]
pub struct FaceIdTrain {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
}

impl FaceIdTrain {
    fn post(&self, s: gst::Structure) {
        let _ = self
            .obj()
            .post_message(gst::message::Element::builder(s).src(&*self.obj()).build());
    }

    /// Trains over everything gathered and writes the model. Returns the summary message.
    fn finish(&self, settings: &Settings) -> Result<gst::Structure, gst::ErrorMessage> {
        let mut guard = lock(&self.state);
        let Some(state) = guard.as_mut() else {
            return Err(gst::error_msg!(gst::CoreError::Failed, ("Not started")));
        };
        let mut summary = gst::Structure::builder("faceidtrain")
            .field("location", state.location.to_string_lossy().as_ref())
            .field("frames", state.frames)
            .field("skipped-no-face", state.skipped_no_face)
            .field("group-photos", state.group_photos)
            .field("strangers", state.strangers)
            .build();
        let added = state.training.added_counts();
        summary.set(
            "labels",
            gst::List::new(added.iter().map(|(label, count)| {
                gst::Structure::builder("label")
                    .field("label", label.as_str())
                    .field("used", *count as u64)
                    .build()
            })),
        );
        let no_usable_face = || {
            gst::error_msg!(
                gst::StreamError::Failed,
                (
                    "No usable face in {} frames ({} without a face, {} with several faces none \
                     of which is clearly the person): {} was not written. Give photos that show \
                     the person's face",
                    state.frames,
                    state.skipped_no_face,
                    state.group_photos,
                    state.location.display()
                )
            )
        };
        // A run that only added strangers to a model retrains it over them.
        let strangers_added = state.strangers > 0 && state.training.has_samples();
        if !(state.training.has_new_samples() || strangers_added) {
            return Err(no_usable_face());
        }
        let Some(encoder) = state.pipeline.encoder_id().cloned() else {
            return Err(gst::error_msg!(
                gst::CoreError::Failed,
                ("No face encoder was loaded")
            ));
        };
        let training = std::mem::take(&mut state.training);
        let options = TrainOptions {
            clean: settings.clean,
            ..TrainOptions::default()
        };
        let model = training.train(encoder, &options).map_err(|e| match e {
            ModelError::NoSamples => no_usable_face(),
            e => gst::error_msg!(gst::LibraryError::Failed, ("{e}")),
        })?;
        if let Some(report) = &settings.report_location {
            write_report(report, &model)?;
        }
        model.save(&state.location).map_err(|e| {
            gst::error_msg!(
                gst::ResourceError::Write,
                ("Could not write the model: {e}. The previous file, if any, is unchanged")
            )
        })?;
        add_model_summary(&mut summary, &model);
        gst::info!(
            CAT,
            imp = self,
            "Wrote {} with {} people, {} photos",
            state.location.display(),
            model.labels.len(),
            model.samples.len()
        );
        Ok(summary)
    }
}

/// The photos the cleaning left out, as CSV or (`.json`) JSON, written whole or not at all.
fn write_report(report: &std::path::Path, model: &Model) -> Result<(), gst::ErrorMessage> {
    let json = report
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    write_atomically(report, left_out_report(model, json).as_bytes()).map_err(|e| {
        gst::error_msg!(
            gst::ResourceError::Write,
            ("Could not write the report: {e}")
        )
    })
}

/// What the written model holds, for the `faceidtrain` summary: people, photos, calibration,
/// and the photos left out by kind and one by one.
fn add_model_summary(summary: &mut gst::Structure, model: &Model) {
    summary.set("people", model.labels.len() as u64);
    summary.set("photos", model.samples.len() as u64);
    summary.set("unknown-distance", model.unknown_distance as f64);
    summary.set("blur-penalty", model.blur_penalty as f64);
    let left_out = |kind: LeftOutKind| model.left_out.iter().filter(|l| l.kind == kind).count();
    summary.set(
        "left-out-duplicates",
        left_out(LeftOutKind::Duplicate) as u64,
    );
    summary.set(
        "left-out-disagreeing",
        left_out(LeftOutKind::Disagrees) as u64,
    );
    summary.set(
        "left-out-group-photos",
        left_out(LeftOutKind::GroupPhoto) as u64,
    );
    summary.set(
        "left-out",
        gst::List::new(model.left_out.iter().map(|l| {
            gst::Structure::builder("photo")
                .field(
                    "label",
                    model.labels.get(l.sample.label).map_or("", |s| s.as_str()),
                )
                .field("source", l.sample.source.as_str())
                .field("reason", l.reason.as_str())
                .build()
        })),
    );
}

#[glib::object_subclass]
impl ObjectSubclass for FaceIdTrain {
    const NAME: &'static str = "GstFaceIdTrain";
    type Type = super::FaceIdTrain;
    type ParentType = gst_base::BaseSink;
}

impl ObjectImpl for FaceIdTrain {
    fn constructed(&self) {
        self.parent_constructed();
        // Photos are processed as fast as they come; there is nothing to display on time.
        self.obj().set_sync(false);
    }

    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(settings::param_specs);
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        lock(&self.settings).set(pspec.name(), value);
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        lock(&self.settings).get(pspec.name())
    }
}

impl GstObjectImpl for FaceIdTrain {}

impl ElementImpl for FaceIdTrain {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static ELEMENT_METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Face identification training",
                "Sink/Video/Analyzer",
                "Encodes the face of every photo (buffer; dlib's encoder unless encoder=sface) and, at EOS, trains a classifier \
                 and writes the model file for faceidoverlay. Photos with no face are skipped and \
                 counted; of a photo with several faces, the one clearly like the person's other \
                 photos is kept. Posts a \"faceidtrain-frame\" message per photo and a \
                 \"faceidtrain\" summary at EOS. Example: gst-launch-1.0 multifilesrc \
                 location=photos/jimin/%03d.jpg caps=image/jpeg,framerate=1/1 ! jpegparse ! jpegdec \
                 ! videoconvert ! videoflip video-direction=auto ! videoconvert ! faceidtrain \
                 label=jimin location=group.faceid",
                "gst-faceid developers",
            )
        });
        Some(&*ELEMENT_METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static PAD_TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let caps = gst_video::VideoCapsBuilder::new()
                .format_list([
                    gst_video::VideoFormat::Bgrx,
                    gst_video::VideoFormat::Bgra,
                    gst_video::VideoFormat::Rgbx,
                    gst_video::VideoFormat::Rgba,
                    gst_video::VideoFormat::Rgb,
                ])
                .build();
            vec![always_pad("sink", gst::PadDirection::Sink, &caps)]
        });
        PAD_TEMPLATES.as_ref()
    }
}

impl BaseSinkImpl for FaceIdTrain {
    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let settings = lock(&self.settings).clone();
        let Some(location) = settings.location.clone() else {
            return Err(gst::error_msg!(
                gst::ResourceError::NotFound,
                ("No location set: set the location property to the model file to write")
            ));
        };
        let weights_config = weights_config(
            settings.models_dir.as_deref(),
            settings.encoder_weights.as_deref(),
            false,
        );
        let cannot_append = |e: &dyn std::fmt::Display| {
            gst::error_msg!(
                gst::ResourceError::OpenRead,
                (
                    "Cannot append to {}: {e}. Set append=false to replace it",
                    location.display()
                )
            )
        };
        let existing = if settings.append && location.exists() {
            Some(Model::load(&location).map_err(|e| cannot_append(&e))?)
        } else {
            None
        };
        let existing_encoder = match &existing {
            Some(model) => Some(encoder_of(model).map_err(|e| cannot_append(&e))?),
            None => None,
        };
        let encoder = settings
            .encoder_kind(existing_encoder)
            .map_err(|e| gst::error_msg!(gst::LibraryError::Settings, ("{e}")))?;
        let detector = settings.detector_kind();
        let models =
            FaceModels::load(&BackendConfig::new(encoder, weights_config).with_detector(detector))
                .map_err(|e| gst::error_msg!(gst::ResourceError::NotFound, ("{e}")))?;
        if let Some(model) = &existing {
            model
                .check_encoder(models.encoder_id())
                .map_err(|e| cannot_append(&e))?;
        }
        *lock(&self.state) = Some(State {
            pipeline: models.pipeline(),
            detector,
            training: TrainingSet::new(existing.as_ref()),
            location,
            info: None,
            tag_label: None,
            frames: 0,
            skipped_no_face: 0,
            group_photos: 0,
            strangers: 0,
        });
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        *lock(&self.state) = None;
        Ok(())
    }

    fn set_caps(&self, caps: &gst::Caps) -> Result<(), gst::LoggableError> {
        let info = gst_video::VideoInfo::from_caps(caps)
            .map_err(|_| gst::loggable_error!(CAT, "Invalid caps {caps}"))?;
        match lock(&self.state).as_mut() {
            Some(state) => {
                state.info = Some(info);
                Ok(())
            }
            None => Err(gst::loggable_error!(CAT, "Caps set before start")),
        }
    }

    fn render(&self, buffer: &gst::Buffer) -> Result<gst::FlowSuccess, gst::FlowError> {
        let settings = lock(&self.settings).clone();
        let mut guard = lock(&self.state);
        let Some(state) = guard.as_mut() else {
            gst::element_imp_error!(self, gst::CoreError::Failed, ("Not started"));
            return Err(gst::FlowError::Error);
        };
        let Some(info) = state.info.clone() else {
            gst::element_imp_error!(
                self,
                gst::CoreError::Negotiation,
                ("No caps before the first buffer")
            );
            return Err(gst::FlowError::NotNegotiated);
        };
        let label = if settings.strangers {
            Some("(strangers)".to_string())
        } else {
            settings.label.clone().or_else(|| state.tag_label.clone())
        };
        let Some(label) = label else {
            gst::element_imp_error!(
                self,
                gst::StreamError::Failed,
                ("No label for these photos: set the label property or send a title tag (taginject tags=\"title=NAME\")")
            );
            return Err(gst::FlowError::Error);
        };
        let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer.as_ref(), &info)
            .map_err(|_| {
                gst::element_imp_error!(
                    self,
                    gst::CoreError::Failed,
                    ("Could not map the video frame")
                );
                gst::FlowError::Error
            })?;
        let index = state.frames;
        state.frames += 1;
        let data = frame.plane_data(0).map_err(|_| gst::FlowError::Error)?;
        let (outcome, faces) = match FrameRef::new(
            data,
            frame.width() as usize,
            frame.height() as usize,
            frame.plane_stride()[0] as usize,
            layout_of(info.format()),
        ) {
            Ok(view) if settings.strangers => state.add_strangers_photo(&view, &settings),
            Ok(view) => state.add_photo(&view, &label, index, &settings),
            Err(e) => {
                gst::element_imp_warning!(
                    self,
                    gst::StreamError::Decode,
                    ("Skipping photo {index}: {e}")
                );
                state.skipped_no_face += 1;
                (FrameOutcome::NoFace, 0)
            }
        };
        drop(frame);
        drop(guard);
        gst::debug!(
            CAT,
            imp = self,
            "Photo {index} ({label}): {faces} faces, {}",
            outcome.as_str()
        );
        self.post(
            gst::Structure::builder("faceidtrain-frame")
                .field("index", index)
                .field("label", label.as_str())
                .field("outcome", outcome.as_str())
                .field("faces", faces as u32)
                .build(),
        );
        Ok(gst::FlowSuccess::Ok)
    }

    fn event(&self, event: gst::Event) -> bool {
        match event.view() {
            gst::EventView::Tag(tag) => {
                if let Some(title) = tag.tag().get::<gst::tags::Title>() {
                    let title = title.get().trim().to_string();
                    if !title.is_empty()
                        && let Some(state) = lock(&self.state).as_mut()
                    {
                        gst::debug!(CAT, imp = self, "Label from title tag: {title}");
                        state.tag_label = Some(title);
                    }
                }
            }
            gst::EventView::Eos(_) => {
                // The settings lock is not held while training: a bus handler that reads a
                // property meanwhile must not wait for it.
                let settings = lock(&self.settings).clone();
                match self.finish(&settings) {
                    Ok(summary) => self.post(summary),
                    Err(err) => self.post_error_message(err),
                }
            }
            _ => {}
        }
        self.parent_event(event)
    }
}
