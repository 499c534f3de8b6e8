//! `faceidoverlay`'s properties: their values ([`Settings`]), how each is documented in
//! `gst-inspect-1.0`, and what the analyzer and the drawing make of them.

use std::path::PathBuf;

use faceid_core::detection::{DetectionConfig, DetectorKind};
use faceid_core::video::analyzer::{AnalyzerConfig, DEFAULT_WEAK_DETECTION_SCORE};
use faceid_dlib::WeightsConfig;
use gst::glib;
use gst::prelude::*;

use super::Detector;
use crate::backends::BackendConfig;
use crate::draw::{self, DrawStyle, Rgb};
use crate::element::{path_to_value, path_value, weights_config};
use faceid_core::encoding::EncoderKind;

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
const DEFAULT_DETECTION_WIDTH: u32 = faceid_core::detection::VIDEO_DETECTION_WIDTH as u32;
const DEFAULT_TRACKING: bool = true;
const DEFAULT_DETECTION_INTERVAL: u32 = 3;
const DEFAULT_FULL_DETECTION_INTERVAL: u32 = 15;
const DEFAULT_REENCODE_INTERVAL: u32 = 20;
const DEFAULT_N_THREADS: u32 = 0;
/// -1: live mode chosen by the stream (see [`Settings::latency_budget_ms`]).
const DEFAULT_LATENCY_BUDGET: i32 = -1;
const DEFAULT_FIND_SMALL_FACES: bool = true;
/// The live mode's budget when the stream does not say how long a frame lasts (30 frames/s).
const FALLBACK_FRAME_MS: u32 = 33;
/// Longest list of confidences drawn beside a face.
pub const MAX_SCORES_DRAWN: usize = 12;

#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub model: Option<PathBuf>,
    pub models_dir: Option<PathBuf>,
    pub encoder_weights: Option<PathBuf>,
    pub threshold: f64,
    pub unknown_distance: f64,
    pub margin: f64,
    pub show_confidences: bool,
    pub draw_labels: bool,
    pub post_messages: bool,
    pub detector: Detector,
    pub upsample: u32,
    pub detection_width: u32,
    pub tracking: bool,
    pub detection_interval: u32,
    pub full_detection_interval: u32,
    pub reencode_interval: u32,
    pub n_threads: u32,
    pub known_color: u32,
    pub unknown_color: u32,
    pub weak_detection_score: f64,
    pub find_small_faces: bool,
    pub latency_budget: i32,
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
            find_small_faces: DEFAULT_FIND_SMALL_FACES,
            latency_budget: DEFAULT_LATENCY_BUDGET,
        }
    }
}

/// What the element knows about the stream that decides the live mode by itself.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Stream {
    /// Upstream answered the latency query as live (a camera, a capture, a network source).
    pub live_source: bool,
    /// The caps say `framerate=0/1` (frames come when they come: OBS's filter pushes them so).
    pub variable_framerate: bool,
    /// A frame's duration from the caps, when they give one.
    pub frame_ms: Option<u32>,
    /// Downstream sent QoS events saying frames arrive late (a sink that syncs to the clock).
    pub sink_late: bool,
}

impl Settings {
    /// The live mode's budget in ms, 0 for the synchronous mode: the property's value, or with
    /// -1 (default) a frame's duration when the stream is live (a live source, frames pushed at
    /// `framerate=0/1`, or a sink reporting late frames), else 0.
    pub fn latency_budget_ms(&self, stream: &Stream) -> u32 {
        match u32::try_from(self.latency_budget) {
            Ok(ms) => ms,
            Err(_) if stream.live_source || stream.variable_framerate || stream.sink_late => {
                stream.frame_ms.unwrap_or(FALLBACK_FRAME_MS)
            }
            Err(_) => 0,
        }
    }

    pub fn analyzer_config(&self, stream: &Stream) -> AnalyzerConfig {
        AnalyzerConfig {
            detection: DetectionConfig {
                detector: self.detector_kind(),
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
            find_small_faces: self.find_small_faces,
            latency_budget_ms: self.latency_budget_ms(stream),
            ..AnalyzerConfig::default()
        }
    }

    pub fn draw_style(&self) -> DrawStyle {
        DrawStyle {
            confident_color: Rgb::from_argb(self.known_color),
            unsure_color: Rgb::from_argb(self.unknown_color),
            ..DrawStyle::default()
        }
    }

    pub fn threads(&self) -> usize {
        match self.n_threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n as usize,
        }
    }

    pub fn weights_config(&self) -> WeightsConfig {
        weights_config(
            self.models_dir.as_deref(),
            self.encoder_weights.as_deref(),
            self.detector == Detector::Cnn,
        )
    }

    /// The files of `encoder` (the model's) as the properties place dlib's.
    /// The unknown distance and the margin a model is used with: the properties where they are
    /// set, else the model's own.
    pub fn classifier_thresholds(
        &self,
        model_unknown_distance: f32,
        model_margin: f32,
    ) -> (f32, f32) {
        let unknown_distance = if self.unknown_distance > 0.0 {
            self.unknown_distance as f32
        } else {
            model_unknown_distance
        };
        let margin = if self.margin >= 0.0 {
            self.margin as f32
        } else {
            model_margin
        };
        (unknown_distance, margin)
    }

    pub fn backend_config(&self, encoder: EncoderKind) -> BackendConfig {
        BackendConfig::new(encoder, self.weights_config()).with_detector(self.detector_kind())
    }

    pub fn detector_kind(&self) -> DetectorKind {
        self.detector.into()
    }
}

/// The properties, as `gst-inspect-1.0` shows them.
pub fn param_specs() -> Vec<glib::ParamSpec> {
    vec![
        glib::ParamSpecString::builder("model")
            .nick("Model file")
            .blurb("Model file written by faceidtrain or `faceid train` (required). May be changed while playing: the new model is read on a background thread and used from the first frame after it is read, or a warning is posted and the old one kept")
            .mutable_playing()
            .build(),
        glib::ParamSpecString::builder("models-dir")
            .nick("dlib weights folder")
            .blurb("Folder with dlib's weight files (shape_predictor_5_face_landmarks.dat, dlib_face_recognition_resnet_model_v1.dat, mmod_human_face_detector.dat). Unset: $FACEID_MODELS_DIR, then the install location")
            .mutable_ready()
            .build(),
        glib::ParamSpecString::builder("encoder-weights")
            .nick("Encoder weights")
            .blurb("For models trained with encoder=dlib: dlib ResNet encoder weights, a file name in models-dir or a path (unset: dlib_face_recognition_resnet_model_v1.dat). Must be the weights the model was trained with. The encoder itself is the one the model file names")
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
            .blurb("How much nearer a face must be to its best match than to the second best to be named (model distance; stricter for faces far from every photo, looser for tracked faces averaged over several looks). Higher: fewer wrong names among look-alikes, more unknown faces; 0: always the nearest. -1: the model's own (0.03 for dlib, 0.02 for SFace); docs/design-choices.md says how it is applied")
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
            .blurb("Face detector: hog (dlib's HOG, frontal faces), cnn (dlib's CNN, slow on a CPU) or yunet (YuNet through ONNX Runtime: fast, finds three-quarter and small faces; needs models/fetch-onnx.sh's ONNX Runtime)")
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
        glib::ParamSpecBoolean::builder("find-small-faces")
            .nick("Find small faces")
            .blurb("Synchronous mode: where a shot opens with no face found, or a followed face is smaller than the usual detection finds (wide shots), look once more at twice the size (faces from about 25 px at 720p; about 1 s on 2 cores, at a shot's start and at most every 60 frames while small faces are followed)")
            .default_value(DEFAULT_FIND_SMALL_FACES)
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
        glib::ParamSpecInt::builder("latency-budget")
            .nick("Latency budget (ms)")
            .blurb("With tracking: how long a frame may take in this element. 0: synchronous (full-frame detections run inside the frame that needs them: best for files, slow frames at cuts). Above 0: live (full-frame detections and encodings run on worker threads; the frame only does the local searches that fit, so names appear a few frames after a cut and depend on the machine's speed). -1: live with a frame's duration when the stream is live (a live source, framerate=0/1 as OBS pushes frames, or a sink reporting late frames), else synchronous")
            .minimum(-1)
            .maximum(10_000)
            .default_value(DEFAULT_LATENCY_BUDGET)
            .mutable_playing()
            .build(),
        glib::ParamSpecBoolean::builder("live")
            .nick("Live mode in use")
            .blurb("Read-only: whether frames are analysed in the live mode (full-frame detections on worker threads), as set by latency-budget or chosen from the stream with latency-budget=-1")
            .read_only()
            .build(),
        glib::ParamSpecUInt::builder("n-threads")
            .nick("Threads")
            .blurb("Threads used to encode several faces at once (0: one per CPU core)")
            .maximum(64)
            .default_value(DEFAULT_N_THREADS)
            .mutable_playing()
            .build(),
    ]
}

impl Settings {
    /// Sets the property `name` (type-checked by GObject before it gets here).
    pub fn set(&mut self, name: &str, value: &glib::Value) {
        match name {
            "model" => self.model = path_value(value),
            "models-dir" => self.models_dir = path_value(value),
            "encoder-weights" => self.encoder_weights = path_value(value),
            "threshold" => self.threshold = value.get().expect("type checked upstream"),
            "unknown-distance" => {
                self.unknown_distance = value.get().expect("type checked upstream")
            }
            "margin" => self.margin = value.get().expect("type checked upstream"),
            "show-confidences" => {
                self.show_confidences = value.get().expect("type checked upstream")
            }
            "draw-labels" => self.draw_labels = value.get().expect("type checked upstream"),
            "post-messages" => self.post_messages = value.get().expect("type checked upstream"),
            "detector" => self.detector = value.get().expect("type checked upstream"),
            "upsample" => self.upsample = value.get().expect("type checked upstream"),
            "detection-width" => self.detection_width = value.get().expect("type checked upstream"),
            "tracking" => self.tracking = value.get().expect("type checked upstream"),
            "detection-interval" => {
                self.detection_interval = value.get().expect("type checked upstream")
            }
            "reencode-interval" => {
                self.reencode_interval = value.get().expect("type checked upstream")
            }
            "weak-detection-score" => {
                self.weak_detection_score = value.get().expect("type checked upstream")
            }
            "find-small-faces" => {
                self.find_small_faces = value.get().expect("type checked upstream")
            }
            "full-detection-interval" => {
                self.full_detection_interval = value.get().expect("type checked upstream")
            }
            "n-threads" => self.n_threads = value.get().expect("type checked upstream"),
            "latency-budget" => self.latency_budget = value.get().expect("type checked upstream"),
            "known-color" => self.known_color = value.get().expect("type checked upstream"),
            "unknown-color" => self.unknown_color = value.get().expect("type checked upstream"),
            _ => {}
        }
    }

    /// The value of the property `name`.
    pub fn get(&self, name: &str) -> glib::Value {
        match name {
            "model" => path_to_value(self.model.as_deref()),
            "models-dir" => path_to_value(self.models_dir.as_deref()),
            "encoder-weights" => path_to_value(self.encoder_weights.as_deref()),
            "threshold" => self.threshold.to_value(),
            "unknown-distance" => self.unknown_distance.to_value(),
            "margin" => self.margin.to_value(),
            "show-confidences" => self.show_confidences.to_value(),
            "draw-labels" => self.draw_labels.to_value(),
            "post-messages" => self.post_messages.to_value(),
            "detector" => self.detector.to_value(),
            "upsample" => self.upsample.to_value(),
            "detection-width" => self.detection_width.to_value(),
            "tracking" => self.tracking.to_value(),
            "detection-interval" => self.detection_interval.to_value(),
            "reencode-interval" => self.reencode_interval.to_value(),
            "full-detection-interval" => self.full_detection_interval.to_value(),
            "weak-detection-score" => self.weak_detection_score.to_value(),
            "find-small-faces" => self.find_small_faces.to_value(),
            "n-threads" => self.n_threads.to_value(),
            "latency-budget" => self.latency_budget.to_value(),
            "known-color" => self.known_color.to_value(),
            "unknown-color" => self.unknown_color.to_value(),
            _ => glib::Value::from_type(glib::Type::UNIT),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_budget_is_synchronous_for_a_file_and_a_frame_when_the_stream_is_live() {
        let s = Settings::default();
        assert_eq!(s.latency_budget_ms(&Stream::default()), 0);
        let camera = Stream {
            live_source: true,
            frame_ms: Some(40),
            ..Stream::default()
        };
        assert_eq!(s.latency_budget_ms(&camera), 40);
        let obs = Stream {
            variable_framerate: true,
            ..Stream::default()
        };
        assert_eq!(s.latency_budget_ms(&obs), FALLBACK_FRAME_MS);
        let player = Stream {
            sink_late: true,
            frame_ms: Some(16),
            ..Stream::default()
        };
        assert_eq!(s.analyzer_config(&player).latency_budget_ms, 16);
    }

    #[test]
    fn a_budget_set_by_the_user_wins_over_the_stream() {
        let sync = Settings {
            latency_budget: 0,
            ..Settings::default()
        };
        let live = Stream {
            live_source: true,
            ..Stream::default()
        };
        assert_eq!(sync.latency_budget_ms(&live), 0);
        let budget = Settings {
            latency_budget: 20,
            ..Settings::default()
        };
        assert_eq!(budget.latency_budget_ms(&Stream::default()), 20);
    }

    #[test]
    fn every_property_reads_back_what_was_set() {
        let mut s = Settings::default();
        let values: Vec<(&str, glib::Value)> = vec![
            ("threshold", 0.7f64.to_value()),
            ("margin", 0.1f64.to_value()),
            ("upsample", 2u32.to_value()),
            ("detection-width", 640u32.to_value()),
            ("tracking", false.to_value()),
            ("detection-interval", 5u32.to_value()),
            ("full-detection-interval", 30u32.to_value()),
            ("reencode-interval", 7u32.to_value()),
            ("weak-detection-score", (-0.5f64).to_value()),
            ("find-small-faces", false.to_value()),
            ("n-threads", 3u32.to_value()),
            ("latency-budget", 25i32.to_value()),
            ("known-color", 0xff00ff00u32.to_value()),
            ("show-confidences", false.to_value()),
        ];
        for (name, v) in &values {
            s.set(name, v);
        }
        for (name, v) in &values {
            let got = s.get(name);
            assert_eq!(format!("{got:?}"), format!("{v:?}"), "{name}");
        }
        let config = s.analyzer_config(&Stream::default());
        assert!(!config.tracking);
        assert_eq!(config.latency_budget_ms, 25);
        assert_eq!(config.threads, 3);
    }

    #[test]
    fn every_property_has_a_blurb_for_gst_inspect() {
        for spec in param_specs() {
            assert!(
                spec.blurb().is_some_and(|b| b.len() > 20),
                "{} has no useful blurb",
                spec.name()
            );
        }
    }
}
