-- A driver operation of the servicing driver queue failed with result 5 (ERROR_ACCESS_DENIED):
-- CBS.log's "INSTALL|UNINSTALL|STAGE|UNSTAGE index: N, phase: N, result 5, inf: X.inf".
-- Why it matters: the update then rolls back at reboot (case A: "INSTALL index: 0, phase: 2,
-- result 5, inf: cpu.inf") or hangs in the startup processing until it times out (case C). The
-- failing object is in setupapi.dev.log; a Procmon boot log of that reboot shows who denied it.
-- Needs the log_lines table (CBS.log inputs); skipped when the inputs have no logs.
SELECT time_utc, source, line, component, text, object
FROM log_lines
WHERE REGEXP_LIKE(text, '(?i)\b(install|uninstall|stage|unstage)\s+index:\s*\d+,\s*phase:\s*\d+,\s*result\s+5\b')
ORDER BY time_utc, line
