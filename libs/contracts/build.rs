//! Compiles every `.proto` file under `proto/` with protox (a pure-Rust protobuf compiler, so no
//! `protoc` has to be installed), writes the descriptor set that server reflection serves, and
//! generates prost messages with tonic clients and servers.

use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let proto_root = manifest_dir.join("../../proto").canonicalize()?;
    let mut files = Vec::new();
    collect_proto_files(&proto_root, &mut files)?;
    files.sort();
    println!("cargo:rerun-if-changed={}", proto_root.display());
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }

    let descriptor_set = protox::compile(&files, [&proto_root])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let descriptor_bytes = prost::Message::encode_to_vec(&descriptor_set);
    std::fs::write(out_dir.join("ates_descriptor.bin"), descriptor_bytes)?;

    let mut config = prost_build::Config::new();
    // `prost::Name` on every message: the event catalogue and the envelope use full type names.
    config.enable_type_names();
    tonic_prost_build::configure()
        // A request that does not decode is INVALID_ARGUMENT, not prost's INTERNAL.
        .codec_path("crate::codec::ProtoCodec")
        .build_client(true)
        .build_server(true)
        .compile_fds_with_config(descriptor_set, config)?;
    Ok(())
}

fn collect_proto_files(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_proto_files(&path, files)?;
        } else if path
            .extension()
            .is_some_and(|extension| extension == "proto")
        {
            files.push(path);
        }
    }
    Ok(())
}
