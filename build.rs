//! Generates `include/procmon.h` from the sources with cbindgen. The header is
//! committed; CI rebuilds it and fails when it differs (`scripts/check.sh`).

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");

    let version = |part: &str| env::var(format!("CARGO_PKG_VERSION_{part}")).expect("set by cargo");
    let (major, minor, patch) = (version("MAJOR"), version("MINOR"), version("PATCH"));
    // A system library's soname: programs record libprocmon.so.<major>, so a
    // release that breaks the ABI (a new major) can be installed beside this one.
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libprocmon.so.{major}");
    let mut config =
        cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    config.after_includes = Some(format!(
        "\n#define PROCMON_VERSION_MAJOR {major}\n\
         #define PROCMON_VERSION_MINOR {minor}\n\
         #define PROCMON_VERSION_PATCH {patch}\n\
         #define PROCMON_VERSION_STRING \"{major}.{minor}.{patch}\"\n\
         /* The version as one number: major * 10000 + minor * 100 + patch. */\n\
         #define PROCMON_VERSION_NUMBER ({major} * 10000 + {minor} * 100 + {patch})\n\
         \n\
         /* A process monitor; see the documentation of procmon_new(). Opaque. */\n\
         typedef struct procmon procmon_t;\n\
         \n\
         /* A process spec; see the documentation of procmon_spec_new(). Opaque. */\n\
         typedef struct procmon_spec procmon_spec_t;"
    ));
    let header = cbindgen::Builder::new()
        .with_crate(&root)
        .with_config(config)
        .generate()
        .expect("cbindgen could not generate include/procmon.h");
    let path = root.join("include/procmon.h");
    let mut text = Vec::new();
    header.write(&mut text);
    // Write only on change, so the header's mtime does not churn rebuilds.
    if fs::read(&path).ok().as_deref() != Some(&text[..]) {
        fs::create_dir_all(path.parent().expect("include/")).expect("create include/");
        fs::write(&path, &text).expect("write include/procmon.h");
    }
}
