//! Makes `crates/faceid-core/cohort/strangers.json`, the strangers the unknown distance is calibrated against
//! (see `src/cohort.rs` and `cohort/README.md`):
//!
//!     FACEID_COHORT_ENCODER=dlib cargo run --release --example make_cohort -- crates/faceid-core/cohort/strangers.json \
//!         person:samples/fr_examples person:samples/bbt \
//!         crowd:samples/johns/_other/bald_guys.jpg photo:samples/johns/_other/Tom_Cruise_avp_2014_4.jpg
//!
//! `person:DIR`: one folder per person, photos with exactly one face. `crowd:FILE`: every face
//! of the picture is a different person. `photo:FILE`: one person, one face. `clutter:FILE`
//! (an image or a video, every 25th frame): the detector's false alarms in it, each its own
//! "stranger". Only encodings and anonymous ids are written.

use std::path::{Path, PathBuf};

use faceid_core::detection::DetectionConfig;
use faceid_core::encoding::EncoderKind;
use faceid_core::frame::{FrameRef, PixelLayout};
use faceid_core::training::cohort::{Cohort, FORMAT_NAME, Stranger};
use faceid_dlib::{FacePipeline, WeightsConfig, resolve_models_dir};
use gst::prelude::*;
use gstfaceid::backends::{BackendConfig, FaceModels};

type Picture = (Vec<u8>, usize, usize, usize);

/// Every `every`-th frame of an image or video file, as BGRx (data, width, height, stride).
fn frames(path: &Path, every: usize) -> Vec<Picture> {
    let Ok(pipeline) = gst::parse::launch(&format!(
        "filesrc location=\"{}\" ! decodebin ! videoconvert ! video/x-raw,format=BGRx ! appsink name=sink sync=false",
        path.display()
    )) else {
        return Vec::new();
    };
    let Ok(pipeline) = pipeline.downcast::<gst::Pipeline>() else {
        return Vec::new();
    };
    let Some(sink) = pipeline
        .by_name("sink")
        .and_then(|s| s.downcast::<gst_app::AppSink>().ok())
    else {
        return Vec::new();
    };
    let _ = pipeline.set_state(gst::State::Playing);
    let mut out = Vec::new();
    let mut index = 0;
    while let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(30)) {
        if index % every == 0
            && let (Some(caps), Some(buffer)) = (sample.caps(), sample.buffer())
            && let (Ok(info), Ok(map)) =
                (gst_video::VideoInfo::from_caps(caps), buffer.map_readable())
        {
            out.push((
                map.to_vec(),
                info.width() as usize,
                info.height() as usize,
                info.stride()[0] as usize,
            ));
        }
        index += 1;
    }
    let _ = pipeline.set_state(gst::State::Null);
    out
}

/// The detector's false alarms in `path`: windows that HOG scores between the weak-detection
/// cut (-1) and its usual cut (0) away from every usual detection, at most 6 a frame. Encoded,
/// they are what clutter looks like to the encoder: it must stay unknown too.
fn clutter(pipeline: &FacePipeline, path: &Path) -> Vec<Vec<f32>> {
    let mut out = Vec::new();
    for (data, width, height, stride) in frames(path, 25) {
        let Ok(frame) = FrameRef::new(&data, width, height, stride, PixelLayout::Bgrx) else {
            continue;
        };
        let config = DetectionConfig {
            adjust_threshold: -1.0,
            ..DetectionConfig::default()
        };
        let scored = pipeline.detect_scored(&frame, &config);
        let faces: Vec<_> = scored
            .iter()
            .filter(|(_, s)| *s >= 0.0)
            .map(|(b, _)| *b)
            .collect();
        let mut weak: Vec<_> = scored
            .into_iter()
            .filter(|(b, s)| {
                *s < 0.0
                    && faces
                        .iter()
                        .all(|f| f.iou(b) < 0.05 && !b.center_inside(f) && !f.center_inside(b))
            })
            .collect();
        weak.sort_by(|a, b| b.1.total_cmp(&a.1));
        let boxes: Vec<_> = weak.into_iter().take(6).map(|(b, _)| b).collect();
        out.extend(
            pipeline
                .encode(&frame, &boxes, 1)
                .into_iter()
                .map(|e| e.to_vec()),
        );
    }
    out
}

fn decode(path: &Path) -> Result<Picture, Box<dyn std::error::Error>> {
    let pipeline = gst::parse::launch(&format!(
        "filesrc location=\"{}\" ! decodebin ! videoconvert ! video/x-raw,format=BGRx ! appsink name=sink sync=false",
        path.display()
    ))?
    .downcast::<gst::Pipeline>()
    .map_err(|_| "not a pipeline")?;
    let sink = pipeline
        .by_name("sink")
        .and_then(|s| s.downcast::<gst_app::AppSink>().ok())
        .ok_or("no appsink")?;
    pipeline.set_state(gst::State::Playing)?;
    let sample = sink.try_pull_sample(gst::ClockTime::from_seconds(30));
    pipeline.set_state(gst::State::Null)?;
    let sample = sample.ok_or_else(|| format!("{}: no picture", path.display()))?;
    let info = gst_video::VideoInfo::from_caps(sample.caps().ok_or("no caps")?)?;
    let buffer = sample.buffer().ok_or("no buffer")?;
    let map = buffer.map_readable()?;
    Ok((
        map.to_vec(),
        info.width() as usize,
        info.height() as usize,
        info.stride()[0] as usize,
    ))
}

/// Every face of the picture at `path`.
fn faces(pipeline: &FacePipeline, path: &Path) -> Vec<Vec<f32>> {
    let Ok((data, width, height, stride)) = decode(path) else {
        eprintln!("skipping {}: not an image", path.display());
        return Vec::new();
    };
    let Ok(frame) = FrameRef::new(&data, width, height, stride, PixelLayout::Bgrx) else {
        return Vec::new();
    };
    let boxes = pipeline.detect(&frame, &DetectionConfig::default());
    pipeline
        .encode(&frame, &boxes, 1)
        .into_iter()
        .map(|e| e.to_vec())
        .collect()
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|r| r.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    out.sort();
    out
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let output = PathBuf::from(
        args.next()
            .ok_or("usage: make_cohort OUT.json KIND:PATH...")?,
    );
    gst::init()?;
    // FACEID_COHORT_ENCODER=dlib|sface (default sface): the encoder whose cohort this is.
    let kind = std::env::var("FACEID_COHORT_ENCODER").unwrap_or_else(|_| "sface".into());
    let kind = EncoderKind::from_name(&kind).ok_or("FACEID_COHORT_ENCODER: dlib or sface")?;
    let models = FaceModels::load(&BackendConfig::new(
        kind,
        WeightsConfig::new(resolve_models_dir(None)),
    ))?;
    let encoder = models.encoder_id().clone();
    let pipeline = models.pipeline();
    let mut people: Vec<Vec<Vec<f32>>> = Vec::new();
    for arg in args {
        let (kind, path) = arg.split_once(':').ok_or("KIND:PATH")?;
        let path = Path::new(path);
        match kind {
            "person" => {
                for person in files(path).into_iter().filter(|p| p.is_dir()) {
                    let name = person.file_name().unwrap_or_default().to_string_lossy();
                    if name.starts_with('_') || name.starts_with('.') {
                        continue;
                    }
                    let encodings: Vec<Vec<f32>> = files(&person)
                        .iter()
                        .map(|f| faces(&pipeline, f))
                        .filter(|f| f.len() == 1)
                        .flatten()
                        .collect();
                    people.push(encodings);
                }
            }
            "crowd" => people.extend(faces(&pipeline, path).into_iter().map(|e| vec![e])),
            "photo" => people.push(faces(&pipeline, path).into_iter().take(1).collect()),
            "clutter" => people.extend(clutter(&pipeline, path).into_iter().map(|e| vec![e])),
            _ => return Err(format!("unknown kind {kind}: person, crowd or photo").into()),
        }
    }
    people.retain(|p| !p.is_empty());
    let cohort = Cohort {
        format: FORMAT_NAME.into(),
        version: 1,
        encoder,
        strangers: people
            .into_iter()
            .enumerate()
            .map(|(i, encodings)| Stranger {
                id: format!("s{i:03}"),
                encodings,
            })
            .collect(),
    };
    let mut text = serde_json::to_string(&cohort)?;
    text.push('\n');
    std::fs::write(&output, text)?;
    eprintln!(
        "wrote {} strangers, {} encodings to {}",
        cohort.strangers.len(),
        cohort.len(),
        output.display()
    );
    Ok(())
}
