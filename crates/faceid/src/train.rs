//! `faceid train DIR -o MODEL`: one `appsrc ! videoconvert ! faceidtrain` pipeline per person,
//! fed with the person's photos decoded by GStreamer, all into one model file written at the end.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use gst::prelude::*;

use faceid_core::model::{Model, left_out_report, write_atomically};

use crate::WeightsArgs;
use crate::people_folders::list_people;
use crate::pipeline::{CtrlC, bus_error, decode_image, run_to_eos};
use crate::progress::Progress;

#[derive(clap::Args)]
pub struct TrainArgs {
    /// Folder with one sub-folder of photos per person, named after the person.
    dir: PathBuf,
    /// Model file to write.
    #[arg(short, long, value_name = "MODEL")]
    output: PathBuf,
    /// Add to (or update people in) an existing model instead of starting a new one.
    #[arg(long)]
    append: bool,
    /// Encode each face this many times with random jitter and average (slower, steadier).
    #[arg(long, default_value_t = 1)]
    jitters: u32,
    /// Times each photo is doubled before face detection (finds smaller faces, slower).
    #[arg(long, default_value_t = 1)]
    upsample: u32,
    /// Keep every photo with one face, even one that disagrees with the person's other photos
    /// or duplicates another.
    #[arg(long)]
    keep_all: bool,
    /// Encode sharp photos only: no copy of each face blurred sideways (by default one is
    /// encoded too, so faces smeared by fast camera pans are named).
    #[arg(long)]
    no_motion_blur_copies: bool,
    /// Write the photos left out, and why, to this file (JSON if it ends in .json, else CSV).
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// The face encoder: dlib (dlib's ResNet, the default) or sface (SFace through ONNX
    /// Runtime: keeps strangers who look like the group unnamed far better; the README says
    /// where each does better). The model file records it; with --append, the model's own
    /// unless given.
    #[arg(long, value_name = "ENCODER")]
    encoder: Option<String>,
    /// Photos of people around the group who must stay unknown (dancers, hosts, other
    /// groups; any folder of photos, subfolders too): every face in them keeps the model's
    /// unknown distance short of them. The model keeps their encodings, not the photos.
    #[arg(long, value_name = "DIR")]
    strangers: Option<PathBuf>,
    /// Face detector for the photos: hog (dlib's, frontal faces) or yunet (ONNX Runtime: also
    /// three-quarter faces, such as the crops `faceid discover --detector yunet` writes).
    #[arg(long, default_value = "hog", value_parser = ["hog", "yunet"])]
    detector: String,
    #[command(flatten)]
    weights: WeightsArgs,
}

/// A photo and what became of it.
struct PhotoReport {
    path: PathBuf,
    outcome: String,
}

/// How a photo is named in the model file: its path inside the training folder (`jimin/01.jpg`),
/// never where that folder is. Model files get shared, and an absolute path would tell strangers
/// the user's name and folders.
fn shared_name(dir: &Path, photo: &Path) -> String {
    photo
        .strip_prefix(dir)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| PathBuf::from(photo.file_name().unwrap_or_default()))
        .to_string_lossy()
        .into_owned()
}

/// Result of one person's training pipeline.
struct PersonRun {
    /// Outcome of each pushed photo, in push order.
    outcomes: Vec<String>,
    /// The error, when the pipeline failed (e.g. no usable face).
    error: Option<String>,
}

fn train_person(
    args: &TrainArgs,
    label: &str,
    samples: &[gst::Sample],
    location: &Path,
    append: bool,
    strangers: bool,
) -> Result<PersonRun, String> {
    let pipeline = gst::Pipeline::new();
    let src = gst_app::AppSrc::builder().format(gst::Format::Time).build();
    let convert = gst::ElementFactory::make("videoconvert")
        .build()
        .map_err(|e| e.to_string())?;
    let mut train = gst::ElementFactory::make("faceidtrain")
        .property("location", location)
        .property("label", label)
        .property("append", append)
        .property("jitters", args.jitters)
        .property("upsample", args.upsample)
        .property("clean", !args.keep_all)
        .property("motion-blur-copies", !args.no_motion_blur_copies)
        .property("strangers", strangers);
    if let Some(dir) = &args.weights.models_dir {
        train = train.property("models-dir", dir);
    }
    if let Some(encoder) = &args.encoder {
        train = train.property("encoder", encoder);
    }
    train = train.property_from_str("detector", &args.detector);
    let train = train.build().map_err(|e| e.to_string())?;
    pipeline
        .add_many([src.upcast_ref(), &convert, &train])
        .map_err(|e| e.to_string())?;
    gst::Element::link_many([src.upcast_ref(), &convert, &train]).map_err(|e| e.to_string())?;
    let bus = pipeline.bus().ok_or("no bus")?;
    pipeline.set_state(gst::State::Playing).map_err(|_| {
        bus_error(&bus, gst::ClockTime::ZERO).unwrap_or_else(|| "could not start training".into())
    })?;
    for (i, sample) in samples.iter().enumerate() {
        // Each photo is one frame a second apart.
        let mut sample = sample.clone();
        if let Some(buffer) = sample.buffer() {
            let mut buffer = buffer.copy();
            {
                let b = buffer.make_mut();
                b.set_pts(gst::ClockTime::from_seconds(i as u64));
                b.set_duration(gst::ClockTime::from_seconds(1));
            }
            sample = gst::Sample::builder()
                .buffer(&buffer)
                .caps_if_some(sample.caps_owned().as_ref())
                .build();
        }
        if src.push_sample(&sample).is_err() {
            break;
        }
    }
    let _ = src.end_of_stream();
    let mut outcomes = Vec::new();
    let result = run_to_eos(
        &pipeline,
        None,
        &mut |s| {
            if s.name() == "faceidtrain-frame" {
                outcomes.push(s.get::<String>("outcome").unwrap_or_default());
            }
        },
        CtrlC::Ends,
    )
    .map(|_| ());
    let run = PersonRun {
        outcomes,
        error: result.err(),
    };
    let _ = pipeline.set_state(gst::State::Null);
    Ok(run)
}

/// Photo name (inside the training folder) by (label, the source faceidtrain gave it).
type Sources = HashMap<(String, String), String>;

/// One person's photos, what became of each, and why the person was not trained, if not.
struct PersonReport {
    label: String,
    photos: Vec<PhotoReport>,
    error: Option<String>,
}

/// Decodes `photos` and trains `label` on them into `partial`; records the photos' names.
fn train_one(
    args: &TrainArgs,
    label: &str,
    photos: &[PathBuf],
    partial: &Path,
    append: bool,
    progress: &mut (Progress, u64, u64),
    sources: &mut Sources,
) -> Result<PersonReport, String> {
    let mut reports = Vec::new();
    let mut samples = Vec::new();
    let mut pushed = Vec::new();
    for (photo, decoded) in decode_photos(label, photos, progress) {
        match decoded {
            Ok(sample) => {
                samples.push(sample);
                pushed.push(photo);
            }
            Err(why) => reports.push(PhotoReport {
                path: photo,
                outcome: why,
            }),
        }
    }
    let run = if samples.is_empty() {
        PersonRun {
            outcomes: Vec::new(),
            error: Some("no photo could be decoded".into()),
        }
    } else {
        train_person(args, label, &samples, partial, append, false)?
    };
    for (i, path) in pushed.into_iter().enumerate() {
        sources.insert(
            (label.to_string(), format!("frame {i}")),
            shared_name(&args.dir, &path),
        );
        let outcome = match run.outcomes.get(i).map(String::as_str) {
            // A group photo is used unless the model lists it as left out (below).
            Some("used") | Some("group-photo") => "used".to_string(),
            Some("no-face") => "left out: no face found".to_string(),
            Some(other) => other.to_string(),
            None => "not processed".to_string(),
        };
        reports.push(PhotoReport { path, outcome });
    }
    Ok(PersonReport {
        label: label.to_string(),
        photos: reports,
        error: run.error,
    })
}

/// Decodes `photos` (shown as `label/<file>` in the progress), each with its sample or why not.
fn decode_photos(
    label: &str,
    photos: &[PathBuf],
    progress: &mut (Progress, u64, u64),
) -> Vec<(PathBuf, Result<gst::Sample, String>)> {
    photos
        .iter()
        .map(|photo| {
            progress.1 += 1;
            let shown = format!(
                "{label}/{}",
                photo.file_name().unwrap_or_default().to_string_lossy()
            );
            progress
                .0
                .update(progress.1, progress.2, &shown, Duration::ZERO);
            (photo.clone(), decode_image(photo))
        })
        .collect()
}

/// The photos of `dir` and of its subfolders, sorted.
fn photos_under(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            out.extend(photos_under(&path)?);
        } else {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// Adds the faces of `--strangers` to the model at `partial` (and retrains it over them).
fn train_strangers(
    args: &TrainArgs,
    dir: &Path,
    partial: &Path,
    progress: &mut (Progress, u64, u64),
) -> Result<(), String> {
    let photos = photos_under(dir)?;
    progress.2 += photos.len() as u64;
    let samples: Vec<gst::Sample> = decode_photos("strangers", &photos, progress)
        .into_iter()
        .filter_map(|(_, decoded)| decoded.ok())
        .collect();
    if samples.is_empty() {
        return Err(format!("{}: no photo could be decoded", dir.display()));
    }
    let run = train_person(args, "(strangers)", &samples, partial, true, true)?;
    if let Some(e) = run.error {
        return Err(format!("strangers in {}: {e}", dir.display()));
    }
    Ok(())
}

/// Names the photos in the model by their files, writes `--report`, and returns the reason
/// each left-out photo was left out, by name.
fn name_photos(
    args: &TrainArgs,
    partial: &Path,
    sources: &Sources,
) -> Result<HashMap<String, String>, String> {
    let mut model = Model::load(partial).map_err(|e| e.to_string())?;
    let labels = model.labels.clone();
    let rename = |label: usize, source: &mut String| {
        let key = (
            labels.get(label).cloned().unwrap_or_default(),
            source.clone(),
        );
        if let Some(name) = sources.get(&key) {
            source.clone_from(name);
        }
    };
    for sample in &mut model.samples {
        rename(sample.label, &mut sample.source);
    }
    let mut left_out = HashMap::new();
    for l in &mut model.left_out {
        rename(l.sample.label, &mut l.sample.source);
        for ((label, source), name) in sources {
            l.reason = l.reason.replace(&format!("{source} of {label}"), name);
        }
        left_out.insert(l.sample.source.clone(), l.reason.clone());
    }
    model.save(partial).map_err(|e| e.to_string())?;
    if let Some(report) = &args.report {
        let json = report
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        write_atomically(report, left_out_report(&model, json).as_bytes())
            .map_err(|e| e.to_string())?;
    }
    Ok(left_out)
}

/// The table `faceid train` prints: per person the photos and the ones used, and every photo
/// left out with why.
fn print_table(table: &[PersonReport]) {
    println!("{:<24} {:>6} {:>9}  left out", "person", "photos", "used");
    for person in table {
        let used = person.photos.iter().filter(|r| r.outcome == "used").count();
        println!("{:<24} {:>6} {used:>9}", person.label, person.photos.len());
        for r in person.photos.iter().filter(|r| r.outcome != "used") {
            println!("    {}: {}", r.path.display(), r.outcome);
        }
        if let Some(e) = &person.error {
            println!("    person not trained: {e}");
        }
    }
}

pub fn run(args: &TrainArgs) -> Result<(), String> {
    let people = list_people(&args.dir)?;
    let total: usize = people.iter().map(|(_, p)| p.len()).sum();
    // Build into a temporary file next to the output, renamed at the end: a failed run leaves
    // an existing model untouched.
    let file_name = args
        .output
        .file_name()
        .ok_or_else(|| format!("{} is not a file name", args.output.display()))?;
    let partial = args
        .output
        .with_file_name(format!(".{}.partial", file_name.to_string_lossy()));
    let _ = std::fs::remove_file(&partial);
    let mut append = false;
    if args.append && args.output.exists() {
        std::fs::copy(&args.output, &partial)
            .map_err(|e| format!("cannot copy {}: {e}", args.output.display()))?;
        append = true;
    }
    let mut progress = (Progress::new("train"), 0u64, total as u64);
    let mut table = Vec::new();
    let mut sources = Sources::new();
    for (label, photos) in &people {
        let person = train_one(
            args,
            label,
            photos,
            &partial,
            append,
            &mut progress,
            &mut sources,
        )?;
        append |= person.error.is_none();
        table.push(person);
    }
    if append && let Some(dir) = &args.strangers {
        train_strangers(args, dir, &partial, &mut progress)?;
    }
    progress.0.finish();
    if append {
        let left_out = name_photos(args, &partial, &sources)?;
        for r in table.iter_mut().flat_map(|p| p.photos.iter_mut()) {
            if let Some(reason) = left_out.get(&shared_name(&args.dir, &r.path)) {
                r.outcome = format!("left out: {reason}");
            }
        }
    }
    print_table(&table);
    if !append {
        let _ = std::fs::remove_file(&partial);
        return Err(format!(
            "no person could be trained; {} was not written",
            args.output.display()
        ));
    }
    std::fs::rename(&partial, &args.output)
        .map_err(|e| format!("cannot write {}: {e}", args.output.display()))?;
    let trained = table.iter().filter(|p| p.error.is_none()).count();
    println!("wrote {} ({trained} people)", args.output.display());
    if let Ok(model) = Model::load(&args.output) {
        if !model.strangers.is_empty() {
            println!(
                "{} faces of strangers kept out (--strangers, and earlier trainings)",
                model.strangers.len()
            );
        }
        println!(
            "unknown beyond distance {:.3} from a person's photos ({:.3} from their motion-blurred copies)",
            model.unknown_distance,
            model.unknown_distance - model.blur_penalty
        );
    }
    Ok(())
}
