//! `faceidtrain`'s properties: their values ([`Settings`]) and how each is documented in
//! `gst-inspect-1.0`.

use std::path::PathBuf;

use gst::glib;
use gst::prelude::*;

use faceid_core::detection::DetectorKind;
use faceid_core::encoding::EncoderKind;

use crate::backends::{DEFAULT_ENCODER, encoder_names};
use crate::element::{path_to_value, path_value, string_value};
use crate::overlay::Detector;

const DEFAULT_APPEND: bool = true;
const DEFAULT_UPSAMPLE: u32 = 1;
const DEFAULT_JITTERS: u32 = 1;
const DEFAULT_CLEAN: bool = true;
const DEFAULT_MOTION_BLUR_COPIES: bool = true;

#[derive(Clone, Debug)]
pub struct Settings {
    pub location: Option<PathBuf>,
    pub label: Option<String>,
    pub append: bool,
    pub models_dir: Option<PathBuf>,
    pub encoder_weights: Option<PathBuf>,
    /// The `encoder` property: a name of [`EncoderKind`]; `None`: the model's when appending
    /// to one, else [`DEFAULT_ENCODER`].
    pub encoder: Option<String>,
    /// The `strangers` property.
    pub strangers: bool,
    pub upsample: u32,
    /// The `detector` property: which detector finds the photos' faces.
    pub detector: Detector,
    pub jitters: u32,
    pub clean: bool,
    pub motion_blur_copies: bool,
    pub report_location: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            location: None,
            label: None,
            append: DEFAULT_APPEND,
            models_dir: None,
            encoder_weights: None,
            encoder: None,
            strangers: false,
            upsample: DEFAULT_UPSAMPLE,
            detector: Detector::default(),
            jitters: DEFAULT_JITTERS,
            clean: DEFAULT_CLEAN,
            motion_blur_copies: DEFAULT_MOTION_BLUR_COPIES,
            report_location: None,
        }
    }
}

/// The properties, as `gst-inspect-1.0` shows them.
pub fn param_specs() -> Vec<glib::ParamSpec> {
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
            .blurb("With encoder=dlib: dlib ResNet encoder weights, a file name in models-dir or a path (unset: dlib_face_recognition_resnet_model_v1.dat). The model remembers which weights made it")
            .mutable_ready()
            .build(),
        glib::ParamSpecString::builder("encoder")
            .nick("Face encoder")
            .blurb("Which face encoder turns faces into numbers: dlib (dlib's ResNet, the default) or sface (SFace through ONNX Runtime: keeps strangers who look like the group unnamed far better; see the README for where each does better). The model file records it and faceidoverlay uses the same. Unset: the model's own when appending to one, else dlib")
            .mutable_ready()
            .build(),
        glib::ParamSpecBoolean::builder("strangers")
            .nick("Strangers")
            .blurb("These photos are of people around the group who must stay unknown (dancers, hosts, other groups): every face in them keeps this model's unknown distance short of them, and none is trained as anyone (no label needed). The model keeps their encodings (no photo, no name) for later trainings")
            .default_value(false)
            .mutable_ready()
            .build(),
        glib::ParamSpecUInt::builder("upsample")
            .nick("Upsample")
            .blurb("Times each photo is doubled in size before HOG face detection (finds smaller faces, slower)")
            .maximum(3)
            .default_value(DEFAULT_UPSAMPLE)
            .mutable_ready()
            .build(),
        glib::ParamSpecEnum::builder_with_default("detector", Detector::default())
            .nick("Face detector")
            .blurb("Which detector finds the photos' faces: hog (dlib's HOG, frontal faces) or yunet (YuNet through ONNX Runtime: also three-quarter faces, such as the crops `faceid discover` writes with --detector yunet). cnn is taken as hog here")
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
}

impl Settings {
    /// The detector for the photos (dlib's CNN is not offered for photos: HOG).
    pub fn detector_kind(&self) -> DetectorKind {
        match self.detector.into() {
            DetectorKind::Cnn => DetectorKind::Hog,
            kind => kind,
        }
    }

    /// Sets the property `name` (type-checked by GObject before it gets here).
    pub fn set(&mut self, name: &str, value: &glib::Value) {
        match name {
            "location" => self.location = path_value(value),
            "label" => self.label = string_value(value),
            "append" => self.append = value.get().expect("type checked upstream"),
            "models-dir" => self.models_dir = path_value(value),
            "encoder-weights" => self.encoder_weights = path_value(value),
            "encoder" => self.encoder = string_value(value),
            "strangers" => self.strangers = value.get().expect("type checked upstream"),
            "upsample" => self.upsample = value.get().expect("type checked upstream"),
            "detector" => self.detector = value.get().expect("type checked upstream"),
            "jitters" => self.jitters = value.get().expect("type checked upstream"),
            "clean" => self.clean = value.get().expect("type checked upstream"),
            "motion-blur-copies" => {
                self.motion_blur_copies = value.get().expect("type checked upstream")
            }
            "report-location" => self.report_location = path_value(value),
            _ => {}
        }
    }

    /// The value of the property `name`.
    pub fn get(&self, name: &str) -> glib::Value {
        match name {
            "location" => path_to_value(self.location.as_deref()),
            "label" => self.label.to_value(),
            "append" => self.append.to_value(),
            "models-dir" => path_to_value(self.models_dir.as_deref()),
            "encoder-weights" => path_to_value(self.encoder_weights.as_deref()),
            "encoder" => self.encoder.to_value(),
            "strangers" => self.strangers.to_value(),
            "upsample" => self.upsample.to_value(),
            "detector" => self.detector.to_value(),
            "jitters" => self.jitters.to_value(),
            "clean" => self.clean.to_value(),
            "motion-blur-copies" => self.motion_blur_copies.to_value(),
            "report-location" => path_to_value(self.report_location.as_deref()),
            _ => glib::Value::from_type(glib::Type::UNIT),
        }
    }
}

impl Settings {
    /// The encoder to train with: the property's, else `existing`'s (the model appended to),
    /// else [`DEFAULT_ENCODER`]. An unknown name is an error that lists the known ones.
    pub fn encoder_kind(&self, existing: Option<EncoderKind>) -> Result<EncoderKind, String> {
        match &self.encoder {
            Some(name) => EncoderKind::from_name(name).ok_or_else(|| {
                format!(
                    "encoder={name:?} is not a face encoder gst-faceid has: use one of {}",
                    encoder_names()
                )
            }),
            None => Ok(existing.unwrap_or(DEFAULT_ENCODER)),
        }
    }
}
