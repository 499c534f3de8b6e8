//! `faceid`: the command line for people who do not write pipelines. Every command builds
//! GStreamer pipelines around the plugin's own elements (registered statically, so no plugin
//! path is needed).

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use faceid::{annotate, discover, eval, train};

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
    /// figures of scripts/score.py and which people are mixed up.
    Eval(eval::EvalArgs),
    /// Find who is in a video: its faces followed and grouped into people, one folder of face
    /// crops per person (person-01, ...; with -m the model's names for people it knows), an
    /// index.jsonl and a contact-sheet.jpg. Rename the folders, delete strangers', and train.
    Discover(discover::DiscoverArgs),
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
        Command::Discover(args) => discover::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("faceid: {e}");
            ExitCode::FAILURE
        }
    }
}
