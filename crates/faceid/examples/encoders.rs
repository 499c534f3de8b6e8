//! The face encoders side by side on one core: the time to load each and to encode one face
//! (landmarks, chip or alignment, network), on the sample photos' faces.
//!
//!     cargo run --release --example encoders [PHOTO...]   (default: the bbt and fr_examples photos)

use std::path::PathBuf;
use std::time::Instant;

use faceid_core::detection::DetectionConfig;
use faceid_core::encoding::EncoderKind;
use faceid_core::frame::{FrameRef, PixelLayout};
use faceid_dlib::{WeightsConfig, resolve_models_dir};
use gst::prelude::*;
use gstfaceid::backends::{BackendConfig, FaceModels};

/// The first frame of an image as BGRx: (data, width, height, stride).
fn decode(path: &std::path::Path) -> Option<(Vec<u8>, usize, usize, usize)> {
    let pipeline = gst::parse::launch(&format!(
        "filesrc location=\"{}\" ! decodebin ! videoconvert ! video/x-raw,format=BGRx ! appsink name=sink sync=false",
        path.display()
    ))
    .ok()?
    .downcast::<gst::Pipeline>()
    .ok()?;
    let sink = pipeline
        .by_name("sink")?
        .downcast::<gst_app::AppSink>()
        .ok()?;
    pipeline.set_state(gst::State::Playing).ok()?;
    let sample = sink.try_pull_sample(gst::ClockTime::from_seconds(30));
    let _ = pipeline.set_state(gst::State::Null);
    let sample = sample?;
    let info = gst_video::VideoInfo::from_caps(sample.caps()?).ok()?;
    let map = sample.buffer()?.map_readable().ok()?;
    Some((
        map.to_vec(),
        info.width() as usize,
        info.height() as usize,
        info.stride()[0] as usize,
    ))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    gst::init()?;
    let mut photos: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    if photos.is_empty() {
        let samples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../samples");
        for person in ["amy", "howard", "penny", "raj", "sheldon"] {
            photos.push(samples.join(format!("bbt/{person}/{person}1.png")));
        }
        photos.push(samples.join("fr_examples/barack_obama/obama.jpg"));
        photos.push(samples.join("fr_examples/joe_biden/biden.jpg"));
    }
    let pictures: Vec<_> = photos.iter().filter_map(|p| decode(p)).collect();
    for kind in [EncoderKind::DlibResnet, EncoderKind::Sface] {
        let started = Instant::now();
        let models = FaceModels::load(&BackendConfig::new(
            kind,
            WeightsConfig::new(resolve_models_dir(None)),
        ))?;
        let pipeline = models.pipeline();
        let loaded = started.elapsed();
        let mut faces = 0;
        let mut first = None;
        let started = Instant::now();
        for round in 0..3 {
            for (data, w, h, stride) in &pictures {
                let frame = FrameRef::new(data, *w, *h, *stride, PixelLayout::Bgrx)?;
                let boxes = pipeline.detect(&frame, &DetectionConfig::default());
                let t = Instant::now();
                let encodings = pipeline.encode(&frame, &boxes, 1);
                if round == 0 && first.is_none() {
                    first = Some(t.elapsed());
                }
                if round > 0 {
                    faces += encodings.len();
                }
            }
        }
        let _ = started;
        // Encoding alone, after the first round (sessions and networks made).
        let mut encode_time = std::time::Duration::ZERO;
        for (data, w, h, stride) in &pictures {
            let frame = FrameRef::new(data, *w, *h, *stride, PixelLayout::Bgrx)?;
            let boxes = pipeline.detect(&frame, &DetectionConfig::default());
            let t = Instant::now();
            for _ in 0..5 {
                pipeline.encode(&frame, &boxes, 1);
            }
            encode_time += t.elapsed();
        }
        let per_face = encode_time.as_secs_f64() * 1000.0 / (faces as f64 / 2.0 * 5.0).max(1.0);
        println!(
            "{:<6} load {:>6.0} ms, first encoding {:>6.0} ms, then {:>5.1} ms a face (one thread, {} faces)",
            kind.name(),
            loaded.as_secs_f64() * 1000.0,
            first.unwrap_or_default().as_secs_f64() * 1000.0,
            per_face,
            faces / 2
        );
    }
    Ok(())
}
