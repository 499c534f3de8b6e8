//! faceidoverlay on real photos: names on the right faces, pixels drawn, and clear errors.

mod common;

use gstfaceid::meta::{FaceMeta, FrameFaces, NamedFace, UNKNOWN};

use common::*;
use gst::glib;
use gst::prelude::*;
use std::path::Path;

/// Pushes one photo through faceidoverlay in a Harness; returns the input and output buffers.
fn overlay_photo(photo: &Path, model: &Path) -> (gst::Buffer, gst::Buffer) {
    init();
    let sample = decode(photo);
    let element = synchronous_overlay()
        .property("model", model)
        .build()
        .unwrap();
    let mut h = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
    h.set_src_caps(sample.caps().unwrap().to_owned());
    h.play();
    let input = sample.buffer().unwrap().copy();
    let output = h.push_and_pull(input.copy()).expect("one buffer out");
    (input, output)
}

/// Known names left to right (ties by top).
fn names_by_x(faces: &[(u32, u32, u32, u32, Option<String>)]) -> Vec<String> {
    let mut known: Vec<_> = faces.iter().filter(|f| f.4.is_some()).collect();
    known.sort_by_key(|f| (f.0, f.1));
    known.iter().map(|f| f.4.clone().unwrap()).collect()
}

fn assert_boxes_drawn(
    input: &gst::Buffer,
    output: &gst::Buffer,
    stride: usize,
    faces: &[(u32, u32, u32, u32, Option<String>)],
) {
    let a = input.map_readable().unwrap();
    let b = output.map_readable().unwrap();
    for &(x, y, _, h, ref label) in faces {
        // The box outline runs along the face's edges: most pixels on the left edge change.
        let (x, y, h) = (x as usize, y as usize, h as usize);
        let changed = (y..y + h)
            .filter(|row| {
                let i = row * stride + x * 4;
                a[i..i + 3] != b[i..i + 3]
            })
            .count();
        assert!(
            changed * 2 > h,
            "box of {label:?} at {x},{y}: {changed}/{h} edge pixels changed"
        );
    }
}

fn check_group(photo: &str, expected_left_to_right: &[&str]) {
    let path = samples().join("bbt/_group").join(photo);
    let (input, output) = overlay_photo(&path, bbt_model());
    let faces = roi_faces(&output);
    assert_eq!(
        names_by_x(&faces),
        expected_left_to_right,
        "{photo}: {faces:?}"
    );
    let caps_width = decode(&path)
        .caps()
        .and_then(|c| gst_video::VideoInfo::from_caps(c).ok())
        .unwrap();
    assert_boxes_drawn(&input, &output, caps_width.stride()[0] as usize, &faces);
}

#[test]
fn names_the_cast_in_group_shots_with_fake_beards() {
    check_group("bbt1.jpg", &["raj", "leonard", "howard", "sheldon"]);
}

#[test]
fn names_the_cast_in_a_two_shot() {
    check_group("bbt2.jpg", &["leonard", "sheldon"]);
}

#[test]
fn names_five_people_in_a_row() {
    check_group(
        "bbt3.jpg",
        &["sheldon", "howard", "penny", "raj", "leonard"],
    );
    check_group(
        "bbt5.jpg",
        &["raj", "penny", "sheldon", "leonard", "howard"],
    );
}

#[test]
fn names_two_rows_of_people() {
    let path = samples().join("bbt/_group/bbt4.jpg");
    let (_, output) = overlay_photo(&path, bbt_model());
    let faces = roi_faces(&output);
    assert_eq!(faces.len(), 6, "{faces:?}");
    let mut ys: Vec<u32> = faces.iter().map(|f| f.1 + f.3 / 2).collect();
    ys.sort();
    let split = (ys[2] + ys[3]) / 2;
    let top: Vec<_> = faces
        .iter()
        .filter(|f| f.1 + f.3 / 2 < split)
        .cloned()
        .collect();
    let bottom: Vec<_> = faces
        .iter()
        .filter(|f| f.1 + f.3 / 2 >= split)
        .cloned()
        .collect();
    assert_eq!(names_by_x(&top), ["amy", "raj", "bernadette"], "{faces:?}");
    assert_eq!(
        names_by_x(&bottom),
        ["leonard", "penny", "sheldon"],
        "{faces:?}"
    );
}

#[test]
fn strangers_are_not_given_a_cast_name() {
    // The five Johns are in no bbt model: every face must come out unknown.
    let johns = std::fs::read_dir(samples().join("johns")).unwrap();
    let mut checked = 0;
    for dir in johns
        .flatten()
        .filter(|d| d.path().is_dir() && !d.file_name().to_string_lossy().starts_with('_'))
    {
        let photo = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .min()
            .unwrap();
        let (_, output) = overlay_photo(&photo, bbt_model());
        for face in roi_faces(&output) {
            assert_eq!(face.4, None, "{} was named", photo.display());
            checked += 1;
        }
    }
    assert!(checked >= 3, "too few john faces detected: {checked}");
}

#[test]
fn posts_a_message_per_frame_and_keeps_one_buffer_in_one_out() {
    init();
    let pipeline = launch(&format!(
        "filesrc location=\"{}\" ! decodebin ! videoconvert ! imagefreeze num-buffers=3 ! faceidoverlay model=\"{}\" show-confidences=false ! fakesink",
        samples().join("bbt/_group/bbt2.jpg").display(),
        bbt_model().display()
    ));
    let result = run(&pipeline);
    assert!(result.error.is_none(), "{}", result.error_text());
    let frames = frames_of(&result);
    assert_eq!(frames.len(), 3);
    for (i, frame) in frames.iter().enumerate() {
        assert_eq!(frame.frame, i as u64);
        let labels: Vec<&str> = frame.faces.iter().filter_map(|f| f.name()).collect();
        assert_eq!(labels, ["leonard", "sheldon"]);
    }
}

fn overlay_error(model: &str, extra: &str) -> String {
    init();
    let pipeline = launch(&format!(
        "videotestsrc num-buffers=1 ! video/x-raw,format=BGRx,width=320,height=240 ! faceidoverlay {model} {extra} ! fakesink"
    ));
    let result = run(&pipeline);
    result.error.map(|(m, _)| m).expect("the pipeline fails")
}

#[test]
fn missing_model_property_says_what_to_set() {
    let msg = overlay_error("", "");
    assert!(msg.contains("set the model property"), "{msg}");
}

#[test]
fn missing_weights_name_the_file_and_the_fetch_command() {
    let msg = overlay_error(
        &format!("model=\"{}\"", bbt_model().display()),
        "models-dir=/nonexistent",
    );
    assert!(
        msg.contains("shape_predictor_5_face_landmarks.dat"),
        "{msg}"
    );
    assert!(msg.contains("fetch-weights.sh"), "{msg}");
}

#[test]
fn corrupt_and_truncated_models_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(bbt_model()).unwrap();
    let truncated = dir.path().join("truncated.faceid");
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    let garbage = dir.path().join("garbage.faceid");
    std::fs::write(&garbage, b"\x89PNG not a model").unwrap();
    let empty = dir.path().join("empty.faceid");
    std::fs::write(&empty, b"").unwrap();
    for path in [truncated, garbage, empty] {
        let msg = overlay_error(&format!("model=\"{}\"", path.display()), "");
        assert!(
            msg.contains("not a valid gst-faceid model file"),
            "{}: {msg}",
            path.display()
        );
    }
    let missing = overlay_error("model=/nonexistent/model.faceid", "");
    assert!(missing.contains("/nonexistent/model.faceid"), "{missing}");
}

#[test]
fn a_model_from_a_newer_version_says_to_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(bbt_model()).unwrap();
    let current = format!("\"version\":{}", faceid_core::model::FORMAT_VERSION);
    assert!(text.contains(&current), "the model file names its version");
    let newer = format!("\"version\":{}", faceid_core::model::FORMAT_VERSION + 1);
    let path = dir.path().join("newer.faceid");
    std::fs::write(&path, text.replacen(&current, &newer, 1)).unwrap();
    let msg = overlay_error(&format!("model=\"{}\"", path.display()), "");
    assert!(msg.contains("newer gst-faceid"), "{msg}");
    assert!(msg.contains("upgrade gst-faceid"), "{msg}");
}

#[test]
fn a_model_from_other_encoder_weights_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = faceid_core::model::Model::load(bbt_model()).unwrap();
    model.encoder.sha256 = "0".repeat(64);
    let path = dir.path().join("other.faceid");
    model.save(&path).unwrap();
    let msg = overlay_error(&format!("model=\"{}\"", path.display()), "");
    assert!(msg.contains("encoder weights"), "{msg}");
    assert!(msg.contains("train the model again"), "{msg}");
}

#[test]
fn unsupported_caps_are_refused() {
    init();
    // Linking I420 into the overlay fails at once with a message naming the caps.
    let err = gst::parse::launch(&format!(
        "videotestsrc num-buffers=1 ! video/x-raw,format=I420,width=320,height=240 ! faceidoverlay model=\"{}\" ! fakesink",
        bbt_model().display()
    ))
    .expect_err("I420 does not link");
    assert!(err.to_string().contains("can't handle caps"), "{err}");
}

#[test]
fn every_property_can_be_set_and_read_back() {
    init();
    for factory in ["faceidoverlay", "faceidtrain"] {
        let element = gst::ElementFactory::make(factory).build().unwrap();
        for pspec in element.list_properties() {
            if !pspec.flags().contains(glib::ParamFlags::WRITABLE)
                || !pspec.owner_type().name().starts_with("GstFaceId")
            {
                continue;
            }
            assert!(
                pspec.blurb().is_some_and(|b| b.len() > 20),
                "{factory}.{} is documented",
                pspec.name()
            );
            let value = pspec.default_value().clone();
            element.set_property_from_value(pspec.name(), &value);
            assert_eq!(
                element.property_value(pspec.name()).type_(),
                value.type_(),
                "{factory}.{}",
                pspec.name()
            );
            // Numbers also come back as set, at both ends of their range.
            if let Some(p) = pspec.downcast_ref::<glib::ParamSpecUInt>() {
                for v in [p.minimum(), p.maximum(), p.default_value()] {
                    element.set_property(pspec.name(), v);
                    assert_eq!(element.property::<u32>(pspec.name()), v, "{}", pspec.name());
                }
            } else if let Some(p) = pspec.downcast_ref::<glib::ParamSpecInt>() {
                for v in [p.minimum(), p.maximum(), p.default_value()] {
                    element.set_property(pspec.name(), v);
                    assert_eq!(element.property::<i32>(pspec.name()), v, "{}", pspec.name());
                }
            } else if let Some(p) = pspec.downcast_ref::<glib::ParamSpecDouble>() {
                for v in [p.minimum(), p.maximum(), p.default_value()] {
                    element.set_property(pspec.name(), v);
                    assert_eq!(element.property::<f64>(pspec.name()), v, "{}", pspec.name());
                }
            }
        }
    }
    // The box colours are 0xAARRGGBB like textoverlay's, green and red by default.
    let overlay = gst::ElementFactory::make("faceidoverlay").build().unwrap();
    assert_eq!(overlay.property::<u32>("known-color"), 0xff00_d900);
    assert_eq!(overlay.property::<u32>("unknown-color"), 0xffe6_0000);
    overlay.set_property_from_str("known-color", "0xff00ffff");
    assert_eq!(overlay.property::<u32>("known-color"), 0xff00_ffff);
}

/// `bbt2.jpg` (leonard and sheldon) pasted on a larger black canvas at `dx` pixels from the left.
fn shifted_frame(photo: &gst::Sample, canvas: &gst_video::VideoInfo, dx: usize) -> gst::Buffer {
    let info = gst_video::VideoInfo::from_caps(photo.caps().unwrap()).unwrap();
    let src = photo.buffer().unwrap().map_readable().unwrap();
    let mut buffer = gst::Buffer::with_size(canvas.size()).unwrap();
    {
        let b = buffer.get_mut().unwrap();
        let mut map = b.map_writable().unwrap();
        map.fill(0);
        let (src_stride, dst_stride) = (info.stride()[0] as usize, canvas.stride()[0] as usize);
        for y in 0..info.height() as usize {
            let row = &src[y * src_stride..y * src_stride + info.width() as usize * 4];
            let at = y * dst_stride + dx * 4;
            map[at..at + row.len()].copy_from_slice(row);
        }
    }
    buffer
}

/// Horizontal motion blur: every pixel becomes the mean of `radius` pixels either side.
fn motion_blurred(
    buffer: &gst::Buffer,
    canvas: &gst_video::VideoInfo,
    radius: usize,
) -> gst::Buffer {
    let src = buffer.map_readable().unwrap();
    let (w, stride) = (canvas.width() as usize, canvas.stride()[0] as usize);
    let mut out = gst::Buffer::with_size(canvas.size()).unwrap();
    {
        let mut map = out.get_mut().unwrap().map_writable().unwrap();
        for y in 0..canvas.height() as usize {
            let row = &src[y * stride..y * stride + w * 4];
            for x in 0..w {
                let (a, b) = (x.saturating_sub(radius), (x + radius + 1).min(w));
                for c in 0..4 {
                    let sum: usize = (a..b).map(|i| row[i * 4 + c] as usize).sum();
                    map[y * stride + x * 4 + c] = (sum / (b - a)) as u8;
                }
            }
        }
    }
    out
}

/// Names per frame of a face moving right over `frames` frames, blurred (as by fast motion)
/// from frame 8 on.
fn names_through_motion_blur(tracking: bool) -> Vec<Vec<(String, i64)>> {
    let photo = decode(&samples().join("bbt/_group/bbt2.jpg"));
    let info = gst_video::VideoInfo::from_caps(photo.caps().unwrap()).unwrap();
    let canvas = gst_video::VideoInfo::builder(
        gst_video::VideoFormat::Bgrx,
        info.width() + 100,
        info.height(),
    )
    .fps(gst::Fraction::new(30, 1))
    .build()
    .unwrap();
    let element = synchronous_overlay()
        .property("model", bbt_model())
        .property("tracking", tracking)
        .build()
        .unwrap();
    let mut h = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
    h.set_src_caps(canvas.to_caps().unwrap());
    h.play();
    (0..24usize)
        .map(|i| {
            let sharp = shifted_frame(&photo, &canvas, i * 4);
            let mut buffer = if i >= 8 {
                motion_blurred(&sharp, &canvas, 14)
            } else {
                sharp
            };
            buffer
                .get_mut()
                .unwrap()
                .set_pts(gst::ClockTime::from_mseconds(i as u64 * 33));
            let out = h
                .push_and_pull(buffer)
                .expect("one buffer out per buffer in");
            NamedFace::all_in_buffer(&out)
                .into_iter()
                .map(|f| {
                    (
                        f.label.unwrap_or_else(|| UNKNOWN.to_string()),
                        f.track.map_or(-1, |t| t as i64),
                    )
                })
                .collect()
        })
        .collect()
}

#[test]
fn faces_the_detector_loses_to_motion_blur_keep_their_names() {
    init();
    // The detector alone (tracking off) loses both faces once they are blurred...
    let alone = names_through_motion_blur(false);
    assert!(
        alone[8..].iter().all(|faces| faces.len() < 2),
        "the blurred frames should defeat the detector: {alone:?}"
    );
    // ...tracking follows them by their look and keeps their names and track ids.
    let tracked = names_through_motion_blur(true);
    for (i, faces) in tracked.iter().enumerate().skip(1) {
        let mut names: Vec<&str> = faces.iter().map(|(n, _)| n.as_str()).collect();
        names.sort();
        assert_eq!(names, ["leonard", "sheldon"], "frame {i}: {tracked:?}");
    }
    let ids: std::collections::HashSet<&(String, i64)> = tracked[1..].iter().flatten().collect();
    assert_eq!(ids.len(), 2, "one track id each: {ids:?}");
}

#[test]
fn a_moving_face_keeps_one_track_and_one_name() {
    let (mut h, photo, canvas) = moving_face_harness();
    let outputs: Vec<gst::Buffer> = (0..40usize)
        .map(|i| {
            h.push_and_pull(moving_frame(&photo, &canvas, i))
                .expect("one buffer out per buffer in")
        })
        .collect();
    assert_one_track_each(&tracks_by_name(&outputs));
}

#[test]
fn tracking_off_is_the_per_frame_pipeline() {
    init();
    use faceid_core::detection::DetectionConfig;
    use faceid_core::frame::{FrameRef, PixelLayout};
    use faceid_dlib::{FacePipeline, Weights, WeightsConfig, resolve_models_dir};
    let model = faceid_core::model::Model::load(bbt_model()).unwrap();
    let weights = Weights::load(&WeightsConfig::new(resolve_models_dir(None))).unwrap();
    let pipeline = FacePipeline::new(weights);
    let classifier = faceid_core::model::Classifier::new(&model);
    for photo in ["bbt1.jpg", "bbt3.jpg"] {
        let sample = decode(&samples().join("bbt/_group").join(photo));
        let info = gst_video::VideoInfo::from_caps(sample.caps().unwrap()).unwrap();
        // Directly: detect, encode and classify this frame alone.
        let map = sample.buffer().unwrap().map_readable().unwrap();
        let frame = FrameRef::new(
            &map,
            info.width() as usize,
            info.height() as usize,
            info.stride()[0] as usize,
            PixelLayout::Bgrx,
        )
        .unwrap();
        let boxes = pipeline.detect(&frame, &DetectionConfig::default());
        let expected: Vec<(u32, u32, Option<String>)> = boxes
            .iter()
            .zip(pipeline.encode(&frame, &boxes, 1))
            .map(|(b, e)| {
                let p = classifier.classify(&e);
                (
                    b.x as u32,
                    b.y as u32,
                    p.label().map(|l| model.labels[l].clone()),
                )
            })
            .collect();
        // Through the element with tracking off and a detection every frame.
        let element = synchronous_overlay()
            .property("model", bbt_model())
            .property("tracking", false)
            .property("detection-interval", 1u32)
            // The library's DetectionConfig::default() detects on the frame's own width.
            .property("detection-width", 0u32)
            .property("n-threads", 1u32)
            .build()
            .unwrap();
        let mut h = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
        h.set_src_caps(sample.caps().unwrap().to_owned());
        h.play();
        for _ in 0..3 {
            let out = h.push_and_pull(sample.buffer().unwrap().copy()).unwrap();
            let got: Vec<(u32, u32, Option<String>)> = roi_faces(&out)
                .into_iter()
                .map(|f| (f.0, f.1, f.4))
                .collect();
            assert_eq!(got, expected, "{photo}");
        }
    }
}

/// A model whose label is Hangul, end to end through the element: faceidtrain stores it,
/// faceidoverlay draws it (glyphs, not an empty box) in the configured colour, and reports it in
/// the ROI meta and the bus message.
#[test]
fn a_hangul_name_is_drawn_and_reported() {
    init();
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("hangul.faceid");
    // Sheldon under his name in Korean.
    for (label, person) in [("leonard", "leonard"), ("셸던", "sheldon")] {
        let result = train(
            &bbt_photos(person, 1..=5),
            &[("label", &label), ("location", &model.to_str().unwrap())],
        );
        assert!(result.error.is_none(), "{}", result.error_text());
    }
    let sample = decode(&samples().join("bbt/_group/bbt2.jpg"));
    let info = gst_video::VideoInfo::from_caps(sample.caps().unwrap()).unwrap();
    let input = sample.buffer().unwrap().copy();
    let blue = 0xff00_00ffu32;
    let overlay = |draw_labels: bool| -> (gst::Buffer, Vec<gst::Structure>) {
        let element = synchronous_overlay()
            .property("model", &model)
            .property("show-confidences", false)
            .property("draw-labels", draw_labels)
            .property("known-color", blue)
            .build()
            .unwrap();
        let bus = gst::Bus::new();
        element.set_bus(Some(&bus));
        let mut h = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
        h.set_src_caps(sample.caps().unwrap().to_owned());
        h.play();
        let output = h.push_and_pull(input.copy()).expect("one buffer out");
        let messages = bus
            .iter()
            .filter_map(|m| match m.view() {
                gst::MessageView::Element(e) => e.structure().map(|s| s.to_owned()),
                _ => None,
            })
            .filter(|s| s.name() == "faceid")
            .collect();
        (output, messages)
    };
    let (drawn, messages) = overlay(true);
    let (plain, _) = overlay(false);

    // Metas and message carry the Hangul name.
    let faces = roi_faces(&drawn);
    assert_eq!(names_by_x(&faces), ["leonard", "셸던"], "{faces:?}");
    assert_eq!(messages.len(), 1, "{messages:?}");
    let message = FrameFaces::from_structure(&messages[0]).unwrap();
    let labels: Vec<&str> = message.faces.iter().filter_map(|f| f.name()).collect();
    assert!(labels.contains(&"셸던"), "{labels:?}");

    // draw-labels=false leaves the picture as it was.
    let (a, p, d) = (
        input.map_readable().unwrap(),
        plain.map_readable().unwrap(),
        drawn.map_readable().unwrap(),
    );
    assert!(
        a.as_slice() == p.as_slice(),
        "draw-labels=false changed pixels"
    );
    let stride = info.stride()[0] as usize;
    let rgb = |m: &[u8], x: usize, y: usize| {
        let i = y * stride + x * 4;
        (m[i + 2], m[i + 1], m[i])
    };
    let &(x, y, w, h, _) = faces
        .iter()
        .find(|f| f.4.as_deref() == Some("셸던"))
        .unwrap();
    let (x, y, w, h) = (x as usize, y as usize, w as usize, h as usize);
    // His box in known-color, exactly.
    assert_eq!(rgb(&d, x, y + h / 2), (0, 0, 255), "left edge of the box");
    // The title ("셸던 0.9x", white on known-color) just above the box (or inside its top when
    // there is no room): many new white glyph pixels, on a blue label.
    let (mut glyph, mut label) = (0, 0);
    for row in y.saturating_sub(h / 2)..y + h / 3 {
        for col in x.saturating_sub(4)..(x + w).min(info.width() as usize) {
            let (r, g, b) = rgb(&d, col, row);
            let before = rgb(&p, col, row);
            if (r, g, b) == (0, 0, 255) {
                label += 1;
            } else if r > 200 && g > 200 && b > 200 && !(before.0 > 200 && before.1 > 200) {
                glyph += 1;
            }
        }
    }
    assert!(label > 200, "title label: {label} blue pixels");
    assert!(glyph > 60, "title text: {glyph} glyph pixels");

    // And they are the glyphs of the name: the element's picture is, byte for byte, what the
    // drawing code (whose unit tests check Hangul glyph by glyph) draws for these faces, in a
    // font that has Hangul.
    use gstfaceid::draw::{self, DrawStyle, FaceLabel, PixelLayout, Rgb};
    let style = DrawStyle {
        confident_color: Rgb::from_argb(blue),
        ..DrawStyle::default()
    };
    assert!(
        draw::font_covers(&style.font_family, "셸던").unwrap(),
        "no Hangul in {}: install fonts-noto-cjk",
        style.font_family
    );
    let labels: Vec<FaceLabel> = NamedFace::all_in_buffer(&drawn)
        .into_iter()
        .map(|f| FaceLabel::for_face(&f, Vec::new()))
        .collect();
    let mut expected = p.to_vec();
    draw::draw_labels(
        &mut expected,
        info.width(),
        info.height(),
        stride as u32,
        PixelLayout::Bgrx,
        &labels,
        &style,
    )
    .unwrap();
    assert!(expected == d.as_slice(), "the element drew something else");
}

/// Track ids (the `track` field of the `faceid` ROI parameters) per name over the buffers
/// that came out.
fn tracks_by_name(
    outputs: &[gst::Buffer],
) -> std::collections::HashMap<String, std::collections::HashSet<i64>> {
    let mut tracks: std::collections::HashMap<String, std::collections::HashSet<i64>> =
        Default::default();
    for out in outputs {
        for face in NamedFace::all_in_buffer(out) {
            tracks
                .entry(face.label.unwrap_or_else(|| UNKNOWN.to_string()))
                .or_default()
                .insert(face.track.map_or(-1, |t| t as i64));
        }
    }
    tracks
}

fn moving_face_harness() -> (gst_check::Harness, gst::Sample, gst_video::VideoInfo) {
    init();
    let photo = decode(&samples().join("bbt/_group/bbt2.jpg"));
    let info = gst_video::VideoInfo::from_caps(photo.caps().unwrap()).unwrap();
    let canvas = gst_video::VideoInfo::builder(
        gst_video::VideoFormat::Bgrx,
        info.width() + 300,
        info.height(),
    )
    .fps(gst::Fraction::new(30, 1))
    .build()
    .unwrap();
    let element = synchronous_overlay()
        .property("model", bbt_model())
        .build()
        .unwrap();
    let mut h = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
    h.set_src_caps(canvas.to_caps().unwrap());
    h.play();
    (h, photo, canvas)
}

/// Frame `i` of a face moving 5 px a frame at 30 frames/s.
fn moving_frame(photo: &gst::Sample, canvas: &gst_video::VideoInfo, i: usize) -> gst::Buffer {
    let mut buffer = shifted_frame(photo, canvas, i * 5);
    buffer
        .get_mut()
        .unwrap()
        .set_pts(gst::ClockTime::from_nseconds(i as u64 * 1_000_000_000 / 30));
    buffer
}

fn assert_one_track_each(
    tracks: &std::collections::HashMap<String, std::collections::HashSet<i64>>,
) {
    assert_eq!(
        tracks.len(),
        2,
        "only leonard and sheldon, never another name: {tracks:?}"
    );
    for name in ["leonard", "sheldon"] {
        assert_eq!(
            tracks[name].len(),
            1,
            "{name} keeps one track id: {tracks:?}"
        );
    }
}

#[test]
fn frames_dropped_upstream_do_not_break_tracking() {
    // Upstream QoS (a decoder skipping frames) leaves gaps in the timestamps: every third
    // frame is missing, and four in a row once; the face jumps farther between the frames seen.
    let (mut h, photo, canvas) = moving_face_harness();
    let mut outputs = Vec::new();
    for i in (0..54usize).filter(|i| i % 3 != 1 && !(20..23).contains(i)) {
        let buffer = moving_frame(&photo, &canvas, i);
        outputs.push(
            h.push_and_pull(buffer)
                .expect("one buffer out per buffer in"),
        );
    }
    assert_one_track_each(&tracks_by_name(&outputs));
}

/// Sends the QoS event of a sink that got frame `seen` `late_ms` late: BaseTransform then
/// takes every buffer up to `seen`'s time plus `late_ms` as too late.
fn qos_late(h: &mut gst_check::Harness, seen: usize, late_ms: i64) {
    let timestamp = gst::ClockTime::from_nseconds(seen as u64 * 1_000_000_000 / 30);
    assert!(h.push_upstream_event(gst::event::Qos::new(
        gst::QOSType::Overflow,
        0.5,
        late_ms * 1_000_000,
        timestamp
    )));
}

#[test]
fn late_buffers_are_dropped_before_analysis_and_tracking_goes_on() {
    // A sink that is behind sends a QoS event upstream. faceidoverlay (a BaseTransform with
    // qos=true) then drops the buffers that are already too late instead of spending an
    // analysis on them, and follows the faces on the next buffers that are in time.
    let (mut h, photo, canvas) = moving_face_harness();
    let push_late = |h: &mut gst_check::Harness, frames: std::ops::Range<usize>| {
        for i in frames {
            assert_eq!(
                h.push(moving_frame(&photo, &canvas, i)),
                Ok(gst::FlowSuccess::Ok)
            );
            assert!(h.try_pull().is_none(), "frame {i} is late and dropped");
        }
    };
    let push_in_time = |h: &mut gst_check::Harness, frames: std::ops::Range<usize>| {
        frames
            .map(|i| {
                h.push_and_pull(moving_frame(&photo, &canvas, i))
                    .unwrap_or_else(|_| panic!("frame {i} is in time and comes out"))
            })
            .collect::<Vec<_>>()
    };
    let bus = gst::Bus::new();
    h.element().unwrap().set_bus(Some(&bus));
    let mut outputs = push_in_time(&mut h, 0..10);
    // Frame 9 was 150 ms late: frames 10 to 13 are dropped.
    qos_late(&mut h, 9, 150);
    push_late(&mut h, 10..14);
    assert!(
        bus.pop_filtered(&[gst::MessageType::Qos]).is_some(),
        "the drop is reported as a QoS message"
    );
    outputs.extend(push_in_time(&mut h, 14..40));
    assert_eq!(outputs.len(), 36);
    assert_one_track_each(&tracks_by_name(&outputs));

    // A long stall: frame 39 was 350 ms late, frames 40 to 49 are dropped and the picture
    // jumps 55 px. That much change can be taken for a hard cut (new track ids), but the
    // first frame in time already names both again, and only them.
    qos_late(&mut h, 39, 350);
    push_late(&mut h, 40..50);
    for (i, out) in (50..60).zip(push_in_time(&mut h, 50..60)) {
        let mut names: Vec<String> = roi_faces(&out).into_iter().filter_map(|f| f.4).collect();
        names.sort();
        assert_eq!(names, ["leonard", "sheldon"], "frame {i}");
    }
}

/// Pushes samples through one faceidoverlay (extra properties set); returns the ROI faces of
/// the last output.
fn overlay_samples(
    samples: &[gst::Sample],
    model: &Path,
    properties: &[(&str, &dyn ToValue)],
) -> Vec<(u32, u32, u32, u32, Option<String>)> {
    init();
    let element = synchronous_overlay()
        .property("model", model)
        .build()
        .unwrap();
    for (name, value) in properties {
        element.set_property(name, value.to_value());
    }
    let mut h = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
    h.set_src_caps(samples[0].caps().unwrap().to_owned());
    h.play();
    let mut faces = Vec::new();
    for sample in samples {
        let output = h
            .push_and_pull(sample.buffer().unwrap().copy())
            .expect("one buffer out");
        faces = roi_faces(&output);
    }
    faces
}

#[test]
fn a_face_smeared_by_a_fast_pan_is_found_by_a_weak_detection_confirmed_by_its_name() {
    // Frames 503-507 of the sample clip: the last frame of a shot, then the cut (504) to stuart,
    // sharp, and leonard crossing the frame fast. dlib's HOG scores the smeared leonard below
    // its usual cut (-0.4 to -1). The cut's frame has no previous frame of the same shot to show
    // that he moves, so he is named from the next detection round (frame 507, with the default
    // detection-interval of 3).
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("clip.faceid");
    train_clip_model(&model, true);
    let frames = video_frames(&samples().join("clips/bbt_mv_720p.mp4"), 503, 507);
    let truth = clip_ground_truth(507);
    let near = |faces: &[(u32, u32, u32, u32, Option<String>)], who: &str| {
        let (_, _, [x, y, w, h]) = truth.iter().find(|(l, _, _)| l == who).unwrap();
        let (cx, cy) = (x + w / 2, y + h / 2);
        faces
            .iter()
            .find(|f| {
                (f.0 as i32..(f.0 + f.2) as i32).contains(&cx)
                    && (f.1 as i32..(f.1 + f.3) as i32).contains(&cy)
            })
            .cloned()
    };
    let faces = overlay_samples(&frames, &model, &[]);
    assert_eq!(
        near(&faces, "leonard").and_then(|f| f.4).as_deref(),
        Some("leonard"),
        "{faces:?}"
    );
    assert_eq!(
        near(&faces, "stuart").and_then(|f| f.4).as_deref(),
        Some("stuart")
    );
    assert_eq!(faces.len(), 2, "nothing else: {faces:?}");
    // With only dlib's usual detections, the smeared face is not found at all.
    let faces = overlay_samples(&frames, &model, &[("weak-detection-score", &0.0f64)]);
    assert!(near(&faces, "leonard").is_none(), "{faces:?}");
    assert_eq!(
        near(&faces, "stuart").and_then(|f| f.4).as_deref(),
        Some("stuart")
    );
}

/// A photo through `gst-launch-1.0` (`filesrc ! decodebin`: `jpegdec` says `framerate=0/1`, as
/// OBS does, so the stream is taken for a live one): its faces are found, or, when the stream
/// ends before the weights are read, a warning says so and what to set. With
/// `latency-budget=0` the faces are always found.
#[test]
fn a_photo_is_named_or_the_user_is_told_to_set_latency_budget_0() {
    init();
    let photo = samples().join("fr_examples/_group/obama_and_biden.jpg");
    let run_with = |extra: &str| {
        let pipeline = launch(&format!(
            "filesrc location={} ! decodebin ! videoconvert ! faceidoverlay model={} {extra} ! fakesink",
            photo.display(),
            bbt_model().display()
        ));
        let result = run(&pipeline);
        assert!(result.error.is_none(), "{:?}", result.error);
        let faces = frames_of(&result)
            .iter()
            .map(|f| f.faces.len())
            .sum::<usize>();
        (faces, result.warnings)
    };
    let (found, warnings) = run_with("latency-budget=0");
    assert!(found >= 2, "Obama and Biden found in the synchronous mode");
    assert!(warnings.is_empty(), "{warnings:?}");
    let (faces, warnings) = run_with("");
    if faces == 0 {
        assert!(
            warnings.iter().any(|w| w.contains("latency-budget=0")),
            "nothing found and no warning: {warnings:?}"
        );
    } else {
        assert_eq!(faces, found);
        assert!(warnings.is_empty(), "{warnings:?}");
    }
}

/// A stream that is not live, played live (`latency-budget` set, a clock-synced sink), waits
/// for the weights while it prerolls, so its first frame is looked at: with YuNet, whose
/// search of a cut or a first frame runs in the streaming thread, even a stream of three
/// frames is searched. Before, the first half second's frames passed unnamed while the weights
/// were read, and this stream ended with the "nothing was searched" warning.
#[test]
fn a_stream_played_live_waits_for_the_weights_while_it_prerolls() {
    init();
    let pipeline = launch(&format!(
        "filesrc location={} ! decodebin ! imagefreeze num-buffers=3 ! videoconvert ! video/x-raw,framerate=30/1 ! faceidoverlay model={} latency-budget=33 detector=yunet ! fakesink sync=true",
        samples()
            .join("fr_examples/_group/obama_and_biden.jpg")
            .display(),
        bbt_model().display()
    ));
    let result = run(&pipeline);
    assert!(result.error.is_none(), "{:?}", result.error);
    assert!(result.warnings.is_empty(), "{:?}", result.warnings);
}
