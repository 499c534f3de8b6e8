//! `faceidtrain`: a sink that encodes the face of every photo (buffer) it gets and, at EOS,
//! trains the classifier and writes the model file.

use gst::glib;
use gst::prelude::*;

mod imp;
mod settings;

glib::wrapper! {
    /// The `faceidtrain` element.
    pub struct FaceIdTrain(ObjectSubclass<imp::FaceIdTrain>)
        @extends gst_base::BaseSink, gst::Element, gst::Object;
}

/// Registers the element with the plugin.
pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "faceidtrain",
        gst::Rank::NONE,
        FaceIdTrain::static_type(),
    )
}
