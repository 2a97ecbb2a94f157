//! The daemon's receive paths, in memory: the first byte picks the path
//! (0: a TCP 139 session's whole byte stream, SMB or native; 1: one native
//! frame; 2: a series of UDP 138 datagrams), the rest is its input. Behind
//! each path the policy, the limits, the inbox (decoding, owner, quota) and
//! a real store decide, as in the daemon (`messngr_daemon::fuzzing`). What
//! the fuzzer looks for: a panic, a hang (-timeout) or memory that grows
//! without bound (-rss_limit_mb).
#![no_main]
use libfuzzer_sys::fuzz_target;
use messngr_daemon::fuzzing;

fuzz_target!(|data: &[u8]| {
    let Some((&path, input)) = data.split_first() else {
        return;
    };
    match path % 3 {
        0 => fuzzing::session(input),
        1 => fuzzing::native(input),
        _ => fuzzing::datagrams(input),
    }
});
