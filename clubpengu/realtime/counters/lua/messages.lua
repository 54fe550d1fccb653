-- Messages per address and window, shared by every node: KEYS[i] an address's count
-- (`msgs:<address>`, the window's number is appended here); ARGV[1] the window (ms),
-- ARGV[i + 1] the messages this node let through for KEYS[i] since it last said. Returns
-- each address's total of the window on every node, then the ms left in the window. The
-- time is Redis's own, so every node's windows are the same.
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local window = tonumber(ARGV[1])
local suffix = ':' .. math.floor(ms / window)
-- A count outlives its window (it is only read within it), then goes by itself.
local totals = {}
for i, key in ipairs(KEYS) do
  local counted = key .. suffix
  totals[i] = redis.call('INCRBY', counted, ARGV[i + 1])
  redis.call('PEXPIRE', counted, 2 * window)
end
totals[#KEYS + 1] = window - ms % window
return totals
