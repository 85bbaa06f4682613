-- A minifilter callback returned STATUS_ACCESS_DENIED (0xC0000022 = 3221225506).
-- Why it matters: the callbacks table comes from an ETL trace with Minifilter I/O; a callback
-- whose status is ACCESS DENIED names the filter driver that denied the operation, which
-- Procmon cannot do (its stack ends at the filter manager; case B).
-- Needs the callbacks table (ETL inputs); skipped when the inputs have no ETL trace.
SELECT time_utc, driver, major_function, phase, path, pid, tid, duration_ns, status
FROM callbacks
WHERE status = 3221225506
ORDER BY time_utc
