//! `faceid eval`: how good is a model? On a folder of labelled photos (one folder per person,
//! `unknown/` for strangers): top-1 accuracy, strangers named, confusion table. On a clip with
//! a ground-truth JSON lines file: the figures of `scripts/score.py`. With `--leave-one-out`:
//! the model's own photos, each named by a model trained on the others.

use std::path::{Path, PathBuf};

use clap::Parser;
use faceid_core::face_result::parse_lines;
use faceid_core::model::Model;
use faceid_core::report::evaluation::{PhotoEvaluation, leave_one_out, score_clip_with_confusion};
use gst::prelude::*;
use gstfaceid::meta::{FaceMeta, NamedFace};

use crate::WeightsArgs;
use crate::annotate::{self, AnnotateArgs};
use crate::people_folders::list_people;
use crate::pipeline::{bus_error, decode_image};

#[derive(clap::Args)]
pub struct EvalArgs {
    /// A folder of labelled photos (one folder per person, `unknown/` for strangers), or a clip.
    #[arg(required_unless_present = "leave_one_out")]
    input: Option<PathBuf>,
    /// Instead: name each of the model's own training photos with a model trained on all the
    /// others (from the stored encodings; no photos needed).
    #[arg(long, conflicts_with_all = ["input", "ground_truth"])]
    leave_one_out: bool,
    /// Model file to evaluate.
    #[arg(short, long, value_name = "MODEL")]
    model: PathBuf,
    /// For a clip: ground truth, one JSON line per frame (see samples/README.md).
    #[arg(long, value_name = "GT.jsonl")]
    ground_truth: Option<PathBuf>,
    /// Extra faceidoverlay properties, e.g. --set unknown-distance=0.5.
    #[arg(long = "set", value_name = "PROPERTY=VALUE")]
    overlay_properties: Vec<String>,
    #[command(flatten)]
    weights: WeightsArgs,
}

#[derive(Parser)]
struct AnnotateCommand {
    #[command(flatten)]
    args: AnnotateArgs,
}

pub fn run(args: &EvalArgs) -> Result<(), String> {
    match (&args.input, &args.ground_truth) {
        (None, _) => eval_leave_one_out(args),
        (Some(clip), Some(gt)) => eval_clip(args, clip, gt),
        (Some(folder), None) if folder.is_dir() => eval_photos(args, folder),
        _ => Err("give --ground-truth for a clip, or a folder of labelled photos".into()),
    }
}

fn print_photo_evaluation(evaluation: &PhotoEvaluation) {
    let (named, strangers) = evaluation.strangers_named();
    println!("top-1 accuracy: {:.1}%", 100.0 * evaluation.top1_accuracy());
    println!("strangers named: {named} of {strangers}");
}

fn eval_leave_one_out(args: &EvalArgs) -> Result<(), String> {
    let model = Model::load(&args.model).map_err(|e| format!("{}: {e}", args.model.display()))?;
    let evaluation = leave_one_out(&model).map_err(|e| e.to_string())?;
    print_photo_evaluation(&evaluation);
    print!("{}", evaluation.confusion_table());
    Ok(())
}

fn eval_clip(args: &EvalArgs, clip: &Path, gt: &Path) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("faceid-eval-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let detections = dir.join("detections.jsonl");
    let mut argv: Vec<String> = vec![
        "annotate".into(),
        clip.display().to_string(),
        "-m".into(),
        args.model.display().to_string(),
        "--no-video".into(),
        "--detections".into(),
        detections.display().to_string(),
    ];
    for s in &args.overlay_properties {
        argv.push("--set".into());
        argv.push(s.clone());
    }
    if let Some(d) = &args.weights.models_dir {
        argv.push("--models-dir".into());
        argv.push(d.display().to_string());
    }
    let command = AnnotateCommand::try_parse_from(argv).map_err(|e| e.to_string())?;
    let result = annotate::run(&command.args).and_then(|()| {
        let read =
            |p: &Path| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
        let gt = parse_lines(&read(gt)?).map_err(|e| format!("{}: {e}", gt.display()))?;
        let det = parse_lines(&read(&detections)?)?;
        let (score, confusion) = score_clip_with_confusion(&gt, &det, 0.3);
        println!(
            "{}",
            serde_json::to_string(&score).map_err(|e| e.to_string())?
        );
        println!("faces of the ground truth, by the name they were given:");
        print!("{}", confusion.confusion_table());
        let mix_ups = confusion.mix_ups();
        if mix_ups.is_empty() {
            println!("nobody was given another person's name");
        } else {
            println!("mixed up (true -> given, faces):");
            for (truth, given, n) in mix_ups.iter().take(10) {
                println!("    {truth} -> {given}: {n}");
            }
        }
        Ok(())
    });
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// The label faceidoverlay gives the largest face of a photo (None: unknown or no face).
fn name_photo(
    pipeline: &gst::Pipeline,
    src: &gst_app::AppSrc,
    sink: &gst_app::AppSink,
    sample: &gst::Sample,
) -> Result<Option<String>, String> {
    src.push_sample(sample).map_err(|e| format!("push: {e}"))?;
    let out = sink
        .try_pull_sample(gst::ClockTime::from_seconds(120))
        .ok_or_else(|| {
            pipeline
                .bus()
                .and_then(|b| bus_error(&b, gst::ClockTime::ZERO))
                .unwrap_or_else(|| "no result from faceidoverlay".into())
        })?;
    let buffer = out.buffer().ok_or("empty sample")?;
    let largest = NamedFace::all_in_buffer(buffer)
        .into_iter()
        .max_by_key(|f| f.rect.area())
        .and_then(|f| f.label);
    Ok(largest)
}

fn eval_photos(args: &EvalArgs, folder: &Path) -> Result<(), String> {
    let people = list_people(folder)?;
    let pipeline = gst::Pipeline::new();
    let src = gst_app::AppSrc::builder().format(gst::Format::Time).build();
    // Every photo on its own: nothing to follow from one photo to the next. `--set` comes
    // after, so a user's setting wins.
    let settings: Vec<String> = ["tracking=false", "draw-labels=false", "post-messages=false"]
        .into_iter()
        .map(String::from)
        .chain(args.overlay_properties.iter().cloned())
        .collect();
    let overlay =
        crate::pipeline::overlay(&args.model, args.weights.models_dir.as_deref(), &settings)?;
    let sink = gst_app::AppSink::builder().sync(false).build();
    pipeline
        .add_many([src.upcast_ref(), &overlay, sink.upcast_ref()])
        .map_err(|e| e.to_string())?;
    gst::Element::link_many([src.upcast_ref(), &overlay, sink.upcast_ref()])
        .map_err(|e| e.to_string())?;
    if pipeline.set_state(gst::State::Playing).is_err() {
        let why = pipeline
            .bus()
            .and_then(|b| bus_error(&b, gst::ClockTime::from_seconds(1)))
            .unwrap_or_else(|| "could not start faceidoverlay".into());
        return Err(why);
    }
    let mut evaluation = PhotoEvaluation::default();
    let mut skipped = 0;
    let result = (|| {
        for (label, photos) in &people {
            for photo in photos {
                let Ok(sample) = decode_image(photo) else {
                    skipped += 1;
                    continue;
                };
                let given = name_photo(&pipeline, &src, &sink, &sample)?;
                evaluation.add(label, given.as_deref());
            }
        }
        Ok::<(), String>(())
    })();
    let _ = pipeline.set_state(gst::State::Null);
    result?;
    print_photo_evaluation(&evaluation);
    if skipped > 0 {
        println!("files that are not images: {skipped}");
    }
    print!("{}", evaluation.confusion_table());
    Ok(())
}
