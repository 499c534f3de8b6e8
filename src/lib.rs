//! gst-faceid: GStreamer elements that put people's names on their faces.
//!
//! See ARCHITECTURE.md for the map. The GStreamer glue (`overlay`, `train`) is thin; the work is
//! in plain modules: [`face`] (dlib), [`model`] (classifier and model file).

pub mod analyzer;
pub mod appearance;
pub mod augment;
pub mod cleaning;
pub mod cohort;
pub mod draw;
pub mod encoding;
pub mod evaluation;
pub mod face;
pub mod group_photo;
pub mod hog;
pub mod identity;
pub mod likeness;
pub mod metric;
pub mod model;
pub mod motion;
pub mod scene_cut;
pub mod subtitles;
pub mod tracker;

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
