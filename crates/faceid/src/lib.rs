//! The `faceid` command's parts (the binary is `src/main.rs`): every command builds GStreamer
//! pipelines around the plugin's elements ([`pipeline`] holds what they share). The end-to-end
//! tests in `tests/` use them too.

pub mod annotate;
pub mod discover;
pub mod eval;
pub mod people_folders;
pub mod pipeline;
pub mod progress;
pub mod train;

use std::path::PathBuf;

/// Options every command shares.
#[derive(clap::Args, Clone, Debug)]
pub struct WeightsArgs {
    /// Folder with dlib's weight files (default: $FACEID_MODELS_DIR, then the install location).
    #[arg(long, value_name = "DIR")]
    pub models_dir: Option<PathBuf>,
}
