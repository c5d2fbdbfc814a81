//! What verification costs in memory: allocations per cached verification
//! (counted by the benchmark's allocator on the calling thread), and the
//! resident size of [`CACHED_KEYS`] keys in the cache (in a child process of
//! its own, `BENCH_CHILD=memory`).

use chrono::{Duration, Utc};
use portico::{
    domain::{
        key_format::Environment,
        keys::{Approval, IpAllowlist, KeyState},
    },
    server::verify::cache::{answer_time, KeyCache, VerifyKey},
};
use std::{
    alloc::{GlobalAlloc, Layout},
    cell::Cell,
    process::Command,
    sync::Arc,
};

/// Keys put in the cache for the memory figure (the cache's capacity).
pub const CACHED_KEYS: usize = 100_000;

/// The server's allocator (mimalloc, as `src/main.rs` sets it), counting the
/// allocations each thread makes.
pub struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    static BYTES: Cell<u64> = const { Cell::new(0) };
}

fn counted(size: usize) {
    // `try_with`: an allocation while the thread's locals are torn down is
    // simply not counted.
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
    let _ = BYTES.try_with(|c| c.set(c.get() + size as u64));
}

// SAFETY: every call is passed on unchanged to mimalloc, which upholds
// GlobalAlloc's contract; counting touches only this thread's cells.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        counted(layout.size());
        // SAFETY: as for this method.
        unsafe { mimalloc::MiMalloc.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        counted(layout.size());
        // SAFETY: as for this method.
        unsafe { mimalloc::MiMalloc.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        counted(new_size);
        // SAFETY: as for this method.
        unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as for this method.
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
    }
}

/// Allocations (and bytes asked for) made so far on this thread.
pub fn allocated_here() -> (u64, u64) {
    (ALLOCATIONS.with(Cell::get), BYTES.with(Cell::get))
}

/// This process's resident size, in bytes (`/proc/self/statm`).
fn resident_bytes() -> f64 {
    let Ok(statm) = std::fs::read_to_string("/proc/self/statm") else {
        return f64::NAN;
    };
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(f64::NAN);
    // SAFETY: sysconf has no preconditions.
    pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as f64
}

/// A key as verification caches it: the shape of the benchmark's own key
/// (two scopes, no allowlist, an HMAC, an expiry), with its own id.
fn cached_key(n: usize) -> (String, Arc<VerifyKey>) {
    let key_id = format!("{n:0>10}");
    let expires_at = Utc::now() + Duration::days(90);
    let key = VerifyKey {
        id: n as i64,
        key_id: key_id.clone(),
        org_id: 1,
        environment: Environment::Sandbox,
        scopes: vec!["customers:read".to_owned(), "records:read".to_owned()],
        allowlist: IpAllowlist::default(),
        secret_hash: vec![0xab; 32],
        answered_expiry_text: answer_time(expires_at),
        standing: KeyState {
            expires_at,
            rotating_until: None,
            revoked_at: None,
            suspended_at: None,
            suspended_until: None,
            approval: Approval::NotRequired,
        },
        rate_limit_per_minute: 600,
        monthly_quota: None,
    };
    (key_id, Arc::new(key))
}

/// The child: fills a cache and prints the resident size before and after.
pub fn memory_child() {
    let cache = KeyCache::new(std::time::Duration::from_secs(600));
    let before = resident_bytes();
    for n in 0..CACHED_KEYS {
        let (id, key) = cached_key(n);
        cache.insert(cache.generation(), id, key);
    }
    let after = resident_bytes();
    assert!(cache
        .read(&format!("{:0>10}", CACHED_KEYS - 1), |_| ())
        .is_some());
    println!("{before} {after}");
    std::process::exit(0);
}

/// Resident bytes before and after filling the cache, measured in a child.
pub fn memory() -> Result<(f64, f64), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new(exe)
        .env("BENCH_CHILD", "memory")
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut figures = text.split_whitespace().map(|n| n.parse::<f64>());
    match (figures.next(), figures.next()) {
        (Some(Ok(before)), Some(Ok(after))) => Ok((before, after)),
        _ => Err(format!(
            "the memory child printed {text:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        )),
    }
}
