fn main() {
    println!("cargo:rerun-if-env-changed=FACEID_MODELS_INSTALL_DIR");
    gst_plugin_version_helper::info()
}
