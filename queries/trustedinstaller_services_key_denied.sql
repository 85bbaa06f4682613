-- TrustedInstaller (or a process holding its token: TiWorker.exe, a child) was denied on a
-- service key, HKLM\System\CurrentControlSet\Services\*.
-- Why it matters: driver installs and rollbacks write Start, ImagePath and the EventLog keys of
-- services with the TrustedInstaller token, which every ordinary ACL on those keys lets write.
-- A denial there is a registry callback protecting keys (case A: krnlmgr.sys refused
-- Services\AmdK8\Start, and the update rolled back at reboot).
SELECT event_id, time_utc, process_name, pid, operation, object, status_name, detail
FROM denials
WHERE trustedinstaller
  AND STARTS_WITH(LOWER(object), 'hklm\system\currentcontrolset\services\')
ORDER BY event_id
