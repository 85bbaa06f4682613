//! Shared by the fuzz targets.

/// Make this thread the only worker of a one-thread rayon pool, once: the readers' parallel
/// loops then run inline, without waking pool threads on every execution (that hand-off cost
/// more than the parsing of a small input).
pub fn single_thread() {
    use std::sync::Once;
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .use_current_thread()
            .build()
            .expect("a one-thread pool");
        // The pool lives as long as the process: this thread stays its worker.
        std::mem::forget(pool);
    });
}
