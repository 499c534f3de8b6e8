//! gst-faceid: GStreamer elements that put people's names on their faces.
//!
//! The plugin (`faceidoverlay`, `faceidtrain`) is thin glue over faceid-core (the model, the
//! analyzer, training) and faceid-dlib (the face backend); see ARCHITECTURE.md for the map.
//! Applications read what the overlay saw through [`meta`]: [`meta::NamedFace`] per face (from
//! a buffer's `GstVideoRegionOfInterestMeta` or an element message) and [`meta::FrameFaces`]
//! per frame.

pub mod backends;
pub mod draw;
mod element;
pub mod meta;
mod overlay;
mod train;

pub use overlay::{Detector, FaceIdOverlay};
pub use train::FaceIdTrain;

use gst::glib;

fn plugin_init(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    overlay::register(plugin)?;
    train::register(plugin)
}

gst::plugin_define!(
    faceid,
    env!("CARGO_PKG_DESCRIPTION"),
    plugin_init,
    concat!(env!("CARGO_PKG_VERSION"), "-", env!("COMMIT_ID")),
    "MIT/X11",
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_REPOSITORY"),
    env!("BUILD_REL_DATE")
);
