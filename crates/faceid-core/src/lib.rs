//! faceid-core: gst-faceid's plain Rust, with neither GStreamer nor dlib, so every part is
//! unit-tested alone and the parsers of outside input are fuzzed (`fuzz/`).
//!
//! - [`frame`], [`geometry`], [`encoding`], [`detection`]: what the face code exchanges: a
//!   checked frame view, a face box, a 128-number encoding, detection settings.
//! - [`model`]: the model file and the classifier (who is this face?), [`metric`] the distance
//!   adapted to a model's people.
//! - [`training`]: from photos to a model: cleaning, group photos, look-alike intruders, the
//!   stranger cohort that calibrates "unknown".
//! - [`video`]: from frames to names: the [`video::analyzer`] over a [`video::backend`]
//!   (dlib's, in faceid-dlib, or a scripted one in tests), tracking, scene cuts, motion,
//!   appearance, a track's identity; [`face_result`] is what it says about each face.
//! - [`report`]: evaluation against ground truth, subtitles.
//! - [`weight_files`]: where a backend's weight files are found, and their hashes.

pub mod detection;
pub mod encoding;
pub mod face_result;
pub mod frame;
pub mod geometry;
pub mod metric;
pub mod model;
pub mod report;
#[cfg(test)]
mod test_support;
pub mod training;
pub mod video;
pub mod weight_files;
