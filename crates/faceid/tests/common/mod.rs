//! Helpers of the `faceid` command's integration tests: the plugin's test helpers
//! (`crates/gst-faceid/tests/common`, included by path so both crates' tests share one copy),
//! the reference data of `tests/data/`, and running the command.
#![allow(dead_code)]

use std::path::Path;

#[path = "../../../gst-faceid/tests/common/mod.rs"]
mod elements;
pub use elements::*;

/// A JSON file of `tests/data/`, parsed (the reference data of independent implementations).
pub fn test_data_json(name: &str) -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A JSON array of numbers, as `f32`.
pub fn json_floats(v: &serde_json::Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

/// A `[x, y, w, h]` JSON array (the `box` of ground truth, detections and `index.jsonl`).
pub fn json_box(v: &serde_json::Value) -> [i32; 4] {
    let b: Vec<i32> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap() as i32)
        .collect();
    [b[0], b[1], b[2], b[3]]
}

/// The `faceid` command built with these tests.
pub fn faceid_command() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_faceid"))
}

/// Runs a `faceid` command, asserting success; its standard output.
pub fn faceid_succeeds(command: &mut std::process::Command) -> String {
    let out = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Runs a `faceid` command, asserting failure; its standard error.
pub fn faceid_fails(command: &mut std::process::Command) -> String {
    let out = command.output().unwrap();
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `faceid train DIR -o MODEL --encoder dlib`, to run.
pub fn train_command(dir: &Path, model: &Path) -> std::process::Command {
    let mut command = faceid_command();
    command
        .arg("train")
        .args(["--encoder", "dlib"])
        .arg(dir)
        .arg("-o")
        .arg(model);
    command
}

/// `faceid train DIR -o MODEL --encoder dlib`, asserting success; its standard output.
pub fn train_folder(dir: &Path, model: &Path) -> String {
    faceid_succeeds(&mut train_command(dir, model))
}
