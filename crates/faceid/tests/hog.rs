//! HOG detections with scores ([`faceid_dlib::hog`]) and through the face pipeline, on real
//! photos from `samples/`.

mod common;

use common::*;
use dlib_face_recognition::{FaceDetector, FaceDetectorTrait, ImageMatrix};
use faceid_core::detection::{DetectionConfig, DetectorKind};
use faceid_core::frame::{FrameRef, PixelLayout};
use faceid_core::geometry::FaceBox;
use faceid_dlib::hog::{HogDetector, ScoredRect};
use faceid_dlib::pipeline::CNN_SCORE;
use faceid_dlib::{FacePipeline, Weights, WeightsConfig, resolve_models_dir};

/// Group photos with 2 to 24 frontal faces.
const PHOTOS: [&str; 8] = [
    "bbt/_group/bbt1.jpg",
    "bbt/_group/bbt2.jpg",
    "bbt/_group/bbt3.jpg",
    "bbt/_group/bbt4.jpg",
    "bbt/_group/bbt5.jpg",
    "fr_examples/_group/two_people.jpg",
    "fr_examples/_group/kit_with_rose.jpg",
    "johns/_other/bald_guys.jpg",
];

/// A decoded photo (BGRx), as a frame for the pipeline and as RGB for dlib.
struct Photo {
    sample: gst::Sample,
    width: usize,
    height: usize,
    stride: usize,
}

impl Photo {
    fn load(name: &'static str) -> Photo {
        let sample = decode(&samples().join(name));
        let info = gst_video::VideoInfo::from_caps(sample.caps().unwrap()).unwrap();
        Photo {
            width: info.width() as usize,
            height: info.height() as usize,
            stride: info.stride()[0] as usize,
            sample,
        }
    }

    fn with_frame<R>(&self, f: impl FnOnce(&FrameRef<'_>) -> R) -> R {
        let map = self.sample.buffer().unwrap().map_readable().unwrap();
        let frame = FrameRef::new(
            &map,
            self.width,
            self.height,
            self.stride,
            PixelLayout::Bgrx,
        )
        .unwrap();
        f(&frame)
    }

    fn matrix(&self) -> ImageMatrix {
        let map = self.sample.buffer().unwrap().map_readable().unwrap();
        let mut rgb = Vec::with_capacity(self.width * self.height * 3);
        for y in 0..self.height {
            let row = &map[y * self.stride..y * self.stride + self.width * 4];
            for px in row.chunks_exact(4) {
                rgb.extend_from_slice(&[px[2], px[1], px[0]]);
            }
        }
        // SAFETY: `rgb` holds width * height packed RGB pixels; dlib copies them.
        unsafe { ImageMatrix::new(self.width, self.height, rgb.as_ptr()) }
    }
}

fn pipeline(cnn: bool) -> FacePipeline {
    let mut config = WeightsConfig::new(resolve_models_dir(None));
    config.cnn = cnn;
    FacePipeline::new(Weights::load(&config).expect("dlib weights (scripts/setup.sh)"))
}

/// `sub`'s detections all appear in `sup` with the same score.
fn assert_contains<T: PartialEq + std::fmt::Debug>(sup: &[(T, f32)], sub: &[(T, f32)], what: &str) {
    for d in sub {
        assert!(sup.contains(d), "{what}: {d:?} missing from {sup:?}");
    }
}

fn rects(dets: &[ScoredRect]) -> Vec<(dlib_face_recognition::Rectangle, f32)> {
    dets.iter().map(|d| (d.rect, d.score)).collect()
}

#[test]
fn threshold_zero_is_dlib_face_locations_with_scores() {
    let hog = HogDetector::new().expect("dlib builds its detector");
    let reference = FaceDetector::new();
    for name in PHOTOS {
        let matrix = Photo::load(name).matrix();
        let found = hog.detect(&matrix, 0.0);
        let boxes: Vec<_> = found.iter().map(|d| d.rect).collect();
        assert_eq!(boxes, reference.face_locations(&matrix).to_vec(), "{name}");
        assert!(!found.is_empty(), "{name}");
        assert!(found.iter().all(|d| d.score >= 0.0), "{name}: {found:?}");
        assert!(
            found.windows(2).all(|w| w[0].score >= w[1].score),
            "{name}: best score first: {found:?}"
        );
    }
}

#[test]
fn lower_threshold_adds_faces_scoring_below_zero() {
    let hog = HogDetector::new().unwrap();
    let mut extra = 0;
    for name in PHOTOS {
        let matrix = Photo::load(name).matrix();
        let at_zero = rects(&hog.detect(&matrix, 0.0));
        let at_minus_one = rects(&hog.detect(&matrix, -1.0));
        assert_contains(&at_minus_one, &at_zero, name);
        for d in at_minus_one.iter().filter(|d| !at_zero.contains(d)) {
            assert!((-1.0 - 1e-6..0.0).contains(&d.1), "{name}: {d:?}");
            extra += 1;
        }
        // Raising the threshold only drops detections.
        let at_one = rects(&hog.detect(&matrix, 1.0));
        assert_contains(&at_zero, &at_one, name);
        assert!(
            at_one.iter().all(|d| d.1 >= 1.0 - 1e-6),
            "{name}: {at_one:?}"
        );
    }
    assert!(extra > 0, "threshold -1 finds more windows than 0");
}

fn boxes(scored: &[(FaceBox, f32)]) -> Vec<FaceBox> {
    scored.iter().map(|(b, _)| *b).collect()
}

#[test]
fn pipeline_scores_at_threshold_zero_keep_the_boxes() {
    let pipeline = pipeline(false);
    // One HOG pass, and the two-thread split (strips plus a coarse pass, merged).
    let single = DetectionConfig::default();
    let split = DetectionConfig {
        threads: 2,
        ..DetectionConfig::default()
    };
    for name in &PHOTOS[..7] {
        let photo = Photo::load(name);
        photo.with_frame(|frame| {
            for config in [single, split] {
                let scored = pipeline.detect_scored(frame, &config);
                assert_eq!(boxes(&scored), pipeline.detect(frame, &config), "{name}");
                assert!(!scored.is_empty(), "{name}");
                assert!(scored.iter().all(|d| d.1 >= 0.0), "{name}: {scored:?}");

                let lower = DetectionConfig {
                    adjust_threshold: -1.0,
                    ..config
                };
                let more = pipeline.detect_scored(frame, &lower);
                assert!(more.iter().all(|d| d.1 >= -1.0 - 1e-6), "{name}: {more:?}");
                assert!(more.len() > scored.len(), "{name}: {more:?}");
                // Every face found at 0 is found again, with a score at least as high.
                for (b, s) in &scored {
                    assert!(
                        more.iter().any(|(m, ms)| m == b && ms >= s),
                        "{name} ({} threads): {b:?} {s} missing from {more:?}",
                        config.threads
                    );
                }
                if config.threads == 1 {
                    assert_contains(&more, &scored, name);
                    let below: Vec<_> = more.iter().filter(|d| !scored.contains(d)).collect();
                    assert!(below.iter().all(|d| d.1 < 0.0), "{name}: {below:?}");
                }
            }
        });
    }
}

#[test]
fn detect_near_scores_the_face_it_follows() {
    let pipeline = pipeline(false);
    let photo = Photo::load("bbt/_group/bbt3.jpg");
    photo.with_frame(|frame| {
        let faces = pipeline.detect(frame, &DetectionConfig::default());
        assert!(!faces.is_empty());
        for face in faces {
            let near = pipeline.detect_near(frame, face);
            let scored = pipeline.detect_near_scored(frame, face, 0.0);
            assert_eq!(boxes(&scored), near);
            assert!(
                near.iter().any(|b| b.iou(&face) > 0.5),
                "{face:?} not found again: {near:?}"
            );
            assert!(scored.iter().all(|d| d.1 >= 0.0), "{scored:?}");
            let more = pipeline.detect_near_scored(frame, face, -1.0);
            assert_contains(&more, &scored, "detect_near at -1");
            assert!(more.iter().all(|d| d.1 >= -1.0 - 1e-6), "{more:?}");
        }
    });
}

#[test]
fn cnn_detections_carry_the_fixed_score() {
    let pipeline = pipeline(true);
    let photo = Photo::load("bbt/_group/bbt2.jpg");
    photo.with_frame(|frame| {
        let config = DetectionConfig {
            detector: DetectorKind::Cnn,
            // CNN detections have no HOG score; the threshold must not matter.
            adjust_threshold: -1.0,
            ..DetectionConfig::default()
        };
        let scored = pipeline.detect_scored(frame, &config);
        assert!(!scored.is_empty());
        assert!(scored.iter().all(|d| d.1 == CNN_SCORE), "{scored:?}");
        assert_eq!(boxes(&scored), pipeline.detect(frame, &config));
    });
}
