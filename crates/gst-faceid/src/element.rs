//! What both elements do the same way: lock their state, find dlib's weights from their
//! properties, and load a model file made with the weights they loaded.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use faceid_core::encoding::EncoderId;
use faceid_core::model::Model;
use faceid_dlib::{WeightsConfig, resolve_models_dir};

/// Locks `m`, going on with the data a panicking holder left (plain settings and state).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The weight files the `models-dir` and `encoder-weights` properties point at (unset: the
/// environment, then the install location).
pub fn weights_config(
    models_dir: Option<&Path>,
    encoder_weights: Option<&Path>,
    cnn: bool,
) -> WeightsConfig {
    let mut config = WeightsConfig::new(resolve_models_dir(models_dir));
    if let Some(encoder) = encoder_weights {
        config.encoder_file = encoder.to_path_buf();
    }
    config.cnn = cnn;
    config
}

/// Loads the model file at `path` and refuses one whose encodings came from other encoder
/// weights than `encoder`; the message names the file and what to do.
pub fn load_model(path: &Path, encoder: &EncoderId) -> Result<Model, String> {
    let model =
        Model::load(path).map_err(|e| format!("Could not load model {}: {e}", path.display()))?;
    model
        .check_encoder(encoder)
        .map_err(|e| format!("Model {}: {e}", path.display()))?;
    Ok(model)
}

/// A string property's value (`None` for unset or empty).
pub fn string_value(value: &gst::glib::Value) -> Option<String> {
    value
        .get::<Option<String>>()
        .ok()
        .flatten()
        .filter(|s| !s.is_empty())
}

/// A string property as a path (`None` for unset or empty).
pub fn path_value(value: &gst::glib::Value) -> Option<PathBuf> {
    string_value(value).map(PathBuf::from)
}

/// A path property's value.
pub fn path_to_value(path: Option<&Path>) -> gst::glib::Value {
    use gst::glib::prelude::ToValue;
    path.map(|p| p.to_string_lossy().into_owned()).to_value()
}

/// An always-present pad template.
pub fn always_pad(name: &str, direction: gst::PadDirection, caps: &gst::Caps) -> gst::PadTemplate {
    gst::PadTemplate::new(name, direction, gst::PadPresence::Always, caps)
        .expect("a pad template with fixed name and presence is valid")
}
