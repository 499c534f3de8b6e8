//! GStreamer glue of `faceidtrain`: properties, caps, label from property or `title` tag, one
//! photo per buffer, training and atomic model write at EOS.

use std::path::PathBuf;
use std::sync::{LazyLock, Mutex, MutexGuard};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::prelude::*;
use gst_video::prelude::*;

use crate::face::{
    DetectionConfig, FaceBox, FacePipeline, FrameRef, PixelLayout, Weights, WeightsConfig,
    resolve_models_dir,
};
use crate::model::{
    GroupFace, Model, ModelError, TrainOptions, TrainingSet, is_duplicate_reason, left_out_report,
};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "faceidtrain",
        gst::DebugColorFlags::empty(),
        Some("Face identification training"),
    )
});

const DEFAULT_APPEND: bool = true;
const DEFAULT_UPSAMPLE: u32 = 1;
const DEFAULT_JITTERS: u32 = 1;
const DEFAULT_CLEAN: bool = true;
const DEFAULT_MOTION_BLUR_COPIES: bool = true;
/// A photo with no face at `upsample` is looked at again doubled, up to this many times doubled.
const MAX_RETRY_UPSAMPLE: u32 = 2;

#[derive(Clone, Debug)]
struct Settings {
    location: Option<PathBuf>,
    label: Option<String>,
    append: bool,
    models_dir: Option<PathBuf>,
    encoder_weights: Option<PathBuf>,
    upsample: u32,
    jitters: u32,
    clean: bool,
    motion_blur_copies: bool,
    report_location: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            location: None,
            label: None,
            append: DEFAULT_APPEND,
            models_dir: None,
            encoder_weights: None,
            upsample: DEFAULT_UPSAMPLE,
            jitters: DEFAULT_JITTERS,
            clean: DEFAULT_CLEAN,
            motion_blur_copies: DEFAULT_MOTION_BLUR_COPIES,
            report_location: None,
        }
    }
}

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
}

impl FrameOutcome {
    fn as_str(self) -> &'static str {
        match self {
            FrameOutcome::Used => "used",
            FrameOutcome::NoFace => "no-face",
            FrameOutcome::GroupPhoto => "group-photo",
        }
    }
}

struct State {
    pipeline: FacePipeline,
    training: TrainingSet,
    location: PathBuf,
    info: Option<gst_video::VideoInfo>,
    tag_label: Option<String>,
    frames: u64,
    skipped_no_face: u64,
    group_photos: u64,
}

#[derive(Default)]
pub struct FaceIdTrain {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
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
        if !state.training.has_new_samples() {
            return Err(no_usable_face());
        }
        let encoder = state.pipeline.weights().encoder_id().clone();
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
            let json = report
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("json"));
            crate::model::write_atomically(report, left_out_report(&model, json).as_bytes())
                .map_err(|e| {
                    gst::error_msg!(
                        gst::ResourceError::Write,
                        ("Could not write the report: {e}")
                    )
                })?;
        }
        model.save(&state.location).map_err(|e| {
            gst::error_msg!(
                gst::ResourceError::Write,
                ("Could not write the model: {e}. The previous file, if any, is unchanged")
            )
        })?;
        summary.set("people", model.labels.len() as u64);
        summary.set("photos", model.samples.len() as u64);
        summary.set("unknown-distance", model.unknown_distance as f64);
        summary.set("blur-penalty", model.blur_penalty as f64);
        let duplicates = model
            .left_out
            .iter()
            .filter(|l| is_duplicate_reason(&l.reason))
            .count();
        summary.set("left-out-duplicates", duplicates as u64);
        summary.set(
            "left-out-disagreeing",
            (model.left_out.len() - duplicates) as u64,
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
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecString::builder("location")
                    .nick("Model file")
                    .blurb("Model file to write at EOS (required). Written to a temporary file and renamed, so an existing model survives any failure")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("label")
                    .nick("Label")
                    .blurb("Name of the person in these photos. Unset: the stream's title tag (e.g. taginject tags=\"title=Tzuyu\")")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecBoolean::builder("append")
                    .nick("Append")
                    .blurb("Add to the people already in the model file and retrain over all of them (a label trained again replaces its earlier photos). Off: the file holds only this run's people")
                    .default_value(DEFAULT_APPEND)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("models-dir")
                    .nick("dlib weights folder")
                    .blurb("Folder with dlib's weight files. Unset: $FACEID_MODELS_DIR, then the install location")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("encoder-weights")
                    .nick("Encoder weights")
                    .blurb("dlib ResNet encoder weights, a file name in models-dir or a path (unset: dlib_face_recognition_resnet_model_v1.dat). The model remembers which weights made it")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("upsample")
                    .nick("Upsample")
                    .blurb("Times each photo is doubled in size before HOG face detection (finds smaller faces, slower)")
                    .maximum(3)
                    .default_value(DEFAULT_UPSAMPLE)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecBoolean::builder("clean")
                    .nick("Clean")
                    .blurb("Leave out photos whose face disagrees with the rest of that person's photos (another member, a wrong person) and near-duplicates (the same picture resized or mirrored); they are listed in the faceidtrain message and the report. Off: keep every photo")
                    .default_value(DEFAULT_CLEAN)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecBoolean::builder("motion-blur-copies")
                    .nick("Motion-blur copies")
                    .blurb("Also encode each photo's face blurred sideways (by 11% of its width), as fast camera pans smear faces in music videos: such frames are then named. Doubles encoding time. Off: sharp photos only")
                    .default_value(DEFAULT_MOTION_BLUR_COPIES)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("report-location")
                    .nick("Report file")
                    .blurb("Write the photos left out, and why, to this file at EOS: JSON when it ends in .json, else CSV (label,source,reason)")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("jitters")
                    .nick("Jitters")
                    .blurb("Encode each face this many times with random jitter and average (dlib's num_jitters): steadier encodings, that many times slower")
                    .minimum(1)
                    .maximum(100)
                    .default_value(DEFAULT_JITTERS)
                    .mutable_ready()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = lock(&self.settings);
        let string = |v: &glib::Value| {
            v.get::<Option<String>>()
                .expect("type checked upstream")
                .filter(|s| !s.is_empty())
        };
        match pspec.name() {
            "location" => settings.location = string(value).map(PathBuf::from),
            "label" => settings.label = string(value),
            "append" => settings.append = value.get().expect("type checked upstream"),
            "models-dir" => settings.models_dir = string(value).map(PathBuf::from),
            "encoder-weights" => settings.encoder_weights = string(value).map(PathBuf::from),
            "upsample" => settings.upsample = value.get().expect("type checked upstream"),
            "jitters" => settings.jitters = value.get().expect("type checked upstream"),
            "clean" => settings.clean = value.get().expect("type checked upstream"),
            "motion-blur-copies" => {
                settings.motion_blur_copies = value.get().expect("type checked upstream")
            }
            "report-location" => settings.report_location = string(value).map(PathBuf::from),
            _ => unimplemented!(),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let settings = lock(&self.settings);
        let path = |p: &Option<PathBuf>| {
            p.as_ref()
                .map(|p| p.to_string_lossy().into_owned())
                .to_value()
        };
        match pspec.name() {
            "location" => path(&settings.location),
            "label" => settings.label.to_value(),
            "append" => settings.append.to_value(),
            "models-dir" => path(&settings.models_dir),
            "encoder-weights" => path(&settings.encoder_weights),
            "upsample" => settings.upsample.to_value(),
            "jitters" => settings.jitters.to_value(),
            "clean" => settings.clean.to_value(),
            "motion-blur-copies" => settings.motion_blur_copies.to_value(),
            "report-location" => path(&settings.report_location),
            _ => unimplemented!(),
        }
    }
}

impl GstObjectImpl for FaceIdTrain {}

impl ElementImpl for FaceIdTrain {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static ELEMENT_METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Face identification training",
                "Sink/Video/Analyzer",
                "Encodes the face of every photo (buffer) with dlib and, at EOS, trains a classifier \
                 and writes the model file for faceidoverlay. Photos with no face or several faces \
                 are skipped and counted. Posts a \"faceidtrain-frame\" message per photo and a \
                 \"faceidtrain\" summary at EOS",
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
            vec![
                gst::PadTemplate::new(
                    "sink",
                    gst::PadDirection::Sink,
                    gst::PadPresence::Always,
                    &caps,
                )
                .expect("valid template"),
            ]
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
        let mut weights_config =
            WeightsConfig::new(resolve_models_dir(settings.models_dir.as_deref()));
        if let Some(encoder) = &settings.encoder_weights {
            weights_config.encoder_file = encoder.clone();
        }
        let weights = Weights::load(&weights_config)
            .map_err(|e| gst::error_msg!(gst::ResourceError::NotFound, ("{e}")))?;
        let existing = if settings.append && location.exists() {
            let model = Model::load(&location).map_err(|e| {
                gst::error_msg!(
                    gst::ResourceError::OpenRead,
                    (
                        "Cannot append to {}: {e}. Set append=false to replace it",
                        location.display()
                    )
                )
            })?;
            model.check_encoder(weights.encoder_id()).map_err(|e| {
                gst::error_msg!(
                    gst::ResourceError::OpenRead,
                    (
                        "Cannot append to {}: {e}. Set append=false to replace it",
                        location.display()
                    )
                )
            })?;
            Some(model)
        } else {
            None
        };
        *lock(&self.state) = Some(State {
            pipeline: FacePipeline::new(weights),
            training: TrainingSet::new(existing.as_ref()),
            location,
            info: None,
            tag_label: None,
            frames: 0,
            skipped_no_face: 0,
            group_photos: 0,
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
        let Some(label) = settings.label.clone().or_else(|| state.tag_label.clone()) else {
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
        let layout = match info.format() {
            gst_video::VideoFormat::Bgrx | gst_video::VideoFormat::Bgra => PixelLayout::Bgrx,
            gst_video::VideoFormat::Rgb => PixelLayout::Rgb,
            _ => PixelLayout::Rgbx,
        };
        let index = state.frames;
        state.frames += 1;
        let data = frame.plane_data(0).map_err(|_| gst::FlowError::Error)?;
        let view = match FrameRef::new(
            data,
            frame.width() as usize,
            frame.height() as usize,
            frame.plane_stride()[0] as usize,
            layout,
        ) {
            Ok(view) => view,
            Err(e) => {
                gst::element_imp_warning!(
                    self,
                    gst::StreamError::Decode,
                    ("Skipping photo {index}: {e}")
                );
                state.skipped_no_face += 1;
                drop(guard);
                self.post(
                    gst::Structure::builder("faceidtrain-frame")
                        .field("index", index)
                        .field("label", label.as_str())
                        .field("outcome", FrameOutcome::NoFace.as_str())
                        .field("faces", 0u32)
                        .build(),
                );
                return Ok(gst::FlowSuccess::Ok);
            }
        };
        let mut detection = DetectionConfig {
            upsample: settings.upsample,
            ..DetectionConfig::default()
        };
        let mut boxes = state.pipeline.detect(&view, &detection);
        // Downloaded photos are often thumbnails or crops with a small face: look once more
        // with the photo doubled (bounded by the detector's pixel budget) before giving up.
        if boxes.is_empty() && detection.upsample < MAX_RETRY_UPSAMPLE {
            detection.upsample += 1;
            boxes = state.pipeline.detect(&view, &detection);
        }
        boxes.sort_by_key(|b| std::cmp::Reverse(i64::from(b.width) * i64::from(b.height)));
        boxes.truncate(MAX_GROUP_PHOTO_FACES);
        let encodings = state.pipeline.encode(&view, &boxes, settings.jitters);
        let blurred = |b: FaceBox| {
            settings
                .motion_blur_copies
                .then(|| {
                    crate::augment::encode_motion_blurred(
                        &state.pipeline,
                        &view,
                        b,
                        settings.jitters,
                    )
                })
                .flatten()
        };
        let source = format!("frame {index}");
        let outcome = if encodings.len() != boxes.len() || boxes.is_empty() {
            state.skipped_no_face += 1;
            FrameOutcome::NoFace
        } else if boxes.len() == 1 {
            let motion_blurred = blurred(boxes[0]);
            state
                .training
                .add(&label, encodings[0], motion_blurred, source);
            FrameOutcome::Used
        } else {
            let faces = boxes
                .iter()
                .zip(&encodings)
                .map(|(b, e)| GroupFace {
                    encoding: *e,
                    motion_blurred: blurred(*b),
                    area: i64::from(b.width) * i64::from(b.height),
                })
                .collect();
            state.training.add_group_photo(&label, faces, source);
            state.group_photos += 1;
            FrameOutcome::GroupPhoto
        };
        drop(frame);
        drop(guard);
        gst::debug!(
            CAT,
            imp = self,
            "Photo {index} ({label}): {} faces, {}",
            boxes.len(),
            outcome.as_str()
        );
        self.post(
            gst::Structure::builder("faceidtrain-frame")
                .field("index", index)
                .field("label", label.as_str())
                .field("outcome", outcome.as_str())
                .field("faces", boxes.len() as u32)
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
            gst::EventView::Eos(_) => match self.finish(&lock(&self.settings).clone()) {
                Ok(summary) => self.post(summary),
                Err(err) => self.post_error_message(err),
            },
            _ => {}
        }
        self.parent_event(event)
    }
}
