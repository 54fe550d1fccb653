-- Forget the wallet's owner only if it is still the one leaving (compare and delete).
-- KEYS[1]: session:<wallet>. ARGV[1]: the leaving owner. Returns the keys deleted (0 or 1).
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
