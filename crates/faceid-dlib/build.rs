use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=FACEID_MODELS_INSTALL_DIR");
    build_hog_shim();
    dump_frontal_faces();
}

/// Writes dlib's frontal face detector, decoded, to `$OUT_DIR/frontal_faces.dat` (src/hog.rs
/// embeds it): a small C++ program over the installed dlib (csrc/frontal_faces_dump.cpp)
/// decodes it, so the bytes are always those of the dlib the library links. When that cannot
/// run (cross-compiling, a failed build) the file is empty and the library decodes dlib's
/// text at run time as before, 250 ms slower.
fn dump_frontal_faces() {
    println!("cargo:rerun-if-changed=csrc/frontal_faces_dump.cpp");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let data = out_dir.join("frontal_faces.dat");
    let tool = out_dir.join("frontal_faces_dump");
    let native = std::env::var("TARGET").ok() == std::env::var("HOST").ok();
    let compiler = cc::Build::new().cpp(true).get_compiler();
    let built = native
        && compiler
            .to_command()
            .args(["-std=c++14", "-O1", "csrc/frontal_faces_dump.cpp", "-o"])
            .arg(&tool)
            .arg("-ldlib")
            .status()
            .is_ok_and(|s| s.success());
    let dumped = built
        && Command::new(&tool)
            .arg(&data)
            .status()
            .is_ok_and(|s| s.success());
    if !dumped {
        println!(
            "cargo:warning=could not decode dlib's frontal face detector at build time; \
             it is decoded at run time instead (250 ms on each process's first detector)"
        );
        std::fs::write(&data, b"").expect("OUT_DIR is writable");
    }
}

/// Compiles csrc/hog_detector.cpp: dlib's HOG face detector with scores and an adjustable
/// threshold, which dlib-face-recognition does not expose. dlib itself (`-ldlib`, with OpenBLAS
/// and LAPACK) is linked by dlib-face-recognition; it is named here too so the link does not
/// depend on the order in which the crates' native libraries reach the linker.
fn build_hog_shim() {
    println!("cargo:rerun-if-changed=csrc/hog_detector.cpp");
    let mut build = cc::Build::new();
    build
        .cpp(true)
        .file("csrc/hog_detector.cpp")
        .flag("-std=c++14")
        .warnings(false);
    // The HOG scan is the hot loop and its dlib templates are instantiated in this file: keep
    // it optimised in dev and test builds too, like the dependencies (see Cargo.toml).
    if std::env::var("OPT_LEVEL").is_ok_and(|l| matches!(l.as_str(), "0" | "1")) {
        build.opt_level(2);
    }
    build.compile("faceid_hog");
}
