//! Several pipelines in one process, as in a host application that runs a few streams: each
//! names its own people (no state leaks between elements) and all share one copy of dlib's
//! weights. Kept in its own test binary so that no other test loads weights meanwhile.

mod common;

use common::*;
use faceid_dlib::{Weights, WeightsConfig, resolve_models_dir};
use std::path::Path;

/// Known names, left to right, in every `faceid` message of a run.
fn names_per_frame(result: &RunResult) -> Vec<Vec<String>> {
    frames_of(result)
        .into_iter()
        .map(|frame| {
            let mut faces: Vec<(i32, String)> = frame
                .faces
                .into_iter()
                .filter_map(|f| Some((f.rect.x, f.label?)))
                .collect();
            faces.sort();
            faces.into_iter().map(|f| f.1).collect()
        })
        .collect()
}

/// A photo shown for `frames` frames through faceidoverlay with default properties.
fn still_pipeline(photo: &Path, model: &Path, frames: u32) -> gst::Pipeline {
    launch(&format!(
        "filesrc location=\"{}\" ! decodebin ! videoconvert ! imagefreeze num-buffers={frames} ! faceidoverlay model=\"{}\" ! fakesink",
        photo.display(),
        model.display()
    ))
}

#[test]
fn three_pipelines_at_once_each_name_their_own_people_with_one_copy_of_the_weights() {
    init();
    let dir = tempfile::tempdir().unwrap();
    let penny_only = dir.path().join("penny.faceid");
    let trained = train(
        &bbt_photos("penny", 1..=5),
        &[
            ("label", &"penny"),
            ("location", &penny_only.to_str().unwrap()),
        ],
    );
    assert!(trained.error.is_none(), "{}", trained.error_text());
    let bbt = bbt_model();
    // Held by the test: while anyone holds the weights, every element gets the same copy.
    let weights = Weights::load(&WeightsConfig::new(resolve_models_dir(None))).unwrap();
    let loads = Weights::times_loaded();

    let group = samples().join("bbt/_group");
    // Different photos and models per pipeline: a frame, track or classifier shared by mistake
    // would put one pipeline's names on another's faces.
    let cases: Vec<(std::path::PathBuf, &Path, Vec<&str>)> = vec![
        (group.join("bbt2.jpg"), bbt, vec!["leonard", "sheldon"]),
        (
            group.join("bbt3.jpg"),
            bbt,
            vec!["sheldon", "howard", "penny", "raj", "leonard"],
        ),
        (group.join("bbt3.jpg"), &penny_only, vec!["penny"]),
    ];
    let frames = 6;
    let results: Vec<RunResult> = std::thread::scope(|scope| {
        let handles: Vec<_> = cases
            .iter()
            .map(|(photo, model, _)| {
                scope.spawn(move || run(&still_pipeline(photo, model, frames)))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for ((photo, model, expected), result) in cases.iter().zip(&results) {
        let what = format!("{} with {}", photo.display(), model.display());
        assert!(result.error.is_none(), "{what}: {}", result.error_text());
        let names = names_per_frame(result);
        assert_eq!(names.len(), frames as usize, "{what}: one message a frame");
        for (i, frame) in names.iter().enumerate() {
            assert_eq!(frame, expected, "{what}, frame {i}");
        }
    }
    assert_eq!(
        Weights::times_loaded(),
        loads,
        "the three elements shared the weights instead of reading them again"
    );
    drop(weights);
}
