//! Ground-truth and detection JSON lines (faceid eval): parsing and scoring never panic.
#![no_main]

use faceid_core::face_result::parse_lines;
use faceid_core::report::evaluation::score_clip;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(lines) = parse_lines(text)
    {
        let score = score_clip(&lines, &lines, 0.3);
        assert!(score.recall >= 0.0 && score.recall <= 1.0 || score.gt_faces == 0);
    }
});
