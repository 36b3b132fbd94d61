//! The official OpenFX `hostDemo` (HostSupport examples), built as an independent host so the
//! tests see our bundle loaded by code we did not write.
//!
//! Its source comes from the `openfx-sys` crate in cargo's registry and is copied to
//! `target/hostdemo/src`, patched there, and built with make; nothing of it is committed. The
//! patches make it load our plugin instead of the OpenFX `invert` example, give parameters their
//! declared defaults (its stubs answer 2.0, true or "missing host feature"), ignore installed
//! plugins, and dump the Source and Output images of each frame as binary PAM files so a test can
//! check every pixel.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::util;

/// The crate (pinned in the workspace) whose `openfx/` folder holds the OpenFX sources.
const OPENFX_CRATE: &str = "openfx-sys-0.1.0";

/// Flags from the HostSupport docs for a current g++: C++11 for `std::auto_ptr`, and `<cstring>`
/// which the 2007-era sources use without including.
const OPTIMISE: &str = "-O2 -std=gnu++11 -include cstring";

/// A string replacement in the copied sources: every occurrence of `find`, which must occur
/// exactly `count` times (so a changed upstream is a clear error, not a silent no-op).
#[derive(Debug)]
struct Patch {
    file: &'static str,
    find: &'static str,
    replace: &'static str,
    count: usize,
}

const PARAMS: &str = "HostSupport/examples/hostDemoParamInstance.cpp";

const PATCHES: &[Patch] = &[
    // Load our effect instead of the OpenFX `invert` example.
    Patch {
        file: "HostSupport/examples/hostDemo.cpp",
        find: "\"net.sf.openfx:invertPlugin\"",
        replace: "\"org.deepmatte.LumaMatteExtract\"",
        count: 1,
    },
    // A writer for every pixel with alpha (the demo's PPM drops alpha); PAM rows top row first.
    Patch {
        file: "HostSupport/examples/hostDemo.cpp",
        find: "int main(int argc, char **argv)",
        replace: r#"static void deepmatteWritePam(const std::string& fname, MyHost::MyImage* im)
{
  OfxRectI b = im->getBounds();
  std::ofstream op(fname.c_str(), std::ios::binary);
  op << "P7\nWIDTH " << (b.x2 - b.x1) << "\nHEIGHT " << (b.y2 - b.y1)
     << "\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n";
  for (int y = b.y2 - 1; y >= b.y1; --y)
    for (int x = b.x1; x < b.x2; ++x) {
      OfxRGBAColourB* p = im->pixel(x, y);
      op.put(p->r); op.put(p->g); op.put(p->b); op.put(p->a);
    }
}

int main(int argc, char **argv)"#,
        count: 1,
    },
    // After each frame: dump the Output and the Source it was rendered from.
    Patch {
        file: "HostSupport/examples/hostDemo.cpp",
        find: "exportToPPM(ss.str(), outputImage);",
        replace: r#"exportToPPM(ss.str(), outputImage);
        {
          std::ostringstream out, src;
          out << "Output." << t << ".pam";
          deepmatteWritePam(out.str(), outputImage);
          MyHost::MyImage* source = dynamic_cast<MyHost::MyImage*>(instance->getClip("Source")->getImage(frame, NULL));
          src << "Source." << t << ".pam";
          deepmatteWritePam(src.str(), source);
          source->releaseReference();
          std::cout << "deepmatte: rendered frame " << t << std::endl;
        }"#,
        count: 1,
    },
    // Scan only $OFX_PLUGIN_PATH, so a copy installed in /usr/OFX/Plugins never shadows the bundle
    // under test.
    Patch {
        file: "HostSupport/src/ofxhPluginCache.cpp",
        find: "_pluginPath.push_back(\"/usr/OFX/Plugins\");",
        replace: "",
        count: 1,
    },
    // Parameters answer their declared defaults, as a host does for a control never touched.
    Patch {
        file: PARAMS,
        find: "d = 2.0;",
        replace: "d = getProperties().getDoubleProperty(kOfxParamPropDefault);",
        count: 2,
    },
    Patch {
        file: PARAMS,
        find: "b = true;",
        replace: "b = getProperties().getIntProperty(kOfxParamPropDefault) != 0;",
        count: 2,
    },
    Patch {
        file: PARAMS,
        find: "Instance::get(int&)\n  {\n    return kOfxStatErrMissingHostFeature;",
        replace: "Instance::get(int& v)\n  {\n    v = getProperties().getIntProperty(kOfxParamPropDefault);\n    return kOfxStatOK;",
        count: 2,
    },
    Patch {
        file: PARAMS,
        find: "Instance::get(OfxTime time, int&)\n  {\n    return kOfxStatErrMissingHostFeature;",
        replace: "Instance::get(OfxTime time, int& v)\n  {\n    v = getProperties().getIntProperty(kOfxParamPropDefault);\n    return kOfxStatOK;",
        count: 2,
    },
];

/// Where the built `hostDemo` lands.
pub fn binary() -> PathBuf {
    work_dir().join("src/HostSupport/examples/Linux-release/hostDemo")
}

fn work_dir() -> PathBuf {
    util::target_dir().join("hostdemo")
}

/// Copies, patches and builds `hostDemo` unless a build from the same sources and patches exists.
pub fn build() -> Result<()> {
    if !cfg!(target_os = "linux") {
        println!("  hostDemo is only built on Linux; skipped");
        return Ok(());
    }
    let openfx = openfx_sources()?;
    let stamp_path = work_dir().join("stamp");
    let stamp = format!("{}\n{OPTIMISE}\n{PATCHES:#?}", openfx.display());
    if binary().is_file() && std::fs::read_to_string(&stamp_path).is_ok_and(|s| s == stamp) {
        println!("  up to date: {}", binary().display());
        return Ok(());
    }

    let src = work_dir().join("src");
    if src.exists() {
        std::fs::remove_dir_all(&src)?;
    }
    util::copy_dir(&openfx.join("HostSupport"), &src.join("HostSupport"))?;
    util::copy_dir(&openfx.join("include"), &src.join("include"))?;
    for patch in PATCHES {
        apply(&src, patch)?;
    }

    let log_path = work_dir().join("build.log");
    let log = std::fs::File::create(&log_path)?;
    println!("  building with make (log: {})", log_path.display());
    let status = Command::new("make")
        .current_dir(src.join("HostSupport/examples"))
        .arg(format!("OPTIMISE={OPTIMISE}"))
        .arg("Linux-release/hostDemo")
        .stdout(Stdio::from(log.try_clone()?))
        .stderr(Stdio::from(log))
        .status()
        .context("cannot run make (setup installs it on Debian)")?;
    if !status.success() {
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(30).collect();
        for line in tail.iter().rev() {
            eprintln!("    {line}");
        }
        bail!("building hostDemo failed ({status}); full log: {}", log_path.display());
    }
    std::fs::write(&stamp_path, stamp)?;
    println!("  built {}", binary().display());
    Ok(())
}

fn apply(src: &Path, patch: &Patch) -> Result<()> {
    let path = src.join(patch.file);
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let found = text.matches(patch.find).count();
    if found != patch.count {
        bail!("patching {}: expected `{}` {} times, found it {found} times", patch.file, patch.find, patch.count);
    }
    std::fs::write(&path, text.replace(patch.find, patch.replace))?;
    Ok(())
}

/// The `openfx/` folder of the `openfx-sys` crate in cargo's registry; fetches the workspace's
/// dependencies first when it is not there yet (a fresh clone).
fn openfx_sources() -> Result<PathBuf> {
    if let Some(dir) = find_in_registry()? {
        return Ok(dir);
    }
    util::run(util::cargo().arg("fetch"))?;
    find_in_registry()?.with_context(|| format!("{OPENFX_CRATE} not found in cargo's registry after `cargo fetch`"))
}

fn find_in_registry() -> Result<Option<PathBuf>> {
    let Ok(registries) = std::fs::read_dir(util::cargo_home()?.join("registry/src")) else {
        return Ok(None);
    };
    for registry in registries {
        let dir = registry?.path().join(OPENFX_CRATE).join("openfx");
        if dir.join("HostSupport/examples/hostDemo.cpp").is_file() {
            return Ok(Some(dir));
        }
    }
    Ok(None)
}
