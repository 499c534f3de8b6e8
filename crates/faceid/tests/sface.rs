//! The SFace encoder on real photos and real weights, against an independent implementation:
//! `tests/data/sface_reference.json` was computed once by `tests/data/sface_reference.py`
//! (Python dlib for the box and the 5 landmarks, numpy's Umeyama fit, OpenCV's `warpAffine`,
//! onnxruntime's own Python build; OpenCV's `FaceRecognizerSF.feature` on the same crop agreed
//! to a cosine of 0.9999999999). Nothing of the Rust pipeline was used to make it.

mod common;

use common::{bgrx_view, decode, init, json_floats, samples, test_data_json};
use faceid_core::detection::DetectionConfig;
use faceid_core::encoding::{EncoderKind, Encoding};
use faceid_core::geometry::FivePoints;
use faceid_dlib::{WeightsConfig, resolve_models_dir};
use faceid_onnx::sface::{SFACE_FILE, SFACE_SHA256};
use faceid_onnx::{OnnxConfig, Sface};
use gstfaceid::backends::{BackendConfig, FaceModels};

struct Reference {
    photo: String,
    bbox: [i32; 4],
    landmarks: FivePoints,
    encoding: Vec<f32>,
}

fn references() -> Vec<Reference> {
    test_data_json("sface_reference.json")
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let b = json_floats(&r["box"]);
            let mut landmarks = [(0f32, 0f32); 5];
            for (p, v) in landmarks
                .iter_mut()
                .zip(r["landmarks5"].as_array().unwrap())
            {
                let xy = json_floats(v);
                *p = (xy[0], xy[1]);
            }
            Reference {
                photo: r["photo"].as_str().unwrap().to_string(),
                bbox: [b[0] as i32, b[1] as i32, b[2] as i32, b[3] as i32],
                landmarks,
                encoding: json_floats(&r["encoding"]),
            }
        })
        .collect()
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum();
    let na: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}

fn norm(e: &Encoding) -> f64 {
    e.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt()
}

#[test]
fn sface_encodes_a_photo_as_the_independent_implementation_does() {
    init();
    let sface = Sface::load(&OnnxConfig::resolved()).expect("models/fetch-onnx.sh");
    for reference in references() {
        let sample = decode(&samples().join(&reference.photo));
        let buffer = sample.buffer().unwrap().map_readable().unwrap();
        let frame = bgrx_view(&sample, &buffer);
        let encoding = sface.encode(&frame, &reference.landmarks).unwrap();
        let c = cosine(&encoding, &reference.encoding);
        // JPEG decoders differ by a grey level here and there; the alignment or the colour
        // order wrong would give 0.3-0.9.
        assert!(c > 0.999, "{}: cosine {c}", reference.photo);
        let scale = f64::from(EncoderKind::Sface.scale().unwrap());
        assert!(
            (norm(&encoding) - scale).abs() < 1e-4,
            "{}",
            reference.photo
        );
    }
}

#[test]
fn the_sface_pipeline_finds_the_same_face_and_landmarks() {
    init();
    let models = FaceModels::load(&BackendConfig::new(
        EncoderKind::Sface,
        WeightsConfig::new(resolve_models_dir(None)),
    ))
    .unwrap();
    assert_eq!(models.encoder_id().name, "sface");
    assert_eq!(models.encoder_id().sha256, SFACE_SHA256);
    let pipeline = models.pipeline();
    for reference in references() {
        let sample = decode(&samples().join(&reference.photo));
        let buffer = sample.buffer().unwrap().map_readable().unwrap();
        let frame = bgrx_view(&sample, &buffer);
        let boxes = pipeline.detect(&frame, &DetectionConfig::default());
        let found = boxes
            .iter()
            .max_by_key(|b| b.area())
            .unwrap_or_else(|| panic!("{}: no face", reference.photo));
        let [x, y, w, h] = reference.bbox;
        let truth = faceid_core::geometry::FaceBox {
            x,
            y,
            width: w,
            height: h,
        };
        assert!(found.iou(&truth) > 0.8, "{}: {found:?}", reference.photo);
        // At the reference's box, dlib's landmarks (found on a crop around the face, shifted
        // back) and so the encoding are the reference's.
        let encodings = pipeline.encode(&frame, &[truth], 1);
        let c = cosine(&encodings[0], &reference.encoding);
        assert!(c > 0.999, "{}: cosine {c}", reference.photo);
    }
}

#[test]
fn the_shipped_weights_are_the_pinned_ones() {
    let path = OnnxConfig::resolved().path_of(SFACE_FILE);
    assert_eq!(
        faceid_onnx::runtime::sha256_file(&path).unwrap(),
        SFACE_SHA256
    );
}
