//! `faceid`: the command line for people who do not write pipelines. Every command builds
//! GStreamer pipelines around the plugin's own elements (registered statically, so no plugin
//! path is needed).

mod annotate;
mod eval;
mod progress;
mod train;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "faceid",
    version,
    about = "Put people's names on their faces in videos"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build a model from photos: DIR holds one folder per person, named after them, with photos
    /// in any format GStreamer decodes (folders starting with '_' or '.' are ignored).
    Train(train::TrainArgs),
    /// Draw names on a video and write a playable copy with the original audio.
    Annotate(annotate::AnnotateArgs),
    /// Measure a model: on labelled photos (one folder per person, `unknown/` for strangers)
    /// top-1 accuracy, strangers named and a confusion table; on a clip with --ground-truth the
    /// figures of scripts/score.py.
    Eval(eval::EvalArgs),
}

/// Options every command shares.
#[derive(clap::Args, Clone, Debug)]
struct WeightsArgs {
    /// Folder with dlib's weight files (default: $FACEID_MODELS_DIR, then the install location).
    #[arg(long, value_name = "DIR")]
    models_dir: Option<PathBuf>,
}

/// The text of the first error message on `bus`, waiting up to `wait` for one.
pub fn bus_error(bus: &gst::Bus, wait: gst::ClockTime) -> Option<String> {
    bus.timed_pop_filtered(wait, &[gst::MessageType::Error])
        .and_then(|m| match m.view() {
            gst::MessageView::Error(e) => Some(e.error().to_string()),
            _ => None,
        })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = gst::init() {
        eprintln!("faceid: could not initialise GStreamer: {e}");
        return ExitCode::FAILURE;
    }
    if let Err(e) = gstfaceid::plugin_register_static() {
        eprintln!("faceid: could not register the faceid plugin: {e}");
        return ExitCode::FAILURE;
    }
    let result = match cli.command {
        Command::Train(args) => train::run(&args),
        Command::Annotate(args) => annotate::run(&args),
        Command::Eval(args) => eval::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("faceid: {e}");
            ExitCode::FAILURE
        }
    }
}
