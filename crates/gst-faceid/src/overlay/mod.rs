//! `faceidoverlay`: an in-place video filter that names the faces of every frame.

use faceid_core::detection::DetectorKind;
use gst::glib;
use gst::prelude::*;

mod imp;
mod settings;
mod state;

glib::wrapper! {
    /// The `faceidoverlay` element.
    pub struct FaceIdOverlay(ObjectSubclass<imp::FaceIdOverlay>)
        @extends gst_video::VideoFilter, gst_base::BaseTransform, gst::Element, gst::Object;
}

/// Which face detector `faceidoverlay` uses.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, glib::Enum, Default)]
#[repr(u32)]
#[enum_type(name = "GstFaceIdDetector")]
pub enum Detector {
    /// HOG + linear SVM: fast on a CPU, frontal faces of 40 px and up (with upsample=1).
    #[default]
    #[enum_value(name = "HOG: dlib's HOG frontal face detector (fast)", nick = "hog")]
    Hog = 0,
    /// dlib's CNN (MMOD): turned and smaller faces, about 10x slower on a CPU.
    #[enum_value(
        name = "CNN: dlib's MMOD neural detector (slow, finds more)",
        nick = "cnn"
    )]
    Cnn = 1,
    /// YuNet through ONNX Runtime: frontal, three-quarter and small faces, faster than HOG.
    #[enum_value(
        name = "YuNet: a small neural detector run by ONNX Runtime (fast, finds turned and small faces)",
        nick = "yunet"
    )]
    Yunet = 2,
}

impl From<Detector> for DetectorKind {
    fn from(detector: Detector) -> DetectorKind {
        match detector {
            Detector::Hog => DetectorKind::Hog,
            Detector::Cnn => DetectorKind::Cnn,
            Detector::Yunet => DetectorKind::Yunet,
        }
    }
}

/// Registers the element with the plugin.
pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "faceidoverlay",
        gst::Rank::NONE,
        FaceIdOverlay::static_type(),
    )
}
