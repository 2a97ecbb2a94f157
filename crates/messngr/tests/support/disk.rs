//! A small tmpfs for disk-full tests: mounted by the test, unmounted when
//! dropped (also when the test fails), so the machine's disks never fill.

use std::path::{Path, PathBuf};

use super::text;

/// A tmpfs of `size` at a path, unmounted on drop.
pub struct SmallDisk(PathBuf);

impl SmallDisk {
    /// Mounts a tmpfs of `size` (e.g. `"512k"`) at `at` (created), mode
    /// 0755 and root's: a state_dir the dropped daemon takes over.
    pub fn mount(at: &Path, size: &str) -> SmallDisk {
        std::fs::create_dir_all(at).unwrap();
        let o = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0755"),
                "messngr-test",
            ])
            .arg(at)
            .output()
            .unwrap();
        assert!(o.status.success(), "mount tmpfs: {}", text(&o));
        SmallDisk(at.to_owned())
    }

    /// Writes `path` until the disk refuses another byte; returns its size.
    pub fn fill(&self, path: &Path) -> u64 {
        use std::io::Write;
        let mut f = std::fs::File::create(path).unwrap();
        let mut n = 0u64;
        for size in [64 * 1024, 4096, 512, 1] {
            let block = vec![0u8; size];
            while f.write_all(&block).is_ok() {
                n += size as u64;
            }
        }
        let _ = f.sync_all();
        n
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}
