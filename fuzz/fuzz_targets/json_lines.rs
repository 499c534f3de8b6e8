//! Ground-truth and detection JSON lines (faceid eval): parsing and scoring never panic.
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
#[path = "../../src/evaluation.rs"]
mod evaluation;
#[path = "../../src/model.rs"]
mod model;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(lines) = evaluation::parse_lines(text)
    {
        let score = evaluation::score_clip(&lines, &lines, 0.3);
        assert!(score.recall >= 0.0 && score.recall <= 1.0 || score.gt_faces == 0);
    }
});
