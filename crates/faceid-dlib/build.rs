fn main() {
    println!("cargo:rerun-if-env-changed=FACEID_MODELS_INSTALL_DIR");
    build_hog_shim();
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
