//! HOG detections with scores ([`gstfaceid::hog`]) on real photos from `samples/`.

mod common;

use common::*;
use dlib_face_recognition::{FaceDetector, FaceDetectorTrait, ImageMatrix};
use gstfaceid::hog::{HogDetector, ScoredRect};

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

/// A decoded photo (BGRx), as RGB for dlib.
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
