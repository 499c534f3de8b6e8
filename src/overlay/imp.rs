//! GStreamer glue of `faceidoverlay`: properties, caps, buffer mapping, metas and messages. The
//! analysis is [`crate::analyzer`], the drawing [`crate::draw`].

use std::path::PathBuf;
use std::sync::{LazyLock, Mutex, MutexGuard};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::subclass::prelude::*;
use gst_video::prelude::*;
use gst_video::subclass::prelude::*;

use super::Detector;
use crate::analyzer::{Analyzer, AnalyzerConfig, DEFAULT_WEAK_DETECTION_SCORE, FaceResult};
use crate::draw::{self, DrawStyle, FaceLabel, Rgb};
use crate::face::{
    DetectionConfig, DetectorKind, FacePipeline, FrameRef, PixelLayout, Weights, WeightsConfig,
    resolve_models_dir,
};
use crate::model::{Classifier, Model};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "faceidoverlay",
        gst::DebugColorFlags::empty(),
        Some("Face identification overlay"),
    )
});

const DEFAULT_THRESHOLD: f64 = 0.5;
const DEFAULT_UNKNOWN_DISTANCE: f64 = -1.0;
const DEFAULT_MARGIN: f64 = -1.0;
const DEFAULT_SHOW_CONFIDENCES: bool = true;
const DEFAULT_DRAW_LABELS: bool = true;
const DEFAULT_POST_MESSAGES: bool = true;
const DEFAULT_UPSAMPLE: u32 = 1;
/// Frames wider than this are detected on a copy scaled to it: with one upsample, the search
/// then finds faces down to about 7% of the frame height at any resolution (50 px at 720p),
/// for 30-45% less HOG work than the full 720p width, same names on the benchmark clip.
const DEFAULT_DETECTION_WIDTH: u32 = 1024;
const DEFAULT_TRACKING: bool = true;
const DEFAULT_DETECTION_INTERVAL: u32 = 3;
const DEFAULT_FULL_DETECTION_INTERVAL: u32 = 15;
const DEFAULT_REENCODE_INTERVAL: u32 = 20;
const DEFAULT_N_THREADS: u32 = 0;
/// Longest list of confidences drawn beside a face.
const MAX_SCORES_DRAWN: usize = 12;

#[derive(Clone, Debug, PartialEq)]
struct Settings {
    model: Option<PathBuf>,
    models_dir: Option<PathBuf>,
    encoder_weights: Option<PathBuf>,
    threshold: f64,
    unknown_distance: f64,
    margin: f64,
    show_confidences: bool,
    draw_labels: bool,
    post_messages: bool,
    detector: Detector,
    upsample: u32,
    detection_width: u32,
    tracking: bool,
    detection_interval: u32,
    full_detection_interval: u32,
    reencode_interval: u32,
    n_threads: u32,
    known_color: u32,
    unknown_color: u32,
    weak_detection_score: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            model: None,
            models_dir: None,
            encoder_weights: None,
            threshold: DEFAULT_THRESHOLD,
            unknown_distance: DEFAULT_UNKNOWN_DISTANCE,
            margin: DEFAULT_MARGIN,
            show_confidences: DEFAULT_SHOW_CONFIDENCES,
            draw_labels: DEFAULT_DRAW_LABELS,
            post_messages: DEFAULT_POST_MESSAGES,
            detector: Detector::default(),
            upsample: DEFAULT_UPSAMPLE,
            detection_width: DEFAULT_DETECTION_WIDTH,
            tracking: DEFAULT_TRACKING,
            detection_interval: DEFAULT_DETECTION_INTERVAL,
            full_detection_interval: DEFAULT_FULL_DETECTION_INTERVAL,
            reencode_interval: DEFAULT_REENCODE_INTERVAL,
            n_threads: DEFAULT_N_THREADS,
            known_color: draw::DEFAULT_CONFIDENT_ARGB,
            unknown_color: draw::DEFAULT_UNSURE_ARGB,
            weak_detection_score: DEFAULT_WEAK_DETECTION_SCORE,
        }
    }
}

impl Settings {
    fn analyzer_config(&self) -> AnalyzerConfig {
        AnalyzerConfig {
            detection: DetectionConfig {
                detector: match self.detector {
                    Detector::Hog => DetectorKind::Hog,
                    Detector::Cnn => DetectorKind::Cnn,
                },
                upsample: self.upsample,
                detection_width: self.detection_width as usize,
                threads: self.threads(),
                ..DetectionConfig::default()
            },
            tracking: self.tracking,
            detection_interval: self.detection_interval.max(1),
            full_detection_interval: self.full_detection_interval.max(1),
            reencode_interval: self.reencode_interval.max(1),
            threads: self.threads(),
            weak_detection_score: self.weak_detection_score,
            ..AnalyzerConfig::default()
        }
    }

    fn draw_style(&self) -> DrawStyle {
        DrawStyle {
            confident_color: Rgb::from_argb(self.known_color),
            unsure_color: Rgb::from_argb(self.unknown_color),
            ..DrawStyle::default()
        }
    }

    fn threads(&self) -> usize {
        match self.n_threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n as usize,
        }
    }

    fn weights_config(&self) -> WeightsConfig {
        let mut config = WeightsConfig::new(resolve_models_dir(self.models_dir.as_deref()));
        if let Some(encoder) = &self.encoder_weights {
            config.encoder_file = encoder.clone();
        }
        config.cnn = self.detector == Detector::Cnn;
        config
    }
}

struct State {
    analyzer: Analyzer,
    weights: std::sync::Arc<Weights>,
    /// The model file the classifier was loaded from.
    model_path: PathBuf,
    /// The unknown distance stored in the model (the property may override it).
    model_unknown_distance: f32,
    /// The margin stored in the model (the property may override it).
    model_margin: f32,
    /// The settings the analyzer was last configured with: property changes are applied once,
    /// not on every frame.
    applied: Settings,
    info: Option<gst_video::VideoInfo>,
    frames: u64,
    /// Test-only hook: `FACEID_TEST_PANIC=faceidoverlay` in the environment makes the first
    /// buffer panic, to prove a panic becomes a GStreamer error and not a crash of the host.
    panic_for_test: bool,
}

#[derive(Default)]
pub struct FaceIdOverlay {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Loads a model file for `weights`, refusing one built with other encoder weights.
fn load_classifier(path: &std::path::Path, weights: &Weights) -> Result<Model, String> {
    let model =
        Model::load(path).map_err(|e| format!("Could not load model {}: {e}", path.display()))?;
    model
        .check_encoder(weights.encoder_id())
        .map_err(|e| format!("Model {}: {e}", path.display()))?;
    Ok(model)
}

impl FaceIdOverlay {
    fn classifier_for(&self, model: &Model, settings: &Settings) -> Classifier {
        let mut classifier = Classifier::new(model);
        if settings.unknown_distance > 0.0 {
            classifier.set_unknown_distance(settings.unknown_distance as f32);
        }
        if settings.margin >= 0.0 {
            classifier.set_margin(settings.margin as f32);
        }
        classifier
    }

    /// Applies property changes made while playing: a new model file, thresholds, detection.
    fn apply_settings(&self, state: &mut State, settings: &Settings) {
        if *settings == state.applied {
            return;
        }
        state.applied = settings.clone();
        if let Some(path) = &settings.model
            && *path != state.model_path
        {
            state.model_path = path.clone();
            match load_classifier(path, &state.weights) {
                Ok(model) => {
                    gst::info!(CAT, imp = self, "Switched to model {}", path.display());
                    state.model_unknown_distance = model.unknown_distance;
                    state.model_margin = model.margin;
                    state
                        .analyzer
                        .set_classifier(self.classifier_for(&model, settings));
                }
                Err(msg) => gst::element_imp_warning!(
                    self,
                    gst::ResourceError::OpenRead,
                    ("{msg}; keeping the previous model")
                ),
            }
        }
        let mut classifier = state.analyzer.classifier().clone();
        let wanted = if settings.unknown_distance > 0.0 {
            settings.unknown_distance as f32
        } else {
            state.model_unknown_distance
        };
        let wanted_margin = if settings.margin >= 0.0 {
            settings.margin as f32
        } else {
            state.model_margin
        };
        if classifier.unknown_distance() != wanted || classifier.margin() != wanted_margin {
            classifier.set_unknown_distance(wanted);
            classifier.set_margin(wanted_margin);
            state.analyzer.set_classifier(classifier);
        }
        state.analyzer.set_config(settings.analyzer_config());
    }

    fn labels_for(results: &[FaceResult], settings: &Settings) -> Vec<FaceLabel> {
        results
            .iter()
            .map(|r| FaceLabel {
                x: r.rect.x,
                y: r.rect.y,
                width: r.rect.width,
                height: r.rect.height,
                title: r.title(),
                confident: r.is_confident(settings.threshold as f32),
                scores: if settings.show_confidences {
                    r.scores.iter().take(MAX_SCORES_DRAWN).cloned().collect()
                } else {
                    Vec::new()
                },
            })
            .collect()
    }

    fn face_structure(r: &FaceResult, threshold: f32) -> gst::Structure {
        gst::Structure::builder("faceid")
            .field("label", r.label.as_deref().unwrap_or("unknown"))
            .field("known", r.label.is_some())
            .field("confident", r.is_confident(threshold))
            .field("best-match", r.best_match.as_str())
            .field("confidence", r.confidence as f64)
            .field("distance", r.distance as f64)
            .field("track", r.track.map(|t| t as i64).unwrap_or(-1))
            .build()
    }

    fn attach_metas(
        buffer: &mut gst::BufferRef,
        results: &[FaceResult],
        info: &gst_video::VideoInfo,
        threshold: f32,
    ) {
        for r in results {
            // ROI rectangles are unsigned: clip to the frame.
            let x0 = r.rect.x.clamp(0, info.width() as i32);
            let y0 = r.rect.y.clamp(0, info.height() as i32);
            let x1 = (r.rect.x + r.rect.width).clamp(0, info.width() as i32);
            let y1 = (r.rect.y + r.rect.height).clamp(0, info.height() as i32);
            let mut meta = gst_video::VideoRegionOfInterestMeta::add(
                buffer,
                "face",
                (x0 as u32, y0 as u32, (x1 - x0) as u32, (y1 - y0) as u32),
            );
            if let Some(track) = r.track {
                meta.set_id(track.min(i32::MAX as u64) as i32);
            }
            meta.add_param(Self::face_structure(r, threshold));
        }
    }

    fn post_results(
        &self,
        frame: u64,
        pts: Option<gst::ClockTime>,
        results: &[FaceResult],
        threshold: f32,
    ) {
        let faces = gst::List::new(results.iter().map(|r| {
            let mut s = Self::face_structure(r, threshold);
            s.set("x", r.rect.x);
            s.set("y", r.rect.y);
            s.set("width", r.rect.width);
            s.set("height", r.rect.height);
            s
        }));
        let s = gst::Structure::builder("faceid")
            .field("frame", frame)
            .field("timestamp", pts.map(|t| t.nseconds()).unwrap_or(u64::MAX))
            .field("faces", faces)
            .build();
        let _ = self
            .obj()
            .post_message(gst::message::Element::builder(s).src(&*self.obj()).build());
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
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecString::builder("model")
                    .nick("Model file")
                    .blurb("Model file written by faceidtrain or `faceid train` (required). May be changed while playing: the new model is used from the next frame, or a warning is posted and the old one kept")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("models-dir")
                    .nick("dlib weights folder")
                    .blurb("Folder with dlib's weight files (shape_predictor_5_face_landmarks.dat, dlib_face_recognition_resnet_model_v1.dat, mmod_human_face_detector.dat). Unset: $FACEID_MODELS_DIR, then the install location")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("encoder-weights")
                    .nick("Encoder weights")
                    .blurb("dlib ResNet encoder weights, a file name in models-dir or a path (unset: dlib_face_recognition_resnet_model_v1.dat). Must be the weights the model was trained with")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecDouble::builder("threshold")
                    .nick("Confidence threshold")
                    .blurb("A known face is drawn in known-color (green) when its top confidence is at least this, in unknown-color (red) below it")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(DEFAULT_THRESHOLD)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("unknown-distance")
                    .nick("Unknown distance")
                    .blurb("A face farther than this (dlib encoding distance) from every photo of its best match is drawn as unknown. Lower is stricter; dlib's usual value is 0.6. -1: use the value stored in the model")
                    .minimum(-1.0)
                    .maximum(2.0)
                    .default_value(DEFAULT_UNKNOWN_DISTANCE)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("margin")
                    .nick("Margin between people")
                    .blurb("A face is named only when its best match is at least this much nearer than the second best (distance after the model's whitening, dlib's scale); otherwise two people are about as likely and it is drawn as unknown. Higher: fewer wrong names among look-alikes, more unknown faces; 0: always the nearest. -1: use the value stored in the model (0.03)")
                    .minimum(-1.0)
                    .maximum(1.0)
                    .default_value(DEFAULT_MARGIN)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("show-confidences")
                    .nick("Show confidences")
                    .blurb("Draw every person's confidence beside each face")
                    .default_value(DEFAULT_SHOW_CONFIDENCES)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("draw-labels")
                    .nick("Draw labels")
                    .blurb("Draw boxes and names on the video. Off: only attach GstVideoRegionOfInterestMeta (type \"face\", param \"faceid\") and post messages")
                    .default_value(DEFAULT_DRAW_LABELS)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("known-color")
                    .nick("Known colour")
                    .blurb("Colour of the box and name of a known face whose confidence reaches threshold, as 0xAARRGGBB like textoverlay's color (alpha ff: opaque). Default 0xff00d900, green")
                    .default_value(draw::DEFAULT_CONFIDENT_ARGB)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("unknown-color")
                    .nick("Unknown colour")
                    .blurb("Colour of the box and name of an unknown face, and of a known one below threshold, as 0xAARRGGBB. Default 0xffe60000, red")
                    .default_value(draw::DEFAULT_UNSURE_ARGB)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("post-messages")
                    .nick("Post messages")
                    .blurb("Post an element message \"faceid\" on the bus for every frame, listing its faces (box, label, known, confidence, distance, track)")
                    .default_value(DEFAULT_POST_MESSAGES)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("detector", Detector::default())
                    .nick("Face detector")
                    .blurb("dlib detector: hog (fast) or cnn (slow on a CPU, finds turned and smaller faces)")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("upsample")
                    .nick("Upsample")
                    .blurb("Times the detection image is doubled in size before HOG detection: 0 finds faces from about 80 px, 1 from about 40 px (4x slower)")
                    .maximum(3)
                    .default_value(DEFAULT_UPSAMPLE)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("detection-width")
                    .nick("Detection width")
                    .blurb("Detect faces on a copy of the frame scaled down to this width when the frame is wider (faster; boxes are mapped back, encodings use the full frame). With upsample=1, the default finds faces from about 7% of the frame height (50 px at 720p); smaller faces need a larger width or 0: the frame's own width")
                    .maximum(16384)
                    .default_value(DEFAULT_DETECTION_WIDTH)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("tracking")
                    .nick("Tracking")
                    .blurb("Follow faces from frame to frame and name each track by the votes of its recent encodings (steadier names, much faster). Off: every frame is detected, encoded and named on its own, as the per-frame scripts do (detection-interval is then ignored)")
                    .default_value(DEFAULT_TRACKING)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("detection-interval")
                    .nick("Detection interval")
                    .blurb("With tracking: look for the followed faces again, near where they are expected (a cheap local detection), every this many frames; they are moved by their motion in between. 1: every frame")
                    .minimum(1)
                    .maximum(300)
                    .default_value(DEFAULT_DETECTION_INTERVAL)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("full-detection-interval")
                    .nick("Full detection interval")
                    .blurb("With tracking: run the full-frame face detector, which finds new faces, every this many frames and at every hard cut (scene change). 1: every frame")
                    .minimum(1)
                    .maximum(1000)
                    .default_value(DEFAULT_FULL_DETECTION_INTERVAL)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("weak-detection-score")
                    .nick("Weak detection score")
                    .blurb("HOG detector: faces scoring below dlib's usual cut (0) but at least this (down to -2) are kept only when recognised as a known person. Finds faces smeared by fast pans; strangers and clutter at such scores are dropped. 0: only dlib's usual detections")
                    .minimum(-2.0)
                    .maximum(0.0)
                    .default_value(DEFAULT_WEAK_DETECTION_SCORE)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("reencode-interval")
                    .nick("Re-encode interval")
                    .blurb("With tracking: encode a followed face again every this many frames (it is always encoded when its track starts); the name is voted over the recent encodings")
                    .minimum(1)
                    .maximum(1000)
                    .default_value(DEFAULT_REENCODE_INTERVAL)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("n-threads")
                    .nick("Threads")
                    .blurb("Threads used to encode several faces at once (0: one per CPU core)")
                    .maximum(64)
                    .default_value(DEFAULT_N_THREADS)
                    .mutable_playing()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = lock(&self.settings);
        let path = |v: &glib::Value| {
            v.get::<Option<String>>()
                .expect("type checked upstream")
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
        };
        match pspec.name() {
            "model" => settings.model = path(value),
            "models-dir" => settings.models_dir = path(value),
            "encoder-weights" => settings.encoder_weights = path(value),
            "threshold" => settings.threshold = value.get().expect("type checked upstream"),
            "unknown-distance" => {
                settings.unknown_distance = value.get().expect("type checked upstream")
            }
            "margin" => settings.margin = value.get().expect("type checked upstream"),
            "show-confidences" => {
                settings.show_confidences = value.get().expect("type checked upstream")
            }
            "draw-labels" => settings.draw_labels = value.get().expect("type checked upstream"),
            "post-messages" => settings.post_messages = value.get().expect("type checked upstream"),
            "detector" => settings.detector = value.get().expect("type checked upstream"),
            "upsample" => settings.upsample = value.get().expect("type checked upstream"),
            "detection-width" => {
                settings.detection_width = value.get().expect("type checked upstream")
            }
            "tracking" => settings.tracking = value.get().expect("type checked upstream"),
            "detection-interval" => {
                settings.detection_interval = value.get().expect("type checked upstream")
            }
            "reencode-interval" => {
                settings.reencode_interval = value.get().expect("type checked upstream")
            }
            "weak-detection-score" => {
                settings.weak_detection_score = value.get().expect("type checked upstream")
            }
            "full-detection-interval" => {
                settings.full_detection_interval = value.get().expect("type checked upstream")
            }
            "n-threads" => settings.n_threads = value.get().expect("type checked upstream"),
            "known-color" => settings.known_color = value.get().expect("type checked upstream"),
            "unknown-color" => settings.unknown_color = value.get().expect("type checked upstream"),
            _ => unimplemented!(),
        }
        gst::debug!(CAT, imp = self, "Set {} to {:?}", pspec.name(), value);
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let settings = lock(&self.settings);
        let path = |p: &Option<PathBuf>| {
            p.as_ref()
                .map(|p| p.to_string_lossy().into_owned())
                .to_value()
        };
        match pspec.name() {
            "model" => path(&settings.model),
            "models-dir" => path(&settings.models_dir),
            "encoder-weights" => path(&settings.encoder_weights),
            "threshold" => settings.threshold.to_value(),
            "unknown-distance" => settings.unknown_distance.to_value(),
            "margin" => settings.margin.to_value(),
            "show-confidences" => settings.show_confidences.to_value(),
            "draw-labels" => settings.draw_labels.to_value(),
            "post-messages" => settings.post_messages.to_value(),
            "detector" => settings.detector.to_value(),
            "upsample" => settings.upsample.to_value(),
            "detection-width" => settings.detection_width.to_value(),
            "tracking" => settings.tracking.to_value(),
            "detection-interval" => settings.detection_interval.to_value(),
            "reencode-interval" => settings.reencode_interval.to_value(),
            "full-detection-interval" => settings.full_detection_interval.to_value(),
            "weak-detection-score" => settings.weak_detection_score.to_value(),
            "n-threads" => settings.n_threads.to_value(),
            "known-color" => settings.known_color.to_value(),
            "unknown-color" => settings.unknown_color.to_value(),
            _ => unimplemented!(),
        }
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
                 \"face\" (param \"faceid\") per face and posts a \"faceid\" element message per frame",
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
                gst::PadTemplate::new(
                    "src",
                    gst::PadDirection::Src,
                    gst::PadPresence::Always,
                    &caps,
                )
                .expect("valid template"),
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
        let weights_config = settings.weights_config();
        gst::info!(
            CAT,
            imp = self,
            "dlib weights from {}",
            weights_config.dir.display()
        );
        let weights = Weights::load(&weights_config)
            .map_err(|e| gst::error_msg!(gst::ResourceError::NotFound, ("{e}")))?;
        let model = load_classifier(&model_path, &weights)
            .map_err(|msg| gst::error_msg!(gst::ResourceError::OpenRead, ("{msg}")))?;
        gst::info!(
            CAT,
            imp = self,
            "Loaded model {} with {} people",
            model_path.display(),
            model.labels.len()
        );
        let analyzer = Analyzer::new(
            FacePipeline::new(weights.clone()),
            self.classifier_for(&model, &settings),
            settings.analyzer_config(),
        );
        *lock(&self.state) = Some(State {
            analyzer,
            weights,
            model_path,
            model_unknown_distance: model.unknown_distance,
            model_margin: model.margin,
            applied: settings,
            info: None,
            frames: 0,
            panic_for_test: std::env::var_os("FACEID_TEST_PANIC")
                .is_some_and(|v| v == "faceidoverlay"),
        });
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        *lock(&self.state) = None;
        Ok(())
    }

    fn sink_event(&self, event: gst::Event) -> bool {
        if matches!(
            event.view(),
            gst::EventView::FlushStop(_)
                | gst::EventView::StreamStart(_)
                | gst::EventView::Segment(_)
        ) && let Some(state) = lock(&self.state).as_mut()
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
        let mut state_guard = lock(&self.state);
        let Some(state) = state_guard.as_mut() else {
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
        if state.panic_for_test {
            drop(state_guard);
            panic!("faceidoverlay: panic provoked by FACEID_TEST_PANIC");
        }
        self.apply_settings(state, &settings);
        let pts = buffer.pts();
        let size = buffer.size();
        let results = {
            let mut frame = gst_video::VideoFrameRef::from_buffer_ref_writable(&mut *buffer, &info)
                .map_err(|_| {
                    if size < info.size() {
                        gst::element_imp_error!(
                            self,
                            gst::StreamError::Format,
                            (
                                "A buffer of {size} bytes is too small for a {}x{} {} frame ({} bytes): the element before faceidoverlay sent a broken buffer",
                                info.width(),
                                info.height(),
                                info.format().to_str(),
                                info.size()
                            )
                        );
                    } else {
                        gst::element_imp_error!(
                            self,
                            gst::CoreError::Failed,
                            ("Could not map the video frame writable")
                        );
                    }
                    gst::FlowError::Error
                })?;
            let (width, height) = (frame.width() as usize, frame.height() as usize);
            let stride = frame.plane_stride()[0] as usize;
            let data = frame.plane_data_mut(0).map_err(|_| gst::FlowError::Error)?;
            let results = match FrameRef::new(data, width, height, stride, PixelLayout::Bgrx) {
                Ok(view) => state.analyzer.analyze(&view),
                Err(e) => {
                    gst::warning!(CAT, imp = self, "Skipping frame: {e}");
                    Vec::new()
                }
            };
            if settings.draw_labels && !results.is_empty() {
                let layout = if info.format() == gst_video::VideoFormat::Bgra {
                    draw::PixelLayout::Bgra
                } else {
                    draw::PixelLayout::Bgrx
                };
                let labels = Self::labels_for(&results, &settings);
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
            results
        };
        let frame_number = state.frames;
        state.frames += 1;
        drop(state_guard);
        if CAT.above_threshold(gst::DebugLevel::Log) {
            for r in &results {
                gst::log!(
                    CAT,
                    imp = self,
                    "Frame {frame_number}: {} at {},{} {}x{}, best match {} confidence {:.3} distance {:.3}, track {:?}",
                    r.label.as_deref().unwrap_or("unknown"),
                    r.rect.x,
                    r.rect.y,
                    r.rect.width,
                    r.rect.height,
                    r.best_match,
                    r.confidence,
                    r.distance,
                    r.track
                );
            }
        }

        let threshold = settings.threshold as f32;
        Self::attach_metas(buffer, &results, &info, threshold);
        if settings.post_messages {
            self.post_results(frame_number, pts, &results, threshold);
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
            Some(state) => {
                // New caps (size change): boxes of the old size mean nothing.
                state.analyzer.reset();
                state.info = Some(in_info.clone());
                Ok(())
            }
            None => Err(gst::loggable_error!(CAT, "Caps set before start")),
        }
    }
}
