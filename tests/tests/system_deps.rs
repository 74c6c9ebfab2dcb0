//! `scripts/system-deps.sh` against fake roots: the set-up decides what to install by what bindgen
//! and llama.cpp's build really load, so a Debian image that ships only `libclang-cpp` (the C++
//! library, useless to bindgen) is caught before a 25-minute build instead of after it.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/system-deps.sh")
}

/// A fake root folder with a fake loader cache (`ldconfig -p`) beside it.
struct FakeRoot {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    ldconfig: PathBuf,
    cache_lines: Vec<String>,
}

impl FakeRoot {
    fn new() -> FakeRoot {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        std::fs::create_dir_all(&root).unwrap();
        let ldconfig = tmp.path().join("ldconfig");
        let fake = FakeRoot {
            _tmp: tmp,
            root,
            ldconfig,
            cache_lines: Vec::new(),
        };
        fake.write_cache();
        fake
    }

    /// The build tools and python with pip: everything except libclang.
    fn with_tools(self) -> FakeRoot {
        for tool in ["cmake", "make", "c++", "python3"] {
            self.executable(&format!("usr/bin/{tool}"), "#!/bin/sh\necho fake\n");
        }
        std::fs::create_dir_all(self.root.join("usr/lib/python3/dist-packages/pip")).unwrap();
        self
    }

    fn file(&self, rel: &str) {
        let path = self.root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, b"\x7fELF").unwrap();
    }

    fn executable(&self, rel: &str, body: &str) {
        let path = self.root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, body).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// Adds a library to the loader cache (and the file under the root).
    fn cached(&mut self, abs: &str) {
        self.file(abs.trim_start_matches('/'));
        let name = Path::new(abs).file_name().unwrap().to_string_lossy();
        self.cache_lines
            .push(format!("\t{name} (libc6,x86-64) => {abs}"));
        self.write_cache();
    }

    fn write_cache(&self) {
        let mut body = format!(
            "#!/bin/sh\necho '{} libs found in cache'\n",
            self.cache_lines.len()
        );
        for line in &self.cache_lines {
            body.push_str(&format!("printf '%s\\n' '{line}'\n"));
        }
        std::fs::write(&self.ldconfig, body).unwrap();
        std::fs::set_permissions(&self.ldconfig, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn run(&self, args: &[&str], apt_get: &str) -> Output {
        Command::new("bash")
            .arg(script())
            .args(args)
            .env("AIDX_SYSROOT", &self.root)
            .env("AIDX_LDCONFIG", &self.ldconfig)
            .env("AIDX_APT_GET", apt_get)
            .env_remove("AIDX_SYSTEM_DEPS_NO_INSTALL")
            .output()
            .unwrap()
    }

    fn check(&self) -> (bool, String) {
        let out = self.run(&["--check", "--versions"], "none");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

#[test]
fn nothing_installed_names_every_package() {
    let fake = FakeRoot::new();
    let (ok, text) = fake.check();
    assert!(!ok, "{text}");
    for pkg in ["cmake", "make", "g++", "libclang-dev", "python3-pip"] {
        assert!(text.contains(pkg), "`{pkg}` not named:\n{text}");
    }
    assert!(text.contains("apt-get install -y"), "{text}");
}

#[test]
fn only_libclang_cpp_is_not_libclang() {
    // The stock Debian 12 image: libclang-cpp14 in LLVM's lib folder and the loader cache.
    let mut fake = FakeRoot::new().with_tools();
    fake.cached("/usr/lib/x86_64-linux-gnu/libclang-cpp.so.14");
    fake.file("usr/lib/llvm-14/lib/libclang-cpp.so.14");
    fake.file("usr/lib/llvm-14/lib/libclang-cpp.so");
    let (ok, text) = fake.check();
    assert!(!ok, "libclang-cpp was taken for libclang:\n{text}");
    assert!(text.contains("missing: libclang-dev"), "{text}");
    assert!(!text.contains("missing: cmake"), "{text}");
}

#[test]
fn a_versioned_libclang_in_the_multiarch_folder_is_found() {
    let fake = FakeRoot::new().with_tools();
    fake.file("usr/lib/x86_64-linux-gnu/libclang-cpp.so.14");
    fake.file("usr/lib/x86_64-linux-gnu/libclang-14.so");
    let (ok, text) = fake.check();
    assert!(ok, "{text}");
    assert!(
        text.contains("libclang: ") && text.contains("libclang-14.so"),
        "{text}"
    );
}

#[test]
fn a_suffix_versioned_libclang_in_llvms_folder_is_found() {
    let fake = FakeRoot::new().with_tools();
    fake.file("usr/lib/llvm-14/lib/libclang.so.1");
    let (ok, text) = fake.check();
    assert!(ok, "{text}");
    assert!(text.contains("libclang.so.1"), "{text}");
}

#[test]
fn a_libclang_known_only_to_the_loader_cache_is_found() {
    let mut fake = FakeRoot::new().with_tools();
    fake.cached("/opt/llvm-18/lib/libclang-18.so.18");
    let (ok, text) = fake.check();
    assert!(ok, "{text}");
    assert!(text.contains("libclang-18.so.18"), "{text}");
}

#[test]
fn when_everything_is_there_it_is_quiet() {
    let fake = FakeRoot::new().with_tools();
    fake.file("usr/lib/llvm-14/lib/libclang.so");
    let out = fake.run(&[], "none");
    assert!(out.status.success());
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");
}

#[test]
fn without_apt_it_says_what_to_install_and_fails() {
    let fake = FakeRoot::new().with_tools();
    let out = fake.run(&[], "none");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("libclang-dev"), "{err}");
    if is_root() {
        assert!(err.contains("apt-get is not available"), "{err}");
        assert!(err.contains("LIBCLANG_PATH"), "{err}");
    } else {
        assert!(
            err.contains("sudo apt-get install -y libclang-dev"),
            "{err}"
        );
    }
}

/// A fake apt-get that records its arguments and, on `install`, creates the packages' files.
fn fake_apt(fake: &FakeRoot, installs_files: bool) -> PathBuf {
    let path = fake.root.parent().unwrap().join("apt-get");
    let log = fake.root.parent().unwrap().join("apt.log");
    let create = if installs_files {
        format!(
            "mkdir -p '{r}/usr/lib/llvm-14/lib' && : > '{r}/usr/lib/llvm-14/lib/libclang.so.1'",
            r = fake.root.display()
        )
    } else {
        ":".to_string()
    };
    let body = format!(
        "#!/bin/sh\necho \"$@\" >> '{}'\ncase \"$1\" in install) {create} ;; esac\nexit 0\n",
        log.display()
    );
    std::fs::write(&path, body).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// The script run as root against a fake apt-get (see [`fake_apt`]); `None` when this test process
/// is not root (the install path needs it; CI runs as root and must not skip).
fn run_with_fake_apt(installs_files: bool) -> Option<(FakeRoot, Output)> {
    if !is_root() {
        assert!(
            !aidx_e2e::require_real(),
            "the install path runs as root, and AIDX_REQUIRE_REAL=1 forbids skipping it"
        );
        eprintln!("skipped: the install path runs as root (CI does)");
        return None;
    }
    let fake = FakeRoot::new().with_tools();
    let apt = fake_apt(&fake, installs_files);
    let out = fake.run(&[], apt.to_str().unwrap());
    Some((fake, out))
}

#[test]
fn apt_installs_the_missing_package_then_the_check_passes() {
    let Some((fake, out)) = run_with_fake_apt(true) else {
        return;
    };
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let log = std::fs::read_to_string(fake.root.parent().unwrap().join("apt.log")).unwrap();
    assert!(log.contains("update"), "{log}");
    assert!(
        log.lines()
            .any(|l| l.starts_with("install") && l.ends_with("libclang-dev")),
        "apt was not asked for exactly libclang-dev:\n{log}"
    );
}

#[test]
fn a_package_still_missing_after_apt_is_an_error_naming_it() {
    let Some((_fake, out)) = run_with_fake_apt(false) else {
        return;
    };
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("missing: libclang-dev"), "{err}");
    assert!(err.contains("libclang-cpp does not count"), "{err}");
}
