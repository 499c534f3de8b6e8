//! Model files come from anywhere (fans share them): loading must never panic, hang or
//! allocate without bound, and a model that loads must classify without panicking.
#![no_main]
#![allow(dead_code)]

#[path = "../../src/cleaning.rs"]
mod cleaning;
#[path = "../../src/cohort.rs"]
mod cohort;
#[path = "../../src/encoding.rs"]
mod encoding;
#[path = "../../src/group_photo.rs"]
mod group_photo;
#[path = "../../src/likeness.rs"]
mod likeness;
#[path = "../../src/metric.rs"]
mod metric;
#[path = "../../src/model.rs"]
mod model;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(m) = model::Model::from_bytes(data) {
        let classifier = model::Classifier::new(&m);
        let probe = [0.05f32; encoding::ENCODING_DIM];
        let p = classifier.classify(&probe);
        assert!(p.best < m.labels.len());
        // What loads must save and load back the same.
        let again = model::Model::from_bytes(&m.to_bytes()).expect("a loaded model round-trips");
        assert_eq!(again.labels, m.labels);
    }
});
