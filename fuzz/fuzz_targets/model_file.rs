//! Model files come from anywhere (fans share them): loading must never panic, hang or
//! allocate without bound, and a model that loads must classify without panicking.
#![no_main]

use faceid_core::encoding::ENCODING_DIM;
use faceid_core::model::{Classifier, Model};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Model::from_bytes(data) {
        let classifier = Classifier::new(&m);
        let probe = [0.05f32; ENCODING_DIM];
        let p = classifier.classify(&probe);
        assert!(p.best < m.labels.len());
        // What loads must save and load back the same.
        let again = Model::from_bytes(&m.to_bytes()).expect("a loaded model round-trips");
        assert_eq!(again.labels, m.labels);
    }
});
