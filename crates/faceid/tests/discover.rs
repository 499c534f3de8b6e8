//! `faceid discover` on the sample clips: who is in a video, one folder of face crops per
//! person, checked against the clips' ground truth the way a user would check the folders
//! (whose faces are in each), and then used the way the README says: folders renamed, a
//! stranger's deleted, trained, and the model naming the clip.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use common::*;
use faceid_core::face_result::CropLine;
use faceid_core::geometry::FaceBox;

/// `faceid discover CLIP -o DIR`, with more arguments.
fn discover_command(clip: &Path, dir: &Path) -> std::process::Command {
    let mut command = faceid_command();
    command.arg("discover").arg(clip).arg("-o").arg(dir);
    command
}

/// `faceid discover CLIP -o DIR [ARGS]`, asserting success; its standard output.
fn discover(clip: &Path, dir: &Path, args: &[&str]) -> String {
    faceid_succeeds(discover_command(clip, dir).args(args))
}

fn index(dir: &Path) -> Vec<CropLine> {
    std::fs::read_to_string(dir.join("index.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Who each folder's crops are, by the ground truth (the face of the crop's frame its box
/// overlaps; "(no face)" for none): folder -> person -> crops.
fn who_is_where(dir: &Path, gt: &Path) -> BTreeMap<String, HashMap<String, usize>> {
    let truth = ground_truth_frames(gt);
    let mut folders: BTreeMap<String, HashMap<String, usize>> = BTreeMap::new();
    for crop in index(dir) {
        assert!(dir.join(&crop.file).is_file(), "{} is written", crop.file);
        assert!(
            crop.file.starts_with(&format!("{}/", crop.person)),
            "{}",
            crop.file
        );
        let who = truth[crop.frame as usize]
            .iter()
            .map(|(label, _, [x, y, w, h])| (label, FaceBox::new(*x, *y, *w, *h).iou(&crop.rect)))
            .filter(|(_, overlap)| *overlap >= 0.3)
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map_or_else(|| "(no face)".to_string(), |(label, _)| label.clone());
        *folders
            .entry(crop.person)
            .or_default()
            .entry(who)
            .or_default() += 1;
    }
    folders
}

fn majority(people: &HashMap<String, usize>) -> (&str, usize) {
    people
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .map(|(p, n)| (p.as_str(), *n))
        .unwrap()
}

/// Purity (crops that are their folder's majority person) and folders per person.
fn purity_and_splits(
    folders: &BTreeMap<String, HashMap<String, usize>>,
) -> (f64, BTreeMap<String, usize>) {
    let (mut total, mut pure) = (0, 0);
    let mut splits: BTreeMap<String, usize> = BTreeMap::new();
    for people in folders.values() {
        let (who, n) = majority(people);
        total += people.values().sum::<usize>();
        pure += n;
        *splits.entry(who.to_string()).or_default() += 1;
    }
    (pure as f64 / total.max(1) as f64, splits)
}

/// What the README asks of the user: each folder renamed to whose faces it holds (two
/// folders of one person merged by moving their files), strangers' folders deleted.
fn name_as_a_user(
    dir: &Path,
    folders: &BTreeMap<String, HashMap<String, usize>>,
    to: &Path,
) -> usize {
    let mut moved = 0;
    for (folder, people) in folders {
        let (who, _) = majority(people);
        if who == "unknown" || who == "(no face)" {
            continue;
        }
        std::fs::create_dir_all(to.join(who)).unwrap();
        for photo in std::fs::read_dir(dir.join(folder)).unwrap().flatten() {
            let name = format!("{folder}-{}", photo.file_name().to_string_lossy());
            std::fs::copy(photo.path(), to.join(who).join(name)).unwrap();
            moved += 1;
        }
    }
    moved
}

/// `faceid eval` of `model` on a clip with ground truth: the score line.
fn clip_scores(model: &Path, clip: &Path, gt: &Path) -> serde_json::Value {
    let stdout = faceid_succeeds(
        faceid_command()
            .arg("eval")
            .arg("-m")
            .arg(model)
            .arg("--ground-truth")
            .arg(gt)
            .arg(clip),
    );
    let line = stdout.lines().find(|l| l.starts_with('{')).unwrap();
    serde_json::from_str(line).unwrap()
}

fn clip(name: &str) -> (PathBuf, PathBuf) {
    let dir = if name.starts_with("bts") {
        samples().join("kpop/clips")
    } else {
        samples().join("clips")
    };
    (
        dir.join(format!("{name}.mp4")),
        dir.join(format!("{name}.gt.jsonl")),
    )
}

/// Discovery of a clip, checked like the targets: purity at least 0.95, everyone of
/// `cast` with a folder, at most 3 a person; then the folders named, trained on, and the model
/// naming the clip with named_ok at least `named_ok` and wrong_name at most 0.01.
fn discover_and_train(name: &str, cast: &[&str], named_ok: f64) {
    let (video, gt) = clip(name);
    let dir = tempfile::tempdir().unwrap();
    let people = dir.path().join("people");
    let stdout = discover(&video, &people, &[]);
    assert!(stdout.contains("people in"), "{stdout}");
    assert!(
        people.join("contact-sheet.jpg").is_file(),
        "a contact sheet: {stdout}"
    );
    let sheet = decode(&people.join("contact-sheet.jpg"));
    let caps = sheet.caps().unwrap().structure(0).unwrap().to_owned();
    assert!(caps.get::<i32>("height").unwrap() > 100, "{caps}");
    let folders = who_is_where(&people, &gt);
    let (purity, splits) = purity_and_splits(&folders);
    let table = format!("{folders:?}\n{stdout}");
    assert!(purity >= 0.95, "purity {purity}: {table}");
    for person in cast {
        let n = splits.get(*person).copied().unwrap_or(0);
        assert!((1..=3).contains(&n), "{person} in {n} folders: {table}");
    }
    for folder in folders.keys() {
        assert!(folder.starts_with("person-"), "{folder}");
    }

    let named = dir.path().join("named");
    assert!(name_as_a_user(&people, &folders, &named) > 0);
    let model = dir.path().join("found.faceid");
    train_folder(&named, &model);
    let s = clip_scores(&model, &video, &gt);
    let ok = s["named_ok"].as_f64().unwrap();
    let wrong = s["wrong_name"].as_f64().unwrap();
    assert!(ok >= named_ok, "named_ok {ok}: {s}\n{table}");
    assert!(wrong <= 0.01, "wrong_name {wrong}: {s}\n{table}");
}

#[test]
fn the_bbt_cast_is_found_in_pure_folders_and_a_model_trained_from_them_names_the_clip() {
    // Measured 0.995 with no wrong name (issue 14's target: 0.95). Leonard's fast pan (75
    // frames) is only ever a weak detection; it is taken because it lies within
    // SAME_FOOTAGE_DISTANCE of his sharp crops (0.921 before).
    discover_and_train("bbt_mv_720p", &BBT, 0.95);
}

#[test]
fn look_alike_members_get_folders_of_their_own() {
    // Measured: purity 1.000, at most 3 folders a member, named_ok 0.990 with no wrong name.
    let members = ["jhope", "jimin", "jin", "jungkook", "rm", "suga", "v"];
    discover_and_train("bts15_mv_720p", &members, 0.95);
}

#[test]
fn with_a_model_known_people_get_their_names_and_the_one_it_lacks_a_new_folder() {
    // A model of the bbt cast without penny; the output folder already holds a user's work.
    let dir = tempfile::tempdir().unwrap();
    let train = samples().join("clips/bbt_mv_720p-train");
    let without = dir.path().join("without-penny");
    for person in BBT.iter().filter(|p| **p != "penny") {
        std::fs::create_dir_all(without.join(person)).unwrap();
        for photo in std::fs::read_dir(train.join(person)).unwrap().flatten() {
            std::fs::copy(photo.path(), without.join(person).join(photo.file_name())).unwrap();
        }
    }
    let model = dir.path().join("no-penny.faceid");
    train_folder(&without, &model);
    let people = dir.path().join("people");
    std::fs::create_dir_all(people.join("person-03")).unwrap();
    std::fs::write(people.join("person-03/mine.jpg"), b"a user's file").unwrap();
    let stdout = discover(
        &clip("bbt_mv_720p").0,
        &people,
        &["-m", model.to_str().unwrap()],
    );
    let (_, gt) = clip("bbt_mv_720p");
    let folders = who_is_where(&people, &gt);
    let table = format!("{folders:?}\n{stdout}");
    for person in BBT.iter().filter(|p| **p != "penny") {
        let here = folders
            .get(*person)
            .unwrap_or_else(|| panic!("{person}: {table}"));
        assert_eq!(majority(here).0, *person, "{table}");
    }
    let penny: Vec<&String> = folders
        .iter()
        .filter(|(_, people)| majority(people).0 == "penny")
        .map(|(f, _)| f)
        .collect();
    assert!(!penny.is_empty(), "penny has a folder: {table}");
    for folder in penny {
        // New folders are numbered after the user's person-03, which is left as it was.
        let n: u32 = folder.strip_prefix("person-").unwrap().parse().unwrap();
        assert!(n > 3, "{folder}: {table}");
    }
    assert_eq!(
        std::fs::read(people.join("person-03/mine.jpg")).unwrap(),
        b"a user's file"
    );
}

#[test]
fn train_skips_folders_nobody_has_named_yet_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    for (folder, person) in [
        ("sheldon", "sheldon"),
        ("raj", "raj"),
        ("person-02", "penny"),
    ] {
        std::fs::create_dir_all(dir.path().join(folder)).unwrap();
        for photo in bbt_photos(person, 1..=3) {
            std::fs::copy(
                &photo,
                dir.path().join(folder).join(photo.file_name().unwrap()),
            )
            .unwrap();
        }
    }
    let model = dir.path().join("half.faceid");
    let out = train_command(dir.path(), &model).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("skipping person-02"), "{stderr}");
    let model = faceid_core::model::Model::load(&model).unwrap();
    assert_eq!(model.labels, ["raj", "sheldon"]);

    // Only unnamed folders: nothing to train, and the message says what to do.
    let only = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(only.path().join("person-01")).unwrap();
    let stderr = faceid_fails(
        faceid_command()
            .arg("train")
            .args(["--encoder", "dlib"])
            .arg(only.path())
            .arg("-o")
            .arg(only.path().join("m.faceid")),
    );
    assert!(
        stderr.contains("rename each to the person's name"),
        "{stderr}"
    );
}

#[test]
fn a_file_that_is_no_video_is_a_clear_error_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("notes.mp4");
    std::fs::write(&bad, b"not a video at all").unwrap();
    let stderr = faceid_fails(&mut discover_command(&bad, &dir.path().join("people")));
    assert!(stderr.contains("notes.mp4"), "{stderr}");
    assert!(!dir.path().join("people/index.jsonl").exists());

    // Sound only: no video stream, and the message says so.
    init();
    let wav = dir.path().join("tone.wav");
    let pipeline = launch(&format!(
        "audiotestsrc num-buffers=20 ! wavenc ! filesink location=\"{}\"",
        wav.display()
    ));
    assert!(run(&pipeline).error.is_none());
    let stderr = faceid_fails(&mut discover_command(&wav, &dir.path().join("people")));
    assert!(stderr.contains("has no video stream"), "{stderr}");
}
