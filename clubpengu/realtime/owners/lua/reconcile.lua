-- Re-assert one claim after an outage: the newest claim (by claim time) keeps the wallet.
-- KEYS[1]: session:<wallet>. ARGV: our owner, its claim time (ms), ttl (ms).
-- Returns {kept 1|0, the owner replaced or the newer owner kept, or ''}.
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {1, ''}
end
if current then
  local since = tonumber(string.match(current, '(%d+)$'))
  if since and since > tonumber(ARGV[2]) then return {0, current} end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return {1, current or ''}
